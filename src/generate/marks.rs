//! Register marks: one enrolment's codes for every session of its school days, and the batch
//! iterator of one LA partition.
//!
//! Per enrolment: closures (`#` INSET days and bank holidays in term, rare `Y4`), then the pupil's
//! own not-possible marks (`D` on a weekday for the dual registered, `X` afternoons for part-time
//! reception pupils in the autumn term, a `Y1` morning). The rest are possible sessions `F`. The
//! absence budget is `p x F` (stochastic rounding), split into unauthorised and authorised budgets,
//! each filled with reason events (illness spells of 1-3 whole days or an afternoon, term-time
//! holidays as whole weeks often next to a holiday break, single-session appointments and lates,
//! Monday/Friday-heavy odd days, ...), truncated to the budget. Then approved activities and `L`
//! lates replace some present sessions; the remaining sessions are present, `/` AM and `\` PM.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, Date32Array, Int32Array, RecordBatch, StringArray,
};
use datafusion::arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::calibration::LAS;
use super::model::*;
use super::plan::{Enrol, LaPlan, flag};

/// Maximum rows of one register batch (batches end at enrolment boundaries).
pub const BATCH_ROWS: usize = 65_536;

/// Relative weight of absence starting on Monday .. Friday (Monday/Friday effect).
const WEEKDAY_ACCEPT: [f64; 5] = [1.0, 0.72, 0.68, 0.72, 0.95];

struct Placer<'a> {
    codes: &'a mut [u8],
    weekday: &'a [u8],
    /// free (undecided) sessions left
    free: u32,
}

enum Half {
    Any,
    Am,
    Pm,
}

impl Placer<'_> {
    fn days(&self) -> usize {
        self.codes.len() / 2
    }

    #[inline]
    fn day_free(&self, t: usize) -> bool {
        self.codes[2 * t] == code::FREE && self.codes[2 * t + 1] == code::FREE
    }

    /// A start day in [lo, hi), Monday/Friday-weighted if `mf`.
    fn start_day(&self, rng: &mut ChaCha8Rng, lo: usize, hi: usize, mf: bool) -> usize {
        loop {
            let t = rng.random_range(lo..hi);
            if !mf || rng.random::<f64>() < WEEKDAY_ACCEPT[self.weekday[t] as usize] {
                return t;
            }
        }
    }

    /// Whole days [t, t + d) if all free; returns sessions placed.
    fn try_days(&mut self, t: usize, d: usize, c: u8) -> u32 {
        if t + d > self.days() || !(t..t + d).all(|k| self.day_free(k)) {
            return 0;
        }
        for k in t..t + d {
            self.codes[2 * k] = c;
            self.codes[2 * k + 1] = c;
        }
        self.free -= 2 * d as u32;
        2 * d as u32
    }

    /// One free session (of the wanted half if possible); returns 1, or 0 when nothing is free.
    fn single(&mut self, rng: &mut ChaCha8Rng, c: u8, half: Half, lo: usize, hi: usize) -> u32 {
        if self.free == 0 {
            return 0;
        }
        let n = self.codes.len();
        let (lo_s, hi_s) = (2 * lo, 2 * hi);
        for _ in 0..12 {
            let mut s = rng.random_range(lo_s..hi_s);
            match half {
                Half::Am => s &= !1,
                Half::Pm => s |= 1,
                Half::Any => {}
            }
            if s < n && self.codes[s] == code::FREE {
                self.codes[s] = c;
                self.free -= 1;
                return 1;
            }
        }
        let start = rng.random_range(0..n);
        for k in 0..n {
            let s = (start + k) % n;
            if self.codes[s] == code::FREE {
                self.codes[s] = c;
                self.free -= 1;
                return 1;
            }
        }
        0
    }

    /// Place `d` whole days of `c` somewhere in [lo, hi) (a few tries), else single sessions.
    #[allow(clippy::too_many_arguments)]
    fn days_or_singles(
        &mut self,
        rng: &mut ChaCha8Rng,
        c: u8,
        d: usize,
        lo: usize,
        hi: usize,
        mf: bool,
        near_break: Option<(&[u16], &[u16], usize)>,
    ) -> u32 {
        if d == 0 {
            return self.single(rng, c, Half::Any, lo, hi.max(lo + 1));
        }
        if hi > lo && hi - lo >= d {
            for attempt in 0..4 {
                let t = match near_break {
                    Some((before, after, from))
                        if attempt < 2 && !before.is_empty() && rng.random::<f64>() < 0.5 =>
                    {
                        let b = rng.random_range(0..before.len());
                        if rng.random::<bool>() {
                            (before[b] as usize + 1)
                                .saturating_sub(d)
                                .wrapping_sub(from)
                        } else {
                            (after[b] as usize).wrapping_sub(from)
                        }
                    }
                    _ => self.start_day(rng, lo, hi - d + 1, mf),
                };
                if t < lo || t >= hi {
                    continue;
                }
                let got = self.try_days(t, d, c);
                if got > 0 {
                    return got;
                }
            }
        }
        let mut got = 0;
        for _ in 0..2 * d {
            got += self.single(rng, c, Half::Any, lo, hi.max(lo + 1));
        }
        got
    }

    /// Consecutive afternoons from a random day (part-time timetable).
    fn pm_run(&mut self, rng: &mut ChaCha8Rng, c: u8, d: usize) -> u32 {
        let n = self.days();
        let t0 = rng.random_range(0..n);
        let mut got = 0;
        for k in t0..(t0 + d).min(n) {
            if self.codes[2 * k + 1] == code::FREE {
                self.codes[2 * k + 1] = c;
                self.free -= 1;
                got += 1;
            }
        }
        got
    }
}

