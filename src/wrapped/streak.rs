//! `entireYear.longestStreak`: the longest run of covered streak periods inside the year
//! that has at least one met period, counted only inside the year
//! (docs/behaviour/wrapped.md#longest-streak).

use chrono::NaiveDate;
use rusqlite::Connection;
use serde_json::{json, Value};

use crate::domain::ids::UserRow;
use crate::error::ApiError;
use crate::rules::periods::{period_at_index, period_containing, period_index};
use crate::rules::streak::Cover;
use crate::streaks::settings::{frequency_name, period_kind};
use crate::streaks::{store, StreakSettings};

/// One stored streak period: its index, whether the streak was alive through it, whether
/// the user met it, and the streak length at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodFact {
    pub idx: i64,
    pub covered: bool,
    pub met: bool,
    pub length: u32,
}

/// The longest run: `(first idx, last idx, idx of the streak's actual first period)`.
/// Ties go to the earliest run.
pub fn longest_run(periods: &[PeriodFact]) -> Option<(i64, i64, i64)> {
    let mut best: Option<(i64, i64, i64)> = None;
    let mut run: Option<(PeriodFact, i64, bool)> = None;
    let close = |run: Option<(PeriodFact, i64, bool)>, best: &mut Option<(i64, i64, i64)>| {
        if let Some((first, last, any_met)) = run {
            let longer = best.is_none_or(|(a, b, _)| last - first.idx > b - a);
            if any_met && longer {
                let started = first.idx - i64::from(first.length.max(1)) + 1;
                *best = Some((first.idx, last, started));
            }
        }
    };
    for p in periods {
        if !p.covered {
            close(run.take(), &mut best);
            continue;
        }
        run = match run {
            Some((first, last, met)) if p.idx == last + 1 => Some((first, p.idx, met || p.met)),
            other => {
                close(other, &mut best);
                Some((*p, p.idx, p.met))
            }
        };
    }
    close(run, &mut best);
    best
}

/// The `WrappedStreak` of `user_row` in `year` under the streak settings in force.
pub fn longest_streak(
    conn: &Connection,
    settings: &StreakSettings,
    user_row: UserRow,
    year: i32,
) -> Result<Value, ApiError> {
    let def = settings.current();
    let frequency = frequency_name(def.as_deref());
    let empty = json!({
        "length": 0, "frequency": frequency,
        "periodStart": null, "periodEnd": null, "started": null,
    });
    let (Some(_), Some(jan1), Some(dec31)) = (
        def.as_deref(),
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) else {
        return Ok(empty);
    };
    let kind = period_kind(def.as_deref());
    let first = period_index(period_containing(jan1, kind).start, kind);
    let last = period_index(period_containing(dec31, kind).start, kind);
    let facts: Vec<PeriodFact> = store::periods(conn, user_row, first, last)?
        .into_iter()
        .map(|(idx, row)| PeriodFact {
            idx,
            covered: row.cover.is_some(),
            met: row.met || row.cover == Some(Cover::Met),
            length: row.length,
        })
        .collect();
    let Some((from, to, started)) = longest_run(&facts) else {
        return Ok(empty);
    };
    let date = |idx: i64, end: bool| {
        period_at_index(idx, kind).map(|p| {
            let d = if end { p.end } else { p.start };
            d.format("%Y-%m-%d").to_string()
        })
    };
    Ok(json!({
        "length": to - from + 1,
        "frequency": frequency,
        "periodStart": date(from, false),
        "periodEnd": date(to, true),
        "started": date(started, false),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(idx: i64, covered: bool, met: bool, length: u32) -> PeriodFact {
        PeriodFact {
            idx,
            covered,
            met,
            length,
        }
    }

    #[test]
    fn the_longest_met_run_wins_and_remembers_its_real_start() {
        let periods = [
            p(10, true, true, 4), // began at idx 7, before the year
            p(11, true, true, 5),
            p(12, false, false, 0),
            p(13, true, true, 1),
            p(14, true, false, 2), // frozen
            p(15, true, true, 3),
        ];
        assert_eq!(longest_run(&periods), Some((13, 15, 13)));
        assert_eq!(longest_run(&periods[..2]), Some((10, 11, 7)));
    }

    #[test]
    fn runs_need_a_met_period_and_contiguous_indexes() {
        assert_eq!(longest_run(&[p(1, true, false, 1)]), None);
        assert_eq!(
            longest_run(&[p(1, true, true, 1), p(3, true, true, 1)]),
            Some((1, 1, 1))
        );
        assert_eq!(longest_run(&[]), None);
    }
}
