//! Schools: how an LA x phase's pupils are shared among its schools, and each school's closure
//! days.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::sizes::apportion;
use crate::generate::calendar::Calendar;
use crate::generate::model::prob::*;
use crate::generate::model::*;

/// Pupils per school beyond the first of each of `n_sch` schools sharing `n` pupils (log-normal
/// school sizes).
pub fn extra_pupils(rng: &mut ChaCha8Rng, phase: u8, n: u64, n_sch: usize) -> Vec<u64> {
    let sigma = if phase == SPECIAL || phase == AP {
        SCHOOL_SIZE_SIGMA.0
    } else {
        SCHOOL_SIZE_SIGMA.1
    };
    let w: Vec<f64> = (0..n_sch)
        .map(|_| (sigma * rng.sample::<f64, _>(StandardNormal)).exp())
        .collect();
    apportion(n - n_sch as u64, &w)
}

/// The name of a school type of a phase.
pub fn label(phase: u8) -> &'static str {
    [
        "Primary School",
        "High School",
        "Special School",
        "Pupil Referral Unit",
    ][phase as usize]
}

/// Per calendar day: `code::FREE` (open), `code::CLOSED` (bank holidays in term, the school's
/// INSET days) or `code::Y4` (rarely a site closure). `srng` is the school's own stream.
pub fn day_codes(cal: &Calendar, srng: &mut ChaCha8Rng) -> Vec<u8> {
    let ndays = cal.len();
    let mut day_code = vec![code::FREE; ndays];
    for (d, &bh) in cal.bank_holiday.iter().enumerate() {
        if bh {
            day_code[d] = code::CLOSED;
        }
    }
    let cands = &cal.inset_candidates;
    day_code[cands[0] as usize] = code::CLOSED;
    let mut chosen = 1;
    while chosen < INSET_DAYS && chosen < cands.len() {
        let c = cands[srng.random_range(1..cands.len())] as usize;
        if day_code[c] == code::FREE {
            day_code[c] = code::CLOSED;
            chosen += 1;
        }
    }
    if srng.random::<f64>() < SITE_CLOSURE {
        let lo = cal.spring_start as usize;
        let hi = (lo + SITE_CLOSURE_WINDOW).min(ndays);
        let d = srng.random_range(lo..hi);
        if day_code[d] == code::FREE {
            day_code[d] = code::Y4;
        }
    }
    day_code
}
