//! Conversions between UTC instants and the local calendar dates of a user's time zone.
//!
//! Every user-scoped date in the API is a local date in the user's zone
//! (docs/behaviour/api.md#time-zones), while events and queries are stored and filtered by
//! UTC instant. These functions are the only place where one is turned into the other, so
//! that DST gaps, folds and skipped days are handled once.
//!
//! Functions that build an instant return `Option` because the first instant of a local date can
//! fall outside chrono's representable range for dates within a day of `NaiveDate::MIN`/`MAX`.

use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// The local calendar date of `at` in `tz`.
///
/// Saturates at `NaiveDate::MIN`/`MAX` for instants whose local date lies outside chrono's
/// calendar (only possible within a day of `DateTime::<Utc>::MIN_UTC`/`MAX_UTC`); chrono's own
/// `date_naive()` panics there.
pub fn local_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    let utc = at.naive_utc();
    let offset = tz.offset_from_utc_datetime(&utc).fix();
    match utc.checked_add_offset(offset) {
        Some(local) => local.date(),
        None if offset.local_minus_utc() > 0 => NaiveDate::MAX,
        None => NaiveDate::MIN,
    }
}

/// The first instant whose local date in `tz` is `date`.
///
/// * If local midnight is ambiguous (clocks fell back across it), the earlier midnight is used.
/// * If local midnight does not exist (clocks sprang forward at midnight, e.g. America/Havana or
///   America/Santiago), the result is the transition instant, i.e. the first local time that does
///   exist on that date (often 01:00).
/// * If the whole date was skipped (Pacific/Apia 2011-12-30), the result is the start of the next
///   date that exists, so that the skipped day is an empty range and consecutive days still tile
///   the timeline without gaps or overlaps.
///
/// `None` only when the instant is outside chrono's range.
pub fn start_of_local_day(date: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    instant_of_local(date.and_hms_opt(0, 0, 0)?, tz)
}

/// The instant the wall clocks of `tz` show `local`: the earlier one when clocks fell back
/// across it, the first instant after the gap when clocks sprang forward over it.
pub fn instant_of_local(local: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(at) => Some(at.with_timezone(&Utc)),
        chrono::LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        chrono::LocalResult::None => first_instant_at_or_after(local, tz),
    }
}

/// The exclusive end of `date` in `tz`: the start of the next local date.
///
/// Defined through the next day's start rather than "start + 24h" so that 23h and 25h DST days,
/// and skipped days, come out right.
pub fn end_of_local_day(date: NaiveDate, tz: Tz) -> Option<DateTime<Utc>> {
    start_of_local_day(date.succ_opt()?, tz)
}

/// The half-open UTC range `[start, end)` covering the local dates `first..=last_inclusive`.
///
/// `None` when `first > last_inclusive` (an inverted range is almost certainly a caller bug, and
/// an empty range would silently hide it) or when a bound is outside chrono's range.
pub fn utc_range_of_local_dates(
    first: NaiveDate,
    last_inclusive: NaiveDate,
    tz: Tz,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if first > last_inclusive {
        return None;
    }
    Some((
        start_of_local_day(first, tz)?,
        end_of_local_day(last_inclusive, tz)?,
    ))
}

/// Local wall-clock time of `at`, or `None` if it lies outside chrono's range.
pub fn local_naive(at: DateTime<Utc>, tz: Tz) -> Option<NaiveDateTime> {
    let utc = at.naive_utc();
    utc.checked_add_offset(tz.offset_from_utc_datetime(&utc).fix())
}

