//! Event summaries: `GET /users/{id}/metrics/{key}/event-summary`
//! (docs/behaviour/users-and-events.md#event-summaries), and the points variant
//! (docs/behaviour/points.md#reading-points), which works the same way on point awards.
//!
//! The caller's side of the contract, for a validated `(tz, aggregation, start, end)`:
//! 1. `validate_range(start, end)`, answering 422 with the error's message on failure;
//! 2. `(lower, upper) = utc_bounds(tz, aggregation, start, end)`;
//! 3. `total_before` = the sum of all the user's values with instant `< lower`;
//! 4. `events` = every `(instant, value)` with `lower <= instant < upper`, in any order;
//! 5. `summarize(&events, total_before, tz, aggregation, start, end)`.
//!
//! The bounds are those of whole periods, not of `start..=end`, because the first and last rows
//! describe whole weeks or months even when the requested range only touches part of them.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;

use super::local_time::{local_date, utc_range_of_local_dates};
use super::periods::{period_containing, period_index, periods_covering, PeriodKind, WeekStart};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Aggregation {
    Daily,
    Weekly,
    Monthly,
}

impl Aggregation {
    /// Accepts exactly the API's spelling; anything else (including other cases) is a 422.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "daily" => Some(Self::Daily),
            "weekly" => Some(Self::Weekly),
            "monthly" => Some(Self::Monthly),
            _ => None,
        }
    }

    /// Summary weeks start on Monday (ISO), matching the Wrapped example, whatever the streak
    /// week start is configured to (docs/behaviour/users-and-events.md#event-summaries).
    pub fn period_kind(self) -> PeriodKind {
        match self {
            Self::Daily => PeriodKind::Daily,
            Self::Weekly => PeriodKind::Weekly(WeekStart::Monday),
            Self::Monthly => PeriodKind::Monthly,
        }
    }
}

/// Largest allowed `endDate - startDate`, in days.
pub const MAX_RANGE_DAYS: i64 = 400;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SummaryRangeError {
    StartAfterEnd,
    RangeTooLong,
    /// A date outside years 1..=9999. Such dates cannot be written as `YYYY-MM-DD` in the
    /// response, and rejecting them here guarantees that `utc_bounds` succeeds afterwards.
    OutOfRange,
}

impl fmt::Display for SummaryRangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::StartAfterEnd => "startDate must not be after endDate",
            Self::RangeTooLong => "The date range must not exceed 400 days",
            Self::OutOfRange => "startDate and endDate must be between 0001-01-01 and 9999-12-31",
        })
    }
}

impl std::error::Error for SummaryRangeError {}

/// Checks the requested range before anything is queried.
///
/// "At most 400 days" is read as `endDate - startDate <= 400`, so 2025-01-01..2026-02-05 is
/// accepted (401 dates counted inclusively) and one more day is not. Equal dates are allowed
/// even though the spec says "before", because a one-day summary is harmless
/// (docs/behaviour/users-and-events.md#event-summaries).
pub fn validate_range(start: NaiveDate, end: NaiveDate) -> Result<(), SummaryRangeError> {
    if start > end {
        return Err(SummaryRangeError::StartAfterEnd);
    }
    let in_four_digit_years = |date: NaiveDate| (1..=9999).contains(&date.year());
    if !in_four_digit_years(start) || !in_four_digit_years(end) {
        return Err(SummaryRangeError::OutOfRange);
    }
    if (end - start).num_days() > MAX_RANGE_DAYS {
        return Err(SummaryRangeError::RangeTooLong);
    }
    Ok(())
}

