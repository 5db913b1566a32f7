//! Movers: pupils who change school during the year get a second enrolment, at another school
//! of the same phase in their LA or in another LA of the region.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{Enrol, LaPlan, OutMove, SchoolPlan};
use crate::generate::calendar::Calendar;
use crate::generate::calibration::LAS;
use crate::generate::model::prob::{MOVE_MARGIN, MOVER_MIN_DAYS, MOVER_SHARE};

/// Draw the movers among `enrols` (the LA's first enrolments): half of them (when the LA has a
/// peer school) get their second enrolment here, appended to `enrols`; the others are returned,
/// to be placed in another LA of the region by `place_movers`.
pub fn draw_movers(
    rng: &mut ChaCha8Rng,
    enrols: &mut Vec<Enrol>,
    schools: &[SchoolPlan],
    cal: &Calendar,
) -> Vec<OutMove> {
    let ndays = cal.len();
    let n_first = enrols.len();
    let mut out_moves = Vec::new();
    for i in 0..n_first {
        if rng.random::<f64>() >= MOVER_SHARE || ndays < MOVER_MIN_DAYS {
            continue;
        }
        let s = enrols[i].school as usize;
        let g = schools[s].group;
        let peers: Vec<usize> = (0..schools.len())
            .filter(|&j| j != s && schools[j].group == g)
            .collect();
        let m = rng.random_range(MOVE_MARGIN..ndays - MOVE_MARGIN) as u16;
        let here = !peers.is_empty() && rng.random::<bool>();
        let (r_la, r_school) = (rng.random::<f64>(), rng.random::<f64>());
        enrols[i].day_to = m;
        if here {
            let mut e2 = enrols[i].clone();
            e2.day_from = m;
            e2.day_to = ndays as u16;
            e2.school = peers[(r_school * peers.len() as f64) as usize % peers.len()] as u32;
            enrols.push(e2);
        } else {
            out_moves.push(OutMove {
                enrol: enrols[i].clone(),
                phase: schools[s].phase,
                date: cal.days[m as usize],
                r_la,
                r_school,
            });
        }
    }
    out_moves
}

/// Give every pupil moving between LAs its second enrolment (sequential, deterministic).
pub fn place_movers(plans: &mut [LaPlan]) {
    use std::collections::HashMap;
    let mut by_region: HashMap<(&str, u8), Vec<usize>> = HashMap::new();
    let mut phase_schools: Vec<[Vec<u32>; 4]> = Vec::with_capacity(plans.len());
    for (j, p) in plans.iter().enumerate() {
        let mut ps: [Vec<u32>; 4] = Default::default();
        for (k, s) in p.schools.iter().enumerate() {
            ps[s.phase as usize].push(k as u32);
        }
        for ph in 0..4u8 {
            if !ps[ph as usize].is_empty() {
                by_region
                    .entry((LAS[p.la].region_code, ph))
                    .or_default()
                    .push(j);
            }
        }
        phase_schools.push(ps);
    }
    let mut touched = vec![false; plans.len()];
    for src in 0..plans.len() {
        let moves = std::mem::take(&mut plans[src].out_moves);
        let region = LAS[plans[src].la].region_code;
        for mv in moves {
            let Some(cands) = by_region.get(&(region, mv.phase)) else {
                continue;
            };
            let cands: Vec<usize> = cands.iter().copied().filter(|&j| j != src).collect();
            if cands.is_empty() {
                continue; // left for a school outside the data set
            }
            let t = cands[(mv.r_la * cands.len() as f64) as usize % cands.len()];
            let sch = &phase_schools[t][mv.phase as usize];
            let k = sch[(mv.r_school * sch.len() as f64) as usize % sch.len()];
            let cal = &plans[t].calendar;
            let from = cal.days.partition_point(|&d| d < mv.date);
            if from + 5 >= cal.len() {
                continue;
            }
            let mut e = mv.enrol;
            e.school = k;
            e.day_from = from as u16;
            e.day_to = cal.len() as u16;
            plans[t].enrols.push(e);
            touched[t] = true;
        }
    }
    for (t, p) in plans.iter_mut().enumerate() {
        if touched[t] {
            p.enrols.sort_unstable_by_key(|e| (e.school, e.id));
        }
    }
}
