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

    #[test]
    fn perpetual_board_has_one_run_from_start_to_end() {
        let s = Schedule {
            start: d("2031-03-01"),
            end: None,
            repeat: None,
        };
        assert_eq!(
            s.run_containing(d("2040-01-01")),
            Some(run("2031-03-01", None))
        );
        assert_eq!(s.run_containing(d("2031-02-28")), None);
        let ended = Schedule {
            end: Some(d("2031-03-31")),
            ..s
        };
        assert_eq!(ended.run_containing(d("2031-04-01")), None);
        assert_eq!(
            ended.last_run_ended_by(d("2031-04-02")),
            Some(run("2031-03-01", Some("2031-03-31")))
        );
        assert_eq!(s.next_run(run("2031-03-01", None)), None);
    }

    #[test]
    fn weekly_runs_are_seven_days_and_clipped_to_the_end() {
        let s = Schedule {
            start: d("2031-03-03"),
            end: Some(d("2031-03-20")),
            repeat: Some((RunUnit::Day, 7)),
        };
        assert_eq!(
            s.run_containing(d("2031-03-09")),
            Some(run("2031-03-03", Some("2031-03-09")))
        );
        assert_eq!(
            s.run_containing(d("2031-03-10")),
            Some(run("2031-03-10", Some("2031-03-16")))
        );
        assert_eq!(
            s.run_containing(d("2031-03-18")),
            Some(run("2031-03-17", Some("2031-03-20")))
        );
        assert_eq!(s.run_containing(d("2031-03-21")), None);
        assert_eq!(
            s.next_run(run("2031-03-03", Some("2031-03-09"))),
            Some(run("2031-03-10", Some("2031-03-16")))
        );
        assert_eq!(
            s.last_run_ended_by(d("2031-03-15")),
            Some(run("2031-03-03", Some("2031-03-09")))
        );
        assert_eq!(s.last_run_ended_by(d("2031-03-05")), None);
    }

    #[test]
    fn monthly_runs_from_the_31st_clamp_to_month_ends() {
        let s = Schedule {
            start: d("2032-01-31"),
            end: None,
            repeat: Some((RunUnit::Month, 1)),
        };
        assert_eq!(
            s.run_containing(d("2032-02-15")),
            Some(run("2032-01-31", Some("2032-02-28")))
        );
        assert_eq!(
            s.run_containing(d("2032-02-29")),
            Some(run("2032-02-29", Some("2032-03-30")))
        );
        assert_eq!(
            s.run_containing(d("2032-03-31")),
            Some(run("2032-03-31", Some("2032-04-29")))
        );
        assert_eq!(
            s.run_containing(d("2032-04-30")),
            Some(run("2032-04-30", Some("2032-05-30")))
        );
    }

    #[test]
    fn quarterly_and_yearly_runs() {
        let q = Schedule {
            start: d("2031-01-15"),
            end: None,
            repeat: Some((RunUnit::Month, 3)),
        };
        assert_eq!(
            q.run_containing(d("2031-07-01")),
            Some(run("2031-04-15", Some("2031-07-14")))
        );
        let y = Schedule {
            start: d("2032-02-29"),
            end: None,
            repeat: Some((RunUnit::Year, 1)),
        };
        assert_eq!(
            y.run_containing(d("2033-03-01")),
            Some(run("2033-02-28", Some("2034-02-27")))
        );
        assert_eq!(
            y.run_containing(d("2036-02-29")),
            Some(run("2036-02-29", Some("2037-02-27")))
        );
    }

    #[test]
    fn far_dates_do_not_overflow() {
        let s = Schedule {
            start: d("2031-01-01"),
            end: None,
            repeat: Some((RunUnit::Year, u32::MAX)),
        };
        assert_eq!(
            s.run_containing(d("2031-06-01")),
            Some(run("2031-01-01", None))
        );
        assert_eq!(
            s.run_containing(NaiveDate::MAX).map(|r| r.start),
            Some(d("2031-01-01"))
        );
    }
}
