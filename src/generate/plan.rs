//! Planning: LAs, schools, pupils (enrolments) and each enrolment's absence propensities.
//!
//! Calibration (per LA x phase "group"): every pupil gets a latent risk score (a normal draw shifted
//! up for FSM, SEN support, EHC plan, CIN/CPP, looked after, Years 9-11 and 12-13, girls in
//! secondary). Pupils are ranked by score among the group's in-scope pupils (NC years 1-11), and the
//! rank, jittered (systematic sampling), `u = (rank + U) / n`, is mapped through the group's quantile
//! function `Q(u)` of the absence share. `Q` has three pieces: below `1 - pa` the share is
//! `0.1 v^a` (not persistently absent), up to `1 - sa` it is `0.1 + 0.4 v^a` (persistent), above
//! it `0.5 + 0.45 v` (severe), `v` the position inside the piece. `pa` is the reference PA rate,
//! `sa` an assumed severe share (`pa` x 0.07 primary, 0.14 secondary, 0.15 special), and the single
//! exponent `a` is solved in closed form so that the mean of `Q` is the reference overall rate.
//! So the group's absence distribution is hit by construction (stratified, so even small groups
//! land close), and the characteristics only decide *who* is absent: the group mean is unchanged.
//! When the marks are generated the enrolment's absence sessions are `p x possible` (stochastically
//! rounded), split into unauthorised (`p`-dependent share, solved per group so the group's
//! unauthorised / overall ratio is the reference's) and authorised, then into reasons.

use chrono::NaiveDate;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Exp1, StandardNormal};

use super::calendar::{self, Calendar};
use super::calibration::{CELLS, ENGLAND, LAS};
use super::model::*;

/// Share of pupils in alternative provision (not in the reference; about 15k pupils in England).
const AP_SHARE: f64 = 0.0015;
/// Typical alternative provision size.
const AP_SIZE: f64 = 30.0;
/// Share of pupils who move school during the year (two enrolments).
const MOVER_SHARE: f64 = 0.02;

/// Enrolment flags.
pub mod flag {
    pub const FSM: u16 = 1;
    pub const CLA: u16 = 2;
    pub const CIN: u16 = 4;
    pub const CPP: u16 = 8;
    pub const SEN_K: u16 = 16;
    pub const SEN_E: u16 = 32;
    /// dual registered: `D` on one weekday every week
    pub const DUAL: u16 = 64;
    /// reception pupil attending part-time in the autumn term: `X` in the afternoons
    pub const PART_TIME: u16 = 128;
    /// one morning lost to transport (`Y1`)
    pub const Y1: u16 = 256;
    /// pupil is female
    pub const FEMALE: u16 = 512;
}

/// One enrolment (a pupil at a school for a range of calendar days).
#[derive(Debug, Clone)]
pub struct Enrol {
    /// 48-bit pupil number (the pupil_id is `P` + its 12 hex digits)
    pub id: u64,
    /// index into `LaPlan::schools`
    pub school: u32,
    /// calendar day range [from, to) of this enrolment
    pub day_from: u16,
    pub day_to: u16,
    /// index into `NC_YEARS`
    pub nc: u8,
    /// weekday (0..5) of dual registration
    pub dual_wd: u8,
    pub flags: u16,
    /// Date32, `i32::MIN` when missing
    pub dob: i32,
    /// absence share of possible sessions
    pub p: f32,
    /// share of the absence that is unauthorised
    pub unauth: f32,
    /// expected `L` sessions / possible
    pub late: f32,
    /// expected approved-activity sessions / possible
    pub aea: f32,
}

/// Reasons' event weights and the other per-group rates used while generating marks.
#[derive(Debug, Clone)]
pub struct GroupParams {
    /// cumulative event weights of the authorised reasons, [not eligible for S, eligible]
    pub auth_cum: [[f64; 11]; 2],
    pub unauth_cum: [f64; 4],
    /// cumulative event weights of approved activities, [not eligible for W, eligible]
    pub aea_cum: [[f64; 5]; 2],
}

/// One school.
#[derive(Debug, Clone)]
pub struct SchoolPlan {
    pub urn: i32,
    pub phase: u8,
    pub name: String,
    /// index into `LaPlan::groups`
    pub group: usize,
    /// per calendar day: `code::FREE` (open), `code::CLOSED` or `code::Y4`
    pub day_code: Vec<u8>,
}

