//! The pure rules of points (docs/behaviour/points.md): threshold counting with a best-ever
//! mark, boosts, the cap, levels, the summary ranges and the ticks of time triggers.

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::config::{Rounding, TimeUnit};
use crate::rules::local_time::{local_date, start_of_local_day};

/// How many times `threshold` units were newly passed when the counter moved to `acc`
/// while its best-ever value was `best`: ground lost and regained never pays twice.
pub fn crossings(best: f64, acc: f64, threshold: u32) -> i64 {
    if threshold == 0 || !(acc.is_finite() && best.is_finite()) {
        return 0;
    }
    let t = f64::from(threshold);
    let k = (acc / t).floor() - (best / t).floor();
    if k > 0.0 {
        // Clamped so an absurd value cannot overflow the multiplication that follows.
        k.min(1e12) as i64
    } else {
        0
    }
}

/// The mode that gives the fewest points: `down` over `nearest` over `up`.
pub fn most_conservative(modes: impl IntoIterator<Item = Rounding>) -> Rounding {
    let rank = |r: Rounding| match r {
        Rounding::Down => 0,
        Rounding::Nearest => 1,
        Rounding::Up => 2,
    };
    modes
        .into_iter()
        .min_by_key(|r| rank(*r))
        .unwrap_or(Rounding::Down)
}

/// `points` multiplied by every boost (multiplicative stacking), rounded once with the
/// most conservative mode present. Deductions and awards without boosts are unchanged.
pub fn boosted(points: i64, boosts: &[(f64, Rounding)]) -> i64 {
    if points <= 0 || boosts.is_empty() {
        return points;
    }
    let product: f64 = boosts.iter().map(|(m, _)| m).product();
    // Binary floating point makes 10 × 1.1 = 11.000000000000002; six decimals are far
    // below any multiplier's precision, so the product is snapped before rounding.
    let exact = ((points as f64) * product * 1e6).round() / 1e6;
    let rounded = match most_conservative(boosts.iter().map(|(_, r)| *r)) {
        Rounding::Down => exact.floor(),
        Rounding::Up => exact.ceil(),
        Rounding::Nearest => exact.round(),
    };
    if rounded >= i64::MAX as f64 {
        i64::MAX
    } else {
        rounded as i64
    }
}

/// What may be added to `total` under the cap `max`: gains stop at the cap (and never
/// go below 0 when the cap was lowered under the total); deductions are never capped.
pub fn capped(awarded: i64, total: i64, max: Option<i64>) -> i64 {
    match max {
        Some(max) if awarded > 0 => awarded.min(max.saturating_sub(total)).max(0),
        _ => awarded,
    }
}

/// The index of the level reached at `total`: the highest threshold at or below it.
/// `thresholds` are ascending.
pub fn level_index(thresholds: &[i64], total: i64) -> Option<usize> {
    thresholds.iter().rposition(|t| *t <= total)
}

/// Whether `date` lies in `[start, end]`, both inclusive (open-ended without `end`).
pub fn within(start: NaiveDate, end: Option<NaiveDate>, date: NaiveDate) -> bool {
    start <= date && end.is_none_or(|end| date <= end)
}

/// A boost's API status on `today`.
pub fn boost_status(start: NaiveDate, end: Option<NaiveDate>, today: NaiveDate) -> &'static str {
    if today < start {
        "scheduled"
    } else if end.is_some_and(|end| today > end) {
        "finished"
    } else {
        "active"
    }
}

/// The summary bucket of a total: -1 for totals at or below 0, otherwise `10·m + j`
/// where `m ≥ 1` is the smallest power with `total ≤ 10^m` and `j` the tenth of
/// `(10^(m-1)·j, 10^(m-1)·(j+1)]` the total falls in. The ranges for any maximum are
/// sums of these buckets, so the writer keeps one count per bucket.
pub fn bucket_of(total: i64) -> i64 {
    if total <= 0 {
        return -1;
    }
    let mut m = 1;
    let mut power: i64 = 10;
    while total > power && m < 18 {
        m += 1;
        power *= 10;
    }
    let step = power / 10;
    let j = (total + step - 1) / step - 1;
    m * 10 + j.clamp(0, 9)
}

