//! Runs of a leaderboard (docs/behaviour/leaderboards.md#runs): a perpetual board has one
//! run from `start` (to `end` or forever); a repeating one has run *i* from `start +
//! i·interval·unit` to the day before run *i+1*, clipped to `end`. Month and year steps are
//! anchored on `start` and clamped to the end of the month (Jan 31 monthly: Feb 28/29, Mar
//! 31, …). Pure.

use chrono::{Datelike, Days, Months, NaiveDate};

/// The unit a repeating board's runs are counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunUnit {
    Day,
    Month,
    Year,
}

impl RunUnit {
    pub fn name(self) -> &'static str {
        match self {
            RunUnit::Day => "day",
            RunUnit::Month => "month",
            RunUnit::Year => "year",
        }
    }

    pub fn parse(text: &str) -> Option<RunUnit> {
        [RunUnit::Day, RunUnit::Month, RunUnit::Year]
            .into_iter()
            .find(|u| u.name() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    /// `None` for a perpetual board.
    pub repeat: Option<(RunUnit, u32)>,
}

/// One run: inclusive local dates; `end` is `None` for an open-ended run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Run {
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

impl Run {
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && self.end.is_none_or(|end| date <= end)
    }
}

impl Schedule {
    /// The first date of run `index`, or `None` past the calendar's range.
    fn run_start(&self, index: u64) -> Option<NaiveDate> {
        let (unit, interval) = self.repeat?;
        let steps = index.checked_mul(u64::from(interval))?;
        match unit {
            RunUnit::Day => self.start.checked_add_days(Days::new(steps)),
            RunUnit::Month => self
                .start
                .checked_add_months(Months::new(u32::try_from(steps).ok()?)),
            RunUnit::Year => self
                .start
                .checked_add_months(Months::new(u32::try_from(steps.checked_mul(12)?).ok()?)),
        }
    }

