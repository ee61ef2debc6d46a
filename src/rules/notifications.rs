//! When the timed lifecycle messages fall due, in a user's zone. Pure: instants in, instants
//! out; the scheduler's job (`notifications::schedule`) applies them to stored state.
//!
//! * Streak reminder: on the last local day of the streak period, at the configured hour.
//! * Recap: on the first local day after each period (Monday-start weeks, calendar months
//!   and years), at the configured hour, about the period just ended.
//! * Reactivation: N calendar days after the user's last event at the same wall-clock time,
//!   so "3 days later" stays 3 days across a DST change.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use super::local_time::{instant_of_local, local_date, local_naive};
use super::periods::{next_period, period_containing, Period, PeriodKind, WeekStart};

/// The zone a message is timed in when the user has none (Trophy's documented default).
pub const DEFAULT_MESSAGE_ZONE: Tz = chrono_tz::America::New_York;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecapEvery {
    Day,
    Week,
    Month,
    Year,
}

/// `hour`:00 on the local `date`; across a DST gap, the first instant after it.
pub fn at_local_hour(date: NaiveDate, hour: u32, tz: Tz) -> Option<DateTime<Utc>> {
    instant_of_local(date.and_time(NaiveTime::from_hms_opt(hour, 0, 0)?), tz)
}

/// When to remind about the streak period `period`: its last day at `hour`.
pub fn streak_reminder_at(period: Period, hour: u32, tz: Tz) -> Option<DateTime<Utc>> {
    at_local_hour(period.end, hour, tz)
}

/// The first streak reminder after `after`: the current period's, or the next one's when
/// that time has passed.
pub fn next_streak_reminder(
    after: DateTime<Utc>,
    kind: PeriodKind,
    hour: u32,
    tz: Tz,
) -> Option<(DateTime<Utc>, Period)> {
    let current = period_containing(local_date(after, tz), kind);
    let at = streak_reminder_at(current, hour, tz)?;
    if at > after {
        return Some((at, current));
    }
    let next = next_period(current, kind)?;
    Some((streak_reminder_at(next, hour, tz)?, next))
}

/// The recap period containing `date`.
pub fn recap_period(date: NaiveDate, every: RecapEvery) -> Option<Period> {
    Some(match every {
        RecapEvery::Day => period_containing(date, PeriodKind::Daily),
        RecapEvery::Week => period_containing(date, PeriodKind::Weekly(WeekStart::Monday)),
        RecapEvery::Month => period_containing(date, PeriodKind::Monthly),
        RecapEvery::Year => Period {
            start: NaiveDate::from_ymd_opt(date.year(), 1, 1)?,
            end: NaiveDate::from_ymd_opt(date.year(), 12, 31)?,
        },
    })
}

/// The first recap sent strictly after `after`, and the period it covers.
pub fn next_recap(
    after: DateTime<Utc>,
    every: RecapEvery,
    hour: u32,
    tz: Tz,
) -> Option<(DateTime<Utc>, Period)> {
    let current = recap_period(local_date(after, tz), every)?;
    // Today may be the first day of `current` with the hour still ahead: the recap of the
    // period before is then still to come.
    if let Some(previous) = current
        .start
        .pred_opt()
        .and_then(|d| recap_period(d, every))
    {
        let at = at_local_hour(current.start, hour, tz)?;
        if at > after {
            return Some((at, previous));
        }
    }
    let at = at_local_hour(current.end.succ_opt()?, hour, tz)?;
    Some((at, current))
}

/// The same wall-clock time `days` calendar days after `at`.
pub fn days_later(at: DateTime<Utc>, days: u32, tz: Tz) -> Option<DateTime<Utc>> {
    let local = local_naive(at, tz)?.checked_add_days(Days::new(u64::from(days)))?;
    instant_of_local(local, tz)
}

/// Which reactivation message is due by `until` for a user last active at `last_active`
/// who has been sent `sent` of them: the latest due one (earlier ones that were missed,
/// say while the server was down, are skipped: one message, not a burst), as
/// (index into `after_days`, its due time).
pub fn reactivation_due(
    last_active: DateTime<Utc>,
    after_days: &[u32],
    sent: usize,
    until: DateTime<Utc>,
    tz: Tz,
) -> Option<(usize, DateTime<Utc>)> {
    after_days
        .iter()
        .enumerate()
        .skip(sent)
        .filter_map(|(i, &d)| Some((i, days_later(last_active, d, tz)?)))
        .take_while(|(_, at)| *at <= until)
        .last()
}

