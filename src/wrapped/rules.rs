//! Pure rules of the year in review (docs/behaviour/wrapped.md): how days group into weeks
//! (Monday to Sunday), months and years, how the most active periods are chosen, and the
//! arithmetic of `percentChange` and `percentileThisPeriod`.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use crate::rules::periods::{period_at_index, period_index, PeriodKind};

/// A local date as days since 1970-01-01 (what `wrapped_days.day` stores).
pub fn day_number(date: NaiveDate) -> i64 {
    period_index(date, PeriodKind::Daily)
}

pub fn date_of(day: i64) -> Option<NaiveDate> {
    period_at_index(day, PeriodKind::Daily).map(|p| p.start)
}

/// The Monday of the week holding `day` (1970-01-01 was a Thursday).
pub fn monday_of(day: i64) -> i64 {
    day - (day + 3).rem_euclid(7)
}

pub fn week_key(day: i64) -> String {
    format!("w:{}", monday_of(day))
}

pub fn month_key(year: i32, month0: u32) -> String {
    format!("m:{year:04}-{:02}", month0 + 1)
}

pub fn year_key(year: i32) -> String {
    format!("y:{year:04}")
}

/// The week, month and year keys of a local date: the periods an event on it counts in.
pub fn period_keys(date: NaiveDate) -> [String; 3] {
    [
        week_key(day_number(date)),
        month_key(date.year(), date.month0()),
        year_key(date.year()),
    ]
}

/// `change / (total − change) × 100`, truncated to one decimal; from a zero start it is 100
/// for a rise and 0 otherwise.
pub fn percent_change(total: f64, change: f64) -> f64 {
    let base = total - change;
    if base == 0.0 {
        return if change > 0.0 { 100.0 } else { 0.0 };
    }
    let raw = change / base * 100.0;
    // A hair towards the true value first, so 70 computed as 69.99999 stays 70.
    let tenths = raw * 10.0;
    let nudged = tenths + tenths.signum() * 1e-7;
    nudged.trunc() / 10.0
}

/// Share of the `total` active users whose change is at most this user's, in whole percent.
pub fn percentile(at_or_below: i64, total: i64) -> i64 {
    if total <= 0 {
        return 0;
    }
    (at_or_below as f64 * 100.0 / total as f64).round() as i64
}

/// Activity counts and the most active periods of one year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub days_active: usize,
    pub weeks_active: usize,
    pub months_active: usize,
    /// Day numbers.
    pub most_active_day: i64,
    /// The Monday's day number.
    pub most_active_week: i64,
    /// 0 = January.
    pub most_active_month: u32,
}

/// From the number of metric events per local day (`events`, any range of days), the
/// activity of `year`. Weeks are those with an active day in the year; a week's count is
/// over all its seven days. Ties go to the earliest; no activity gives 1 January, the week
/// holding it and January.
pub fn activity(events: &BTreeMap<i64, i64>, year: i32) -> Option<Activity> {
    let first = day_number(NaiveDate::from_ymd_opt(year, 1, 1)?);
    let last = day_number(NaiveDate::from_ymd_opt(year, 12, 31)?);
    let in_year: Vec<(i64, i64)> = events
        .range(first..=last)
        .filter(|(_, n)| **n > 0)
        .map(|(d, n)| (*d, *n))
        .collect();
    let mut weeks: BTreeMap<i64, i64> = BTreeMap::new();
    let mut months: BTreeMap<u32, i64> = BTreeMap::new();
    for (day, _) in &in_year {
        weeks.entry(monday_of(*day)).or_insert(0);
        let month = date_of(*day)?.month0();
        *months.entry(month).or_insert(0) += events.get(day).copied().unwrap_or(0);
    }
    for (monday, count) in weeks.iter_mut() {
        *count = events.range(*monday..*monday + 7).map(|(_, n)| *n).sum();
    }
    let earliest_max = |items: Vec<(i64, i64)>, none: i64| {
        items
            .into_iter()
            .fold(None::<(i64, i64)>, |best, (k, n)| match best {
                Some((_, m)) if m >= n => best,
                _ => Some((k, n)),
            })
            .map_or(none, |(k, _)| k)
    };
    Some(Activity {
        days_active: in_year.len(),
        weeks_active: weeks.len(),
        months_active: months.len(),
        most_active_day: earliest_max(in_year.clone(), first),
        most_active_week: earliest_max(weeks.into_iter().collect(), monday_of(first)),
        most_active_month: u32::try_from(earliest_max(
            months.into_iter().map(|(m, n)| (i64::from(m), n)).collect(),
            0,
        ))
        .unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> i64 {
        day_number(NaiveDate::from_ymd_opt(y, m, d).expect("date"))
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2031-01-01 is a Wednesday; its week starts on Monday 2030-12-30.
        assert_eq!(monday_of(day(2031, 1, 1)), day(2030, 12, 30));
        assert_eq!(monday_of(day(2031, 1, 5)), day(2030, 12, 30));
        assert_eq!(monday_of(day(2031, 1, 6)), day(2031, 1, 6));
        assert_eq!(monday_of(day(1969, 12, 31)), day(1969, 12, 29));
        let keys = period_keys(NaiveDate::from_ymd_opt(2031, 3, 9).expect("date"));
        assert_eq!(keys[0], week_key(day(2031, 3, 3)));
        assert_eq!(keys[1], "m:2031-03");
        assert_eq!(keys[2], "y:2031");
    }

    #[test]
    fn percent_change_truncates_and_handles_a_zero_start() {
        assert_eq!(percent_change(10.0, 1.0), 11.1);
        assert_eq!(percent_change(5.0, 2.0), 66.6);
        assert_eq!(percent_change(1.7, 0.7), 70.0);
        assert_eq!(percent_change(5.0, 5.0), 100.0);
        assert_eq!(percent_change(0.0, 0.0), 0.0);
        assert_eq!(percent_change(-3.0, -3.0), 0.0);
        assert_eq!(percent_change(8.0, -2.0), -20.0);
    }

    #[test]
    fn percentiles_round_to_whole_percent() {
        assert_eq!(percentile(1, 3), 33);
        assert_eq!(percentile(2, 3), 67);
        assert_eq!(percentile(3, 3), 100);
        assert_eq!(percentile(0, 0), 0);
    }

    #[test]
    fn activity_counts_periods_and_picks_the_earliest_busiest() {
        let mut events = BTreeMap::new();
        events.insert(day(2030, 12, 31), 9); // same week as 1 January, previous year
        events.insert(day(2031, 1, 1), 1);
        events.insert(day(2031, 1, 7), 3);
        events.insert(day(2031, 2, 10), 3);
        events.insert(day(2032, 1, 1), 50); // next year
        let a = activity(&events, 2031).expect("year");
        assert_eq!(a.days_active, 3);
        assert_eq!(a.weeks_active, 3);
        assert_eq!(a.months_active, 2);
        assert_eq!(a.most_active_day, day(2031, 1, 7));
        // The week of 30 December holds 10 events, 9 of them in 2030.
        assert_eq!(a.most_active_week, day(2030, 12, 30));
        assert_eq!(a.most_active_month, 0);
    }

    #[test]
    fn no_activity_defaults_to_the_start_of_the_year() {
        let a = activity(&BTreeMap::new(), 2031).expect("year");
        assert_eq!(a.days_active, 0);
        assert_eq!(a.most_active_day, day(2031, 1, 1));
        assert_eq!(a.most_active_week, day(2030, 12, 30));
        assert_eq!(a.most_active_month, 0);
    }
}
