//! Calendar periods (day, week, month) over local dates.
//!
//! Streaks (docs/behaviour/streaks.md#periods) and event summaries
//! (docs/behaviour/users-and-events.md#event-summaries) both cut time into periods of local
//! dates; this module only knows about dates, so the caller converts instants with
//! `local_time::local_date` first.
//!
//! The calendar is finite (`NaiveDate::MIN..=NaiveDate::MAX`), so the week containing either end
//! of it is truncated at the limit instead of panicking; months never need that because the
//! limits are 1 January and 31 December.

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// The first day of a week. Kept separate from the config enum so the rules do not depend on the
/// config layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WeekStart {
    Sunday,
    Monday,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeriodKind {
    Daily,
    Weekly(WeekStart),
    Monthly,
}

/// A run of local dates, both ends inclusive, matching the API's `periodStart`/`periodEnd`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub start: NaiveDate,
    /// Inclusive.
    pub end: NaiveDate,
}

impl Period {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date <= self.end
    }
}

/// `NaiveDate::num_days_from_ce` of 1970-01-01, so that daily indices are Unix days.
const UNIX_EPOCH_DAYS_FROM_CE: i64 = 719_163;

pub fn period_containing(date: NaiveDate, kind: PeriodKind) -> Period {
    match kind {
        PeriodKind::Daily => Period {
            start: date,
            end: date,
        },
        PeriodKind::Weekly(week_start) => {
            let into_week = days_into_week(date.weekday(), week_start);
            Period {
                start: date
                    .checked_sub_days(Days::new(u64::from(into_week)))
                    .unwrap_or(NaiveDate::MIN),
                end: date
                    .checked_add_days(Days::new(u64::from(6 - into_week)))
                    .unwrap_or(NaiveDate::MAX),
            }
        }
        PeriodKind::Monthly => Period {
            // Day 1 exists in every month, so the fallback is unreachable.
            start: date.with_day(1).unwrap_or(date),
            end: last_day_of_month(date),
        },
    }
}

/// The period right after `p`; `None` past the end of the calendar.
pub fn next_period(p: Period, kind: PeriodKind) -> Option<Period> {
    Some(period_containing(p.end.succ_opt()?, kind))
}

/// The period right before `p`; `None` before the start of the calendar.
pub fn previous_period(p: Period, kind: PeriodKind) -> Option<Period> {
    Some(period_containing(p.start.pred_opt()?, kind))
}

/// The periods from the one containing `first` through the one containing `last`, in order.
/// Empty when `first > last`.
pub fn periods_covering(
    first: NaiveDate,
    last: NaiveDate,
    kind: PeriodKind,
) -> impl Iterator<Item = Period> {
    let first_period = (first <= last).then(|| period_containing(first, kind));
    std::iter::successors(first_period, move |p| next_period(*p, kind))
        .take_while(move |p| p.start <= last)
}

/// How many periods `b` is after `a` (negative when `b` is earlier); 1 for consecutive periods,
/// so a streak that last extended in `a` has missed `periods_between(a, b) - 1` periods by `b`.
pub fn periods_between(a: Period, b: Period, kind: PeriodKind) -> i64 {
    period_index(b.start, kind) - period_index(a.start, kind)
}

/// A number for the period containing `date`, such that consecutive periods differ by exactly 1.
///
/// The values are stable and may be persisted:
/// * daily: days since 1970-01-01;
/// * weekly: weeks since the week (of the given start day) containing 1970-01-01;
/// * monthly: `year * 12 + month - 1`, i.e. months since January of year 0.
pub fn period_index(date: NaiveDate, kind: PeriodKind) -> i64 {
    let unix_day = i64::from(date.num_days_from_ce()) - UNIX_EPOCH_DAYS_FROM_CE;
    match kind {
        PeriodKind::Daily => unix_day,
        PeriodKind::Weekly(week_start) => {
            // 1970-01-01 was a Thursday; shift so that index 0 is the week containing it.
            let epoch_into_week = i64::from(days_into_week(Weekday::Thu, week_start));
            (unix_day + epoch_into_week).div_euclid(7)
        }
        PeriodKind::Monthly => i64::from(date.year()) * 12 + i64::from(date.month0()),
    }
}

