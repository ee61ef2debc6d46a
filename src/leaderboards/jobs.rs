//! Run-boundary webhooks (docs/behaviour/webhooks.md#run-and-boost-timing):
//! `leaderboard.started` at 10:00 UTC the day before a run's start date (when UTC+14 enters
//! it) and `leaderboard.finished` at 13:00 UTC the day after its end (when UTC−12 has left
//! it), with the top 10 of each group. Each is queued once per run (`leaderboard_notices`),
//! so restarts never repeat one.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use serde_json::json;

use super::engine::{board_with_rankings, parse_group_name};
use super::store;
use crate::catalog::Leaderboard;
use crate::domain::ids::TenantId;
use crate::error::ApiError;
use crate::rules::leaderboard_runs::{Run, Schedule};
use crate::scheduler::{Job, NextDue};
use crate::writer::WriteCtx;

pub const JOB_NAME: &str = "leaderboard-runs";

const STARTED_HOUR: u32 = 10;
const FINISHED_HOUR: u32 = 13;
const FINISHED_TOP: usize = 10;
/// Values of users outside a finalised run deleted per job run, so a run of a million
/// users never holds the writer for long: the rest go on the next tick.
const PRUNE_PER_RUN: usize = 20_000;

fn at_hour(date: NaiveDate, hour: u32) -> Option<DateTime<Utc>> {
    Some(
        date.and_time(NaiveTime::from_hms_opt(hour, 0, 0)?)
            .and_utc(),
    )
}

/// When `leaderboard.started` of `run` is due.
pub fn started_at(run: Run) -> Option<DateTime<Utc>> {
    at_hour(run.start.checked_sub_days(Days::new(1))?, STARTED_HOUR)
}

/// When `leaderboard.finished` of `run` is due (`None` for an open-ended run).
pub fn finished_at(run: Run) -> Option<DateTime<Utc>> {
    at_hour(run.end?.checked_add_days(Days::new(1))?, FINISHED_HOUR)
}

/// The latest run whose start notice is due by `until`, and the next run's due time.
fn started_due(s: &Schedule, until: DateTime<Utc>) -> (Option<Run>, Option<DateTime<Utc>>) {
    let mut probe = until.date_naive();
    if until.time() >= NaiveTime::from_hms_opt(STARTED_HOUR, 0, 0).unwrap_or_default() {
        probe = probe.succ_opt().unwrap_or(probe);
    }
    let due = s.run_containing(probe);
    let next = match due {
        Some(run) => s.next_run(run),
        None if probe < s.start => s.run_containing(s.start),
        None => None,
    };
    (due, next.and_then(started_at))
}

/// The latest run whose finish notice is due by `until`, and the next one's due time.
fn finished_due(s: &Schedule, until: DateTime<Utc>) -> (Option<Run>, Option<DateTime<Utc>>) {
    let days = if until.time() >= NaiveTime::from_hms_opt(FINISHED_HOUR, 0, 0).unwrap_or_default() {
        1
    } else {
        2
    };
    let Some(ended_by) = until.date_naive().checked_sub_days(Days::new(days)) else {
        return (None, None);
    };
    let due = s.last_run_ended_by(ended_by);
    let next = match due {
        Some(run) => s.next_run(run),
        None => s.run_containing(s.start),
    };
    (due, next.and_then(finished_at))
}

#[derive(Default)]
pub struct LeaderboardJob;

