//! The school calendar of England (DOMAIN.md section 3), as plain Rust for the whole project.
//!
//! - The academic year runs from 1 August to 31 July; it is written `2024-25`, and `202425` as an
//!   EES `time_period`.
//! - Terms follow the DfE census definition: autumn 1 August to 31 December, spring 1 January to
//!   Easter Sunday, summer Easter Monday to 31 July.
//! - Easter Sunday is computed by the Gregorian computus (the "anonymous Gregorian algorithm" of
//!   Meeus, Jones and Butcher).
//! - The spring bank holiday is the last Monday of May (DOMAIN.md section 2). Years in which the
//!   holiday was moved by proclamation (2002, 2012, 2022 for jubilees) are not special-cased.
//!
//! Dates are [`CivilDate`]s, convertible to and from Arrow's `Date32` (days since 1970-01-01)
//! with pure integer arithmetic (Howard Hinnant's `days_from_civil` / `civil_from_days`).

use std::fmt;

/// A date of the proleptic Gregorian calendar. Ordered chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CivilDate {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
    /// 1 to 31.
    pub day: u32,
}

impl CivilDate {
    /// The date, or `None` when it does not exist (`2025-02-29`).
    pub fn new(year: i32, month: u32, day: u32) -> Option<Self> {
        let date = Self { year, month, day };
        ((1..=12).contains(&month) && day >= 1 && Self::from_days(date.to_days()) == date)
            .then_some(date)
    }

    /// The date `days` days after 1970-01-01 (an Arrow `Date32` value).
    pub fn from_days(days: i32) -> Self {
        let z = i64::from(days) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year: year as i32,
            month,
            day,
        }
    }

    /// Days since 1970-01-01 (an Arrow `Date32` value).
    pub fn to_days(self) -> i32 {
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400);
        let month = i64::from(self.month);
        let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5
            + i64::from(self.day)
            - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        (era * 146_097 + doe - 719_468) as i32
    }

    /// Days since Monday: 0 for Monday to 6 for Sunday.
    pub fn days_from_monday(self) -> u32 {
        // 1970-01-01 was a Thursday.
        (i64::from(self.to_days()) + 3).rem_euclid(7) as u32
    }

    /// The date `days` days later.
    pub fn add_days(self, days: i32) -> Self {
        Self::from_days(self.to_days() + days)
    }
}

impl fmt::Display for CivilDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Easter Sunday of `year`, by the anonymous Gregorian algorithm.
pub fn easter_sunday(year: i32) -> CivilDate {
    let y = i64::from(year);
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let n = h + l - 7 * m + 114;
    CivilDate {
        year,
        month: (n / 31) as u32,
        day: (n % 31 + 1) as u32,
    }
}

/// The spring bank holiday of `year`: the last Monday of May.
pub fn spring_bank_holiday(year: i32) -> CivilDate {
    let may_31 = CivilDate {
        year,
        month: 5,
        day: 31,
    };
    may_31.add_days(-(may_31.days_from_monday() as i32))
}

/// The calendar year in which the academic year of `date` starts (1 August): 2024 for any date
/// from 2024-08-01 to 2025-07-31.
pub fn academic_year_start(date: CivilDate) -> i32 {
    if date.month >= 8 {
        date.year
    } else {
        date.year - 1
    }
}

/// The academic year starting in `start_year`, written `2024-25`.
pub fn academic_year_label(start_year: i32) -> String {
    format!("{start_year}-{:02}", (start_year + 1).rem_euclid(100))
}

/// The EES `time_period` of the academic year starting in `start_year`: `202425`.
pub fn time_period(start_year: i32) -> i32 {
    start_year * 100 + (start_year + 1).rem_euclid(100)
}

/// The start year of an academic year written `2024-25`, or `None` when `label` is not of that
/// form (four digits, `-`, the next year's last two digits).
pub fn parse_academic_year(label: &str) -> Option<i32> {
    let (start, end) = label.split_once('-')?;
    if start.len() != 4
        || end.len() != 2
        || !label
            .bytes()
            .filter(|b| *b != b'-')
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let start: i32 = start.parse().ok()?;
    let end: i32 = end.parse().ok()?;
    (end == (start + 1) % 100).then_some(start)
}

