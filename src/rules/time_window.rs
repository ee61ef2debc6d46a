//! A leaderboard's daily time window (`startTime`/`endTime`,
//! docs/behaviour/leaderboards.md#time-windows): only activity whose local time of day is
//! at or after the start and before the end counts.
//!
//! Trophy's schema describes each bound on its own ("at or after startTime", "before
//! endTime"), so a window with one bound restricts only that side: `startTime` alone runs
//! to midnight, `endTime` alone from midnight. Both conditions must hold, so a window whose
//! end is not after its start (one that would wrap past midnight) could never match
//! anything; it is refused rather than silently counting nothing.
//!
//! Where it applies (decisions; Trophy's docs say no more than the schema does):
//! * metric boards count the events, and points boards the points awarded (or deducted),
//!   whose instant falls in the window on the user's clock (their `tz`, else the server's
//!   `default_timezone`); an event outside it leaves the board out of the event response,
//!   as a change of zero does;
//! * streak boards rank the current length of the streak, which is not activity at a time
//!   of day, so they take no window (a problem `trophyd check` reports in trophy.toml, an
//!   issue for the item in the Admin API);
//! * changing a window applies to activity from then on: values already counted stay.
//!
//! Pure.

use chrono::{DateTime, NaiveTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Parses `HH:mm` or `HH:mm:ss` (24-hour, two digits each), the schema's
/// `^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$`. Anything else is `None`.
pub fn parse_time_of_day(text: &str) -> Option<NaiveTime> {
    let b = text.as_bytes();
    let two = |i: usize| -> Option<u32> {
        let (hi, lo) = (*b.get(i)?, *b.get(i + 1)?);
        (hi.is_ascii_digit() && lo.is_ascii_digit())
            .then(|| u32::from(hi - b'0') * 10 + u32::from(lo - b'0'))
    };
    let seconds = match b.len() {
        5 => 0,
        8 if b[5] == b':' => two(6)?,
        _ => return None,
    };
    if b[2] != b':' {
        return None;
    }
    let (hours, minutes) = (two(0)?, two(3)?);
    if hours > 23 || minutes > 59 || seconds > 59 {
        return None;
    }
    NaiveTime::from_hms_opt(hours, minutes, seconds)
}

/// `HH:mm`, or `HH:mm:ss` when the seconds are not zero: what was configured, in the
/// shape the schema's examples use.
pub fn format_time_of_day(time: NaiveTime) -> String {
    if time.second() == 0 {
        time.format("%H:%M").to_string()
    } else {
        time.format("%H:%M:%S").to_string()
    }
}

/// Why a pair of bounds is not a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowError {
    /// The end is at or before the start (midnight when only the end is set).
    EndNotAfterStart,
}

impl WindowError {
    /// What is wrong, worded to follow the field it is about (`endTime`).
    pub fn rule(self) -> &'static str {
        match self {
            WindowError::EndNotAfterStart => {
                "must be after startTime (a time window cannot wrap past midnight, \
                 and endTime 00:00 alone would count nothing)"
            }
        }
    }
}

/// The bounds of a window; both `None` means no restriction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeWindow {
    start: Option<NaiveTime>,
    end: Option<NaiveTime>,
}

impl TimeWindow {
    pub fn new(start: Option<NaiveTime>, end: Option<NaiveTime>) -> Result<Self, WindowError> {
        if let Some(end) = end {
            if end <= start.unwrap_or(NaiveTime::MIN) {
                return Err(WindowError::EndNotAfterStart);
            }
        }
        Ok(TimeWindow { start, end })
    }

    pub fn start(&self) -> Option<NaiveTime> {
        self.start
    }

    pub fn end(&self) -> Option<NaiveTime> {
        self.end
    }

    pub fn is_restricted(&self) -> bool {
        self.start.is_some() || self.end.is_some()
    }

    /// Whether activity at local time of day `time` counts.
    pub fn contains(&self, time: NaiveTime) -> bool {
        self.start.is_none_or(|s| time >= s) && self.end.is_none_or(|e| time < e)
    }

    /// Whether activity at the instant `at` counts for a user in `tz`. An instant whose
    /// local time chrono cannot represent (within a day of the end of its calendar) only
    /// counts on an unrestricted board.
    pub fn admits(&self, at: DateTime<Utc>, tz: Tz) -> bool {
        if !self.is_restricted() {
            return true;
        }
        local_time_of_day(at, tz).is_some_and(|t| self.contains(t))
    }
}

