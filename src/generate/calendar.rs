//! School calendars: one per LA (term dates vary slightly between LAs), shared by its schools,
//! which add their own 5 INSET days (and rarely a closure). Term weekdays get marks; weekdays in
//! holidays between terms and weekends get none. Bank holidays inside term time are marked `#`.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rand::Rng;

/// Days from 1970-01-01 (Arrow Date32).
pub fn date32(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

/// The date of a Date32 value.
pub fn from_date32(d: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + Duration::days(d as i64)
}

/// A date of the udfs crate's calendar (the one calendar of the workspace) as a chrono date.
fn civil(d: attendance_udfs::calendar::CivilDate) -> NaiveDate {
    from_date32(d.to_days())
}

/// Easter Sunday of year `y` (the Gregorian computus of `attendance_udfs::calendar`).
pub fn easter(y: i32) -> NaiveDate {
    civil(attendance_udfs::calendar::easter_sunday(y))
}

/// The spring bank holiday: the last Monday of May of year `y`.
pub fn spring_bank_holiday(y: i32) -> NaiveDate {
    civil(attendance_udfs::calendar::spring_bank_holiday(y))
}

fn first_monday_on_or_after(d: NaiveDate) -> NaiveDate {
    let mut d = d;
    while d.weekday() != Weekday::Mon {
        d = d.succ_opt().unwrap();
    }
    d
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The term-time weekdays of one LA's academic year.
#[derive(Debug, Clone)]
pub struct Calendar {
    /// Date32 of every term weekday, ascending (bank holidays in term included)
    pub days: Vec<i32>,
    /// 0 = Monday .. 4 = Friday
    pub weekday: Vec<u8>,
    /// bank holiday inside term time (marked `#` by every school)
    pub bank_holiday: Vec<bool>,
    /// typical INSET days (day indices); index 0 is the first day of the autumn term
    pub inset_candidates: Vec<u16>,
    /// last day index before each holiday break
    pub break_before: Vec<u16>,
    /// first day index after each holiday break
    pub break_after: Vec<u16>,
    /// first day index of the spring term (January)
    pub spring_start: u16,
    /// first day index on or after 1 May
    pub may1: u16,
    /// first day index on or after the spring bank holiday (last Monday of May)
    pub after_spring_bh: u16,
}

impl Calendar {
    pub fn len(&self) -> usize {
        self.days.len()
    }
}

/// Number of term weekdays, excluding bank holidays, that every LA calendar has (190 teaching days
/// plus 5 INSET days).
pub const TERM_DAYS: usize = 195;

/// Build the calendar of one LA for the academic year starting in `y0` (1 Aug y0 .. 31 Jul y0+1).
pub fn build(y0: i32, rng: &mut impl Rng) -> Calendar {
    let (holidays, bank_holidays, start) = term_dates(y0, rng);
    let mut cal = term_days(start, &holidays, &bank_holidays, ymd(y0 + 1, 7, 31));
    let y1 = y0 + 1;
    let n = cal.days.len();
    let first_at = |date: NaiveDate| -> u16 {
        let t = date32(date);
        cal.days.iter().position(|&x| x >= t).unwrap_or(n) as u16
    };
    cal.spring_start = first_at(ymd(y1, 1, 1));
    cal.may1 = first_at(ymd(y1, 5, 1));
    cal.after_spring_bh = first_at(spring_bank_holiday(y1));
    for i in 0..n.saturating_sub(1) {
        if cal.days[i + 1] - cal.days[i] > 3 {
            cal.break_before.push(i as u16);
            cal.break_after.push(i as u16 + 1);
        }
    }
    cal.inset_candidates = inset_candidates(&cal);
    cal
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The next weekday on or after `d`.
fn weekday_on_or_after(mut d: NaiveDate) -> NaiveDate {
    while is_weekend(d) {
        d = d.succ_opt().unwrap();
    }
    d
}

/// One LA's holidays (inclusive date ranges), the bank holidays that may fall in term, and the
/// first day of the autumn term; the draws decide the LA's variations.
fn term_dates(
    y0: i32,
    rng: &mut impl Rng,
) -> ([(NaiveDate, NaiveDate); 5], [NaiveDate; 4], NaiveDate) {
    let y1 = y0 + 1;
    let week = |mon: NaiveDate| (mon, mon + Duration::days(4));
    // autumn term start: first weekday on or after 2 Sep, some LAs a day or two later
    let mut start = weekday_on_or_after(ymd(y0, 9, 2));
    let late: u32 = match rng.random::<f64>() {
        x if x < 0.55 => 0,
        x if x < 0.85 => 1,
        _ => 2,
    };
    for _ in 0..late {
        start = weekday_on_or_after(start.succ_opt().unwrap());
    }
    // October half term: the week of the last Monday of October (some LAs a week earlier)
    let mut oct = first_monday_on_or_after(ymd(y0, 10, 25));
    if rng.random::<f64>() < 0.2 {
        oct -= Duration::days(7);
    }
    let (aut_end, spr_start) = christmas(y0, rng);
    // February half term: week of the Monday on or after 14 Feb (some a week earlier)
    let mut feb = first_monday_on_or_after(ymd(y1, 2, 14));
    if rng.random::<f64>() < 0.15 {
        feb -= Duration::days(7);
    }
    // Easter holidays: two weeks, either Good Friday's week and the next, or the week before and
    // Good Friday's week (Easter Monday then falls in term and is marked `#`)
    let e = easter(y1);
    let good_friday = e - Duration::days(2);
    let easter_monday = e + Duration::days(1);
    let gf_mon = good_friday - Duration::days(4);
    let easter_hol = if rng.random::<f64>() < 0.5 {
        (gf_mon, gf_mon + Duration::days(11))
    } else {
        (gf_mon - Duration::days(7), good_friday)
    };
    let sbh = spring_bank_holiday(y1);
    let early_may = first_monday_on_or_after(ymd(y1, 5, 1));
    let holidays = [
        week(oct),
        (aut_end + Duration::days(1), spr_start - Duration::days(1)),
        week(feb),
        easter_hol,
        week(sbh),
    ];
    (
        holidays,
        [good_friday, easter_monday, early_may, sbh],
        start,
    )
}

/// Christmas: the autumn term ends on the Friday on or before 22 Dec (some a day earlier); the
/// spring term starts two weeks and a weekend later, not before 3 Jan (New Year bank holiday).
fn christmas(y0: i32, rng: &mut impl Rng) -> (NaiveDate, NaiveDate) {
    let mut aut_end = ymd(y0, 12, 22);
    while aut_end.weekday() != Weekday::Fri {
        aut_end = aut_end.pred_opt().unwrap();
    }
    let mut spr_start = weekday_on_or_after((aut_end + Duration::days(17)).max(ymd(y0 + 1, 1, 3)));
    if rng.random::<f64>() < 0.25 {
        aut_end = aut_end.pred_opt().unwrap();
    }
    if rng.random::<f64>() < 0.2 {
        spr_start = weekday_on_or_after(spr_start.succ_opt().unwrap());
    }
    (aut_end, spr_start)
}

/// The term weekdays from `start` until `TERM_DAYS` of them (bank holidays not counted) or
/// `last_possible`.
fn term_days(
    start: NaiveDate,
    holidays: &[(NaiveDate, NaiveDate)],
    bank_holidays: &[NaiveDate],
    last_possible: NaiveDate,
) -> Calendar {
    let mut cal = Calendar {
        days: Vec::with_capacity(200),
        weekday: Vec::with_capacity(200),
        bank_holiday: Vec::with_capacity(200),
        inset_candidates: Vec::new(),
        break_before: Vec::new(),
        break_after: Vec::new(),
        spring_start: 0,
        may1: 0,
        after_spring_bh: 0,
    };
    let mut d = start;
    let mut counted = 0;
    while counted < TERM_DAYS && d <= last_possible {
        if !is_weekend(d) && !holidays.iter().any(|&(a, b)| d >= a && d <= b) {
            let bh = bank_holidays.contains(&d);
            cal.days.push(date32(d));
            cal.weekday.push(d.weekday().num_days_from_monday() as u8);
            cal.bank_holiday.push(bh);
            if !bh {
                counted += 1;
            }
        }
        d = d.succ_opt().unwrap();
    }
    cal
}

/// INSET candidates: the first two days of the year, the first day after each break and the
/// last day before each break, and the last day of the year; never a bank holiday.
fn inset_candidates(cal: &Calendar) -> Vec<u16> {
    let n = cal.days.len();
    let mut cands: Vec<u16> = vec![0, 1];
    for (&b, &a) in cal.break_before.iter().zip(&cal.break_after) {
        cands.push(b);
        cands.push(a);
    }
    cands.push(n as u16 - 1);
    let mut seen = vec![false; n];
    let mut out = Vec::new();
    for c in cands {
        let mut c = c as usize;
        while c + 1 < n && cal.bank_holiday[c] {
            c += 1;
        }
        if !cal.bank_holiday[c] && !seen[c] {
            seen[c] = true;
            out.push(c as u16);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn easter_dates() {
        assert_eq!(easter(2024), NaiveDate::from_ymd_opt(2024, 3, 31).unwrap());
        assert_eq!(easter(2025), NaiveDate::from_ymd_opt(2025, 4, 20).unwrap());
        assert_eq!(easter(2026), NaiveDate::from_ymd_opt(2026, 4, 5).unwrap());
        assert_eq!(
            spring_bank_holiday(2025),
            NaiveDate::from_ymd_opt(2025, 5, 26).unwrap()
        );
    }

    #[test]
    fn calendars_have_195_term_days() {
        for y in [2022, 2023, 2024, 2025, 2026] {
            for s in 0..20 {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(s);
                let c = build(y, &mut rng);
                let non_bh = c.bank_holiday.iter().filter(|b| !**b).count();
                assert_eq!(
                    non_bh,
                    TERM_DAYS,
                    "{y} seed {s}: {:?} .. {:?}",
                    from_date32(c.days[0]),
                    from_date32(*c.days.last().unwrap())
                );
                let last = from_date32(*c.days.last().unwrap());
                assert!(
                    last >= NaiveDate::from_ymd_opt(y + 1, 7, 14).unwrap()
                        && last <= NaiveDate::from_ymd_opt(y + 1, 7, 28).unwrap(),
                    "{y}: ends {last}"
                );
                assert!(c.inset_candidates.len() >= 8);
                assert!(c.weekday.iter().all(|&w| w < 5));
            }
        }
    }
}