/// One of the 11 summary ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub from: i64,
    pub to: i64,
    pub users: i64,
}

/// The 11 ranges from bucket counts (`(bucket, users)`) and the number of users counted
/// (users without a positive total fall in `0..0`). The upper bound is the highest
/// total rounded up to a power of 10, at least 10.
pub fn summary_ranges(buckets: &[(i64, i64)], users: i64) -> Vec<Range> {
    let positive: Vec<(i64, i64)> = buckets
        .iter()
        .copied()
        .filter(|(b, n)| *b >= 10 && *n > 0)
        .collect();
    let top = positive.iter().map(|(b, _)| b / 10).max().unwrap_or(1);
    let step = 10i64.pow(u32::try_from(top - 1).unwrap_or(0));
    let below: i64 = positive
        .iter()
        .filter(|(b, _)| b / 10 < top)
        .map(|(_, n)| n)
        .sum();
    let in_top = |j: i64| -> i64 {
        positive
            .iter()
            .filter(|(b, _)| *b == top * 10 + j)
            .map(|(_, n)| n)
            .sum()
    };
    let all_positive: i64 = positive.iter().map(|(_, n)| n).sum();
    let mut out = vec![Range {
        from: 0,
        to: 0,
        users: (users - all_positive).max(0),
    }];
    for j in 1..=10 {
        out.push(Range {
            from: (j - 1) * step + 1,
            to: j * step,
            users: in_top(j - 1) + if j == 1 { below } else { 0 },
        });
    }
    out
}

/// The ticks of a time trigger for a user created at `created`: every `interval` hours
/// from the creation instant, or at local midnight every `interval` days after the
/// creation date. Tick 0 is creation itself and pays nothing.
#[derive(Debug, Clone, Copy)]
pub struct Ticks {
    pub created: DateTime<Utc>,
    pub tz: Tz,
    pub unit: TimeUnit,
    pub interval: u32,
}

impl Ticks {
    /// The instant of tick `n` (None when out of the calendar's range).
    pub fn at(&self, n: i64) -> Option<DateTime<Utc>> {
        let n = u64::try_from(n).ok()?;
        let steps = n.checked_mul(u64::from(self.interval.max(1)))?;
        match self.unit {
            TimeUnit::Hours => self
                .created
                .checked_add_signed(TimeDelta::try_hours(i64::try_from(steps).ok()?)?),
            TimeUnit::Days => {
                let date = local_date(self.created, self.tz).checked_add_days(Days::new(steps))?;
                start_of_local_day(date, self.tz)
            }
        }
    }

    /// The last tick at or before `t` (0 when none has passed).
    pub fn index_at(&self, t: DateTime<Utc>) -> i64 {
        let interval = i64::from(self.interval.max(1));
        let n = match self.unit {
            TimeUnit::Hours => (t - self.created).num_hours().div_euclid(interval),
            TimeUnit::Days => {
                let days = (local_date(t, self.tz) - local_date(self.created, self.tz)).num_days();
                days.div_euclid(interval)
            }
        };
        let n = n.max(0);
        match self.at(n) {
            Some(at) if at > t && n > 0 => n - 1,
            _ => n,
        }
    }