/// The period whose `period_index` is `index`: the inverse of `period_index`, so that stored
/// indices can be turned back into dates. `None` outside chrono's calendar.
pub fn period_at_index(index: i64, kind: PeriodKind) -> Option<Period> {
    let from_unix_day = |day: i64| -> Option<NaiveDate> {
        let ce = i32::try_from(day.checked_add(UNIX_EPOCH_DAYS_FROM_CE)?).ok()?;
        NaiveDate::from_num_days_from_ce_opt(ce)
    };
    let first_day = match kind {
        PeriodKind::Daily => from_unix_day(index)?,
        PeriodKind::Weekly(week_start) => {
            let epoch_into_week = i64::from(days_into_week(Weekday::Thu, week_start));
            from_unix_day(index.checked_mul(7)?.checked_sub(epoch_into_week)?)?
        }
        PeriodKind::Monthly => {
            let year = i32::try_from(index.div_euclid(12)).ok()?;
            let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
            NaiveDate::from_ymd_opt(year, month, 1)?
        }
    };
    Some(period_containing(first_day, kind))
}

/// 0..=6: how many days `day` comes after the start of its week.
fn days_into_week(day: Weekday, week_start: WeekStart) -> u32 {
    match week_start {
        WeekStart::Sunday => day.num_days_from_sunday(),
        WeekStart::Monday => day.num_days_from_monday(),
    }
}

