//! SQL over `webhook_outbox` for delivery and the admin log. Reads run on the reader
//! pool; every change is a writer [`Command`], because only the writer writes.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};

use super::retry;
use crate::clock::{format_timestamp, from_millis};
use crate::error::ApiError;
use crate::writer::{Command, WriteCtx};

/// The error recorded on rows whose endpoint is no longer in `[[webhooks]]`.
pub const ENDPOINT_REMOVED: &str = "endpoint removed from configuration";

/// A row the worker is about to send.
#[derive(Debug)]
pub struct DueRow {
    pub id: i64,
    pub uuid: String,
    pub body: String,
}

/// Ids of pending rows for `endpoint` due at or before `now`, oldest due first.
pub fn due_ids(
    conn: &Connection,
    endpoint: &str,
    now: DateTime<Utc>,
    limit: usize,
) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM webhook_outbox
         WHERE status = 'pending' AND endpoint = ?1 AND next_attempt <= ?2
         ORDER BY next_attempt, id LIMIT ?3",
    )?;
    let rows = stmt.query_map(
        params![
            endpoint,
            now.timestamp_millis(),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        |r| r.get(0),
    )?;
    rows.collect()
}

/// What is sent for a row, if it is still pending.
pub fn due_row(conn: &Connection, id: i64) -> rusqlite::Result<Option<DueRow>> {
    conn.prepare_cached(
        "SELECT uuid, body FROM webhook_outbox WHERE id = ?1 AND status = 'pending'",
    )?
    .query_row([id], |r| {
        Ok(DueRow {
            id,
            uuid: r.get(0)?,
            body: r.get(1)?,
        })
    })
    .optional()
}

/// The result of one attempt, as the worker reports it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: i64,
    pub delivered: bool,
    /// The HTTP status, if a response arrived.
    pub status: Option<u16>,
    pub error: Option<String>,
    /// The endpoint's retry policy.
    pub initial_backoff_seconds: u32,
    pub retry_for_hours: u32,
}

/// Records a batch of attempts: delivered, or failed and scheduled again with backoff,
/// or failed for good once the retry period is over.
#[derive(Clone)]
pub struct RecordOutcomes(pub Vec<Outcome>);

impl Command for RecordOutcomes {
    type Output = ();