/// Everything needed to produce one LA's pupils and register marks.
#[derive(Debug)]
pub struct LaPlan {
    /// index into `LAS`
    pub la: usize,
    pub calendar: Calendar,
    pub schools: Vec<SchoolPlan>,
    pub groups: Vec<GroupParams>,
    /// sorted by (school, id): the storage order (urn, pupil_id)
    pub enrols: Vec<Enrol>,
    /// pupils leaving for another LA (emptied by `place_movers`)
    pub out_moves: Vec<OutMove>,
}

/// A pupil moving to a school of the same phase in another LA of the region on `date`.
#[derive(Debug, Clone)]
pub struct OutMove {
    pub enrol: Enrol,
    pub phase: u8,
    /// Date32 of the first day at the new school
    pub date: i32,
    /// uniform draws choosing the LA and the school
    pub r_la: f64,
    pub r_school: f64,
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

/// Mean length in sessions of an event of each reason (see `marks::event`), by code.
pub fn mean_len(c: u8) -> f64 {
    use code::*;
    match c {
        I => 0.85 * 2.0 * (0.6 + 0.25 * 2.0 + 0.15 * 3.0) + 0.15,
        M | U | N | P => 1.0,
        R => 2.0,
        S | C1 => 4.0,
        T => 15.0,
        H | G => 2.0 * (0.6 * 5.0 + 0.4 * 3.0),
        E => 6.0,
        C | J1 | B => 1.5,
        C2 => 12.5,
        O => 0.6 * 3.0 + 0.4,
        K => 6.0,
        V => 0.8 * 2.0 + 0.2 * 8.0,
        W => 10.0,
        _ => 1.0,
    }
}

fn cumulate<const N: usize>(w: [f64; N]) -> [f64; N] {
    let mut c = [0.0; N];
    let mut s = 0.0;
    for i in 0..N {
        s += w[i].max(0.0);
        c[i] = s;
    }
    if s <= 0.0 {
        // degenerate: all weight on the first reason
        c = [1.0; N];
    }
    c
}

/// Alternative provision rates (not in the reference): very high absence, mostly unauthorised.
fn ap_rates() -> Rates {
    let mut r = ENGLAND[1];
    r.overall = 0.33;
    r.authorised = 0.12;
    r.unauthorised = 0.21;
    r.pa = 0.78;
    r
}

/// The three pieces of the quantile function of one group's absence share.
#[derive(Debug, Clone, Copy)]
pub struct Quantile {
    pub pa: f64,
    pub sa: f64,
    pub a: f64,
}

impl Quantile {
    /// Solve the exponent for mean `r`, PA share `pa` and severe share `sa`.
    pub fn solve(r: f64, pa: f64, sa: f64) -> Quantile {
        let pa = pa.clamp(0.0, 0.99);
        let mut sa = sa.clamp(0.0, pa);
        // mean = 0.1 lam (1-pa) + (pa-sa)(0.1 + 0.4 lam) + 0.725 sa, lam = 1/(a+1)
        let denom = 0.1 * (1.0 - pa) + 0.4 * (pa - sa);
        let mut lam = if denom > 0.0 {
            (r - 0.1 * (pa - sa) - 0.725 * sa) / denom
        } else {
            0.5
        };
        if !(0.05..=0.95).contains(&lam) {
            lam = lam.clamp(0.05, 0.95);
            // keep the mean by moving the severe share instead
            sa = ((r - 0.1 * (1.0 - pa) * lam - pa * (0.1 + 0.4 * lam)) / (0.625 - 0.4 * lam))
                .clamp(0.0, pa);
        }
        Quantile {
            pa,
            sa,
            a: 1.0 / lam - 1.0,
        }
    }

    pub fn eval(&self, u: f64) -> f64 {
        let lo = 1.0 - self.pa;
        let hi = 1.0 - self.sa;
        if u < lo {
            0.1 * (u / lo).powf(self.a)
        } else if u < hi {
            0.1 + 0.4 * ((u - lo) / (hi - lo)).powf(self.a)
        } else {
            0.5 + 0.45 * ((u - hi) / self.sa).min(1.0)
        }
    }
}

/// Largest-remainder apportionment of `total` by `weights`.
pub fn apportion(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().sum();
    if weights.is_empty() || sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut out: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
    let given: u64 = out.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = exact[a] - exact[a].floor();
        let rb = exact[b] - exact[b].floor();
        rb.partial_cmp(&ra).unwrap().then(a.cmp(&b))
    });
    for &i in order.iter().take((total - given) as usize) {
        out[i] += 1;
    }
    out
}