    /// Run `index`, clipped to the board's end; `None` when it would start after the end.
    fn run(&self, index: u64) -> Option<Run> {
        let Some(_) = self.repeat else {
            return (index == 0).then_some(Run {
                start: self.start,
                end: self.end,
            });
        };
        let start = self.run_start(index)?;
        if self.end.is_some_and(|end| start > end) {
            return None;
        }
        let natural_end = self.run_start(index + 1).and_then(|next| next.pred_opt());
        let end = match (natural_end, self.end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Some(Run { start, end })
    }

    /// A lower bound of the index of the run containing `date` (never above it).
    fn index_estimate(&self, date: NaiveDate) -> u64 {
        let Some((unit, interval)) = self.repeat else {
            return 0;
        };
        let interval = u64::from(interval.max(1));
        let months = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
        let elapsed = match unit {
            RunUnit::Day => (date - self.start).num_days(),
            // One less: clamping can make a run start a few days into its month.
            RunUnit::Month => months(date) - months(self.start) - 1,
            RunUnit::Year => i64::from(date.year() - self.start.year()) - 1,
        };
        u64::try_from(elapsed).unwrap_or(0) / interval
    }

    /// The run containing the local date `date`, if any.
    pub fn run_containing(&self, date: NaiveDate) -> Option<Run> {
        if date < self.start || self.end.is_some_and(|end| date > end) {
            return None;
        }
        let mut index = self.index_estimate(date);
        loop {
            let run = self.run(index)?;
            if run.contains(date) {
                return Some(run);
            }
            if run.start > date {
                return None;
            }
            index += 1;
        }
    }

    /// The run after `run`, if the board has one.
    pub fn next_run(&self, run: Run) -> Option<Run> {
        self.run_containing(run.end?.succ_opt()?)
    }

    /// The run before `run`, if the board has one.
    pub fn previous_run(&self, run: Run) -> Option<Run> {
        self.run_containing(run.start.pred_opt()?)
    }

    /// The last run that ends on or before `date`.
    pub fn last_run_ended_by(&self, date: NaiveDate) -> Option<Run> {
        let probe = match self.end {
            Some(end) if end <= date => end,
            _ => date,
        };
        let run = self.run_containing(probe)?;
        if run.end.is_some_and(|end| end <= date) {
            return Some(run);
        }
        self.previous_run(run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    fn run(start: &str, end: Option<&str>) -> Run {
        Run {
            start: d(start),
            end: end.map(d),
        }
    }

    fn schedule(start: &str, end: Option<&str>, repeat: Option<(RunUnit, u32)>) -> Schedule {
        Schedule {
            start: d(start),
            end: end.map(d),
            repeat,
        }
    }

    /// The schedules the tables below ask about, by name.
    struct Schedules {
        perpetual: Schedule,
        ended: Schedule,
        /// Seven-day runs, the last one clipped to the end.
        weekly: Schedule,
        /// Monthly runs from the 31st clamp to month ends.
        monthly: Schedule,
        quarterly: Schedule,
        /// Yearly runs from a leap day.
        yearly: Schedule,
        far: Schedule,
    }

    fn schedules() -> Schedules {
        Schedules {
            perpetual: schedule("2031-03-01", None, None),
            ended: schedule("2031-03-01", Some("2031-03-31"), None),
            weekly: schedule("2031-03-03", Some("2031-03-20"), Some((RunUnit::Day, 7))),
            monthly: schedule("2032-01-31", None, Some((RunUnit::Month, 1))),
            quarterly: schedule("2031-01-15", None, Some((RunUnit::Month, 3))),
            yearly: schedule("2032-02-29", None, Some((RunUnit::Year, 1))),
            far: schedule("2031-01-01", None, Some((RunUnit::Year, u32::MAX))),
        }
    }

    #[test]
    fn run_containing_a_day() {
        let s = schedules();
        // (schedule, day, start and end of the run containing it)
        let cases = [
            (&s.perpetual, "2040-01-01", "2031-03-01", None),
            (&s.weekly, "2031-03-09", "2031-03-03", Some("2031-03-09")),
            (&s.weekly, "2031-03-10", "2031-03-10", Some("2031-03-16")),
            (&s.weekly, "2031-03-18", "2031-03-17", Some("2031-03-20")),
            (&s.monthly, "2032-02-15", "2032-01-31", Some("2032-02-28")),
            (&s.monthly, "2032-02-29", "2032-02-29", Some("2032-03-30")),
            (&s.monthly, "2032-03-31", "2032-03-31", Some("2032-04-29")),
            (&s.monthly, "2032-04-30", "2032-04-30", Some("2032-05-30")),
            (&s.quarterly, "2031-07-01", "2031-04-15", Some("2031-07-14")),
            (&s.yearly, "2033-03-01", "2033-02-28", Some("2034-02-27")),
            (&s.yearly, "2036-02-29", "2036-02-29", Some("2037-02-27")),
            (&s.far, "2031-06-01", "2031-01-01", None),
        ];
        for (schedule, day, start, end) in cases {
            assert_eq!(
                schedule.run_containing(d(day)),
                Some(run(start, end)),
                "{schedule:?} {day}"
            );
        }
        let outside = [
            (&s.perpetual, "2031-02-28"),
            (&s.ended, "2031-04-01"),
            (&s.weekly, "2031-03-21"),
        ];
        for (schedule, day) in outside {
            assert_eq!(schedule.run_containing(d(day)), None, "{schedule:?} {day}");
        }
    }

    #[test]
    fn last_run_ended_by_a_day() {
        let s = schedules();
        let cases = [
            (
                &s.ended,
                "2031-04-02",
                Some(run("2031-03-01", Some("2031-03-31"))),
            ),
            (
                &s.weekly,
                "2031-03-15",
                Some(run("2031-03-03", Some("2031-03-09"))),
            ),
            (&s.weekly, "2031-03-05", None),
        ];
        for (schedule, day, expected) in cases {
            assert_eq!(
                schedule.last_run_ended_by(d(day)),
                expected,
                "{schedule:?} {day}"
            );
        }
    }

    #[test]
    fn next_run_after_a_run() {
        let s = schedules();
        assert_eq!(s.perpetual.next_run(run("2031-03-01", None)), None);
        assert_eq!(
            s.weekly.next_run(run("2031-03-03", Some("2031-03-09"))),
            Some(run("2031-03-10", Some("2031-03-16")))
        );
    }

    #[test]
    fn far_dates_do_not_overflow() {
        let s = schedules().far;
        assert_eq!(
            s.run_containing(NaiveDate::MAX).map(|r| r.start),
            Some(d("2031-01-01"))
        );
    }
}