    fn copy_to_try(&self) -> Option<Self> {
        Some(self.clone())
    }

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<(), ApiError> {
        let now = ctx.now;
        let now_ms = now.timestamp_millis();
        for outcome in self.0 {
            let row: Option<(u32, i64)> = ctx
                .conn
                .prepare_cached(
                    "SELECT attempts, created FROM webhook_outbox
                     WHERE id = ?1 AND status = 'pending'",
                )?
                .query_row([outcome.id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            // Gone (re-queued and already finished by another path): nothing to record.
            let Some((attempts, created)) = row else {
                continue;
            };
            let attempts = attempts.saturating_add(1);
            let (status, next, finished) = if outcome.delivered {
                ("delivered", None, Some(now_ms))
            } else {
                match retry::next_attempt(
                    from_millis(created),
                    now,
                    attempts,
                    outcome.initial_backoff_seconds,
                    outcome.retry_for_hours,
                    retry::random_jitter(),
                ) {
                    Some(next) => ("pending", Some(next.timestamp_millis()), None),
                    None => ("failed", None, Some(now_ms)),
                }
            };
            ctx.conn
                .prepare_cached(
                    "UPDATE webhook_outbox
                     SET status = ?2, attempts = ?3, last_status = ?4, last_error = ?5,
                         next_attempt = COALESCE(?6, next_attempt), finished = ?7
                     WHERE id = ?1",
                )?
                .execute(params![
                    outcome.id,
                    status,
                    attempts,
                    outcome.status,
                    outcome.error,
                    next,
                    finished
                ])?;
        }
        Ok(())
    }
}

/// Fails pending rows whose endpoint is not among `configured` (URLs): the endpoint was
/// removed from `trophy.toml`, so there is no secret to sign with and nowhere to send.
pub struct FailRemovedEndpoints(pub Vec<String>);

impl Command for FailRemovedEndpoints {
    type Output = usize;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<usize, ApiError> {
        let configured = serde_json::to_string(&self.0).map_err(ApiError::internal)?;
        Ok(ctx.conn.execute(
            "UPDATE webhook_outbox
             SET status = 'failed', last_error = ?1, finished = ?2
             WHERE status = 'pending'
               AND endpoint NOT IN (SELECT value FROM json_each(?3))",
            params![ENDPOINT_REMOVED, ctx.now.timestamp_millis(), configured],
        )?)
    }
}

/// One row of the delivery log, as the admin API shows it.
#[derive(Debug, Clone)]
pub struct LogRow {
    pub uuid: String,
    pub event_type: String,
    pub endpoint: String,
    pub status: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt: i64,
    pub created: i64,
    pub finished: Option<i64>,
}

const LOG_COLUMNS: &str = "uuid, event_type, endpoint, status, attempts, last_status, \
                           last_error, next_attempt, created, finished";

impl LogRow {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<LogRow> {
        crate::store::from_columns!(r => LogRow {
            uuid, event_type, endpoint, status, attempts, last_status, last_error, next_attempt,
            created, finished,
        })
    }

    pub fn to_json(&self) -> Value {
        let time = |ms: i64| format_timestamp(from_millis(ms));
        json!({
            "id": self.uuid,
            "type": self.event_type,
            "endpoint": self.endpoint,
            "status": self.status,
            "attempts": self.attempts,
            "lastStatus": self.last_status,
            "lastError": self.last_error,
            "nextAttempt": (self.status == "pending").then(|| time(self.next_attempt)),
            "created": time(self.created),
            "finished": self.finished.map(time),
        })
    }
}

/// Which rows the admin list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Any,
    Pending,
    Delivered,
    Failed,
}

impl StatusFilter {
    pub fn parse(s: Option<&str>) -> Option<StatusFilter> {
        match s {
            None => Some(StatusFilter::Any),
            Some("pending") => Some(StatusFilter::Pending),
            Some("delivered") => Some(StatusFilter::Delivered),
            Some("failed") => Some(StatusFilter::Failed),
            Some(_) => None,
        }
    }
}

/// Which rows of the log to list.
#[derive(Debug, Clone)]
pub struct ListFilter {
    pub status: StatusFilter,
    /// Only this event type (`achievement.completed`, ...).
    pub event_type: Option<String>,
    /// Only this endpoint URL.
    pub endpoint: Option<String>,
    /// Only rows older than this delivery (its id): the next page.
    pub before: Option<String>,
}

/// The newest `limit` rows that `filter` keeps, newest first. The status is written
/// literally into the SQL so SQLite can use the partial index for failed rows. A `before`
/// that names no delivery lists nothing.
pub fn list(conn: &Connection, filter: &ListFilter, limit: i64) -> rusqlite::Result<Vec<LogRow>> {
    let status = match filter.status {
        StatusFilter::Any => "",
        StatusFilter::Pending => "AND status = 'pending'",
        StatusFilter::Delivered => "AND status = 'delivered'",
        StatusFilter::Failed => "AND status = 'failed'",
    };
    let sql = format!(
        "SELECT {LOG_COLUMNS} FROM webhook_outbox
          WHERE (?2 IS NULL OR event_type = ?2) AND (?3 IS NULL OR endpoint = ?3)
            AND (?4 IS NULL OR id < (SELECT id FROM webhook_outbox WHERE uuid = ?4)) {status}
          ORDER BY id DESC LIMIT ?1"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![limit, filter.event_type, filter.endpoint, filter.before],
        LogRow::from_row,
    )?;
    rows.collect()
}

/// The exact body a delivery sends (signed as it is).
pub fn body(conn: &Connection, uuid: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT body FROM webhook_outbox WHERE uuid = ?1")?
        .query_row([uuid], |r| r.get(0))
        .optional()
}

pub fn by_uuid(conn: &Connection, uuid: &str) -> rusqlite::Result<Option<LogRow>> {
    conn.prepare_cached(&format!(
        "SELECT {LOG_COLUMNS} FROM webhook_outbox WHERE uuid = ?1"
    ))?
    .query_row([uuid], LogRow::from_row)
    .optional()
}

/// Re-queues one row now, keeping its attempt count. A row whose endpoint is no longer
/// configured cannot be sent, so it is failed again at once with that reason.
pub struct RetryDelivery(pub String);

impl Command for RetryDelivery {
    type Output = Option<LogRow>;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Option<LogRow>, ApiError> {
        let Some(row) = by_uuid(ctx.conn, &self.0)? else {
            return Ok(None);
        };
        // A delivered message sent again reaches the receiver twice: one click in the
        // console did that. Only what has not arrived may be sent again.
        if row.status == "delivered" {
            return Err(ApiError::conflict(
                "Only failed or pending deliveries can be retried; this one was delivered",
            ));
        }
        if requeue(ctx, &row)? {
            super::outbox::wake_delivery(ctx);
        }
        Ok(by_uuid(ctx.conn, &self.0)?)
    }
}

/// Re-queues a row that has not been delivered, or fails it at once when its endpoint is
/// no longer configured. Whether it was re-queued (the caller then wakes the delivery
/// worker, once for however many rows).
fn requeue(ctx: &mut WriteCtx<'_>, row: &LogRow) -> rusqlite::Result<bool> {
    let now = ctx.now.timestamp_millis();
    let configured = ctx
        .env
        .settings
        .config
        .webhooks
        .iter()
        .any(|w| w.url == row.endpoint);
    if configured {
        ctx.conn.execute(
            "UPDATE webhook_outbox SET status = 'pending', next_attempt = ?2, finished = NULL
             WHERE uuid = ?1",
            params![row.uuid, now],
        )?;
    } else {
        ctx.conn.execute(
            "UPDATE webhook_outbox SET status = 'failed', last_error = ?2, finished = ?3
             WHERE uuid = ?1",
            params![row.uuid, ENDPOINT_REMOVED, now],
        )?;
    }
    Ok(configured)
}

/// Failed deliveries re-queued by one bulk retry at most (the oldest first); the answer
/// says whether more are left.
pub const MAX_BULK_RETRY: i64 = 1000;

/// Re-queues the failed deliveries, oldest first, at most [`MAX_BULK_RETRY`]: how many
/// were re-queued, how many failed again at once (their endpoint was removed), and
/// whether failed rows are left beyond the cap.
pub struct RetryFailed;

#[derive(Debug, PartialEq, Eq)]
pub struct RetriedFailed {
    pub retried: usize,
    pub endpoint_removed: usize,
    pub more: bool,
}

impl Command for RetryFailed {
    type Output = RetriedFailed;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<RetriedFailed, ApiError> {
        let rows: Vec<LogRow> = {
            let mut stmt = ctx.conn.prepare_cached(&format!(
                "SELECT {LOG_COLUMNS} FROM webhook_outbox WHERE status = 'failed'
                  ORDER BY id LIMIT ?1"
            ))?;
            let rows = stmt.query_map([MAX_BULK_RETRY + 1], LogRow::from_row)?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let more = rows.len() as i64 > MAX_BULK_RETRY;
        let mut out = RetriedFailed {
            retried: 0,
            endpoint_removed: 0,
            more,
        };
        for row in rows.iter().take(MAX_BULK_RETRY as usize) {
            if requeue(ctx, row)? {
                out.retried += 1;
            } else {
                out.endpoint_removed += 1;
            }
        }
        if out.retried > 0 {
            super::outbox::wake_delivery(ctx);
        }
        Ok(out)
    }
}