impl Job for LeaderboardJob {
    fn name(&self) -> &'static str {
        JOB_NAME
    }

    fn run(&self, ctx: &mut WriteCtx<'_>, until: DateTime<Utc>) -> NextDue {
        let catalog = ctx.catalog.clone();
        let mut next_due: Option<DateTime<Utc>> = None;
        for board in catalog.all_leaderboards().filter(|b| b.tracking()) {
            let schedule = board.schedule();
            let (started, next_started) = started_due(&schedule, until);
            if let Some(run) = started {
                announce(ctx, board, run, "started")?;
            }
            let (finished, next_finished) = finished_due(&schedule, until);
            if let Some(run) = finished {
                announce(ctx, board, run, "finished")?;
            }
            for t in [next_started, next_finished].into_iter().flatten() {
                if t > until {
                    next_due = Some(next_due.map_or(t, |n| n.min(t)));
                }
            }
        }
        if !prune(ctx, &catalog)? {
            let soon = until + chrono::Duration::seconds(1);
            next_due = Some(next_due.map_or(soon, |n| n.min(soon)));
        }
        Ok(next_due)
    }
}

/// Deletes the values of users outside each finalised run, at most `PRUNE_PER_RUN` per
/// call; false while some remain. Boards that stopped tracking are pruned too.
fn prune(ctx: &mut WriteCtx<'_>, catalog: &crate::catalog::Catalog) -> Result<bool, ApiError> {
    let mut budget = PRUNE_PER_RUN;
    for board in catalog.all_leaderboards() {
        for run_start in store::runs_to_prune(ctx.conn, board.id)? {
            let deleted = store::prune_unranked(ctx.conn, board.id, &run_start, budget)?;
            if deleted < budget {
                store::claim_notice(ctx.conn, board.id, &run_start, "pruned")?;
            }
            budget -= deleted;
            if budget == 0 {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Queues `leaderboard.<kind>` for a run once: one body per breakdown group that has
/// participants (one for the whole board without breakdowns).
fn announce(
    ctx: &mut WriteCtx<'_>,
    board: &Leaderboard,
    run: Run,
    kind: &str,
) -> Result<(), ApiError> {
    let run_start = run.start.to_string();
    if !store::claim_notice(ctx.conn, board.id, &run_start, kind)? {
        return Ok(());
    }
    let event_type = format!("leaderboard.{kind}");
    let mut groups: Vec<(TenantId, Vec<String>)> = super::writer_index(ctx.env)?
        .staged_groups(board.id, run.start)
        .iter()
        .filter_map(|g| parse_group_name(g))
        .collect();
    if groups.is_empty() {
        groups.push((board.owner, Vec::new()));
    }
    let limit = if kind == "finished" {
        FINISHED_TOP
    } else {
        usize::MAX
    };
    for (tenant, group) in groups {
        let mut leaderboard =
            board_with_rankings(ctx, board, tenant, run, &group, ctx.now.date_naive(), limit)?;
        leaderboard["status"] = json!(if kind == "finished" {
            "finished"
        } else {
            "active"
        });
        crate::webhooks::emit(
            ctx,
            &event_type,
            &json!({ "type": event_type, "leaderboard": leaderboard }),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunUnit;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    type Due = fn(&Schedule, DateTime<Utc>) -> (Option<Run>, Option<DateTime<Utc>>);

    #[test]
    fn started_fires_at_ten_utc_the_day_before_and_finished_at_thirteen_the_day_after() {
        let s = Schedule {
            start: d("2031-03-03"),
            end: None,
            repeat: Some((RunUnit::Day, 7)),
        };
        // (which event, just before it fires, when it fires, when it fires for the next run)
        let events: [(Due, &str, &str, &str); 2] = [
            (
                started_due,
                "2031-03-02T09:59:59Z",
                "2031-03-02T10:00:00Z",
                "2031-03-09T10:00:00Z",
            ),
            (
                finished_due,
                "2031-03-10T12:59:00Z",
                "2031-03-10T13:00:00Z",
                "2031-03-17T13:00:00Z",
            ),
        ];
        for (due_at, early, fires, next_run) in events {
            let (due, next) = due_at(&s, t(early));
            assert_eq!(due, None);
            assert_eq!(next, Some(t(fires)));
            let (due, next) = due_at(&s, t(fires));
            assert_eq!(due.map(|r| r.start), Some(d("2031-03-03")));
            assert_eq!(next, Some(t(next_run)));
        }
    }
}
