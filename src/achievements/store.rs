//! Completions, the per-tenant completion counts the writer keeps, and filtered progress.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, Connection, OptionalExtension};

use crate::domain::ids::{DefinitionId, TenantId, UserRow};

pub struct Completion {
    pub uuid: String,
    pub achieved_at: i64,
}

pub fn completion(
    conn: &Connection,
    user_row: UserRow,
    achievement_id: DefinitionId,
) -> rusqlite::Result<Option<Completion>> {
    conn.prepare_cached(
        "SELECT uuid, achieved_at FROM achievement_completions WHERE user_id = ?1 AND achievement_id = ?2",
    )?
    .query_row(params![user_row, achievement_id], |r| {
        Ok(Completion { uuid: r.get(0)?, achieved_at: r.get(1)? })
    })
    .optional()
}

/// Every achievement the user completed, with when, oldest first.
pub fn completed(
    conn: &Connection,
    user_row: UserRow,
) -> rusqlite::Result<Vec<(DefinitionId, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT achievement_id, achieved_at FROM achievement_completions
          WHERE user_id = ?1 ORDER BY achieved_at, id",
    )?;
    let rows = stmt.query_map([user_row], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Records a completion and counts it; returns the completion id.
pub fn insert(
    conn: &Connection,
    tenant: TenantId,
    user_row: UserRow,
    achievement_id: DefinitionId,
    at_ms: i64,
    backdated: bool,
) -> rusqlite::Result<String> {
    let uuid = crate::store::row_uuid::new().to_string();
    conn.prepare_cached(
        "INSERT INTO achievement_completions (uuid, user_id, achievement_id, achieved_at, backdated)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![uuid, user_row, achievement_id, at_ms, backdated])?;
    conn.prepare_cached(
        "INSERT INTO achievement_counts (achievement_id, tenant_id, completions) VALUES (?1, ?2, 1)
         ON CONFLICT (achievement_id, tenant_id) DO UPDATE SET completions = completions + 1",
    )?
    .execute(params![achievement_id, tenant])?;
    Ok(uuid)
}

/// Completions per achievement within one tenant.
/// `(achievement id, achieved at ms)` of a user's completions from `from_ms` to `to_ms`
/// (end excluded), oldest first.
pub fn completed_between(
    conn: &Connection,
    user_row: UserRow,
    from_ms: i64,
    to_ms: i64,
) -> rusqlite::Result<Vec<(DefinitionId, i64)>> {
    crate::store::all_rows(
        conn,
        "SELECT achievement_id, achieved_at FROM achievement_completions
          WHERE user_id = ?1 AND achieved_at >= ?2 AND achieved_at < ?3
          ORDER BY achieved_at, id",
        params![user_row, from_ms, to_ms],
        |r| r.try_into(),
    )
}

pub fn counts(conn: &Connection, tenant: TenantId) -> rusqlite::Result<HashMap<DefinitionId, i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT achievement_id, completions FROM achievement_counts WHERE tenant_id = ?1",
    )?;
    let rows = stmt.query_map([tenant], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

pub fn progress(
    conn: &Connection,
    user_row: UserRow,
    achievement_id: DefinitionId,
) -> rusqlite::Result<Option<f64>> {
    conn.prepare_cached(
        "SELECT progress FROM achievement_progress WHERE user_id = ?1 AND achievement_id = ?2",
    )?
    .query_row(params![user_row, achievement_id], |r| r.get(0))
    .optional()
}

pub fn set_progress(
    conn: &Connection,
    user_row: UserRow,
    achievement_id: DefinitionId,
    value: f64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO achievement_progress (user_id, achievement_id, progress) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id, achievement_id) DO UPDATE SET progress = excluded.progress",
    )?
    .execute(params![user_row, achievement_id, value])?;
    Ok(())
}

/// The values and attributes of a user's events on a metric, for progress that counts
/// only events whose attributes match.
pub fn event_values(
    conn: &Connection,
    user_row: UserRow,
    metric_id: DefinitionId,
) -> rusqlite::Result<Vec<(f64, BTreeMap<String, String>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT value, attributes FROM events WHERE user_id = ?1 AND metric_id = ?2",
    )?;
    let rows = stmt.query_map(params![user_row, metric_id], |r| {
        let attributes = match r.get::<_, Option<String>>(1)? {
            Some(text) => crate::store::stored(&text, "an event's attributes")?,
            None => BTreeMap::new(),
        };
        Ok((r.get(0)?, attributes))
    })?;
    rows.collect()
}

/// The `anniversary_from` date through which every user has been decided for an
/// anniversary achievement; None until its backdate has run.
pub fn anniversary_decided_through(
    conn: &Connection,
    achievement_id: DefinitionId,
) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT decided_through FROM anniversary_progress WHERE achievement_id = ?1",
    )?
    .query_row([achievement_id], |r| r.get(0))
    .optional()
}

pub fn set_anniversary_decided_through(
    conn: &Connection,
    achievement_id: DefinitionId,
    through: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO anniversary_progress (achievement_id, decided_through) VALUES (?1, ?2)
         ON CONFLICT (achievement_id) DO UPDATE SET decided_through = excluded.decided_through",
    )?
    .execute(params![achievement_id, through])?;
    Ok(())
}
