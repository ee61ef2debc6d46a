//! SQL of `notification_schedule` and `notification_outbox` (sql/0014), and the reads of
//! other tables the messages' contents need.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::Kind;
use crate::domain::ids::{DefinitionId, TenantId, UserRow};

/// A user's next timed message of one kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduled {
    pub user_id: UserRow,
    pub kind: Kind,
    pub due_at: i64,
    pub step: i64,
    pub anchor: i64,
}

/// The kinds the user has a row for: one index range read, so an event of a user whose
/// rows all exist computes no due time and writes nothing.
pub fn scheduled_kinds(conn: &Connection, user_id: UserRow) -> rusqlite::Result<Vec<Kind>> {
    let mut stmt =
        conn.prepare_cached("SELECT kind FROM notification_schedule WHERE user_id = ?1")?;
    let kinds = stmt.query_map([user_id], |r| r.get::<_, String>(0))?;
    let mut out = Vec::with_capacity(3);
    for kind in kinds {
        if let Some(kind) = Kind::parse(&kind?) {
            out.push(kind);
        }
    }
    Ok(out)
}

/// Adds the row unless the user already has one of this kind: an event keeps the
/// schedule alive without rewriting it (the job corrects a stale due time when it runs).
/// True when the row was added.
pub fn schedule_if_absent(conn: &Connection, row: &Scheduled) -> rusqlite::Result<bool> {
    let added = write_scheduled(
        conn,
        "INSERT OR IGNORE INTO notification_schedule (user_id, kind, due_at, step, anchor)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        row,
    )?;
    Ok(added == 1)
}

pub fn reschedule(conn: &Connection, row: &Scheduled) -> rusqlite::Result<()> {
    write_scheduled(
        conn,
        "UPDATE notification_schedule SET due_at = ?3, step = ?4, anchor = ?5
         WHERE user_id = ?1 AND kind = ?2",
        row,
    )?;
    Ok(())
}

/// Runs `sql` with the row's columns as `?1` to `?5`; returns the rows changed.
fn write_scheduled(conn: &Connection, sql: &str, row: &Scheduled) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params![
        row.user_id,
        row.kind.as_str(),
        row.due_at,
        row.step,
        row.anchor
    ])
}

pub fn unschedule(conn: &Connection, user_id: UserRow, kind: Kind) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM notification_schedule WHERE user_id = ?1 AND kind = ?2")?
        .execute(params![user_id, kind.as_str()])?;
    Ok(())
}

/// Rows due at or before `until`, earliest first.
pub fn due(conn: &Connection, until: i64, limit: i64) -> rusqlite::Result<Vec<Scheduled>> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id, kind, due_at, step, anchor FROM notification_schedule
         WHERE due_at <= ?1 ORDER BY due_at, user_id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![until, limit], |r| r.try_into())?;
    let mut out = Vec::new();
    for row in rows {
        let (user_id, kind, due_at, step, anchor): (UserRow, String, i64, i64, i64) = row?;
        // A kind this build does not know (written by a newer one) is left alone.
        if let Some(kind) = Kind::parse(&kind) {
            out.push(Scheduled {
                user_id,
                kind,
                due_at,
                step,
                anchor,
            });
        }
    }
    Ok(out)
}

pub fn next_due(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT min(due_at) FROM notification_schedule")?
        .query_row([], |r| r.get(0))
}

/// The time of the user's last event on any metric.
pub fn last_activity(conn: &Connection, user_id: UserRow) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT max(last_at) FROM metric_totals WHERE user_id = ?1")?
        .query_row([user_id], |r| r.get(0))
}

/// The metrics the user has a total on.
fn used_metrics(conn: &Connection, user_id: UserRow) -> rusqlite::Result<Vec<DefinitionId>> {
    conn.prepare_cached("SELECT metric_id FROM metric_totals WHERE user_id = ?1")?
        .query_map([user_id], |r| r.get(0))?
        .collect()
}

