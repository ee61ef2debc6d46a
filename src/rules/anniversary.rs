//! Anniversary achievements: the date a user's `anniversaryYears`-th anniversary falls on,
//! and the sign-up date it counts from.
//!
//! Trophy counts anniversaries from the user's `signUpDate`. A user without one counts from
//! the local date trophyd first saw them (the issue asks for "the anniversary of the user's
//! creation"; Trophy itself leaves such users out, which would make the achievement useless
//! to a product that never sends `signUpDate`).

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use chrono_tz::Tz;

use super::local_time::local_date;

/// The most years an anniversary achievement may ask for.
pub const MAX_YEARS: u32 = 100;

/// `signUpDate` as the SDK documents it: `YYYY-MM-DD`, or an ISO 8601 date-time stored as
/// its UTC calendar day.
/// Dates before 1900 are refused: no product's users signed up then, and four-digit years
/// keep the stored dates in calendar order as text.
pub fn parse_sign_up_date(text: &str) -> Result<NaiveDate, String> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .or_else(|| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|at| at.with_timezone(&Utc).date_naive())
        })
        .ok_or("signUpDate must be a date (YYYY-MM-DD) or an ISO 8601 date-time")?;
    if date.year() < 1900 {
        return Err("signUpDate must not be before 1900-01-01".into());
    }
    Ok(date)
}

/// The date anniversaries count from: the sign-up date, else the local date of creation.
pub fn base_date(sign_up: Option<NaiveDate>, created: DateTime<Utc>, tz: Tz) -> NaiveDate {
    sign_up.unwrap_or_else(|| local_date(created, tz))
}

/// The `years`-th anniversary of `base`. A 29 February base falls on 28 February in
/// common years, so the achievement is never a day late or skipped.
pub fn anniversary(base: NaiveDate, years: u32) -> Option<NaiveDate> {
    base.checked_add_months(Months::new(years.checked_mul(12)?))
}

/// Whether the anniversary has been reached on the user's local date `today`.
pub fn reached(base: NaiveDate, years: u32, today: NaiveDate) -> bool {
    anniversary(base, years).is_some_and(|day| day <= today)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn sign_up_dates_parse_as_dates_or_utc_days() {
        assert_eq!(parse_sign_up_date("2030-02-28"), Ok(d("2030-02-28")));
        assert_eq!(
            parse_sign_up_date("2030-02-28T23:30:00-05:00"),
            Ok(d("2030-03-01"))
        );
        assert!(parse_sign_up_date("2030-02-30").is_err());
        assert!(parse_sign_up_date("yesterday").is_err());
        assert!(parse_sign_up_date("").is_err());
        assert!(parse_sign_up_date("1899-12-31").is_err());
        assert!(parse_sign_up_date("0001-01-01T00:00:00Z").is_err());
    }

    #[test]
    fn anniversaries_of_29_february_fall_on_28_february() {
        assert_eq!(anniversary(d("2028-02-29"), 1), Some(d("2029-02-28")));
        assert_eq!(anniversary(d("2028-02-29"), 4), Some(d("2032-02-29")));
        assert_eq!(anniversary(d("2030-06-15"), 3), Some(d("2033-06-15")));
        assert_eq!(anniversary(d("2030-06-15"), u32::MAX), None);
    }

    #[test]
    fn reached_on_the_day_not_before() {
        assert!(!reached(d("2030-06-15"), 1, d("2031-06-14")));
        assert!(reached(d("2030-06-15"), 1, d("2031-06-15")));
        assert!(reached(d("2030-06-15"), 1, d("2035-01-01")));
    }

    #[test]
    fn the_base_is_the_sign_up_date_else_the_local_creation_date() {
        let created: DateTime<Utc> = "2030-06-15T20:00:00Z".parse().expect("instant");
        let kiritimati: Tz = "Pacific/Kiritimati".parse().expect("tz");
        let pago: Tz = "Pacific/Pago_Pago".parse().expect("tz");
        assert_eq!(base_date(None, created, kiritimati), d("2030-06-16"));
        assert_eq!(base_date(None, created, pago), d("2030-06-15"));
        assert_eq!(
            base_date(Some(d("2029-01-01")), created, kiritimati),
            d("2029-01-01")
        );
    }
}
