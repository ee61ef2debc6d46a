//! The scheduler jobs of points: time triggers (every user, anchored on their creation,
//! catching up at most 24 ticks after a downtime) and the boost start and finish webhooks.
//! Both bring their schedules in line with the catalog when it changed, so definitions
//! from the file or the Admin API are picked up the same way.

use std::sync::Mutex;

use chrono::{DateTime, Days, NaiveTime, Utc};
use chrono_tz::Tz;
use rusqlite::{params, OptionalExtension};
use serde_json::json;

use super::engine::{finish, on_ticks, UserPoints};
use super::rules::Ticks;
use super::store;
use super::view;
use crate::catalog::points::{Boost, BoostTarget, PointsTrigger, TriggerKind};
use crate::catalog::{Catalog, PointsSystem};
use crate::clock::{format_timestamp, from_millis};
use crate::domain::ids::{DefinitionId, TenantId, UserRow};
use crate::domain::user::User;
use crate::error::ApiError;
use crate::rules::local_time::{end_of_local_day, start_of_local_day};
use crate::scheduler::{earliest_due, Job, NextDue};
use crate::webhooks;
use crate::writer::WriteCtx;

pub const TIME_JOB: &str = "points-time-triggers";
pub const BOOST_JOB: &str = "points-boost-webhooks";

/// Missed ticks paid after a downtime, at most (docs/behaviour/points.md#time-triggers).
pub const CATCH_UP_TICKS: i64 = 24;
/// Due rows handled per query.
const BATCH: i64 = 500;
/// A boost notice first seen more than this long after it fell due is stale and skipped.
const STALE_MS: i64 = 86_400_000;

fn time_triggers(catalog: &Catalog) -> impl Iterator<Item = (&PointsSystem, &PointsTrigger)> {
    catalog.all_points().flat_map(|s| {
        s.active_triggers()
            .filter(|t| matches!(t.kind, TriggerKind::Time { .. }))
            .map(move |t| (s, t))
    })
}

fn ticks_for(user: &User, tz: Tz, t: &PointsTrigger) -> Option<Ticks> {
    match t.kind {
        TriggerKind::Time { unit, interval } => Some(Ticks {
            created: from_millis(user.created),
            tz,
            unit,
            interval,
        }),
        _ => None,
    }
}

fn put_tick(
    ctx: &WriteCtx<'_>,
    user: UserRow,
    trigger: DefinitionId,
    at: DateTime<Utc>,
) -> Result<(), ApiError> {
    ctx.conn
        .prepare_cached(
            "INSERT INTO points_time_ticks (user_id, trigger_id, next_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (user_id, trigger_id) DO UPDATE SET next_at = excluded.next_at",
        )?
        .execute(params![user, trigger, at.timestamp_millis()])?;
    Ok(())
}

fn hint(ctx: &mut WriteCtx<'_>, job: &'static str, at: DateTime<Utc>) {
    let hints = ctx.env.due_hints.clone();
    ctx.after_commit(move || hints.due_by(job, at));
}

/// Schedules the first tick of every time trigger for a user just created.
pub fn schedule_new_user(ctx: &mut WriteCtx<'_>, user: &User) -> Result<(), ApiError> {
    let catalog = ctx.catalog.clone();
    let tz = user.time_zone(ctx.env.settings.config.server.default_timezone);
    for (system, t) in time_triggers(&catalog) {
        if system.owner != TenantId::SHARED && system.owner != user.tenant_id {
            continue;
        }
        if let Some(first) = ticks_for(user, tz, t).and_then(|ticks| ticks.at(1)) {
            put_tick(ctx, user.row_id, t.id, first)?;
            hint(ctx, TIME_JOB, first);
        }
    }
    Ok(())
}

/// Tells the points jobs that definitions changed, once the change commits.
pub fn definitions_changed(ctx: &mut WriteCtx<'_>) {
    let now = ctx.now;
    hint(ctx, TIME_JOB, now);
    hint(ctx, BOOST_JOB, now);
}

#[derive(Default)]
pub struct TimeTriggerJob {
    /// The active time triggers and levels the schedules and counts were last made for.
    seen: Mutex<Option<String>>,
}

impl TimeTriggerJob {
    pub fn new() -> Self {
        Self::default()
    }
}

fn fingerprint(catalog: &Catalog) -> String {
    let triggers: Vec<(DefinitionId, String)> = time_triggers(catalog)
        .map(|(s, t)| (t.id, format!("{}:{:?}", s.owner, t.kind)))
        .collect();
    let levels: Vec<(DefinitionId, Vec<(i64, DefinitionId)>)> = catalog
        .all_points()
        .map(|s| (s.id, s.levels.iter().map(|l| (l.points, l.id)).collect()))
        .collect();
    format!("{triggers:?}|{levels:?}")
}