/// The sizes of one LA: pupils and schools per phase.
#[derive(Debug, Clone, Default)]
pub struct LaSize {
    pub la: usize,
    /// pupils per phase (primary, secondary, special, AP)
    pub pupils: [u64; 4],
    pub schools: [u64; 4],
    /// index into CELLS per phase (None for AP / absent)
    pub cells: [Option<usize>; 4],
    pub urn_base: i32,
    pub pupil_base: u64,
}

/// Pupils are shared in units of this many, so that even at small scales a school has enough
/// pupils to pass the "6 in-scope enrolments" rule.
const UNIT: u64 = 10;

/// Share `pupils` among LAs and phases (national phase totals first, then LAs in proportion to
/// their real headcount, in units of `UNIT` pupils) and size the schools from the real school
/// counts (at least 8 pupils a school). From 10,000 pupils every LA gets at least one unit.
#[allow(clippy::needless_range_loop)]
pub fn sizes(pupils: u64) -> Vec<LaSize> {
    let n_ap = if pupils >= 5_000 {
        (pupils as f64 * AP_SHARE).round() as u64
    } else {
        0
    };
    let main = pupils - n_ap;
    let units = main / UNIT;
    let mut phase_head = [0f64; 3];
    let mut la_head = vec![0f64; LAS.len()];
    let mut la_big: Vec<Option<usize>> = vec![None; LAS.len()];
    for (i, c) in CELLS.iter().enumerate() {
        phase_head[c.phase as usize] += c.headcount as f64;
        la_head[c.la as usize] += c.headcount as f64;
        if la_big[c.la as usize].is_none_or(|j| CELLS[j].headcount < c.headcount) {
            la_big[c.la as usize] = Some(i);
        }
    }
    let phase_units = apportion(units, &phase_head);
    let mut cell_units = vec![0u64; CELLS.len()];
    if pupils >= 10_000 {
        for i in la_big.iter().flatten() {
            cell_units[*i] = 1;
        }
    }
    for ph in 0..3 {
        let idx: Vec<usize> = (0..CELLS.len())
            .filter(|&i| CELLS[i].phase as usize == ph)
            .collect();
        let reserved: u64 = idx.iter().map(|&i| cell_units[i]).sum();
        let w: Vec<f64> = idx.iter().map(|&i| CELLS[i].headcount as f64).collect();
        let share = apportion(phase_units[ph].saturating_sub(reserved), &w);
        for (k, &i) in idx.iter().enumerate() {
            cell_units[i] += share[k];
        }
    }
    let mut main_cells: Vec<u64> = cell_units.iter().map(|u| u * UNIT).collect();
    let given: u64 = main_cells.iter().sum();
    let biggest = (0..CELLS.len())
        .max_by_key(|&i| CELLS[i].headcount)
        .unwrap();
    main_cells[biggest] += main - given.min(main);
    let ap = apportion(n_ap, &la_head);
    let mut out: Vec<LaSize> = (0..LAS.len())
        .map(|la| LaSize {
            la,
            ..Default::default()
        })
        .collect();
    for (i, c) in CELLS.iter().enumerate() {
        let s = &mut out[c.la as usize];
        let ph = c.phase as usize;
        let n = main_cells[i];
        s.pupils[ph] = n;
        s.cells[ph] = Some(i);
        if n > 0 {
            let want = (c.schools as f64 * n as f64 / c.headcount as f64).round() as u64;
            s.schools[ph] = want.clamp(1, (n / 8).max(1));
        }
    }
    for (la, s) in out.iter_mut().enumerate() {
        s.pupils[3] = ap[la];
        if ap[la] > 0 {
            s.schools[3] = ((ap[la] as f64 / AP_SIZE).round() as u64).clamp(1, ap[la]);
        }
    }
    out.retain(|s| s.pupils.iter().sum::<u64>() > 0);
    let mut urn = 100_000i32;
    let mut pupil = 0u64;
    for s in out.iter_mut() {
        s.urn_base = urn;
        s.pupil_base = pupil;
        urn += s.schools.iter().sum::<u64>() as i32;
        pupil += s.pupils.iter().sum::<u64>();
    }
    assert!(urn <= 999_999, "too many schools for 6-digit URNs");
    out
}

