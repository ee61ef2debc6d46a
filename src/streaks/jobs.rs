//! The scheduler job for streaks: at the end of each user's period (in their zone) it
//! settles the streak (freezes, pauses, days off, loss), and at local midnights it grants
//! auto-earned freezes. Users are found through the indexed `next_settle_at` and
//! `next_freeze_earn_at` columns, earliest first, in batches, with prepared statements.
//!
//! Its first run, at start and before the server takes traffic, also loads the settings
//! stored through the Admin API and, if the streak settings changed since the stored
//! state was computed, recomputes it (`recompute`).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::engine::{Rules, UserStreak};
use super::recompute;
use super::service::{self, JOB_NAME};
use super::store::{self, Schedule};
use crate::clock::from_millis;
use crate::error::ApiError;
use crate::scheduler::{Job, NextDue};
use crate::writer::WriteCtx;

/// Rows fetched per query; each batch is settled before the next is read.
const BATCH: i64 = 1_000;

#[derive(Default)]
pub struct StreakJob {
    initialized: AtomicBool,
}

impl StreakJob {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Job for StreakJob {
    fn name(&self) -> &'static str {
        JOB_NAME
    }

    fn run(&self, ctx: &mut WriteCtx<'_>, until: DateTime<Utc>) -> NextDue {
        let until_ms = until.timestamp_millis();
        if !self.initialized.load(Ordering::Acquire) {
            initialize(ctx, until_ms)?;
            // Only once the transaction commits would be exact; a rollback makes the next
            // run redo the (idempotent) initialization anyway, since the job fails.
            self.initialized.store(true, Ordering::Release);
        }
        let Some(def) = ctx.env.settings.streaks.current() else {
            return Ok(None);
        };
        let rules = Rules::new(&def);
        let started = std::time::Instant::now();
        let settled = run_due(ctx, rules, until_ms)?;
        if settled >= 1_000 {
            log::info!(
                "settled {settled} streaks up to {until} in {} ms",
                started.elapsed().as_millis()
            );
        } else if settled > 0 {
            log::debug!("settled {settled} streaks up to {until}");
        }
        let next = [Schedule::Settle, Schedule::FreezeEarn]
            .into_iter()
            .map(|s| store::next_due(ctx.conn, s))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .min();
        Ok(next.map(from_millis))
    }
}

/// Loads the database settings (when trophy.toml declares none) and brings the stored
/// state in line with the settings in force.
fn initialize(ctx: &mut WriteCtx<'_>, now_ms: i64) -> Result<(), ApiError> {
    let handle = ctx.env.settings.streaks.clone();
    super::settings::load(&handle, ctx.conn, ctx.env.settings.config.streaks.as_ref())?;
    let def = handle.current();
    recompute::reconcile(ctx, def.as_deref(), now_ms)
}

/// Settles and grants everything due at or before `until_ms`; returns how many users.
pub fn run_due(ctx: &mut WriteCtx<'_>, rules: Rules<'_>, until_ms: i64) -> Result<usize, ApiError> {
    let default_tz = ctx.env.settings.config.server.default_timezone;
    let any_pauses = store::any_pauses(ctx.conn)?;
    let mut seen = HashSet::new();
    for schedule in [Schedule::Settle, Schedule::FreezeEarn] {
        loop {
            let batch = store::due(ctx.conn, schedule, until_ms, BATCH)?;
            let fresh: Vec<_> = batch
                .into_iter()
                .filter(|d| !seen.contains(&(schedule as u8, d.row.user_id)))
                .collect();
            if fresh.is_empty() {
                // Everything left was already handled in this run (only possible if a row
                // could not be moved past `until`; logged below).
                break;
            }
            for due in fresh {
                seen.insert((schedule as u8, due.row.user_id));
                let tz: Tz = due
                    .user_tz
                    .as_deref()
                    .and_then(|t| t.parse().ok())
                    .unwrap_or(default_tz);
                let mut streak = UserStreak::from_row(due.row, due.user_created, tz);
                if !any_pauses {
                    streak.pauses = Some(Vec::new());
                }
                service::catch_up(ctx.conn, rules, &mut streak, tz, until_ms)?;
                service::persist(ctx, rules, &mut streak, None, until_ms)?;
                if streak.is_due(rules, until_ms) {
                    log::error!(
                        "streak of user {} is still due after settling to {until_ms}",
                        streak.row.user_id
                    );
                }
            }
        }
    }
    Ok(seen.len())
}