/// Schedules for triggers activated since, drops those of triggers no longer active,
/// and recounts levels of systems whose levels changed while the server was down.
fn reconcile(ctx: &WriteCtx<'_>, catalog: &Catalog) -> Result<(), ApiError> {
    for s in catalog.all_points() {
        let levels: Vec<(i64, DefinitionId)> = s.levels.iter().map(|l| (l.points, l.id)).collect();
        store::reconcile_levels(ctx.conn, s.id, &levels)?;
    }
    let active: Vec<DefinitionId> = time_triggers(catalog).map(|(_, t)| t.id).collect();
    let scheduled: Vec<DefinitionId> = {
        let mut stmt = ctx
            .conn
            .prepare("SELECT DISTINCT trigger_id FROM points_time_ticks")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for id in scheduled.iter().filter(|id| !active.contains(id)) {
        ctx.conn
            .execute("DELETE FROM points_time_ticks WHERE trigger_id = ?1", [id])?;
    }
    let default_tz = ctx.env.settings.config.server.default_timezone;
    let now = ctx.now;
    for (system, t) in time_triggers(catalog) {
        // Users without a schedule: those created before the trigger was activated.
        // Their first tick is the next one after now, so nothing is paid retroactively.
        let users: Vec<UserRow> = {
            let mut stmt = ctx.conn.prepare(
                "SELECT id FROM users u WHERE (?1 = 0 OR u.tenant_id = ?1)
                   AND NOT EXISTS (SELECT 1 FROM points_time_ticks p
                                    WHERE p.user_id = u.id AND p.trigger_id = ?2)",
            )?;
            let rows = stmt.query_map(params![system.owner, t.id], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for row in users {
            let Some(user) = crate::store::users::by_row(ctx.conn, row)? else {
                continue;
            };
            let Some(ticks) = ticks_for(&user, user.time_zone(default_tz), t) else {
                continue;
            };
            if let Some(next) = ticks.at(ticks.index_at(now) + 1) {
                put_tick(ctx, row, t.id, next)?;
            }
        }
    }
    Ok(())
}

fn find_trigger(catalog: &Catalog, id: DefinitionId) -> Option<(&PointsSystem, &PointsTrigger)> {
    time_triggers(catalog).find(|(_, t)| t.id == id)
}

impl Job for TimeTriggerJob {
    fn name(&self) -> &'static str {
        TIME_JOB
    }

    fn run(&self, ctx: &mut WriteCtx<'_>, until: DateTime<Utc>) -> NextDue {
        let catalog = ctx.catalog.clone();
        let print = fingerprint(&catalog);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.as_deref() != Some(print.as_str()) {
            reconcile(ctx, &catalog)?;
            *seen = Some(print);
        }
        drop(seen);
        let until_ms = until.timestamp_millis();
        let default_tz = ctx.env.settings.config.server.default_timezone;
        loop {
            let due: Vec<(UserRow, DefinitionId, i64)> = {
                let mut stmt = ctx.conn.prepare_cached(
                    "SELECT user_id, trigger_id, next_at FROM points_time_ticks
                      WHERE next_at <= ?1 ORDER BY next_at LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![until_ms, BATCH], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            if due.is_empty() {
                break;
            }
            for (row, trigger_id, next_at) in due {
                let found = find_trigger(&catalog, trigger_id);
                let user = crate::store::users::by_row(ctx.conn, row)?;
                let (Some((system, trigger)), Some(user)) = (found, user) else {
                    ctx.conn.execute(
                        "DELETE FROM points_time_ticks WHERE user_id = ?1 AND trigger_id = ?2",
                        params![row, trigger_id],
                    )?;
                    continue;
                };
                let Some(ticks) = ticks_for(&user, user.time_zone(default_tz), trigger) else {
                    continue;
                };
                let first = ticks.index_at(from_millis(next_at)).max(1);
                let range = ticks.due(first - 1, until, ctx.now, CATCH_UP_TICKS);
                let times: Vec<i64> = range
                    .clone()
                    .filter_map(|n| ticks.at(n))
                    .map(|t| t.timestamp_millis())
                    .collect();
                let mut points = UserPoints::default();
                on_ticks(ctx, &mut points, &user, system, trigger, &times)?;
                finish(ctx, &user, points)?;
                let after = (*range.end()).max(first - 1) + 1;
                match ticks.at(after).filter(|t| t.timestamp_millis() > until_ms) {
                    Some(next) => put_tick(ctx, row, trigger_id, next)?,
                    None => {
                        ctx.conn.execute(
                            "DELETE FROM points_time_ticks WHERE user_id = ?1 AND trigger_id = ?2",
                            params![row, trigger_id],
                        )?;
                    }
                }
            }
        }
        earliest_due(ctx.conn, "SELECT MIN(next_at) FROM points_time_ticks")
    }
}

/// Emits `points.boost_started` and `points.boost_finished` when due: global boosts at
/// 10:00 UTC the day before the start (when UTC+14 begins it) and 13:00 UTC the day after
/// the end; a user's boost at the start and end of its dates in that user's zone.
pub struct BoostWebhookJob;

fn user_tz(ctx: &WriteCtx<'_>, owner: TenantId, user: &str) -> Result<Option<Tz>, ApiError> {
    let tz: Option<Option<String>> = ctx
        .conn
        .prepare_cached(
            "SELECT tz FROM users WHERE external_id = ?1 AND (?2 = 0 OR tenant_id = ?2) LIMIT 1",
        )?
        .query_row(params![user, owner], |r| r.get(0))
        .optional()?;
    let default_tz = ctx.env.settings.config.server.default_timezone;
    Ok(tz.map(|tz| tz.and_then(|t| t.parse().ok()).unwrap_or(default_tz)))
}

fn at_utc(date: chrono::NaiveDate, hour: u32) -> Option<DateTime<Utc>> {
    Some(
        date.and_time(NaiveTime::from_hms_opt(hour, 0, 0)?)
            .and_utc(),
    )
}

/// A notice kind (`started`, `finished`) and when it is due (None: never).
type Notice = (&'static str, Option<DateTime<Utc>>);

/// When each notice of `b` is due (None: never, e.g. open-ended or an unknown user).
fn due_times(ctx: &WriteCtx<'_>, owner: TenantId, b: &Boost) -> Result<[Notice; 2], ApiError> {
    Ok(match &b.target {
        BoostTarget::Global(_) => [
            (
                "started",
                b.start
                    .checked_sub_days(Days::new(1))
                    .and_then(|d| at_utc(d, 10)),
            ),
            (
                "finished",
                b.end
                    .and_then(|e| e.checked_add_days(Days::new(1)))
                    .and_then(|d| at_utc(d, 13)),
            ),
        ],
        BoostTarget::User(user) => {
            let tz = user_tz(ctx, owner, user)?;
            [
                ("started", tz.and_then(|tz| start_of_local_day(b.start, tz))),
                (
                    "finished",
                    tz.zip(b.end)
                        .and_then(|(tz, end)| end_of_local_day(end, tz)),
                ),
            ]
        }
    })
}

impl Job for BoostWebhookJob {
    fn name(&self) -> &'static str {
        BOOST_JOB
    }

    fn run(&self, ctx: &mut WriteCtx<'_>, until: DateTime<Utc>) -> NextDue {
        let catalog = ctx.catalog.clone();
        let until_ms = until.timestamp_millis();
        let mut next: Option<i64> = None;
        for system in catalog.all_points() {
            for b in &system.boosts {
                for (kind, due) in due_times(ctx, system.owner, b)? {
                    let Some(due) = due.map(|d| d.timestamp_millis()) else {
                        continue;
                    };
                    let stored: Option<(i64, bool)> = ctx
                        .conn
                        .prepare_cached(
                            "SELECT due_at, sent FROM points_boost_notices WHERE boost_id = ?1 AND kind = ?2",
                        )?
                        .query_row(params![b.id, kind], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()?;
                    let sent = match stored {
                        Some((at, sent)) if at == due => sent,
                        // New, or its dates changed: stale notices are not sent late.
                        _ => {
                            let stale = due < ctx.now.timestamp_millis() - STALE_MS;
                            ctx.conn
                                .prepare_cached(
                                    "INSERT INTO points_boost_notices (boost_id, kind, due_at, sent)
                                     VALUES (?1, ?2, ?3, ?4)
                                     ON CONFLICT (boost_id, kind) DO UPDATE
                                     SET due_at = excluded.due_at, sent = excluded.sent",
                                )?
                                .execute(params![b.id, kind, due, stale])?;
                            stale
                        }
                    };
                    if sent {
                        continue;
                    }
                    if due > until_ms {
                        next = Some(next.map_or(due, |n| n.min(due)));
                        continue;
                    }
                    let status = if kind == "started" {
                        "active"
                    } else {
                        "finished"
                    };
                    let event_type = format!("points.boost_{kind}");
                    let body = json!({
                        "type": event_type,
                        "timestamp": format_timestamp(from_millis(due)),
                        "boost": view::boost_webhook(b, system, status),
                    });
                    webhooks::emit(ctx, &event_type, &body)?;
                    ctx.conn
                        .prepare_cached(
                            "UPDATE points_boost_notices SET sent = 1 WHERE boost_id = ?1 AND kind = ?2",
                        )?
                        .execute(params![b.id, kind])?;
                }
            }
        }
        Ok(next.map(from_millis))
    }
}
