//! Reads of admin-managed plain definitions (metrics, attributes) a tenant sees: its own
//! and the shared ones, active only, oldest first.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// `(uuid, key, body)` of a stored definition.
pub type Row = (String, String, Map<String, Value>);

fn body(text: &str) -> Map<String, Value> {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
}

pub fn list(
    conn: &Connection,
    kind: &str,
    tenant: i64,
    limit: i64,
    skip: i64,
) -> Result<Vec<Row>, ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT uuid, key, body FROM definitions
          WHERE kind = ?1 AND status = 'active' AND ifnull(tenant_id, 0) IN (0, ?2)
          ORDER BY id LIMIT ?3 OFFSET ?4",
    )?;
    let rows = stmt.query_map(params![kind, tenant, limit, skip], |r| {
        Ok((r.get(0)?, r.get(1)?, body(&r.get::<_, String>(2)?)))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One by UUID: 422 for something that is not a UUID, 404 for an unknown one.
pub fn get(conn: &Connection, kind: &str, tenant: i64, uuid: &str) -> Result<Row, ApiError> {
    if uuid::Uuid::parse_str(uuid).is_err() {
        return Err(ApiError::unprocessable("id must be a valid UUID"));
    }
    conn.query_row(
        "SELECT uuid, key, body FROM definitions
          WHERE kind = ?1 AND uuid = ?2 AND status = 'active' AND ifnull(tenant_id, 0) IN (0, ?3)",
        params![kind, uuid, tenant],
        |r| Ok((r.get(0)?, r.get(1)?, body(&r.get::<_, String>(2)?))),
    )
    .optional()?
    .ok_or_else(|| {
        ApiError::not_found(match kind {
            "metric" => "Metric not found",
            _ => "Attribute not found",
        })
    })
}
