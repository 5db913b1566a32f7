//! Pupils: one enrolment's NC year, characteristics, date of birth and not-possible flags, drawn
//! at the national rates of `model::prob`.

use chrono::NaiveDate;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::{Enrol, flag};
use crate::generate::calendar;
use crate::generate::model::prob::*;
use crate::generate::model::*;

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

/// The NC years of a phase's pupils and their weights.
pub fn nc_table(phase: u8) -> Vec<(u8, f64)> {
    let mut t = Vec::new();
    match phase {
        PRIMARY => {
            t.push((1, NURSERY_N2_PRIMARY)); // N2 (nursery class)
            t.push((NC_R, 1.0));
            for y in 1..=6 {
                t.push((nc_of(y), 1.0));
            }
        }
        SECONDARY => {
            for y in 7..=11 {
                t.push((nc_of(y), 1.0));
            }
            t.push((nc_of(12), SIXTH_FORM_SECONDARY.0));
            t.push((nc_of(13), SIXTH_FORM_SECONDARY.1));
        }
        SPECIAL => {
            t.push((NC_R, SPECIAL_RECEPTION));
            for y in 1..=11 {
                t.push((nc_of(y), 1.0));
            }
            for y in 12..=14 {
                t.push((nc_of(y), SPECIAL_POST16));
            }
            t.push((NC_X, SPECIAL_NC_X));
        }
        _ => {
            for (y, w) in AP_YEARS {
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
        SPECIAL => SPECIAL_FSM_E_K,
        AP => AP_FSM_E_K,
        _ => (MAINSTREAM_FSM, 0.0, 0.0),
    };
    let fsm = rng.random::<f64>() < fsm_p;
    if fsm {
        f |= flag::FSM;
    }
    let (e_p, k_p) = if phase == PRIMARY || phase == SECONDARY {
        if fsm {
            MAINSTREAM_E_K_FSM
        } else {
            MAINSTREAM_E_K_NO_FSM
        }
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
        SPECIAL => SPECIAL_CLA_CIN_CPP,
        AP => AP_CLA_CIN_CPP,
        _ => (
            CLA_BASE_SEN.0 + CLA_BASE_SEN.1 * sen1,
            CIN_BASE_FSM_SEN.0 + CIN_BASE_FSM_SEN.1 * fsm1 + CIN_BASE_FSM_SEN.2 * sen1,
            CPP_BASE_FSM_SEN.0 + CPP_BASE_FSM_SEN.1 * fsm1 + CPP_BASE_FSM_SEN.2 * sen1,
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

/// A date of birth for a pupil aged `age` on 31 August of `year` (`i32::MIN` when missing).
fn date_of_birth(rng: &mut ChaCha8Rng, year: i32, age: i32) -> i32 {
    if rng.random::<f64>() < MISSING_DOB {
        i32::MIN
    } else {
        let lo = calendar::date32(NaiveDate::from_ymd_opt(year - age - 1, 9, 1).unwrap());
        let hi = calendar::date32(NaiveDate::from_ymd_opt(year - age, 8, 31).unwrap());
        rng.random_range(lo..=hi)
    }
}

/// Draw one enrolment of pupil `id` at school `school` (a school of `phase`) for the whole
/// calendar (`ndays` days); its propensities are set later, group by group.
pub fn draw_enrolment(
    rng: &mut ChaCha8Rng,
    id: u64,
    school: u32,
    phase: u8,
    nc_tab: &[(u8, f64)],
    year: i32,
    ndays: usize,
) -> Enrol {
    let nc = pick(rng, nc_tab);
    let mut flags = characteristics(rng, phase);
    if rng.random::<f64>() < FEMALE {
        flags |= flag::FEMALE;
    }
    let age = match nc_age(nc) {
        Some(a) => a as i32,
        None => rng.random_range(5..=18),
    };
    let dob = date_of_birth(rng, year, age);
    let dual_p = match phase {
        AP => DUAL.0,
        SECONDARY => DUAL.1,
        _ => DUAL.2,
    };
    if rng.random::<f64>() < dual_p {
        flags |= flag::DUAL;
    }
    if nc == NC_R && rng.random::<f64>() < PART_TIME_RECEPTION {
        flags |= flag::PART_TIME;
    }
    if rng.random::<f64>() < TRANSPORT_Y1 {
        flags |= flag::Y1;
    }
    let dual_wd = rng.random_range(0..5u8);
    Enrol {
        id,
        school,
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
    }
}