/// Whether the user sent any event in `[from, to)`: per metric they have used, one probe
/// of the `(user, metric, at)` index.
pub fn active_between(
    conn: &Connection,
    user_id: UserRow,
    from: i64,
    to: i64,
) -> rusqlite::Result<bool> {
    let metrics = used_metrics(conn, user_id)?;
    let mut stmt = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM events
                        WHERE user_id = ?1 AND metric_id = ?2 AND at >= ?3 AND at < ?4)",
    )?;
    for metric in metrics {
        if stmt.query_row(params![user_id, metric, from, to], |r| r.get::<_, bool>(0))? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Per metric the user has used: (metric id, events, sum of values) in `[from, to)`.
pub fn activity_between(
    conn: &Connection,
    user_id: UserRow,
    from: i64,
    to: i64,
) -> rusqlite::Result<Vec<(DefinitionId, i64, f64)>> {
    let metrics = used_metrics(conn, user_id)?;
    let mut stmt = conn.prepare_cached(
        "SELECT count(*), total(value) FROM events
         WHERE user_id = ?1 AND metric_id = ?2 AND at >= ?3 AND at < ?4",
    )?;
    let mut out = Vec::new();
    for metric in metrics {
        let (events, sum): (i64, f64) = stmt
            .query_row(params![user_id, metric, from, to], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        if events > 0 {
            out.push((metric, events, sum));
        }
    }
    Ok(out)
}

/// Achievements completed (not backdated) in `[from, to)`: (achievement id, when).
pub fn completions_between(
    conn: &Connection,
    user_id: UserRow,
    from: i64,
    to: i64,
) -> rusqlite::Result<Vec<(DefinitionId, i64)>> {
    conn.prepare_cached(
        "SELECT achievement_id, achieved_at FROM achievement_completions
         WHERE user_id = ?1 AND achieved_at >= ?2 AND achieved_at < ?3 AND backdated = 0
         ORDER BY achieved_at",
    )?
    .query_map(params![user_id, from, to], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

/// Points awarded per system in `[from, to)`: (system id, sum).
pub fn points_between(
    conn: &Connection,
    user_id: UserRow,
    systems: &[DefinitionId],
    from: i64,
    to: i64,
) -> rusqlite::Result<Vec<(DefinitionId, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT total(awarded) FROM points_awards
         WHERE user_id = ?1 AND system_id = ?2 AND at_ms >= ?3 AND at_ms < ?4",
    )?;
    let mut out = Vec::new();
    for &system in systems {
        let sum: f64 = stmt.query_row(params![user_id, system, from, to], |r| r.get(0))?;
        if sum != 0.0 {
            out.push((system, sum as i64));
        }
    }
    Ok(out)
}

/// A message for one channel target, as decided.
pub struct NewDelivery<'a> {
    pub tenant_id: TenantId,
    pub user_id: UserRow,
    pub kind: Kind,
    pub channel: Channel,
    pub target: &'a str,
    pub payload: &'a str,
    pub now: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Push,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Push => "push",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "email" => Some(Channel::Email),
            "push" => Some(Channel::Push),
            _ => None,
        }
    }
}

pub fn queue(conn: &Connection, d: &NewDelivery<'_>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO notification_outbox
             (uuid, tenant_id, user_id, kind, channel, target, payload, status, next_attempt, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?8)",
    )?
    .execute(params![
        format!("ntf_{}", crate::store::row_uuid::new().simple()),
        d.tenant_id,
        d.user_id,
        d.kind.as_str(),
        d.channel.as_str(),
        d.target,
        d.payload,
        d.now
    ])?;
    Ok(())
}

/// An outbox row as the delivery worker and the Admin API see it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub uuid: String,
    pub tenant_id: TenantId,
    pub user_id: UserRow,
    /// The user's external id (None when the user was deleted).
    pub external_user_id: Option<String>,
    pub kind: String,
    pub channel: String,
    pub target: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt: i64,
    pub last_error: Option<String>,
    pub created: i64,
    pub finished: Option<i64>,
}

