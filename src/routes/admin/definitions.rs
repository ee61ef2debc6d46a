//! Reads of admin-managed plain definitions (metrics, attributes) a tenant sees: its own
//! and the shared ones, active only, oldest first.

use rusqlite::Connection;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::store::definitions::{self, Status};

/// `(uuid, key, body)` of a stored definition.
pub type Row = (String, String, Map<String, Value>);

pub fn list(
    conn: &Connection,
    kind: &str,
    tenant: i64,
    limit: i64,
    skip: i64,
) -> Result<Vec<Row>, ApiError> {
    let rows = definitions::active_page(conn, definitions::kind(kind)?, tenant, limit, skip)?;
    Ok(rows.into_iter().map(|r| (r.uuid, r.key, r.body)).collect())
}

/// One by UUID: 422 for something that is not a UUID, 404 for an unknown one.
pub fn get(conn: &Connection, kind: &str, tenant: i64, uuid: &str) -> Result<Row, ApiError> {
    if uuid::Uuid::parse_str(uuid).is_err() {
        return Err(ApiError::unprocessable("id must be a valid UUID"));
    }
    let wanted = definitions::kind(kind)?;
    definitions::by_uuid(conn, uuid)?
        .filter(|r| {
            r.kind == wanted && r.status == Status::Active && (r.owner == 0 || r.owner == tenant)
        })
        .map(|r| (r.uuid, r.key, r.body))
        .ok_or_else(|| {
            ApiError::not_found(match kind {
                "metric" => "Metric not found",
                _ => "Attribute not found",
            })
        })
}