fn last_day_of_month(date: NaiveDate) -> NaiveDate {
    // December is handled apart because the following 1 January may be past NaiveDate::MAX.
    let day_before_next_month = if date.month() == 12 {
        date.with_day(31)
    } else {
        NaiveDate::from_ymd_opt(date.year(), date.month() + 1, 1).and_then(|d| d.pred_opt())
    };
    day_before_next_month.unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::d;

    const DAILY: PeriodKind = PeriodKind::Daily;
    const SUNDAY: PeriodKind = PeriodKind::Weekly(WeekStart::Sunday);
    const MONDAY: PeriodKind = PeriodKind::Weekly(WeekStart::Monday);
    const ALL_KINDS: [PeriodKind; 4] = [PeriodKind::Daily, SUNDAY, MONDAY, PeriodKind::Monthly];

    fn p(start: NaiveDate, end: NaiveDate) -> Period {
        Period { start, end }
    }

    #[test]
    fn daily_next_period_is_the_next_day() {
        let day = d(2024, 2, 29);
        assert_eq!(
            next_period(p(day, day), PeriodKind::Daily),
            Some(p(d(2024, 3, 1), d(2024, 3, 1)))
        );
    }

    #[test]
    fn every_day_of_a_week_is_in_that_week() {
        let weeks = [
            // SEED streakHistory: 2025-03-30 (Sun) .. 2025-04-05 (Sat).
            (SUNDAY, p(d(2025, 3, 30), d(2025, 4, 5))),
            // Wrapped mostActiveWeek: 2024-03-11 (Mon) .. 2024-03-17 (Sun).
            (MONDAY, p(d(2024, 3, 11), d(2024, 3, 17))),
        ];
        for (kind, week) in weeks {
            let mut day = week.start;
            while day <= week.end {
                assert_eq!(period_containing(day, kind), week, "{kind:?} {day}");
                day = day.succ_opt().expect("successor");
            }
        }
    }

    #[test]
    fn period_containing_a_day() {
        let monthly = PeriodKind::Monthly;
        // (day, kind, start and end of the period containing it)
        let cases = [
            (d(2024, 2, 29), DAILY, d(2024, 2, 29), d(2024, 2, 29)),
            // Next to the weeks of the streak history and wrapped examples.
            (d(2025, 4, 6), SUNDAY, d(2025, 4, 6), d(2025, 4, 12)),
            (d(2025, 3, 29), SUNDAY, d(2025, 3, 23), d(2025, 3, 29)),
            (d(2024, 3, 10), MONDAY, d(2024, 3, 4), d(2024, 3, 10)),
            // Weeks span the year end.
            (d(2024, 12, 31), MONDAY, d(2024, 12, 30), d(2025, 1, 5)),
            (d(2025, 1, 1), SUNDAY, d(2024, 12, 29), d(2025, 1, 4)),
            // Months have the right length.
            (d(2024, 2, 10), monthly, d(2024, 2, 1), d(2024, 2, 29)),
            (d(2025, 2, 28), monthly, d(2025, 2, 1), d(2025, 2, 28)),
            (d(2024, 12, 25), monthly, d(2024, 12, 1), d(2024, 12, 31)),
        ];
        for (day, kind, start, end) in cases {
            assert_eq!(
                period_containing(day, kind),
                p(start, end),
                "{kind:?} {day}"
            );
        }
    }

    #[test]
    fn months_end_on_the_right_day() {
        for (day, end) in [
            (d(2100, 2, 1), d(2100, 2, 28)),
            (d(2000, 2, 1), d(2000, 2, 29)),
            (d(2025, 4, 30), d(2025, 4, 30)),
        ] {
            assert_eq!(
                period_containing(day, PeriodKind::Monthly).end,
                end,
                "{day}"
            );
        }
    }

    #[test]
    fn months_step_across_the_year_end() {
        let monthly = PeriodKind::Monthly;
        let december = p(d(2024, 12, 1), d(2024, 12, 31));
        let january = p(d(2025, 1, 1), d(2025, 1, 31));
        assert_eq!(next_period(december, monthly), Some(january));
        assert_eq!(previous_period(january, monthly), Some(december));
        assert_eq!(periods_between(december, january, monthly), 1);
    }

    #[test]
    fn consecutive_periods_tile_and_indices_step_by_one() {
        for kind in ALL_KINDS {
            let mut current = period_containing(d(2023, 11, 15), kind);
            for _ in 0..800 {
                let next = next_period(current, kind).expect("far from the calendar end");
                assert_eq!(Some(next.start), current.end.succ_opt(), "{kind:?}");
                assert!(next.start <= next.end);
                assert_eq!(
                    period_index(next.start, kind),
                    period_index(current.start, kind) + 1,
                    "{kind:?} {next:?}"
                );
                assert_eq!(
                    period_index(next.end, kind),
                    period_index(next.start, kind),
                    "{kind:?}: every day of a period has the same index"
                );
                assert_eq!(previous_period(next, kind), Some(current));
                assert_eq!(periods_between(current, next, kind), 1);
                current = next;
            }
        }
    }

    #[test]
    fn period_at_index_inverts_period_index() {
        for kind in ALL_KINDS {
            let mut current = period_containing(d(1969, 11, 15), kind);
            for _ in 0..900 {
                let index = period_index(current.start, kind);
                assert_eq!(period_at_index(index, kind), Some(current), "{kind:?}");
                current = next_period(current, kind).expect("far from the calendar end");
            }
        }
        assert_eq!(period_at_index(i64::MAX, PeriodKind::Daily), None);
        assert_eq!(period_at_index(i64::MIN, SUNDAY), None);
        assert_eq!(period_at_index(i64::MAX, PeriodKind::Monthly), None);
    }

    #[test]
    fn indices_are_anchored_on_the_unix_epoch() {
        assert_eq!(period_index(d(1970, 1, 1), PeriodKind::Daily), 0);
        assert_eq!(period_index(d(1969, 12, 31), PeriodKind::Daily), -1);
        assert_eq!(period_index(d(2025, 1, 1), PeriodKind::Daily), 20089);
        // 1970-01-01 was a Thursday; negative indices must floor, not truncate.
        assert_eq!(period_index(d(1969, 12, 29), MONDAY), 0);
        assert_eq!(period_index(d(1969, 12, 28), MONDAY), -1);
        assert_eq!(period_index(d(1969, 12, 28), SUNDAY), 0);
        assert_eq!(period_index(d(1969, 12, 27), SUNDAY), -1);
        assert_eq!(period_index(d(1970, 1, 4), MONDAY), 0);
        assert_eq!(period_index(d(1970, 1, 5), MONDAY), 1);
        assert_eq!(
            period_index(d(2025, 3, 1), PeriodKind::Monthly),
            2025 * 12 + 2
        );
    }

    #[test]
    fn periods_between_across_years() {
        let monthly = PeriodKind::Monthly;
        // (kind, a day in the first period, a day in the second, periods between them)
        let cases = [
            (DAILY, d(2024, 12, 30), d(2025, 1, 2), 3),
            (DAILY, d(2024, 2, 28), d(2024, 3, 1), 2),
            (SUNDAY, d(2024, 12, 25), d(2025, 1, 8), 2),
            (SUNDAY, d(2025, 1, 8), d(2024, 12, 25), -2),
            (monthly, d(2024, 11, 30), d(2025, 2, 1), 3),
            (monthly, d(2020, 1, 1), d(2025, 1, 31), 60),
            (monthly, d(2025, 5, 5), d(2025, 5, 5), 0),
        ];
        for (kind, first, second, expected) in cases {
            let (first_period, second_period) = (
                period_containing(first, kind),
                period_containing(second, kind),
            );
            assert_eq!(
                periods_between(first_period, second_period, kind),
                expected,
                "{kind:?} {first} {second}"
            );
        }
    }

    #[test]
    fn periods_covering_includes_partial_ends() {
        let months: Vec<_> =
            periods_covering(d(2024, 11, 15), d(2025, 2, 3), PeriodKind::Monthly).collect();
        assert_eq!(
            months,
            vec![
                p(d(2024, 11, 1), d(2024, 11, 30)),
                p(d(2024, 12, 1), d(2024, 12, 31)),
                p(d(2025, 1, 1), d(2025, 1, 31)),
                p(d(2025, 2, 1), d(2025, 2, 28)),
            ]
        );
        let weeks: Vec<_> = periods_covering(d(2025, 4, 2), d(2025, 4, 6), MONDAY).collect();
        assert_eq!(
            weeks,
            vec![
                p(d(2025, 3, 31), d(2025, 4, 6)),
                // 04-06 is the Sunday ending the first week: no second week.
            ]
        );
        let weeks: Vec<_> = periods_covering(d(2025, 4, 2), d(2025, 4, 7), MONDAY).collect();
        assert_eq!(weeks.len(), 2);
        assert_eq!(
            periods_covering(d(2025, 4, 2), d(2025, 4, 2), PeriodKind::Daily).count(),
            1
        );
        assert_eq!(
            periods_covering(d(2025, 4, 3), d(2025, 4, 2), PeriodKind::Daily).count(),
            0
        );
        assert_eq!(
            periods_covering(d(2024, 1, 1), d(2024, 12, 31), PeriodKind::Daily).count(),
            366
        );
    }

    #[test]
    fn contains_is_inclusive() {
        let week = period_containing(d(2025, 4, 2), SUNDAY);
        assert!(week.contains(d(2025, 3, 30)));
        assert!(week.contains(d(2025, 4, 5)));
        assert!(!week.contains(d(2025, 4, 6)));
        assert!(!week.contains(d(2025, 3, 29)));
    }

    #[test]
    fn calendar_limits_do_not_panic() {
        for kind in ALL_KINDS {
            for date in [NaiveDate::MIN, NaiveDate::MAX] {
                let period = period_containing(date, kind);
                assert!(period.contains(date), "{kind:?} {date}");
                let _ = period_index(date, kind);
                let _ = periods_between(period, period, kind);
            }
            let last = period_containing(NaiveDate::MAX, kind);
            assert_eq!(next_period(last, kind), None);
            let first = period_containing(NaiveDate::MIN, kind);
            assert_eq!(previous_period(first, kind), None);
            assert!(
                periods_covering(
                    NaiveDate::MAX - chrono::TimeDelta::days(40),
                    NaiveDate::MAX,
                    kind
                )
                .count()
                    >= 1
            );
            assert_eq!(
                period_index(NaiveDate::MIN, kind) + periods_between(first, last, kind),
                period_index(NaiveDate::MAX, kind)
            );
        }
        assert_eq!(
            period_containing(NaiveDate::MAX, PeriodKind::Monthly).end,
            NaiveDate::MAX
        );
        assert_eq!(
            period_containing(NaiveDate::MIN, PeriodKind::Monthly).start,
            NaiveDate::MIN
        );
    }
}