/// When the reactivation message after the `sent` already sent falls due (None: the
/// sequence is over).
pub fn next_reactivation(
    last_active: DateTime<Utc>,
    after_days: &[u32],
    sent: usize,
    tz: Tz,
) -> Option<DateTime<Utc>> {
    days_later(last_active, *after_days.get(sent)?, tz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{America, Asia, Europe, Pacific};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("valid test instant")
            .with_timezone(&Utc)
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid test date")
    }

    #[test]
    fn daily_reminders_fall_at_the_local_hour_in_far_apart_zones() {
        let after = utc("2031-03-01T00:30:00Z");
        // +14: 1 March 00:30 UTC is 1 March 14:30 local; 18:00 local is 04:00 UTC.
        let (at, p) =
            next_streak_reminder(after, PeriodKind::Daily, 18, Pacific::Kiritimati).expect("due");
        assert_eq!((at, p.end), (utc("2031-03-01T04:00:00Z"), d(2031, 3, 1)));
        // −11: still 28 February 13:30 local; 18:00 local is 05:00 UTC on 1 March.
        let (at, p) =
            next_streak_reminder(after, PeriodKind::Daily, 18, Pacific::Pago_Pago).expect("due");
        assert_eq!((at, p.end), (utc("2031-03-01T05:00:00Z"), d(2031, 2, 28)));
        // +5:30.
        let (at, _) =
            next_streak_reminder(after, PeriodKind::Daily, 18, Asia::Kolkata).expect("due");
        assert_eq!(at, utc("2031-03-01T12:30:00Z"));
        // Past the hour: tomorrow's.
        let (at, _) = next_streak_reminder(
            utc("2031-03-01T13:00:00Z"),
            PeriodKind::Daily,
            18,
            Asia::Kolkata,
        )
        .expect("due");
        assert_eq!(at, utc("2031-03-02T12:30:00Z"));
    }

    #[test]
    fn weekly_and_monthly_reminders_are_on_the_last_day_of_the_period() {
        // Saturday 1 March 2031; Monday-start weeks end on Sunday 2 March.
        let after = utc("2031-03-01T10:00:00Z");
        let (at, p) = next_streak_reminder(
            after,
            PeriodKind::Weekly(WeekStart::Monday),
            18,
            chrono_tz::UTC,
        )
        .expect("due");
        assert_eq!((at, p.end), (utc("2031-03-02T18:00:00Z"), d(2031, 3, 2)));
        let (at, _) =
            next_streak_reminder(after, PeriodKind::Monthly, 18, chrono_tz::UTC).expect("due");
        assert_eq!(at, utc("2031-03-31T18:00:00Z"));
    }

    #[test]
    fn reminders_keep_the_local_hour_across_dst() {
        // London springs forward on Sunday 30 March 2031: 18:00 is 17:00 UTC from then.
        let (before, _) = next_streak_reminder(
            utc("2031-03-29T12:00:00Z"),
            PeriodKind::Daily,
            18,
            Europe::London,
        )
        .expect("due");
        let (after, _) = next_streak_reminder(
            utc("2031-03-30T12:00:00Z"),
            PeriodKind::Daily,
            18,
            Europe::London,
        )
        .expect("due");
        assert_eq!(before, utc("2031-03-29T18:00:00Z"));
        assert_eq!(after, utc("2031-03-30T17:00:00Z"));
        // An hour the gap skips (02:00 on 9 March 2031 in New York) comes out at 03:00 EDT.
        assert_eq!(
            at_local_hour(d(2031, 3, 9), 2, America::New_York),
            Some(utc("2031-03-09T07:00:00Z"))
        );
    }

    #[test]
    fn recaps_cover_the_period_just_ended() {
        let tz = DEFAULT_MESSAGE_ZONE;
        // Saturday 1 March 2031, 10:00 New York.
        let after = utc("2031-03-01T15:00:00Z");
        let (at, p) = next_recap(after, RecapEvery::Week, 9, tz).expect("due");
        assert_eq!((p.start, p.end), (d(2031, 2, 24), d(2031, 3, 2)));
        assert_eq!(at, utc("2031-03-03T14:00:00Z"));
        let (at, p) = next_recap(after, RecapEvery::Day, 9, tz).expect("due");
        assert_eq!((p.start, at), (d(2031, 3, 1), utc("2031-03-02T14:00:00Z")));
        // On the first day of a month before the hour: last month's recap is still ahead.
        let (at, p) =
            next_recap(utc("2031-03-01T12:00:00Z"), RecapEvery::Month, 9, tz).expect("due");
        assert_eq!((p.start, p.end), (d(2031, 2, 1), d(2031, 2, 28)));
        assert_eq!(at, utc("2031-03-01T14:00:00Z"));
        let (at, p) = next_recap(after, RecapEvery::Year, 9, tz).expect("due");
        assert_eq!((p.start, p.end), (d(2031, 1, 1), d(2031, 12, 31)));
        assert_eq!(at, utc("2032-01-01T14:00:00Z"));
    }

    #[test]
    fn reactivation_counts_calendar_days_at_the_same_wall_time() {
        // New York springs forward on 9 March 2031: three days after 7 March 12:00 EST is
        // 10 March 12:00 EDT, 71 hours later.
        let last = utc("2031-03-07T17:00:00Z");
        assert_eq!(
            days_later(last, 3, America::New_York),
            Some(utc("2031-03-10T16:00:00Z"))
        );
        let days = [3, 7, 14];
        assert_eq!(
            next_reactivation(last, &days, 0, chrono_tz::UTC),
            Some(utc("2031-03-10T17:00:00Z"))
        );
        assert_eq!(next_reactivation(last, &days, 3, chrono_tz::UTC), None);
        // Nothing due yet; the first; after a long gap only the latest one.
        assert_eq!(
            reactivation_due(last, &days, 0, utc("2031-03-10T16:59:59Z"), chrono_tz::UTC),
            None
        );
        assert_eq!(
            reactivation_due(last, &days, 0, utc("2031-03-10T17:00:00Z"), chrono_tz::UTC),
            Some((0, utc("2031-03-10T17:00:00Z")))
        );
        assert_eq!(
            reactivation_due(last, &days, 1, utc("2031-04-30T00:00:00Z"), chrono_tz::UTC),
            Some((2, utc("2031-03-21T17:00:00Z")))
        );
    }
}