/// The earliest instant whose local wall-clock time is at or after `local`, for a `local` that
/// falls into a DST gap.
///
/// chrono-tz does not expose its transition table, so the transition is found by bisection on
/// whole seconds (tzdata transitions are always on whole seconds). Offsets are strictly less than
/// a day, so the instant lies within a day of `local` read as UTC: one day earlier every local
/// time is before `local`, one day later every local time is after it.
fn first_instant_at_or_after(local: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    let is_at_or_after = |secs: i64| -> Option<bool> {
        let at = DateTime::from_timestamp(secs, 0)?;
        Some(local_naive(at, tz)? >= local)
    };
    let as_utc = local.and_utc();
    let mut before = as_utc.checked_sub_days(Days::new(1))?.timestamp();
    let mut after = as_utc.checked_add_days(Days::new(1))?.timestamp();
    if is_at_or_after(before)? || !is_at_or_after(after)? {
        return None;
    }
    // Invariant: `before` is not at/after `local`, `after` is.
    while after - before > 1 {
        let mid = before + (after - before) / 2;
        if is_at_or_after(mid)? {
            after = mid;
        } else {
            before = mid;
        }
    }
    DateTime::from_timestamp(after, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{d, utc};
    use chrono::Datelike;
    use chrono::TimeDelta;
    use chrono_tz::{America, Asia, Australia, Europe, Pacific, UTC};

    fn start(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
        start_of_local_day(date, tz).expect("representable")
    }

    fn day_length(date: NaiveDate, tz: Tz) -> TimeDelta {
        end_of_local_day(date, tz).expect("representable") - start(date, tz)
    }

    #[test]
    fn local_dates_of_instants() {
        let cases = [
            (Pacific::Kiritimati, "2025-03-01T10:30:00Z", d(2025, 3, 2)),
            (Pacific::Kiritimati, "2025-03-01T09:59:59Z", d(2025, 3, 1)),
            (Pacific::Pago_Pago, "2025-03-01T10:30:00Z", d(2025, 2, 28)),
            (Pacific::Pago_Pago, "2025-03-01T11:00:00Z", d(2025, 3, 1)),
            // Half-hour offset.
            (Asia::Kolkata, "2025-03-01T18:29:59Z", d(2025, 3, 1)),
            (Asia::Kolkata, "2025-03-01T18:30:00Z", d(2025, 3, 2)),
            (UTC, "2025-03-01T23:59:59Z", d(2025, 3, 1)),
            // London spring forward: clocks jump 01:00 GMT -> 02:00 BST on 03-30.
            (Europe::London, "2025-03-30T22:59:59Z", d(2025, 3, 30)),
            (Europe::London, "2025-03-30T23:00:00Z", d(2025, 3, 31)),
            // London fall back: midnight of 10-26 is still BST (+1).
            (Europe::London, "2025-10-25T22:59:59Z", d(2025, 10, 25)),
            (Europe::London, "2025-10-25T23:00:00Z", d(2025, 10, 26)),
            (Europe::London, "2025-10-26T23:59:59Z", d(2025, 10, 26)),
            (Europe::London, "2025-10-27T00:00:00Z", d(2025, 10, 27)),
            (America::New_York, "2025-03-10T03:59:59Z", d(2025, 3, 9)),
            (America::New_York, "2025-11-03T04:59:59Z", d(2025, 11, 2)),
            // Havana 2025-03-09: 00:00 CST (-5) jumps to 01:00 CDT (-4) at 05:00Z.
            (America::Havana, "2025-03-09T04:59:59Z", d(2025, 3, 8)),
            (America::Havana, "2025-03-09T05:00:00Z", d(2025, 3, 9)),
            // Havana 2025-11-02: 01:00 CDT falls back to 00:00 CST.
            (America::Havana, "2025-11-02T03:59:59Z", d(2025, 11, 1)),
            // Santiago 2024-09-08: midnight does not exist.
            (America::Santiago, "2024-09-08T03:59:59Z", d(2024, 9, 7)),
            (America::Santiago, "2024-09-08T04:00:00Z", d(2024, 9, 8)),
            // Santiago 2025-04-06 00:00 -03 falls back to 2025-04-05 23:00 -04 at 03:00Z.
            (America::Santiago, "2025-04-06T03:30:00Z", d(2025, 4, 5)),
        ];
        for (tz, at, expected) in cases {
            assert_eq!(local_date(utc(at), tz), expected, "{tz} {at}");
        }
    }

    #[test]
    fn starts_of_local_days() {
        let cases = [
            (Pacific::Kiritimati, d(2025, 3, 2), "2025-03-01T10:00:00Z"),
            (Pacific::Pago_Pago, d(2025, 3, 1), "2025-03-01T11:00:00Z"),
            (Asia::Kolkata, d(2025, 3, 2), "2025-03-01T18:30:00Z"),
            (UTC, d(2025, 3, 1), "2025-03-01T00:00:00Z"),
            // London spring forward: midnight itself is GMT.
            (Europe::London, d(2025, 3, 30), "2025-03-30T00:00:00Z"),
            (Europe::London, d(2025, 3, 31), "2025-03-30T23:00:00Z"),
            // London fall back: clocks fall back at 01:00 UTC.
            (Europe::London, d(2025, 10, 26), "2025-10-25T23:00:00Z"),
            (Europe::London, d(2025, 10, 27), "2025-10-27T00:00:00Z"),
            (America::New_York, d(2025, 3, 9), "2025-03-09T05:00:00Z"),
            (America::New_York, d(2025, 3, 10), "2025-03-10T04:00:00Z"),
            (America::New_York, d(2025, 11, 2), "2025-11-02T04:00:00Z"),
            (America::New_York, d(2025, 11, 3), "2025-11-03T05:00:00Z"),
            // Havana: midnight is in the gap, the day starts at 01:00 CDT.
            (America::Havana, d(2025, 3, 9), "2025-03-09T05:00:00Z"),
            // Havana: midnight happens at 04:00Z and again at 05:00Z; the earlier wins.
            (America::Havana, d(2025, 11, 2), "2025-11-02T04:00:00Z"),
            (America::Santiago, d(2024, 9, 8), "2024-09-08T04:00:00Z"),
            (America::Santiago, d(2025, 4, 5), "2025-04-05T03:00:00Z"),
            (America::Santiago, d(2025, 4, 6), "2025-04-06T04:00:00Z"),
            // Beirut, last Sunday of March: 00:00 EET (+2) jumps to 01:00 EEST (+3).
            (Asia::Beirut, d(2025, 3, 30), "2025-03-29T22:00:00Z"),
        ];
        for (tz, date, expected) in cases {
            assert_eq!(start(date, tz), utc(expected), "{tz} {date}");
        }
    }

    #[test]
    fn lengths_of_local_days() {
        let cases = [
            (Pacific::Kiritimati, d(2025, 3, 2), 24),
            (Europe::London, d(2025, 3, 30), 23),
            (Europe::London, d(2025, 3, 29), 24),
            (Europe::London, d(2025, 10, 26), 25),
            (America::New_York, d(2025, 3, 9), 23),
            (America::New_York, d(2025, 11, 2), 25),
            (America::Havana, d(2025, 3, 9), 23),
            (America::Havana, d(2025, 11, 2), 25),
            (America::Santiago, d(2024, 9, 8), 23),
            // Santiago's fall back at midnight lengthens the previous day.
            (America::Santiago, d(2025, 4, 5), 25),
            (Asia::Beirut, d(2025, 3, 30), 23),
        ];
        for (tz, date, hours) in cases {
            assert_eq!(day_length(date, tz), TimeDelta::hours(hours), "{tz} {date}");
        }
    }

    #[test]
    fn midnights_in_a_gap_or_twice() {
        let midnight = |tz: Tz, day: NaiveDate| {
            tz.from_local_datetime(&day.and_hms_opt(0, 0, 0).expect("valid"))
        };
        // Test premises of the Havana, Santiago and Monrovia cases.
        for (tz, day) in [
            (America::Havana, d(2025, 3, 9)),
            (America::Santiago, d(2024, 9, 8)),
            (chrono_tz::Africa::Monrovia, d(1972, 1, 7)),
        ] {
            assert_eq!(midnight(tz, day), chrono::LocalResult::None, "{tz} {day}");
        }
        assert!(matches!(
            midnight(America::Havana, d(2025, 11, 2)),
            chrono::LocalResult::Ambiguous(..)
        ));
    }

    #[test]
    fn havana_day_before_the_gap_ends_where_the_next_starts() {
        let tz = America::Havana;
        let day = d(2025, 3, 9);
        assert_eq!(end_of_local_day(d(2025, 3, 8), tz), Some(start(day, tz)));
    }

    #[test]
    fn gap_not_on_whole_minute() {
        // Monrovia 1972-01-07: -00:44:30 became GMT at local midnight.
        let tz = chrono_tz::Africa::Monrovia;
        let day = d(1972, 1, 7);
        let first = start(day, tz);
        assert_eq!(local_date(first, tz), day);
        assert_eq!(local_date(first - TimeDelta::seconds(1), tz), d(1972, 1, 6));
        assert_eq!(first, utc("1972-01-07T00:44:30Z"));
    }

    #[test]
    fn skipped_day_is_empty_and_days_still_tile() {
        // Samoa moved across the date line: 2011-12-29 24:00 (-10) became 2011-12-31 00:00 (+14).
        let tz = Pacific::Apia;
        let skipped = d(2011, 12, 30);
        let boundary = utc("2011-12-30T10:00:00Z");
        assert_eq!(end_of_local_day(d(2011, 12, 29), tz), Some(boundary));
        assert_eq!(start(skipped, tz), boundary);
        assert_eq!(end_of_local_day(skipped, tz), Some(boundary));
        assert_eq!(start(d(2011, 12, 31), tz), boundary);
        assert_eq!(
            local_date(boundary - TimeDelta::seconds(1), tz),
            d(2011, 12, 29)
        );
        assert_eq!(local_date(boundary, tz), d(2011, 12, 31));
    }

    #[test]
    fn every_day_of_2025_tiles_in_tricky_zones() {
        for tz in [
            Europe::London,
            America::New_York,
            America::Havana,
            America::Santiago,
            Asia::Beirut,
            Pacific::Kiritimati,
            Pacific::Chatham,
            // Half-hour DST shift: nothing may assume whole-hour transitions.
            Australia::Lord_Howe,
        ] {
            let mut day = d(2025, 1, 1);
            while day.year() == 2025 {
                let s = start(day, tz);
                let e = end_of_local_day(day, tz).expect("representable");
                assert!(e > s, "{tz} {day}: empty day");
                assert_eq!(local_date(s, tz), day, "{tz} {day}: start");
                assert_eq!(
                    local_date(e - TimeDelta::nanoseconds(1), tz),
                    day,
                    "{tz} {day}: end"
                );
                assert_ne!(
                    local_date(s - TimeDelta::nanoseconds(1), tz),
                    day,
                    "{tz} {day}: not the first instant"
                );
                let minutes = (e - s).num_minutes();
                assert!(
                    (23 * 60..=25 * 60).contains(&minutes),
                    "{tz} {day}: {minutes}"
                );
                day = day.succ_opt().expect("2025 has a successor");
            }
        }
    }

    #[test]
    fn utc_range_is_half_open_over_local_dates() {
        let tz = Europe::London;
        assert_eq!(
            utc_range_of_local_dates(d(2025, 3, 29), d(2025, 3, 30), tz),
            Some((utc("2025-03-29T00:00:00Z"), utc("2025-03-30T23:00:00Z")))
        );
        assert_eq!(
            utc_range_of_local_dates(d(2025, 3, 30), d(2025, 3, 30), tz),
            Some((utc("2025-03-30T00:00:00Z"), utc("2025-03-30T23:00:00Z")))
        );
        assert_eq!(
            utc_range_of_local_dates(d(2025, 3, 31), d(2025, 3, 30), tz),
            None
        );
    }

    #[test]
    fn extremes_do_not_panic() {
        let zones = [
            UTC,
            Pacific::Kiritimati,
            Pacific::Pago_Pago,
            America::Havana,
            Asia::Kolkata,
        ];
        let instants = [
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            DateTime::<Utc>::MIN_UTC + TimeDelta::hours(13),
            DateTime::<Utc>::MAX_UTC - TimeDelta::hours(13),
        ];
        let dates = [
            NaiveDate::MIN,
            NaiveDate::MAX,
            NaiveDate::MIN + TimeDelta::days(1),
            NaiveDate::MAX - TimeDelta::days(1),
        ];
        for tz in zones {
            for at in instants {
                let _ = local_date(at, tz);
            }
            for date in dates {
                let _ = start_of_local_day(date, tz);
                let _ = end_of_local_day(date, tz);
                let _ = utc_range_of_local_dates(date, date, tz);
                let _ = utc_range_of_local_dates(NaiveDate::MIN, date, tz);
            }
        }
        assert_eq!(
            local_date(DateTime::<Utc>::MAX_UTC, Pacific::Kiritimati),
            NaiveDate::MAX
        );
        assert_eq!(
            local_date(DateTime::<Utc>::MIN_UTC, Pacific::Pago_Pago),
            NaiveDate::MIN
        );
        assert_eq!(end_of_local_day(NaiveDate::MAX, UTC), None);
        // Real zones use their LMT offset this far back, so use a fixed +14 zone.
        assert_eq!(
            start_of_local_day(NaiveDate::MIN, chrono_tz::Etc::GMTMinus14),
            None
        );
        assert_eq!(
            local_date(DateTime::<Utc>::MIN_UTC, chrono_tz::Etc::GMTPlus12),
            NaiveDate::MIN
        );
        assert_eq!(
            start_of_local_day(NaiveDate::MIN, UTC),
            Some(DateTime::<Utc>::MIN_UTC)
        );
    }
}
