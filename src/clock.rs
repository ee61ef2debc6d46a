//! The one clock every part of the server reads. Under `--test-clock` it stands still
//! between moves made through `POST /_test/clock`; otherwise it is the system clock.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, SubsecRound, Utc};

#[derive(Clone, Debug)]
pub enum Clock {
    System,
    Test(Arc<Mutex<DateTime<Utc>>>),
}

#[derive(Debug, PartialEq, Eq)]
pub struct ClockWentBackwards;

impl Clock {
    /// A test clock starting at `start`, truncated to whole milliseconds because that is
    /// the resolution the database stores.
    pub fn test(start: DateTime<Utc>) -> Self {
        Clock::Test(Arc::new(Mutex::new(start.trunc_subsecs(3))))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now().trunc_subsecs(3),
            Clock::Test(t) => *t.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }

    pub fn is_test(&self) -> bool {
        matches!(self, Clock::Test(_))
    }

    /// Moves a test clock forward. Moving backwards is refused; the system clock ignores it.
    pub fn set(&self, to: DateTime<Utc>) -> Result<DateTime<Utc>, ClockWentBackwards> {
        match self {
            Clock::System => Ok(Utc::now()),
            Clock::Test(t) => {
                let mut guard = t.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let to = to.trunc_subsecs(3);
                if to < *guard {
                    return Err(ClockWentBackwards);
                }
                *guard = to;
                Ok(to)
            }
        }
    }
}

/// Milliseconds since the epoch, the form times take in the database.
pub fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// ISO-8601 UTC with a `Z`, whole seconds, as Trophy writes timestamps.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    use std::fmt::Write;
    let year = t.year();
    if !(0..=9999).contains(&year) {
        // chrono's own rendering of years outside four digits (a sign, more digits).
        return t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    }
    // Written directly: chrono's `format` parses the pattern on every call, which showed
    // as 2% of the writer's time (every award, trigger and completion view has one).
    let mut out = String::with_capacity(20);
    let _ = write!(
        out,
        "{year:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_written_as_chrono_writes_them() {
        for text in [
            "2027-03-01T09:30:05.999Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "1970-01-01T00:00:00Z",
        ] {
            let t = DateTime::parse_from_rfc3339(text).unwrap().to_utc();
            assert_eq!(
                format_timestamp(t),
                t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            );
        }
        let far = DateTime::<Utc>::from_timestamp(400_000_000_000, 0).unwrap();
        assert_eq!(
            format_timestamp(far),
            far.format("%Y-%m-%dT%H:%M:%SZ").to_string()
        );
    }

    #[test]
    fn test_clock_stands_still_and_only_moves_forward() {
        let start = DateTime::parse_from_rfc3339("2027-03-01T09:30:00Z")
            .unwrap()
            .to_utc();
        let clock = Clock::test(start);
        assert_eq!(clock.now(), start);
        assert_eq!(clock.now(), start);
        let later = start + chrono::Duration::days(1);
        assert_eq!(clock.set(later), Ok(later));
        assert_eq!(clock.set(start), Err(ClockWentBackwards));
        assert_eq!(clock.now(), later);
    }

    #[test]
    fn timestamps_are_utc_with_z() {
        assert_eq!(format_timestamp(from_millis(0)), "1970-01-01T00:00:00Z");
    }
}
