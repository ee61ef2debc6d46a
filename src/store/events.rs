//! Events, running metric totals and idempotency keys.

use rusqlite::{params, Connection, OptionalExtension};

use crate::domain::ids::{DefinitionId, UserRow};

pub struct NewEvent<'a> {
    pub uuid: &'a str,
    pub user_row: UserRow,
    pub metric_id: DefinitionId,
    pub value: f64,
    pub attributes: Option<&'a str>,
    pub at_ms: i64,
    pub tz: &'a str,
}

/// Inserts the event and returns its row id.
pub fn insert(conn: &Connection, e: &NewEvent<'_>) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO events (uuid, user_id, metric_id, value, attributes, at, tz)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        e.uuid,
        e.user_row,
        e.metric_id,
        e.value,
        e.attributes,
        e.at_ms,
        e.tz
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Adds an event's value to the user's total for the metric, records when it happened
/// (which the user's `updated` reads), and returns the new total.
pub fn add_to_total(
    conn: &Connection,
    user_row: UserRow,
    metric_id: DefinitionId,
    value: f64,
    at_ms: i64,
) -> rusqlite::Result<f64> {
    // Read, then upsert, rather than `RETURNING total`: SQLite collects returned rows in a
    // temporary b-tree it opens and closes at every call.
    let before = total(conn, user_row, metric_id)?;
    conn.prepare_cached(
        "INSERT INTO metric_totals (user_id, metric_id, total, last_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id, metric_id) DO UPDATE
         SET total = total + excluded.total, last_at = max(last_at, excluded.last_at)",
    )?
    .execute(params![user_row, metric_id, value, at_ms])?;
    Ok(before + value)
}

pub fn total(
    conn: &Connection,
    user_row: UserRow,
    metric_id: DefinitionId,
) -> rusqlite::Result<f64> {
    Ok(conn
        .prepare_cached("SELECT total FROM metric_totals WHERE user_id = ?1 AND metric_id = ?2")?
        .query_row(params![user_row, metric_id], |r| r.get(0))
        .optional()?
        .unwrap_or(0.0))
}

/// Every metric total of one user, by metric id.
pub fn totals(conn: &Connection, user_row: UserRow) -> rusqlite::Result<Vec<(DefinitionId, f64)>> {
    let mut stmt =
        conn.prepare_cached("SELECT metric_id, total FROM metric_totals WHERE user_id = ?1")?;
    let rows = stmt.query_map([user_row], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// The uuid of the event an idempotency key was first used for, if the key is known and
/// was used at or after `not_before_ms` (keys older than the TTL count as unused).
pub fn replayed_event(
    conn: &Connection,
    user_row: UserRow,
    metric_id: DefinitionId,
    key: &str,
    not_before_ms: i64,
) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT e.uuid FROM idempotency_keys k JOIN events e ON e.id = k.event_id
          WHERE k.user_id = ?1 AND k.metric_id = ?2 AND k.key = ?3 AND k.created >= ?4",
    )?
    .query_row(params![user_row, metric_id, key, not_before_ms], |r| {
        r.get(0)
    })
    .optional()
}

/// Claims `key` for `event_row`, replacing an expired claim.
pub fn claim_key(
    conn: &Connection,
    user_row: UserRow,
    metric_id: DefinitionId,
    key: &str,
    event_row: i64,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO idempotency_keys (user_id, metric_id, key, event_id, created)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (user_id, metric_id, key) DO UPDATE
            SET event_id = excluded.event_id, created = excluded.created",
    )?
    .execute(params![user_row, metric_id, key, event_row, now_ms])?;
    Ok(())
}

/// Deletes idempotency keys created before `before_ms`; returns how many.
pub fn expire_keys(conn: &Connection, before_ms: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached("DELETE FROM idempotency_keys WHERE created < ?1")?
        .execute([before_ms])
}

/// The (time, value) of a user's events on a metric at or after `from_ms`, oldest first.
pub fn values_since(
    conn: &Connection,
    user_row: UserRow,
    metric_id: DefinitionId,
    from_ms: i64,
) -> rusqlite::Result<Vec<(i64, f64)>> {
    super::all_rows(
        conn,
        "SELECT at, value FROM events WHERE user_id = ?1 AND metric_id = ?2 AND at >= ?3 ORDER BY at, id",
        params![user_row, metric_id, from_ms],
        |r| r.try_into(),
    )
}

/// The time of the user's latest event on any metric (None before their first).
pub fn last_event_at(conn: &Connection, user_row: UserRow) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT max(last_at) FROM metric_totals WHERE user_id = ?1")?
        .query_row([user_row], |r| r.get(0))
}

/// One stored event, as the console lists a user's recent ones.
#[derive(Debug)]
pub struct StoredEvent {
    pub uuid: String,
    pub metric_id: DefinitionId,
    pub value: f64,
    /// The JSON object of the event's attributes, as stored.
    pub attributes: Option<String>,
    pub at_ms: i64,
    pub tz: String,
}

/// A user's `limit` latest events on any metric, newest first: the user's range of
/// `events_by_user_metric`, sorted by time.
pub fn latest_of_user(
    conn: &Connection,
    user_row: UserRow,
    limit: usize,
) -> rusqlite::Result<Vec<StoredEvent>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    super::all_rows(
        conn,
        "SELECT uuid, metric_id, value, attributes, at, tz FROM events
          WHERE user_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
        params![user_row, limit],
        |r| {
            crate::store::from_columns!(r => StoredEvent {
                uuid, metric_id, value, attributes, at_ms, tz,
            })
        },
    )
}
