//! Distinct active users over windows of days (the last 7 days: WAU, the last 30: MAU)
//! from `activity_returns`: each user's first event of a UTC day is counted once, keyed by
//! the gap in days since the day of their previous event. A user active in the window of
//! `n` days ending on day `t` is counted exactly once there: on their first active day `d`
//! in it, which is the one whose previous active day lies before the window
//! (`gap > d - (t - n + 1)`). So a window is a sum over at most `n` days of rows, not a
//! count over events. Pure apart from the key's constructor.

use std::collections::BTreeMap;

use super::day_of;
use crate::domain::ids::TenantId;

/// Gaps are counted up to this many days; a longer one, or a first event ever, is
/// counted as `NEW` (larger than any window's reach).
pub const MAX_GAP: i64 = 30;
pub const NEW: i64 = MAX_GAP + 1;

/// The longest window these rows can count.
pub const MAX_WINDOW: i64 = MAX_GAP;

/// One row of `activity_returns`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub tenant: TenantId,
    pub day: i64,
    pub control: bool,
    pub gap: i64,
}

impl Key {
    /// The return of a user's first event of the day at `at_ms`, whose previous event was
    /// at `previous_ms`.
    pub fn of(tenant: TenantId, at_ms: i64, previous_ms: Option<i64>, control: bool) -> Key {
        let day = day_of(at_ms);
        let gap = previous_ms.map_or(NEW, |p| (day - day_of(p)).clamp(1, NEW));
        Key {
            tenant,
            day,
            control,
            gap,
        }
    }
}

/// Returns of one tenant per (day, gap), for one group of users or several summed.
#[derive(Debug, Default)]
pub struct Returns(BTreeMap<(i64, i64), i64>);

impl Returns {
    pub fn add(&mut self, day: i64, gap: i64, users: i64) {
        *self.0.entry((day, gap)).or_insert(0) += users;
    }

    /// Users active in the `window` days ending on `last` (both included): 1 is that
    /// day's active users. `window` must be at most [`MAX_WINDOW`].
    pub fn active(&self, last: i64, window: i64) -> i64 {
        let first = last - (window - 1);
        self.0
            .range((first, i64::MIN)..=(last, i64::MAX))
            .filter(|((day, gap), _)| *gap > day - first)
            .map(|(_, users)| users)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::ids::fixtures::T1;

    const DAY: i64 = 86_400_000;

    /// Returns as the writer would count them for users active on the given days.
    fn from_days(users: &[&[i64]]) -> Returns {
        let mut r = Returns::default();
        for days in users {
            let mut previous = None;
            for day in *days {
                let key = Key::of(T1, day * DAY + 5, previous.map(|p: i64| p * DAY), false);
                r.add(key.day, key.gap, 1);
                previous = Some(*day);
            }
        }
        r
    }

    /// What the windows must equal: distinct users with a day in the window.
    fn brute(users: &[&[i64]], last: i64, window: i64) -> i64 {
        let first = last - window + 1;
        users
            .iter()
            .filter(|days| days.iter().any(|d| (first..=last).contains(d)))
            .count() as i64
    }

    #[test]
    fn windows_count_each_user_once() {
        let users: &[&[i64]] = &[
            &[100, 101, 102, 110, 140, 141],
            &[95, 130],
            &[100],
            &[60, 99, 103, 104, 105, 106, 107, 108, 109, 150],
            &[139],
        ];
        let r = from_days(users);
        for last in 90..=160 {
            for window in [1, 7, 30] {
                assert_eq!(
                    r.active(last, window),
                    brute(users, last, window),
                    "day {last}, window {window}"
                );
            }
        }
    }

    #[test]
    fn a_first_event_and_a_long_gap_count_as_new() {
        assert_eq!(Key::of(T1, 50 * DAY, None, true).gap, NEW);
        assert_eq!(Key::of(T1, 50 * DAY, Some(DAY), true).gap, NEW);
        assert_eq!(Key::of(T1, 50 * DAY, Some(49 * DAY + 10), true).gap, 1);
        assert_eq!(Key::of(T1, 50 * DAY, Some(20 * DAY), false).gap, 30);
    }
}