    /// The ticks after tick `after` up to `until`, leaving out those more than `cap`
    /// ticks behind `now`: after a downtime only the last `cap` missed ticks are paid,
    /// however many steps the catch-up is run in.
    pub fn due(
        &self,
        after: i64,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
        cap: i64,
    ) -> std::ops::RangeInclusive<i64> {
        let last = self.index_at(until);
        let first = (after + 1).max(self.index_at(now) - cap + 1).max(1);
        first..=last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossings_count_every_threshold_passed_and_never_repay_lost_ground() {
        // T=3: +2, +2 → one; +5 → two more.
        assert_eq!(crossings(0.0, 2.0, 3), 0);
        assert_eq!(crossings(2.0, 4.0, 3), 1);
        assert_eq!(crossings(4.0, 9.0, 3), 2);
        // Down to 3 and back to 9: nothing, the best was 9.
        assert_eq!(crossings(9.0, 9.0, 3), 0);
        assert_eq!(crossings(9.0, 12.0, 3), 1);
        assert_eq!(crossings(0.0, 1000.0, 1), 1000);
        assert_eq!(crossings(5.0, 4.0, 1), 0);
    }

    #[test]
    fn boosts_multiply_and_round_once_with_the_most_conservative_mode() {
        use Rounding::*;
        assert_eq!(boosted(10, &[(2.0, Down), (1.5, Up), (3.0, Nearest)]), 90);
        assert_eq!(boosted(10, &[(1.25, Down)]), 12);
        assert_eq!(boosted(10, &[(1.25, Up)]), 13);
        assert_eq!(boosted(10, &[(1.25, Nearest)]), 13);
        assert_eq!(boosted(10, &[(1.24, Nearest)]), 12);
        assert_eq!(boosted(10, &[(1.25, Up), (1.0, Nearest)]), 13);
        assert_eq!(boosted(10, &[(1.25, Up), (1.0, Down)]), 12);
        // No floating-point drift: 10 × 1.1 is 11 even rounding up.
        assert_eq!(boosted(10, &[(1.1, Up)]), 11);
        assert_eq!(boosted(3, &[(0.5, Up)]), 2);
        // Deductions are never boosted.
        assert_eq!(boosted(-10, &[(2.0, Down)]), -10);
        assert_eq!(boosted(7, &[]), 7);
    }

    #[test]
    fn the_cap_limits_gains_only() {
        assert_eq!(capped(10, 95, Some(100)), 5);
        assert_eq!(capped(10, 100, Some(100)), 0);
        assert_eq!(capped(10, 150, Some(100)), 0);
        assert_eq!(capped(-10, 150, Some(100)), -10);
        assert_eq!(capped(10, 95, None), 10);
    }

    #[test]
    fn the_level_is_the_highest_threshold_reached() {
        let t = [0, 50, 200];
        assert_eq!(level_index(&t, -5), None);
        assert_eq!(level_index(&t, 0), Some(0));
        assert_eq!(level_index(&t, 100), Some(1));
        assert_eq!(level_index(&t, 200), Some(2));
        assert_eq!(level_index(&[10], 9), None);
        assert_eq!(level_index(&[], 9), None);
    }

    #[test]
    fn boost_dates_are_inclusive() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        assert!(within(
            d("2031-01-15"),
            Some(d("2031-01-17")),
            d("2031-01-15")
        ));
        assert!(within(
            d("2031-01-15"),
            Some(d("2031-01-17")),
            d("2031-01-17")
        ));
        assert!(!within(
            d("2031-01-15"),
            Some(d("2031-01-17")),
            d("2031-01-18")
        ));
        assert!(!within(d("2031-01-15"), None, d("2031-01-14")));
        assert!(within(d("2031-01-15"), None, d("2099-01-14")));
        assert_eq!(
            boost_status(d("2031-01-15"), None, d("2031-01-14")),
            "scheduled"
        );
        assert_eq!(
            boost_status(d("2031-01-15"), Some(d("2031-01-15")), d("2031-01-15")),
            "active"
        );
        assert_eq!(
            boost_status(d("2031-01-15"), Some(d("2031-01-15")), d("2031-01-16")),
            "finished"
        );
    }

    #[test]
    fn buckets_split_each_power_of_ten_in_tenths() {
        assert_eq!(bucket_of(0), -1);
        assert_eq!(bucket_of(-4), -1);
        assert_eq!(bucket_of(1), 10);
        assert_eq!(bucket_of(10), 19);
        assert_eq!(bucket_of(11), 21);
        assert_eq!(bucket_of(20), 21);
        assert_eq!(bucket_of(21), 22);
        assert_eq!(bucket_of(100), 29);
        assert_eq!(bucket_of(101), 31);
        assert_eq!(bucket_of(550), 35);
        assert_eq!(bucket_of(1000), 39);
    }