/// The half-open UTC range `[first instant of the first period, first instant after the last
/// period)` whose events `summarize` needs.
///
/// `None` when `start > end` or a bound is outside chrono's range; never `None` once
/// `validate_range` has accepted the dates.
pub fn utc_bounds(
    tz: Tz,
    aggregation: Aggregation,
    start: NaiveDate,
    end: NaiveDate,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if start > end {
        return None;
    }
    let kind = aggregation.period_kind();
    utc_range_of_local_dates(
        period_containing(start, kind).start,
        period_containing(end, kind).end,
        tz,
    )
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SummaryRow {
    /// First local date of the period; before `startDate` when the range starts mid-period.
    pub date: NaiveDate,
    /// The running total at the end of the period.
    pub total: f64,
    /// The sum of event values whose local date is in the period.
    pub change: f64,
}

/// One row per period covering `start..=end`, oldest first, empty periods included.
///
/// See the module documentation for what `events` and `total_before` must hold. Events whose
/// local date falls outside the covered periods are ignored, so a caller that queried too wide
/// gets correct `change`s; `total_before` must still match the lower bound of `utc_bounds`.
/// Validates the range itself so that an unchecked request cannot build a huge result.
pub fn summarize(
    events: &[(DateTime<Utc>, f64)],
    total_before: f64,
    tz: Tz,
    aggregation: Aggregation,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Vec<SummaryRow>, SummaryRangeError> {
    validate_range(start, end)?;
    let kind = aggregation.period_kind();
    let periods: Vec<_> = periods_covering(start, end, kind).collect();
    let (Some(first), Some(last)) = (periods.first().copied(), periods.last().copied()) else {
        return Ok(Vec::new());
    };
    let first_index = period_index(first.start, kind);

    let mut changes = vec![CompensatedSum::default(); periods.len()];
    for &(at, value) in events {
        let date = local_date(at, tz);
        if date < first.start || date > last.end {
            continue;
        }
        let slot = usize::try_from(period_index(date, kind) - first_index)
            .ok()
            .and_then(|i| changes.get_mut(i));
        if let Some(sum) = slot {
            sum.add(value);
        }
    }

    let mut running = CompensatedSum::default();
    running.add(total_before);
    Ok(periods
        .iter()
        .zip(changes)
        .map(|(period, change)| {
            running.add_sum(change);
            SummaryRow {
                date: period.start,
                total: running.value(),
                change: change.value(),
            }
        })
        .collect())
}

/// Neumaier summation: fractional metric values (0.1 added ten times) would otherwise drift
/// visibly, e.g. a total of 0.9999999999999999 instead of 1.
#[derive(Clone, Copy, Debug, Default)]
struct CompensatedSum {
    sum: f64,
    compensation: f64,
}

impl CompensatedSum {
    fn add(&mut self, value: f64) {
        let next = self.sum + value;
        self.compensation += if self.sum.abs() >= value.abs() {
            (self.sum - next) + value
        } else {
            (value - next) + self.sum
        };
        self.sum = next;
    }

    fn add_sum(&mut self, other: CompensatedSum) {
        self.add(other.sum);
        self.add(other.compensation);
    }

    fn value(self) -> f64 {
        // Once the sum overflows, the compensation is NaN (inf - inf) and must not poison it.
        if self.sum.is_finite() {
            self.sum + self.compensation
        } else {
            self.sum
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{d, utc};
    use chrono::TimeDelta;
    use chrono_tz::{Europe, Pacific, UTC};

    fn row(date: NaiveDate, total: f64, change: f64) -> SummaryRow {
        SummaryRow {
            date,
            total,
            change,
        }
    }

    fn run(
        events: &[(&str, f64)],
        total_before: f64,
        tz: Tz,
        aggregation: Aggregation,
        start: NaiveDate,
        end: NaiveDate,
    ) -> Vec<SummaryRow> {
        let events: Vec<_> = events.iter().map(|&(at, v)| (utc(at), v)).collect();
        summarize(&events, total_before, tz, aggregation, start, end).expect("valid range")
    }

    #[test]
    fn parse_accepts_only_exact_names() {
        assert_eq!(Aggregation::parse("daily"), Some(Aggregation::Daily));
        assert_eq!(Aggregation::parse("weekly"), Some(Aggregation::Weekly));
        assert_eq!(Aggregation::parse("monthly"), Some(Aggregation::Monthly));
        for bad in ["Daily", "DAILY", " daily", "daily ", "", "yearly", "day"] {
            assert_eq!(Aggregation::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn validate_range_limits() {
        assert_eq!(validate_range(d(2025, 3, 1), d(2025, 3, 1)), Ok(()));
        assert_eq!(
            validate_range(d(2025, 3, 2), d(2025, 3, 1)),
            Err(SummaryRangeError::StartAfterEnd)
        );
        // 2025-01-01 + 400 days = 2026-02-05.
        assert_eq!(validate_range(d(2025, 1, 1), d(2026, 2, 5)), Ok(()));
        assert_eq!(
            validate_range(d(2025, 1, 1), d(2026, 2, 6)),
            Err(SummaryRangeError::RangeTooLong)
        );
        assert_eq!(
            validate_range(d(9999, 12, 1), d(10000, 1, 1)),
            Err(SummaryRangeError::OutOfRange)
        );
        assert_eq!(
            validate_range(NaiveDate::MIN, d(2025, 1, 1)),
            Err(SummaryRangeError::OutOfRange)
        );
        assert_eq!(
            validate_range(NaiveDate::MAX, NaiveDate::MIN),
            Err(SummaryRangeError::StartAfterEnd)
        );
        assert_eq!(validate_range(d(1, 1, 1), d(1, 1, 1)), Ok(()));
        assert_eq!(validate_range(d(9999, 12, 31), d(9999, 12, 31)), Ok(()));
    }

    #[test]
    fn error_messages_name_the_parameters() {
        assert_eq!(
            SummaryRangeError::StartAfterEnd.to_string(),
            "startDate must not be after endDate"
        );
        assert_eq!(
            SummaryRangeError::RangeTooLong.to_string(),
            "The date range must not exceed 400 days"
        );
        assert!(SummaryRangeError::OutOfRange
            .to_string()
            .contains("startDate"));
    }

    /// One `summarize` scenario: events (RFC 3339 instant, value), the total before the range,
    /// zone, aggregation, range, and the expected rows as (period start, total, change).
    struct Scenario {
        name: &'static str,
        events: &'static [(&'static str, f64)],
        total_before: f64,
        tz: Tz,
        aggregation: Aggregation,
        range: (NaiveDate, NaiveDate),
        expected: Vec<SummaryRow>,
    }

    #[test]
    fn summaries_of_scenarios() {
        let scenarios = [
            Scenario {
                name: "daily includes empty days",
                events: &[
                    ("2025-03-01T08:00:00Z", 2.0),
                    ("2025-03-01T23:59:59Z", 3.0),
                    ("2025-03-03T00:00:00Z", 5.0),
                ],
                total_before: 10.0,
                tz: UTC,
                aggregation: Aggregation::Daily,
                range: (d(2025, 3, 1), d(2025, 3, 3)),
                expected: vec![
                    row(d(2025, 3, 1), 15.0, 5.0),
                    row(d(2025, 3, 2), 15.0, 0.0),
                    row(d(2025, 3, 3), 20.0, 5.0),
                ],
            },
            // 2025-04-02 is a Wednesday; its week starts on Monday 03-31.
            Scenario {
                name: "weekly rows start on the Monday before startDate",
                events: &[
                    ("2025-03-31T12:00:00Z", 1.0), // before startDate, but in the first week
                    ("2025-04-06T23:00:00Z", 2.0), // Sunday: still the first week
                    ("2025-04-07T00:00:00Z", 4.0), // Monday: second week
                    ("2025-04-20T12:00:00Z", 8.0), // last week, after endDate
                ],
                total_before: 0.0,
                tz: UTC,
                aggregation: Aggregation::Weekly,
                range: (d(2025, 4, 2), d(2025, 4, 15)),
                expected: vec![
                    row(d(2025, 3, 31), 3.0, 3.0),
                    row(d(2025, 4, 7), 7.0, 4.0),
                    row(d(2025, 4, 14), 15.0, 8.0),
                ],
            },
            Scenario {
                name: "monthly across a leap February",
                events: &[
                    ("2024-01-20T00:00:00Z", 1.5),
                    ("2024-02-29T23:59:59Z", 2.5),
                    ("2024-03-31T00:00:00Z", 1.0),
                ],
                total_before: 100.0,
                tz: UTC,
                aggregation: Aggregation::Monthly,
                range: (d(2024, 1, 15), d(2024, 3, 10)),
                expected: vec![
                    row(d(2024, 1, 1), 101.5, 1.5),
                    row(d(2024, 2, 1), 104.0, 2.5),
                    row(d(2024, 3, 1), 105.0, 1.0),
                ],
            },
            Scenario {
                name: "monthly across the year end",
                events: &[("2024-12-31T12:00:00Z", 1.0), ("2025-01-01T12:00:00Z", 2.0)],
                total_before: 0.0,
                tz: UTC,
                aggregation: Aggregation::Monthly,
                range: (d(2024, 12, 31), d(2025, 1, 1)),
                expected: vec![row(d(2024, 12, 1), 1.0, 1.0), row(d(2025, 1, 1), 3.0, 2.0)],
            },
            Scenario {
                name: "negative values lower the total",
                events: &[
                    ("2025-03-01T10:00:00Z", 5.0),
                    ("2025-03-01T11:00:00Z", -8.0),
                    ("2025-03-02T10:00:00Z", -1.0),
                ],
                total_before: 2.0,
                tz: UTC,
                aggregation: Aggregation::Daily,
                range: (d(2025, 3, 1), d(2025, 3, 2)),
                expected: vec![
                    row(d(2025, 3, 1), -1.0, -3.0),
                    row(d(2025, 3, 2), -2.0, -1.0),
                ],
            },
            Scenario {
                name: "Kiritimati events near UTC midnight land on the next local day",
                events: &[
                    ("2025-02-28T10:00:00Z", 1.0),  // local 03-01 00:00
                    ("2025-02-28T23:59:00Z", 2.0),  // local 03-01 13:59
                    ("2025-03-01T09:59:59Z", 4.0),  // local 03-01 23:59:59
                    ("2025-03-01T10:30:00Z", 8.0),  // local 03-02 00:30
                    ("2025-03-01T23:30:00Z", 16.0), // local 03-02 13:30, UTC still 03-01
                ],
                total_before: 0.0,
                tz: Pacific::Kiritimati,
                aggregation: Aggregation::Daily,
                range: (d(2025, 3, 1), d(2025, 3, 2)),
                expected: vec![row(d(2025, 3, 1), 7.0, 7.0), row(d(2025, 3, 2), 31.0, 24.0)],
            },
            Scenario {
                name: "London DST day boundaries",
                events: &[
                    ("2025-10-25T22:59:59Z", 1.0), // local 10-25 23:59:59 BST
                    ("2025-10-25T23:00:00Z", 2.0), // local 10-26 00:00 BST
                    ("2025-10-26T23:59:59Z", 4.0), // local 10-26 23:59:59 GMT
                ],
                total_before: 0.0,
                tz: Europe::London,
                aggregation: Aggregation::Daily,
                range: (d(2025, 10, 25), d(2025, 10, 26)),
                expected: vec![
                    row(d(2025, 10, 25), 1.0, 1.0),
                    row(d(2025, 10, 26), 7.0, 6.0),
                ],
            },
        ];
        for s in scenarios {
            let (start, end) = s.range;
            let rows = run(s.events, s.total_before, s.tz, s.aggregation, start, end);
            assert_eq!(rows, s.expected, "{}", s.name);
        }
    }

    #[test]
    fn utc_bounds_of_local_periods() {
        let cases = [
            (
                "Kiritimati daily",
                Pacific::Kiritimati,
                Aggregation::Daily,
                (d(2025, 3, 1), d(2025, 3, 2)),
                ("2025-02-28T10:00:00Z", "2025-03-02T10:00:00Z"),
            ),
            (
                "London weekly across the DST end",
                Europe::London,
                Aggregation::Weekly,
                (d(2025, 10, 22), d(2025, 10, 29)),
                ("2025-10-19T23:00:00Z", "2025-11-03T00:00:00Z"),
            ),
        ];
        for (name, tz, aggregation, (start, end), (lower, upper)) in cases {
            assert_eq!(
                utc_bounds(tz, aggregation, start, end),
                Some((utc(lower), utc(upper))),
                "{name}"
            );
        }
    }

    #[test]
    fn events_outside_the_bounds_are_ignored() {
        let tz = Pacific::Kiritimati;
        let (start, end) = (d(2025, 3, 1), d(2025, 3, 1));
        let (lower, upper) = utc_bounds(tz, Aggregation::Daily, start, end).expect("bounds");
        let events = [
            (lower - TimeDelta::seconds(1), 100.0),
            (lower, 1.0),
            (upper - TimeDelta::nanoseconds(1), 2.0),
            (upper, 1000.0),
            (DateTime::<Utc>::MIN_UTC, 1.0e6),
            (DateTime::<Utc>::MAX_UTC, 1.0e7),
        ];
        let rows = summarize(&events, 0.0, tz, Aggregation::Daily, start, end);
        assert_eq!(rows, Ok(vec![row(start, 3.0, 3.0)]));
    }

    #[test]
    fn fractional_values_do_not_drift() {
        let events: Vec<_> = (0..10)
            .map(|i| (utc("2025-03-01T00:00:00Z") + TimeDelta::minutes(i), 0.1))
            .collect();
        let rows = summarize(
            &events,
            0.0,
            UTC,
            Aggregation::Daily,
            d(2025, 3, 1),
            d(2025, 3, 1),
        );
        assert_eq!(rows, Ok(vec![row(d(2025, 3, 1), 1.0, 1.0)]));
    }

    #[test]
    fn order_of_events_does_not_matter() {
        let forward = [
            ("2025-03-03T00:00:00Z", 5.0),
            ("2025-03-01T00:00:00Z", 1.0),
            ("2025-03-02T00:00:00Z", 2.0),
        ];
        let mut backward = forward;
        backward.reverse();
        let args = (UTC, Aggregation::Daily, d(2025, 3, 1), d(2025, 3, 3));
        assert_eq!(
            run(&forward, 0.0, args.0, args.1, args.2, args.3),
            run(&backward, 0.0, args.0, args.1, args.2, args.3)
        );
    }

    #[test]
    fn invalid_ranges_are_rejected() {
        assert_eq!(
            summarize(
                &[],
                0.0,
                UTC,
                Aggregation::Daily,
                d(2025, 3, 2),
                d(2025, 3, 1)
            ),
            Err(SummaryRangeError::StartAfterEnd)
        );
        assert_eq!(
            summarize(
                &[],
                0.0,
                UTC,
                Aggregation::Daily,
                NaiveDate::MIN,
                NaiveDate::MAX
            ),
            Err(SummaryRangeError::OutOfRange)
        );
        assert_eq!(
            utc_bounds(UTC, Aggregation::Daily, d(2025, 3, 2), d(2025, 3, 1)),
            None
        );
    }

    #[test]
    fn longest_allowed_range_has_one_row_per_period() {
        let (start, end) = (d(2025, 1, 1), d(2026, 2, 5));
        let count = |aggregation| {
            summarize(&[], 0.0, UTC, aggregation, start, end)
                .expect("valid range")
                .len()
        };
        assert_eq!(count(Aggregation::Daily), 401);
        assert_eq!(count(Aggregation::Monthly), 14);
        // Monday 2024-12-30 .. Sunday 2026-02-08.
        assert_eq!(count(Aggregation::Weekly), 58);
    }

    #[test]
    fn validated_ranges_always_have_bounds() {
        let zones = [UTC, Pacific::Kiritimati, Pacific::Pago_Pago, Europe::London];
        let ranges = [
            (d(1, 1, 1), d(1, 1, 1)),
            (d(9999, 12, 31), d(9999, 12, 31)),
            (d(9998, 11, 27), d(9999, 12, 31)),
        ];
        for tz in zones {
            for (start, end) in ranges {
                assert_eq!(validate_range(start, end), Ok(()));
                for aggregation in [
                    Aggregation::Daily,
                    Aggregation::Weekly,
                    Aggregation::Monthly,
                ] {
                    assert!(utc_bounds(tz, aggregation, start, end).is_some());
                    let _ = summarize(&[], 0.0, tz, aggregation, start, end);
                }
            }
        }
        // Unvalidated extremes must not panic either.
        for aggregation in [
            Aggregation::Daily,
            Aggregation::Weekly,
            Aggregation::Monthly,
        ] {
            assert_eq!(
                utc_bounds(UTC, aggregation, NaiveDate::MAX, NaiveDate::MAX),
                None
            );
            let _ = utc_bounds(
                Pacific::Kiritimati,
                aggregation,
                NaiveDate::MIN,
                NaiveDate::MIN,
            );
        }
    }
}