fn pick_cum(rng: &mut ChaCha8Rng, cum: &[f64]) -> usize {
    let x = rng.random::<f64>() * cum[cum.len() - 1];
    cum.iter().position(|&c| x < c).unwrap_or(cum.len() - 1)
}

/// Fill `budget` sessions with events of the reasons `codes` (cumulative weights `cum`).
fn fill(
    pl: &mut Placer,
    rng: &mut ChaCha8Rng,
    budget: u32,
    reasons: &[u8],
    cum: &[f64],
    study_window: (usize, usize),
    breaks: (&[u16], &[u16], usize),
) {
    use code::*;
    let n = pl.days();
    let mut rem = budget.min(pl.free);
    let mut guard = 0;
    while rem > 0 && pl.free > 0 && guard < 10_000 {
        guard += 1;
        let c = reasons[pick_cum(rng, cum)];
        let x = rng.random::<f64>();
        let placed = match c {
            I if x < 0.15 => pl.single(rng, c, Half::Pm, 0, n),
            I => {
                let d = if x < 0.66 {
                    1
                } else if x < 0.87 {
                    2
                } else {
                    3
                };
                pl.days_or_singles(rng, c, d.min(rem as usize / 2), 0, n, true, None)
            }
            M | N | C | J1 | B if x < 0.5 || rem < 2 || matches!(c, M | N) => {
                pl.single(rng, c, Half::Any, 0, n)
            }
            U => pl.single(rng, c, Half::Am, 0, n),
            P => pl.single(rng, c, Half::Pm, 0, n),
            O if x < 0.4 || rem < 2 => pl.single(rng, c, Half::Any, 0, n),
            O => {
                let d = if rng.random::<bool>() { 1 } else { 2 };
                pl.days_or_singles(rng, c, d.min(rem as usize / 2), 0, n, true, None)
            }
            C2 => {
                let d = rng.random_range(5..=20usize).min(rem as usize);
                pl.pm_run(rng, c, d)
            }
            _ if rem < 2 => pl.single(rng, c, Half::Any, 0, n),
            G | H => {
                let d = if x < 0.6 { 5 } else { rng.random_range(2..=4) };
                pl.days_or_singles(rng, c, d.min(rem as usize / 2), 0, n, false, Some(breaks))
            }
            S => {
                let d = rng.random_range(1..=3usize).min(rem as usize / 2);
                let (lo, hi) = if study_window.1 > study_window.0 {
                    study_window
                } else {
                    (0, n)
                };
                pl.days_or_singles(rng, c, d, lo, hi, false, None)
            }
            V if x < 0.2 => {
                let d = rng.random_range(3..=5usize).min(rem as usize / 2);
                pl.days_or_singles(rng, c, d, 0, n, false, None)
            }
            W => pl.days_or_singles(rng, c, 5.min(rem as usize / 2), 0, n, false, Some(breaks)),
            _ => {
                let d = match c {
                    R | V | C | J1 | B => 1,
                    C1 => rng.random_range(1..=3),
                    T => rng.random_range(5..=10),
                    E | K => rng.random_range(1..=5),
                    _ => 1,
                };
                pl.days_or_singles(rng, c, d.min(rem as usize / 2), 0, n, false, None)
            }
        };
        rem = rem.saturating_sub(placed);
    }
}