    fn counts(totals: &[i64]) -> Vec<(i64, i64)> {
        let mut map = std::collections::BTreeMap::new();
        for t in totals {
            *map.entry(bucket_of(*t)).or_insert(0) += 1;
        }
        map.into_iter().collect()
    }

    #[test]
    fn summary_ranges_follow_the_highest_total() {
        // The spec's example: a maximum in 501–600 gives ranges of 100 up to 1000.
        let totals = [0, -3, 5, 100, 101, 550];
        let r = summary_ranges(&counts(&totals), 8);
        assert_eq!(r.len(), 11);
        assert_eq!(
            r[0],
            Range {
                from: 0,
                to: 0,
                users: 4
            }
        );
        assert_eq!(
            r[1],
            Range {
                from: 1,
                to: 100,
                users: 2
            }
        );
        assert_eq!(
            r[2],
            Range {
                from: 101,
                to: 200,
                users: 1
            }
        );
        assert_eq!(
            r[6],
            Range {
                from: 501,
                to: 600,
                users: 1
            }
        );
        assert_eq!(
            r[10],
            Range {
                from: 901,
                to: 1000,
                users: 0
            }
        );
        // At most 10: single values.
        let r = summary_ranges(&counts(&[3, 10]), 2);
        assert_eq!(
            r[3],
            Range {
                from: 3,
                to: 3,
                users: 1
            }
        );
        assert_eq!(
            r[10],
            Range {
                from: 10,
                to: 10,
                users: 1
            }
        );
        // Nobody: ranges up to 10, everyone at 0.
        let r = summary_ranges(&[], 3);
        assert_eq!(r[0].users, 3);
        assert_eq!(
            r[10],
            Range {
                from: 10,
                to: 10,
                users: 0
            }
        );
        // A power of ten is its own bound.
        let r = summary_ranges(&counts(&[100]), 1);
        assert_eq!(
            r[10],
            Range {
                from: 91,
                to: 100,
                users: 1
            }
        );
    }

    #[test]
    fn hour_ticks_follow_creation_and_day_ticks_local_midnight() {
        let created = DateTime::parse_from_rfc3339("2031-03-01T10:30:00Z")
            .expect("t")
            .to_utc();
        let hours = Ticks {
            created,
            tz: chrono_tz::UTC,
            unit: TimeUnit::Hours,
            interval: 6,
        };
        assert_eq!(
            hours.at(1).map(|t| t.to_rfc3339()),
            Some("2031-03-01T16:30:00+00:00".into())
        );
        assert_eq!(hours.index_at(created + TimeDelta::hours(13)), 2);
        // Kiritimati (+14): created on its 2 March; the first daily tick is its midnight.
        let days = Ticks {
            created,
            tz: chrono_tz::Pacific::Kiritimati,
            unit: TimeUnit::Days,
            interval: 1,
        };
        let first = days.at(1).expect("tick");
        assert_eq!(first.to_rfc3339(), "2031-03-02T10:00:00+00:00");
        assert_eq!(days.index_at(first - TimeDelta::seconds(1)), 0);
        assert_eq!(days.index_at(first), 1);
        // A long downtime pays only the latest 24 ticks, even when caught up in steps.
        let now = first + TimeDelta::days(99);
        assert_eq!(days.due(0, now, now, 24), 77..=100);
        assert!(days.due(0, first + TimeDelta::days(50), now, 24).is_empty());
        assert_eq!(days.due(70, now, now, 24), 77..=100);
        assert_eq!(
            days.due(
                3,
                first + TimeDelta::days(4),
                first + TimeDelta::days(4),
                24
            ),
            4..=5
        );
    }
}