fn pick(rng: &mut ChaCha8Rng, table: &[(u8, f64)]) -> u8 {
    let total: f64 = table.iter().map(|t| t.1).sum();
    let mut x = rng.random::<f64>() * total;
    for &(v, w) in table {
        if x < w {
            return v;
        }
        x -= w;
    }
    table.last().unwrap().0
}

fn nc_table(phase: u8) -> Vec<(u8, f64)> {
    let mut t = Vec::new();
    match phase {
        PRIMARY => {
            t.push((1, 0.3)); // N2 (nursery class)
            t.push((NC_R, 1.0));
            for y in 1..=6 {
                t.push((nc_of(y), 1.0));
            }
        }
        SECONDARY => {
            for y in 7..=11 {
                t.push((nc_of(y), 1.0));
            }
            t.push((nc_of(12), 0.5));
            t.push((nc_of(13), 0.46));
        }
        SPECIAL => {
            t.push((NC_R, 0.5));
            for y in 1..=11 {
                t.push((nc_of(y), 1.0));
            }
            for y in 12..=14 {
                t.push((nc_of(y), 0.5));
            }
            t.push((NC_X, 0.2));
        }
        _ => {
            for (y, w) in [
                (5, 0.1),
                (6, 0.2),
                (7, 0.5),
                (8, 0.7),
                (9, 1.0),
                (10, 1.3),
                (11, 1.5),
            ] {
                t.push((nc_of(y), w));
            }
        }
    }
    t
}

/// Draw one pupil's characteristics (flags) for a school phase, at national rates with the usual
/// correlations (FSM raises SEN; CIN/CPP follow FSM and SEN; looked-after follows SEN).
fn characteristics(rng: &mut ChaCha8Rng, phase: u8) -> u16 {
    let mut f = 0u16;
    let (fsm_p, e_p, k_p) = match phase {
        SPECIAL => (0.45, 0.97, 0.03),
        AP => (0.60, 0.15, 0.45),
        _ => (0.245, 0.0, 0.0),
    };
    let fsm = rng.random::<f64>() < fsm_p;
    if fsm {
        f |= flag::FSM;
    }
    let (e_p, k_p) = if phase == PRIMARY || phase == SECONDARY {
        if fsm { (0.05, 0.22) } else { (0.0245, 0.118) }
    } else {
        (e_p, k_p)
    };
    let x = rng.random::<f64>();
    if x < e_p {
        f |= flag::SEN_E;
    } else if x < e_p + k_p {
        f |= flag::SEN_K;
    }
    let sen = f & (flag::SEN_E | flag::SEN_K) != 0;
    let fsm1 = fsm as u8 as f64;
    let sen1 = sen as u8 as f64;
    let (cla_p, cin_p, cpp_p) = match phase {
        SPECIAL => (0.03, 0.07, 0.01),
        AP => (0.05, 0.15, 0.04),
        _ => (
            0.0045 + 0.011 * sen1,
            0.011 + 0.03 * fsm1 + 0.035 * sen1,
            0.0025 + 0.012 * fsm1 + 0.008 * sen1,
        ),
    };
    if rng.random::<f64>() < cla_p {
        f |= flag::CLA;
    }
    let y = rng.random::<f64>();
    if y < cpp_p {
        f |= flag::CPP;
    } else if y < cpp_p + cin_p {
        f |= flag::CIN;
    }
    f
}

/// Latent absence risk shift of an enrolment (added to a standard normal draw).
fn risk_shift(e: &Enrol, phase: u8) -> f64 {
    let mut s = 0.0;
    if e.flags & flag::FSM != 0 {
        s += 0.55;
    }
    if e.flags & flag::SEN_K != 0 {
        s += 0.5;
    }
    if e.flags & flag::SEN_E != 0 {
        s += 0.6;
    }
    if e.flags & (flag::CIN | flag::CPP) != 0 {
        s += 0.85;
    }
    if e.flags & flag::CLA != 0 {
        s += 0.25;
    }
    s += match e.nc {
        n if n == nc_of(7) => -0.15,
        n if n == nc_of(9) => 0.15,
        n if n == nc_of(10) || n == nc_of(11) => 0.3,
        n if n >= nc_of(12) && n != NC_X => 0.2,
        n if n == nc_of(1) => 0.05,
        _ => 0.0,
    };
    if phase == SECONDARY && e.flags & flag::FEMALE != 0 {
        s += 0.08;
    }
    s
}