/// Closures (`#`, `Y4`) and the pupil's own not-possible marks (`D`, `X`, one `Y1` morning) of
/// one enrolment's sessions in `out` (the rest stay `code::FREE`).
fn not_possible(lp: &LaPlan, e: &Enrol, rng: &mut ChaCha8Rng, out: &mut [u8]) {
    let school = &lp.schools[e.school as usize];
    let cal = &lp.calendar;
    let from = e.day_from as usize;
    let n = out.len() / 2;
    for t in 0..n {
        let dc = school.day_code[from + t];
        if dc != code::FREE {
            out[2 * t] = dc;
            out[2 * t + 1] = dc;
        } else if e.flags & flag::DUAL != 0 && cal.weekday[from + t] == e.dual_wd {
            out[2 * t] = code::D;
            out[2 * t + 1] = code::D;
        } else if e.flags & flag::PART_TIME != 0 && from + t < cal.spring_start as usize {
            out[2 * t + 1] = code::X;
        }
    }
    if e.flags & flag::Y1 != 0 && n > 0 {
        let t = rng.random_range(0..n);
        if out[2 * t] == code::FREE {
            out[2 * t] = code::Y1;
        }
    }
}

/// The codes of every session of one enrolment, AM then PM for each of its days, into `out`.
pub fn enrolment_codes(lp: &LaPlan, e: &Enrol, seed: u64, out: &mut Vec<u8>) {
    let school = &lp.schools[e.school as usize];
    let cal = &lp.calendar;
    let gp = &lp.groups[school.group];
    let from = e.day_from as usize;
    let to = e.day_to as usize;
    let n = to - from;
    out.clear();
    out.resize(2 * n, code::FREE);
    let mut rng = stream(seed, domain::MARKS, e.id ^ ((school.urn as u64) << 48));
    not_possible(lp, e, &mut rng, out);
    let possible = out.iter().filter(|&&c| c == code::FREE).count() as u32;
    if possible == 0 {
        return;
    }
    let weekday = &cal.weekday[from..to];
    let mut pl = Placer {
        codes: &mut out[..],
        weekday,
        free: possible,
    };

    let absence = stoch_round(e.p as f64 * possible as f64, rng.random()).min(possible);
    let unauth = stoch_round(absence as f64 * e.unauth as f64, rng.random()).min(absence);
    let auth = absence - unauth;
    let window = |a: u16, b: u16| {
        (
            (a as usize).clamp(from, to) - from,
            (b as usize).clamp(from, to) - from,
        )
    };
    let study = if e.nc == nc_of(11) || e.nc == nc_of(13) {
        window(cal.may1, cal.after_spring_bh)
    } else {
        (0, 0)
    };
    let breaks = (&cal.break_before[..], &cal.break_after[..], from);
    fill(
        &mut pl,
        &mut rng,
        unauth,
        &code::UNAUTH,
        &gp.unauth_cum,
        study,
        breaks,
    );
    let s_ok = (e.nc == nc_of(11) || e.nc == nc_of(13)) as usize;
    fill(
        &mut pl,
        &mut rng,
        auth,
        &code::AUTH,
        &gp.auth_cum[s_ok],
        study,
        breaks,
    );
    let aea = stoch_round(e.aea as f64 * possible as f64, rng.random());
    if aea > 0 {
        let w_ok = (e.nc == nc_of(10) || e.nc == nc_of(12)) as usize;
        fill(
            &mut pl,
            &mut rng,
            aea,
            &code::AEA,
            &gp.aea_cum[w_ok],
            study,
            breaks,
        );
    }
    let late = stoch_round(e.late as f64 * possible as f64, rng.random());
    for _ in 0..late {
        if pl.single(&mut rng, code::L, Half::Am, 0, n) == 0 {
            break;
        }
    }
    for (k, c) in out.iter_mut().enumerate() {
        if *c == code::FREE {
            *c = if k & 1 == 0 {
                code::PRESENT_AM
            } else {
                code::PRESENT_PM
            };
        }
    }
}

/// Arrays shared by every batch of one partition (sliced to the batch length).
struct Constants {
    session: ArrayRef,
    year: ArrayRef,
    region: ArrayRef,
    la_code: ArrayRef,
}

fn constant(s: &str, n: usize) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(std::iter::repeat_n(s, n)))
}