/// The wall-clock time of day of `at` in `tz`.
pub fn local_time_of_day(at: DateTime<Utc>, tz: Tz) -> Option<NaiveTime> {
    let utc = at.naive_utc();
    let offset = tz.offset_from_utc_datetime(&utc).fix();
    utc.checked_add_offset(offset).map(|local| local.time())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> NaiveTime {
        parse_time_of_day(text).expect("time")
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("instant")
    }

    #[test]
    fn parses_exactly_the_schema_pattern() {
        assert_eq!(t("09:00"), NaiveTime::from_hms_opt(9, 0, 0).expect("t"));
        assert_eq!(
            t("23:59:59"),
            NaiveTime::from_hms_opt(23, 59, 59).expect("t")
        );
        assert_eq!(t("00:00"), NaiveTime::MIN);
        for bad in [
            "",
            "9:00",
            "09:0",
            "24:00",
            "12:60",
            "12:00:60",
            "12-00",
            "12:00:",
            "12:00:5",
            "12:00:000",
            "+1:00",
            "1a:00",
            "09:00 ",
            " 09:00",
            "09:00Z",
            "٠٩:٠٠",
        ] {
            assert_eq!(parse_time_of_day(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formats_without_zero_seconds() {
        assert_eq!(format_time_of_day(t("09:00:00")), "09:00");
        assert_eq!(format_time_of_day(t("09:00")), "09:00");
        assert_eq!(format_time_of_day(t("17:30:15")), "17:30:15");
    }

    #[test]
    fn start_is_inclusive_and_end_exclusive() {
        let w = TimeWindow::new(Some(t("09:00")), Some(t("17:00"))).expect("window");
        assert!(!w.contains(t("08:59:59")));
        assert!(w.contains(t("09:00")));
        assert!(w.contains(t("16:59:59")));
        assert!(!w.contains(t("17:00")));
    }

    #[test]
    fn one_bound_restricts_one_side() {
        let from = TimeWindow::new(Some(t("18:00")), None).expect("window");
        assert!(!from.contains(t("17:59")));
        assert!(from.contains(t("23:59:59")));
        let until = TimeWindow::new(None, Some(t("06:00"))).expect("window");
        assert!(until.contains(t("00:00")));
        assert!(!until.contains(t("06:00")));
        let open = TimeWindow::default();
        assert!(!open.is_restricted());
        assert!(open.contains(t("03:00")));
    }

    #[test]
    fn windows_that_wrap_or_are_empty_are_refused() {
        for (start, end) in [
            (Some("17:00"), Some("09:00")),
            (Some("09:00"), Some("09:00")),
            (None, Some("00:00")),
        ] {
            assert_eq!(
                TimeWindow::new(start.map(t), end.map(t)),
                Err(WindowError::EndNotAfterStart),
                "{start:?}..{end:?}"
            );
        }
        assert!(TimeWindow::new(Some(t("00:00")), None).is_ok());
    }

    #[test]
    fn instants_are_judged_by_the_users_local_clock() {
        let w = TimeWindow::new(Some(t("09:00")), Some(t("17:00"))).expect("window");
        // 03:30 UTC is 09:00 in Kolkata (+5:30), 17:30 in Kiritimati (+14).
        let kolkata: Tz = "Asia/Kolkata".parse().expect("tz");
        let kiritimati: Tz = "Pacific/Kiritimati".parse().expect("tz");
        assert!(w.admits(at("2031-03-01T03:30:00Z"), kolkata));
        assert!(!w.admits(at("2031-03-01T03:29:59Z"), kolkata));
        assert!(!w.admits(at("2031-03-01T03:30:00Z"), kiritimati));
        assert!(w.admits(at("2031-03-01T02:59:59Z"), kiritimati));
        assert!(!w.admits(at("2031-03-01T03:30:00Z"), Tz::UTC));
        // A DST change moves the wall clock, and the window follows it.
        let berlin: Tz = "Europe/Berlin".parse().expect("tz");
        assert!(!w.admits(at("2031-03-29T07:30:00Z"), berlin)); // 08:30 CET
        assert!(w.admits(at("2031-03-30T07:30:00Z"), berlin)); // 09:30 CEST
        assert_eq!(
            local_time_of_day(DateTime::<Utc>::MAX_UTC, kiritimati),
            None
        );
        assert!(!w.admits(DateTime::<Utc>::MAX_UTC, kiritimati));
        assert!(TimeWindow::default().admits(DateTime::<Utc>::MAX_UTC, kiritimati));
    }
}
