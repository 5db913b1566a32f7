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

//!
//! One file per thing planned: `sizes` (pupils and schools per LA x phase), `schools` (school
//! sizes and closure days), `pupils` (each enrolment's characteristics), `propensity` (the
//! calibration), `movers` (second enrolments). Every probability is named in `model::prob`.

mod movers;
mod propensity;
mod pupils;
mod schools;
mod sizes;

use crate::generate::calendar::{self, Calendar};
use crate::generate::calibration::LAS;
use crate::generate::model::*;

pub use movers::place_movers;
pub use propensity::ap_rates;
pub use sizes::{LaSize, sizes};

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
    /// marks only on the calendar days before this index (`--through`; the calendar's length
    /// when the year is whole): an enrolment's marks are generated for its whole range and cut,
    /// so a cut year is a prefix of the whole year
    pub cut: u16,
}

impl LaPlan {
    /// The days [from, to) of an enrolment that get marks (empty when it starts after the cut).
    pub fn marked_days(&self, e: &Enrol) -> (u16, u16) {
        (e.day_from, e.day_to.min(self.cut).max(e.day_from))
    }

    /// The enrolments with marks before the cut (every one when the year is whole).
    pub fn kept(&self) -> impl Iterator<Item = &Enrol> {
        self.enrols.iter().filter(|e| e.day_from < self.cut)
    }
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

/// Plan one LA: its calendar, schools, pupils, their propensities and its movers. `cells` are
/// the calibration's LA x phase rows (`LaSize::cells` indexes them), `ap` the alternative
/// provision rates.
pub fn plan_la(size: &LaSize, cells: &[Cell], ap: &Rates, seed: u64, year: i32) -> LaPlan {
    let la = size.la;
    let cal = calendar::build(year, &mut stream(seed, domain::CALENDAR, la as u64));
    let mut rng = stream(seed, domain::LA_PLAN, la as u64);
    let mut plan = LaPlan {
        la,
        calendar: cal,
        schools: Vec::new(),
        groups: Vec::new(),
        enrols: Vec::with_capacity(size.pupils.iter().sum::<u64>() as usize),
        out_moves: Vec::new(),
        cut: 0,
    };
    plan.cut = plan.calendar.len() as u16;
    let mut group_rates: Vec<(Rates, u8)> = Vec::new();
    let mut next = (size.pupil_base, size.urn_base);
    for phase in 0..4u8 {
        let n = size.pupils[phase as usize];
        if n == 0 {
            continue;
        }
        let rates = match size.cells[phase as usize] {
            Some(c) if phase != AP => cells[c].rates,
            _ => *ap,
        };
        group_rates.push((rates, phase));
        plan.groups.push(GroupParams {
            auth_cum: [[0.0; 11]; 2],
            unauth_cum: [0.0; 4],
            aea_cum: [[0.0; 5]; 2],
        });
        let n_sch = size.schools[phase as usize] as usize;
        plan_phase(&mut plan, &mut rng, phase, n, n_sch, seed, year, &mut next);
    }
    calibrate_groups(&mut plan, &group_rates, &mut rng);
    plan.out_moves = movers::draw_movers(&mut rng, &mut plan.enrols, &plan.schools, &plan.calendar);
    plan.enrols.sort_unstable_by_key(|e| (e.school, e.id));
    plan
}

/// The schools of one phase of an LA (the group last pushed to `plan.groups`) and their pupils;
/// `next` is the next (pupil number, urn).
#[allow(clippy::too_many_arguments)]
fn plan_phase(
    plan: &mut LaPlan,
    rng: &mut rand_chacha::ChaCha8Rng,
    phase: u8,
    n: u64,
    n_sch: usize,
    seed: u64,
    year: i32,
    next: &mut (u64, i32),
) {
    let key = hash3(seed, domain::PUPIL_KEY, 0);
    let group = plan.groups.len() - 1;
    let ndays = plan.calendar.len();
    let extra = schools::extra_pupils(rng, phase, n, n_sch);
    let nc_tab = pupils::nc_table(phase);
    for (k, ex) in extra.iter().enumerate() {
        let school_idx = plan.schools.len() as u32;
        let urn = next.1;
        let mut srng = stream(seed, domain::SCHOOL, urn as u64);
        plan.schools.push(SchoolPlan {
            urn,
            phase,
            name: format!("{} {} {}", LAS[plan.la].name, schools::label(phase), k + 1),
            group,
            day_code: schools::day_codes(&plan.calendar, &mut srng),
        });
        next.1 += 1;
        for _ in 0..(1 + ex) {
            let id = perm48(next.0, key);
            next.0 += 1;
            let e = pupils::draw_enrolment(rng, id, school_idx, phase, &nc_tab, year, ndays);
            plan.enrols.push(e);
        }
    }
}

/// Propensities, group by group (enrolments are still in school order, groups contiguous).
fn calibrate_groups(
    plan: &mut LaPlan,
    group_rates: &[(Rates, u8)],
    rng: &mut rand_chacha::ChaCha8Rng,
) {
    let mut start = 0;
    for (g, (rates, phase)) in group_rates.iter().enumerate() {
        let mut end = start;
        while end < plan.enrols.len() && plan.schools[plan.enrols[end].school as usize].group == g {
            end += 1;
        }
        propensity::calibrate_group(
            &mut plan.enrols[start..end],
            rates,
            *phase,
            rng,
            &mut plan.groups[g],
        );
        start = end;
    }
}