/// A school term (DfE census definition).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Term {
    /// 1 August to 31 December.
    Autumn,
    /// 1 January to Easter Sunday.
    Spring,
    /// Easter Monday to 31 July.
    Summer,
}

impl Term {
    pub const ALL: [Term; 3] = [Term::Autumn, Term::Spring, Term::Summer];

    /// The term's name as the `term` function returns it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Term::Autumn => "autumn",
            Term::Spring => "spring",
            Term::Summer => "summer",
        }
    }
}

/// The term `date` falls in.
pub fn term_of(date: CivilDate) -> Term {
    term_given_easter(date, easter_sunday(date.year))
}

/// The term `date` falls in, given `easter`, the Easter Sunday of `date`'s calendar year (for
/// callers that compute it once for many dates).
pub fn term_given_easter(date: CivilDate, easter: CivilDate) -> Term {
    debug_assert_eq!(date.year, easter.year);
    if date.month >= 8 {
        Term::Autumn
    } else if date <= easter {
        Term::Spring
    } else {
        Term::Summer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: u32, day: u32) -> CivilDate {
        CivilDate::new(year, month, day).unwrap()
    }

    #[test]
    fn easter_matches_published_dates() {
        // Easter Sunday dates as published (e.g. the Church of England / timeanddate tables).
        let known = [
            (1961, 4, 2),
            (2000, 4, 23),
            (2008, 3, 23),
            (2011, 4, 24),
            (2019, 4, 21),
            (2020, 4, 12),
            (2021, 4, 4),
            (2022, 4, 17),
            (2023, 4, 9),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
        ];
        for (year, month, day) in known {
            assert_eq!(easter_sunday(year), date(year, month, day), "{year}");
            assert_eq!(
                easter_sunday(year).days_from_monday(),
                6,
                "{year} is a Sunday"
            );
        }
    }

    #[test]
    fn days_round_trip() {
        assert_eq!(date(1970, 1, 1).to_days(), 0);
        assert_eq!(date(2000, 3, 1).to_days(), 11_017);
        assert_eq!(CivilDate::from_days(-1), date(1969, 12, 31));
        for days in -800_000..800_000 {
            assert_eq!(CivilDate::from_days(days).to_days(), days);
        }
        assert_eq!(CivilDate::new(2025, 2, 29), None);
        assert_eq!(CivilDate::new(2024, 2, 29), Some(date(2024, 2, 29)));
        assert_eq!(CivilDate::new(2024, 13, 1), None);
    }

    #[test]
    fn spring_bank_holidays() {
        assert_eq!(spring_bank_holiday(2024), date(2024, 5, 27));
        assert_eq!(spring_bank_holiday(2025), date(2025, 5, 26));
        assert_eq!(spring_bank_holiday(2026), date(2026, 5, 25));
        assert_eq!(spring_bank_holiday(2021), date(2021, 5, 31));
    }

    #[test]
    fn academic_years() {
        assert_eq!(academic_year_start(date(2024, 8, 1)), 2024);
        assert_eq!(academic_year_start(date(2024, 7, 31)), 2023);
        assert_eq!(academic_year_label(2024), "2024-25");
        assert_eq!(academic_year_label(1999), "1999-00");
        assert_eq!(time_period(2024), 202_425);
        assert_eq!(time_period(2099), 209_900);
        assert_eq!(parse_academic_year("2024-25"), Some(2024));
        assert_eq!(parse_academic_year("1999-00"), Some(1999));
        assert_eq!(parse_academic_year("2024-26"), None);
        assert_eq!(parse_academic_year("2024/25"), None);
        assert_eq!(parse_academic_year("+202-25"), None);
    }

    #[test]
    fn terms_change_on_1_january_and_easter_monday() {
        assert_eq!(term_of(date(2024, 8, 1)), Term::Autumn);
        assert_eq!(term_of(date(2024, 12, 31)), Term::Autumn);
        assert_eq!(term_of(date(2025, 1, 1)), Term::Spring);
        assert_eq!(term_of(date(2025, 4, 20)), Term::Spring);
        assert_eq!(term_of(date(2025, 4, 21)), Term::Summer);
        assert_eq!(term_of(date(2025, 7, 31)), Term::Summer);
    }
}