/// Plan one LA.
pub fn plan_la(size: &LaSize, seed: u64, year: i32) -> LaPlan {
    let la = size.la;
    let cal = calendar::build(year, &mut stream(seed, domain::CALENDAR, la as u64));
    let ndays = cal.len();
    let mut rng = stream(seed, domain::LA_PLAN, la as u64);
    let key = hash3(seed, domain::PUPIL_KEY, 0);
    let la_name = LAS[la].name;

    let mut schools: Vec<SchoolPlan> = Vec::new();
    let mut groups: Vec<GroupParams> = Vec::new();
    let mut group_rates: Vec<Rates> = Vec::new();
    let mut group_phase: Vec<u8> = Vec::new();
    let mut enrols: Vec<Enrol> = Vec::with_capacity(size.pupils.iter().sum::<u64>() as usize);
    let mut pupil_no = size.pupil_base;
    let mut urn = size.urn_base;

    for phase in 0..4u8 {
        let n = size.pupils[phase as usize];
        if n == 0 {
            continue;
        }
        let rates = match size.cells[phase as usize] {
            Some(c) if phase != AP => CELLS[c].rates,
            _ => ap_rates(),
        };
        let group = groups.len();
        group_rates.push(rates);
        group_phase.push(phase);
        groups.push(GroupParams {
            auth_cum: [[0.0; 11]; 2],
            unauth_cum: [0.0; 4],
            aea_cum: [[0.0; 5]; 2],
        });
        let n_sch = size.schools[phase as usize] as usize;
        let sigma = if phase == SPECIAL || phase == AP {
            0.5
        } else {
            0.35
        };
        let w: Vec<f64> = (0..n_sch)
            .map(|_| (sigma * rng.sample::<f64, _>(StandardNormal)).exp())
            .collect();
        let extra = apportion(n - n_sch as u64, &w);
        let label = [
            "Primary School",
            "High School",
            "Special School",
            "Pupil Referral Unit",
        ][phase as usize];
        let nc_tab = nc_table(phase);
        for (k, ex) in extra.iter().enumerate() {
            let school_idx = schools.len() as u32;
            let mut srng = stream(seed, domain::SCHOOL, urn as u64);
            // school closures: bank holidays in term, 5 INSET days, rarely a site closure (Y4)
            let mut day_code = vec![code::FREE; ndays];
            for (d, &bh) in cal.bank_holiday.iter().enumerate() {
                if bh {
                    day_code[d] = code::CLOSED;
                }
            }
            let cands = &cal.inset_candidates;
            day_code[cands[0] as usize] = code::CLOSED;
            let mut chosen = 1;
            while chosen < 5 && chosen < cands.len() {
                let c = cands[srng.random_range(1..cands.len())] as usize;
                if day_code[c] == code::FREE {
                    day_code[c] = code::CLOSED;
                    chosen += 1;
                }
            }
            if srng.random::<f64>() < 0.02 {
                let lo = cal.spring_start as usize;
                let hi = (lo + 30).min(ndays);
                let d = srng.random_range(lo..hi);
                if day_code[d] == code::FREE {
                    day_code[d] = code::Y4;
                }
            }
            schools.push(SchoolPlan {
                urn,
                phase,
                name: format!("{la_name} {label} {}", k + 1),
                group,
                day_code,
            });
            urn += 1;
            for _ in 0..(1 + ex) {
                let id = perm48(pupil_no, key);
                pupil_no += 1;
                let nc = pick(&mut rng, &nc_tab);
                let mut flags = characteristics(&mut rng, phase);
                if rng.random::<f64>() < 0.49 {
                    flags |= flag::FEMALE;
                }
                let age = match nc_age(nc) {
                    Some(a) => a as i32,
                    None => rng.random_range(5..=18),
                };
                let dob = if rng.random::<f64>() < 0.01 {
                    i32::MIN
                } else {
                    let lo =
                        calendar::date32(NaiveDate::from_ymd_opt(year - age - 1, 9, 1).unwrap());
                    let hi = calendar::date32(NaiveDate::from_ymd_opt(year - age, 8, 31).unwrap());
                    rng.random_range(lo..=hi)
                };
                let dual_p = match phase {
                    AP => 0.2,
                    SECONDARY => 0.004,
                    _ => 0.001,
                };
                if rng.random::<f64>() < dual_p {
                    flags |= flag::DUAL;
                }
                if nc == NC_R && rng.random::<f64>() < 0.05 {
                    flags |= flag::PART_TIME;
                }
                if rng.random::<f64>() < 0.005 {
                    flags |= flag::Y1;
                }
                let dual_wd = rng.random_range(0..5u8);
                enrols.push(Enrol {
                    id,
                    school: school_idx,
                    day_from: 0,
                    day_to: ndays as u16,
                    nc,
                    dual_wd,
                    flags,
                    dob,
                    p: 0.0,
                    unauth: 0.0,
                    late: 0.0,
                    aea: 0.0,
                });
            }
        }
    }

    // propensities, group by group (enrolments are still in school order, groups contiguous)
    let mut start = 0;
    for (g, rates) in group_rates.iter().enumerate() {
        let phase = group_phase[g];
        let mut end = start;
        while end < enrols.len() && schools[enrols[end].school as usize].group == g {
            end += 1;
        }
        calibrate_group(
            &mut enrols[start..end],
            rates,
            phase,
            &mut rng,
            &mut groups[g],
        );
        start = end;
    }

    // movers: a second enrolment at another school of the same phase, in the LA (half of them
    // when it has one) or in another LA of the region (placed later by `place_movers`)
    let n_first = enrols.len();
    let mut out_moves = Vec::new();
    for i in 0..n_first {
        if rng.random::<f64>() >= MOVER_SHARE || ndays < 60 {
            continue;
        }
        let s = enrols[i].school as usize;
        let g = schools[s].group;
        let peers: Vec<usize> = (0..schools.len())
            .filter(|&j| j != s && schools[j].group == g)
            .collect();
        let m = rng.random_range(20..ndays - 20) as u16;
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
    enrols.sort_unstable_by_key(|e| (e.school, e.id));
    LaPlan {
        la,
        calendar: cal,
        schools,
        groups,
        enrols,
        out_moves,
    }
}

/// Set `p`, `unauth`, `late` and `aea` of one group's enrolments and its reason weights.
fn calibrate_group(
    es: &mut [Enrol],
    rates: &Rates,
    phase: u8,
    rng: &mut ChaCha8Rng,
    gp: &mut GroupParams,
) {
    let n = es.len();
    if n == 0 {
        return;
    }
    let score: Vec<f64> = es
        .iter()
        .map(|e| risk_shift(e, phase) + rng.sample::<f64, _>(StandardNormal))
        .collect();
    let mut scope: Vec<usize> = (0..n).filter(|&i| nc_in_scope(es[i].nc)).collect();
    if scope.is_empty() {
        scope = (0..n).collect();
    }
    let in_scope_flag = {
        let mut f = vec![false; n];
        for &i in &scope {
            f[i] = true;
        }
        f
    };
    scope.sort_by(|&a, &b| score[a].partial_cmp(&score[b]).unwrap().then(a.cmp(&b)));
    let sorted_scores: Vec<f64> = scope.iter().map(|&i| score[i]).collect();
    let ns = scope.len() as f64;
    let sa_k = match phase {
        PRIMARY => 0.07,
        SECONDARY => 0.14,
        SPECIAL => 0.15,
        _ => 0.4,
    };
    let q = Quantile::solve(rates.overall, rates.pa, rates.pa * sa_k);
    // systematic sampling of the in-scope ranks (one jitter for the group) keeps even a small
    // group's mean and PA share on target; an out-of-scope pupil is placed among the in-scope
    // scores (one of ns + 1 gaps), which is uniform too
    let mut u = vec![0.0f64; n];
    let jitter = rng.random::<f64>();
    for (rank, &i) in scope.iter().enumerate() {
        u[i] = (rank as f64 + jitter) / ns;
    }
    for i in 0..n {
        if !in_scope_flag[i] {
            let pos = sorted_scores.partition_point(|&s| s < score[i]);
            u[i] = (pos as f64 + rng.random::<f64>()) / (ns + 1.0);
        }
    }
    for i in 0..n {
        es[i].p = q.eval(u[i]) as f32;
    }
    // unauthorised share grows with absence: min(0.97, c sqrt(p / r)); solve c on the in-scope
    let share_u = if rates.overall > 0.0 {
        rates.unauthorised / rates.overall
    } else {
        0.3
    };
    let r = rates.overall.max(1e-6);
    let frac = |c: f64, p: f64| (c * (p / r).sqrt()).min(0.97);
    let total_p: f64 = scope.iter().map(|&i| es[i].p as f64).sum();
    let (mut lo, mut hi) = (0.0f64, 50.0f64);
    for _ in 0..50 {
        let mid = 0.5 * (lo + hi);
        let got: f64 = scope
            .iter()
            .map(|&i| es[i].p as f64 * frac(mid, es[i].p as f64))
            .sum();
        if got < share_u * total_p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let c = 0.5 * (lo + hi);
    for e in es.iter_mut() {
        e.unauth = frac(c, e.p as f64) as f32;
        e.late = (rates.late * rng.sample::<f64, _>(Exp1)) as f32;
        e.aea = (rates.aea * rng.sample::<f64, _>(Exp1)) as f32;
    }
    // reason weights: share / mean event length; S only for Years 11 and 13, W for Years 10 and 12
    let count = |ys: &[u8]| scope.iter().filter(|&&i| ys.contains(&es[i].nc)).count() as f64;
    let s_boost = 1.0 / (count(&[nc_of(11)]) / ns).max(0.05);
    let w_boost = 1.0 / (count(&[nc_of(10)]) / ns).max(0.05);
    // `H` is a legacy code (before August 2024): its tiny share goes to `C`
    let mut auth_shares = rates.auth_shares;
    let (h, c_) = (
        code::AUTH.iter().position(|&c| c == code::H).unwrap(),
        code::AUTH.iter().position(|&c| c == code::C).unwrap(),
    );
    auth_shares[c_] += auth_shares[h];
    auth_shares[h] = 0.0;
    let mut auth = [[0.0; 11]; 2];
    for (k, &c) in code::AUTH.iter().enumerate() {
        let w = auth_shares[k] / mean_len(c);
        auth[0][k] = if c == code::S { 0.0 } else { w };
        auth[1][k] = if c == code::S { w * s_boost } else { w };
    }
    let mut aea = [[0.0; 5]; 2];
    for (k, &c) in code::AEA.iter().enumerate() {
        let w = rates.aea_shares[k] / mean_len(c);
        aea[0][k] = if c == code::W { 0.0 } else { w };
        aea[1][k] = if c == code::W { w * w_boost } else { w };
    }
    let mut unauth = [0.0; 4];
    for (k, &c) in code::UNAUTH.iter().enumerate() {
        unauth[k] = rates.unauth_shares[k] / mean_len(c);
    }
    gp.auth_cum = [cumulate(auth[0]), cumulate(auth[1])];
    gp.aea_cum = [cumulate(aea[0]), cumulate(aea[1])];
    gp.unauth_cum = cumulate(unauth);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_hits_mean_and_pa() {
        for (r, pa) in [
            (0.0525, 0.135),
            (0.0859, 0.243),
            (0.1288, 0.358),
            (0.0712, 0.2274),
            (0.1686, 0.3475),
        ] {
            let q = Quantile::solve(r, pa, pa * 0.1);
            let n = 200_000;
            let mut mean = 0.0;
            let mut pas = 0.0;
            for i in 0..n {
                let p = q.eval((i as f64 + 0.5) / n as f64);
                mean += p;
                if p >= 0.1 {
                    pas += 1.0;
                }
            }
            mean /= n as f64;
            pas /= n as f64;
            assert!((mean - r).abs() < 1e-4, "{r} {pa}: mean {mean}");
            assert!((pas - pa).abs() < 1e-4, "{r} {pa}: pa {pas}");
        }
    }

    #[test]
    fn apportion_sums() {
        let a = apportion(10, &[1.0, 1.0, 1.0]);
        assert_eq!(a.iter().sum::<u64>(), 10);
        let s = sizes(10_000);
        assert_eq!(
            s.iter().map(|s| s.pupils.iter().sum::<u64>()).sum::<u64>(),
            10_000
        );
        let ids: std::collections::HashSet<u64> = (0..100_000).map(|i| perm48(i, 12345)).collect();
        assert_eq!(ids.len(), 100_000);
    }
}
