//! Parsers for the field types of DOMAIN.md section 5. Each returns the reason a value is refused;
//! the caller adds the file, line and field.

use chrono::{Datelike, NaiveDate, Weekday};

/// Days from 0001-01-01 (chrono's CE day 1) to 1970-01-01, to convert to Arrow's Date32.
const UNIX_EPOCH_CE_DAYS: i32 = 719_163;

pub fn parse_urn(s: &str) -> Result<i32, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not an integer URN".into());
    }
    match s.parse::<i32>() {
        Ok(v) if v > 0 => Ok(v),
        _ => Err("URN out of range (1 to 2147483647)".into()),
    }
}

/// A `YYYY-MM-DD` calendar date.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return Err("not a date in YYYY-MM-DD form".into());
    }
    let num = |r: std::ops::Range<usize>| -> u32 {
        b[r].iter()
            .fold(0u32, |acc, c| acc * 10 + u32::from(c - b'0'))
    };
    NaiveDate::from_ymd_opt(num(0..4) as i32, num(5..7), num(8..10))
        .ok_or_else(|| "not a valid calendar date".to_string())
}

pub fn date32(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - UNIX_EPOCH_CE_DAYS
}

/// The date of a Date32 value, if it is one chrono can represent.
pub fn checked_date32(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(UNIX_EPOCH_CE_DAYS)?)
}

/// A Date32 value as `YYYY-MM-DD` (its number of days when it is not a representable date).
pub fn date32_text(days: i32) -> String {
    checked_date32(days).map_or_else(|| days.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

pub fn from_date32(days: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(days + UNIX_EPOCH_CE_DAYS).expect("date in range")
}

pub fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The academic year (1 August to 31 July) a date falls in, written `2024-25` (the arithmetic
/// of `attendance_udfs::calendar`, the one calendar of the workspace).
pub fn academic_year_of(date: NaiveDate) -> String {
    let days = crate::ingest::date32(date);
    let start = attendance_udfs::calendar::academic_year_start(
        attendance_udfs::calendar::CivilDate::from_days(days),
    );
    format_academic_year(start)
}

pub fn format_academic_year(start: i32) -> String {
    attendance_udfs::calendar::academic_year_label(start)
}

/// `2024-25` → 2024.
pub fn parse_academic_year(s: &str) -> Result<i32, String> {
    attendance_udfs::calendar::parse_academic_year(s).ok_or_else(|| {
        "not an academic year like 2024-25 (two years, the second following the first)".into()
    })
}

/// Booleans as `true`/`false`, `1`/`0` or `Y`/`N`.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "true" | "1" | "Y" => Ok(true),
        "false" | "0" | "N" => Ok(false),
        _ => Err("not a boolean (true/false, 1/0 or Y/N)".into()),
    }
}

pub fn one_of(s: &str, allowed: &[&str], what: &str) -> Result<(), String> {
    if allowed.contains(&s) {
        Ok(())
    } else {
        Err(format!(
            "not a valid {what} (expected one of {})",
            allowed.join(", ")
        ))
    }
}

pub fn non_empty(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        Err("empty".into())
    } else {
        Ok(())
    }
}

/// `E12000001` to `E12000009`.
pub fn parse_region_code(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    if b.len() == 9 && s.starts_with("E1200000") && (b'1'..=b'9').contains(&b[8]) {
        Ok(())
    } else {
        Err(format!(
            "`{}` is not a region code E12000001 to E12000009",
            short(s)
        ))
    }
}

/// The old 3-digit DfE LA code.
pub fn parse_old_la_code(s: &str) -> Result<(), String> {
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("not a 3-digit LA code".into())
    }
}

/// The 9-character ONS code of an LA (`E06000001`, `E08000025`, `E09000001`, `E10000002`).
pub fn parse_new_la_code(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    if b.len() == 9 && b[0].is_ascii_uppercase() && b[1..].iter().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err("not a 9-character LA code like E06000001".into())
    }
}

pub fn parse_pupil_id(s: &str) -> Result<(), String> {
    // At most 32 bytes is at most 32 characters: no need to count them.
    if (1..=32).contains(&s.len()) {
        return Ok(());
    }
    match s.chars().count() {
        0 => Err("empty".into()),
        1..=32 => Ok(()),
        n => Err(format!("{n} characters, at most 32 allowed")),
    }
}

/// A value cut to a length that is safe to print in a message about a non-personal field.
pub fn short(s: &str) -> String {
    s.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict() {
        assert!(parse_date("2024-09-02").is_ok());
        assert!(parse_date("2024-9-02").is_err());
        assert!(parse_date("2024-02-30").is_err());
        assert!(parse_date("2025-02-29").is_err());
        assert!(parse_date("2024-02-29").is_ok());
        assert!(parse_date("02/09/2024").is_err());
    }

    #[test]
    fn date32_round_trip() {
        let d = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        assert_eq!(date32(d), 0);
        let d = NaiveDate::from_ymd_opt(2024, 9, 2).unwrap();
        // 2024-09-02 is 19968 days after 1970-01-01 (54 years with 13 leap days: 54*365+13 = 19723,
        // plus 245 days from 1 Jan to 2 Sep in a leap year).
        assert_eq!(date32(d), 19_968);
        assert_eq!(from_date32(19_968), d);
    }

    #[test]
    fn academic_years() {
        let d = |s| parse_date(s).unwrap();
        assert_eq!(academic_year_of(d("2024-07-31")), "2023-24");
        assert_eq!(academic_year_of(d("2024-08-01")), "2024-25");
        assert_eq!(academic_year_of(d("2025-01-01")), "2024-25");
        assert_eq!(academic_year_of(d("2099-12-01")), "2099-00");
        assert_eq!(parse_academic_year("2024-25"), Ok(2024));
        assert!(parse_academic_year("2024-26").is_err());
        assert!(parse_academic_year("2024/25").is_err());
    }

    #[test]
    fn weekends() {
        assert!(is_weekend(parse_date("2024-09-07").unwrap())); // Saturday
        assert!(is_weekend(parse_date("2024-09-08").unwrap())); // Sunday
        assert!(!is_weekend(parse_date("2024-09-09").unwrap())); // Monday
    }

    #[test]
    fn booleans_and_lists() {
        for t in ["true", "1", "Y"] {
            assert_eq!(parse_bool(t), Ok(true));
        }
        for f in ["false", "0", "N"] {
            assert_eq!(parse_bool(f), Ok(false));
        }
        assert!(parse_bool("yes").is_err());
        assert!(parse_bool("TRUE").is_err());
        assert!(parse_region_code("E12000009").is_ok());
        assert!(parse_region_code("E12000010").is_err());
        assert!(parse_region_code("E12000000").is_err());
        assert!(parse_pupil_id(&"x".repeat(32)).is_ok());
        assert!(parse_pupil_id(&"x".repeat(33)).is_err());
    }
}