const DELIVERY_COLUMNS: &str = "o.id, o.uuid, o.tenant_id, o.user_id, u.external_id, o.kind,
     o.channel, o.target, o.payload, o.status, o.attempts, o.next_attempt, o.last_error,
     o.created, o.finished";

fn delivery(r: &Row<'_>) -> rusqlite::Result<Delivery> {
    crate::store::from_columns!(r => Delivery {
        id, uuid, tenant_id, user_id, external_user_id, kind, channel, target, payload, status,
        attempts, next_attempt, last_error, created, finished,
    })
}

/// Pending rows due by `now`, oldest due first.
pub fn sendable(conn: &Connection, now: i64, limit: i64) -> rusqlite::Result<Vec<Delivery>> {
    conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM notification_outbox o
         LEFT JOIN users u ON u.id = o.user_id
         WHERE o.status = 'pending' AND o.next_attempt <= ?1
         ORDER BY o.next_attempt, o.id LIMIT ?2"
    ))?
    .query_map(params![now, limit], delivery)?
    .collect()
}

/// Filters of the Admin API's list, newest first, after the id `before` (paging).
#[derive(Debug)]
pub struct ListFilter {
    pub tenant_id: TenantId,
    pub status: Option<String>,
    pub user_id: Option<UserRow>,
    pub before: Option<i64>,
    pub limit: i64,
}

pub fn list(conn: &Connection, f: &ListFilter) -> rusqlite::Result<Vec<Delivery>> {
    conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM notification_outbox o
         LEFT JOIN users u ON u.id = o.user_id
         WHERE o.tenant_id = ?1
           AND (?2 IS NULL OR o.status = ?2)
           AND (?3 IS NULL OR o.user_id = ?3)
           AND (?4 IS NULL OR o.id < ?4)
         ORDER BY o.id DESC LIMIT ?5"
    ))?
    .query_map(
        params![f.tenant_id, f.status, f.user_id, f.before, f.limit],
        delivery,
    )?
    .collect()
}

pub fn by_uuid(
    conn: &Connection,
    tenant_id: TenantId,
    uuid: &str,
) -> rusqlite::Result<Option<Delivery>> {
    conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM notification_outbox o
         LEFT JOIN users u ON u.id = o.user_id
         WHERE o.uuid = ?1 AND o.tenant_id = ?2"
    ))?
    .query_row(params![uuid, tenant_id], delivery)
    .optional()
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Sent,
    /// Retry at this time (ms).
    RetryAt(i64, String),
    /// Given up.
    Failed(String),
}

/// Records one attempt of a row still pending (a row retried or finished meanwhile, by an
/// admin say, is left alone).
pub fn record(conn: &Connection, id: i64, outcome: &Outcome, now: i64) -> rusqlite::Result<()> {
    let (status, next, error, finished) = match outcome {
        Outcome::Sent => ("sent", None, None, Some(now)),
        Outcome::RetryAt(at, e) => ("pending", Some(*at), Some(e.as_str()), None),
        Outcome::Failed(e) => ("failed", None, Some(e.as_str()), Some(now)),
    };
    conn.prepare_cached(
        "UPDATE notification_outbox
            SET status = ?2, attempts = attempts + 1, next_attempt = coalesce(?3, next_attempt),
                last_error = ?4, finished = ?5
          WHERE id = ?1 AND status = 'pending'",
    )?
    .execute(params![id, status, next, error, finished])?;
    Ok(())
}

/// Puts a failed row back in the queue, due now. False when it is not failed.
pub fn retry(
    conn: &Connection,
    tenant_id: TenantId,
    uuid: &str,
    now: i64,
) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE notification_outbox
                SET status = 'pending', next_attempt = ?3, finished = NULL
              WHERE uuid = ?1 AND tenant_id = ?2 AND status = 'failed'",
        )?
        .execute(params![uuid, tenant_id, now])?;
    Ok(changed == 1)
}