fn offsets_vec() -> Vec<i32> {
    let mut v = Vec::with_capacity(BATCH_ROWS + 1);
    v.push(0);
    v
}

/// The register batches of one LA partition.
pub struct RegisterIter<'a> {
    lp: &'a LaPlan,
    seed: u64,
    next: usize,
    consts: Constants,
    scratch: Vec<u8>,
    pid: Vec<u8>,
    urn: Vec<i32>,
    date: Vec<i32>,
    code_vals: Vec<u8>,
    code_offs: Vec<i32>,
}

impl<'a> RegisterIter<'a> {
    pub fn new(lp: &'a LaPlan, seed: u64, year_label: &str) -> Self {
        let la = &LAS[lp.la];
        let session: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..BATCH_ROWS).map(|i| if i & 1 == 0 { "AM" } else { "PM" }),
        ));
        RegisterIter {
            lp,
            seed,
            next: 0,
            consts: Constants {
                session,
                year: constant(year_label, BATCH_ROWS),
                region: constant(la.region_code, BATCH_ROWS),
                la_code: constant(la.old_code, BATCH_ROWS),
            },
            scratch: Vec::with_capacity(512),
            pid: Vec::with_capacity(BATCH_ROWS * 13),
            urn: Vec::with_capacity(BATCH_ROWS),
            date: Vec::with_capacity(BATCH_ROWS),
            code_vals: Vec::with_capacity(BATCH_ROWS * 2),
            code_offs: offsets_vec(),
        }
    }

    fn finish(&mut self) -> RecordBatch {
        let n = self.urn.len();
        let pid_offs: Vec<i32> = (0..=n as i32).map(|i| i * 13).collect();
        let pid = StringArray::new(
            OffsetBuffer::new(ScalarBuffer::from(pid_offs)),
            Buffer::from_vec(std::mem::replace(
                &mut self.pid,
                Vec::with_capacity(BATCH_ROWS * 13),
            )),
            None,
        );
        let offs = std::mem::replace(&mut self.code_offs, offsets_vec());
        let code = StringArray::new(
            OffsetBuffer::new(ScalarBuffer::from(offs)),
            Buffer::from_vec(std::mem::replace(
                &mut self.code_vals,
                Vec::with_capacity(BATCH_ROWS * 2),
            )),
            None,
        );
        let urn = Int32Array::from(std::mem::replace(
            &mut self.urn,
            Vec::with_capacity(BATCH_ROWS),
        ));
        let date = Date32Array::from(std::mem::replace(
            &mut self.date,
            Vec::with_capacity(BATCH_ROWS),
        ));
        RecordBatch::try_new(
            crate::schema::REGISTERS.clone(),
            vec![
                Arc::new(pid),
                Arc::new(urn),
                Arc::new(date),
                self.consts.session.slice(0, n),
                Arc::new(code),
                self.consts.year.slice(0, n),
                self.consts.region.slice(0, n),
                self.consts.la_code.slice(0, n),
            ],
        )
        .expect("register batch matches the REGISTERS schema")
    }
}

impl Iterator for RegisterIter<'_> {
    type Item = RecordBatch;

    fn next(&mut self) -> Option<RecordBatch> {
        let lp = self.lp;
        while self.next < lp.enrols.len() {
            let e = &lp.enrols[self.next];
            let (from, to) = lp.marked_days(e);
            if from == to {
                self.next += 1;
                continue;
            }
            let rows = 2 * (to - from) as usize;
            if !self.urn.is_empty() && self.urn.len() + rows > BATCH_ROWS {
                return Some(self.finish());
            }
            self.next += 1;
            // the whole enrolment's codes (its random stream), of which the days before the cut
            enrolment_codes(lp, e, self.seed, &mut self.scratch);
            let id = pupil_id_bytes(e.id);
            let urn = lp.schools[e.school as usize].urn;
            let days = &lp.calendar.days[from as usize..to as usize];
            let mut off = self.code_vals.len() as i32;
            for (k, &c) in self.scratch[..rows].iter().enumerate() {
                self.pid.extend_from_slice(&id);
                self.urn.push(urn);
                self.date.push(days[k >> 1]);
                let s = code::STR[c as usize].as_bytes();
                self.code_vals.extend_from_slice(s);
                off += s.len() as i32;
                self.code_offs.push(off);
            }
        }
        if self.urn.is_empty() {
            None
        } else {
            Some(self.finish())
        }
    }
}
