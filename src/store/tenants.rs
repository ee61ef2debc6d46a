//! The `tenants` table. Tenant 1 is the default tenant every single-tenant server uses.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::{json, Value};

use crate::clock::{format_timestamp, from_millis};
use crate::domain::ids::TenantId;

pub const DEFAULT_TENANT: TenantId = TenantId::from_raw(1);

#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: TenantId,
    pub uuid: String,
    pub customer_id: String,
    pub name: String,
    pub status: String,
    pub created: i64,
    pub updated: i64,
}

impl Tenant {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.uuid,
            "customerId": self.customer_id,
            "name": self.name,
            "status": self.status,
            "created": format_timestamp(from_millis(self.created)),
            "updated": format_timestamp(from_millis(self.updated)),
        })
    }
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Tenant> {
    crate::store::from_columns!(r => Tenant {
        id, uuid, customer_id, name, status, created, updated,
    })
}

const COLUMNS: &str = "id, uuid, customer_id, name, status, created, updated";

/// Creates the default tenant on a new database.
pub fn ensure_default(conn: &Connection, now_ms: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO tenants (id, uuid, customer_id, name, status, created, updated)
         VALUES (?1, ?2, '', 'Default', 'active', ?3, ?3)",
        params![DEFAULT_TENANT, uuid::Uuid::new_v4().to_string(), now_ms],
    )?;
    Ok(())
}

/// Every active tenant except the default one, by customer id.
pub fn active(conn: &Connection) -> rusqlite::Result<Vec<Tenant>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM tenants WHERE status = 'active' AND id != {DEFAULT_TENANT}"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    rows.collect()
}

pub fn list(conn: &Connection, limit: i64, skip: i64) -> rusqlite::Result<Vec<Tenant>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM tenants WHERE id != {DEFAULT_TENANT} AND status = 'active'
          ORDER BY id LIMIT ?1 OFFSET ?2"
    ))?;
    let rows = stmt.query_map(params![limit, skip], from_row)?;
    rows.collect()
}

pub fn by_uuid(conn: &Connection, uuid: &str) -> rusqlite::Result<Option<Tenant>> {
    one_where(conn, &format!("uuid = ?1 AND id != {DEFAULT_TENANT}"), uuid)
}

pub fn by_customer_id(conn: &Connection, customer_id: &str) -> rusqlite::Result<Option<Tenant>> {
    one_where(conn, "customer_id = ?1", customer_id)
}

/// The tenant `condition` (on `?1`, bound to `value`) finds, if any.
fn one_where(conn: &Connection, condition: &str, value: &str) -> rusqlite::Result<Option<Tenant>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM tenants WHERE {condition}"))?
        .query_row([value], from_row)
        .optional()
}

pub fn insert(
    conn: &Connection,
    customer_id: &str,
    name: &str,
    now_ms: i64,
) -> rusqlite::Result<Tenant> {
    let uuid = uuid::Uuid::new_v4().to_string();
    conn.execute(
        "INSERT INTO tenants (uuid, customer_id, name, status, created, updated)
         VALUES (?1, ?2, ?3, 'active', ?4, ?4)",
        params![uuid, customer_id, name, now_ms],
    )?;
    Ok(Tenant {
        id: TenantId::from_raw(conn.last_insert_rowid()),
        uuid,
        customer_id: customer_id.to_owned(),
        name: name.to_owned(),
        status: "active".into(),
        created: now_ms,
        updated: now_ms,
    })
}

pub fn update(conn: &Connection, tenant: &Tenant) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE tenants SET customer_id = ?1, name = ?2, status = ?3, updated = ?4 WHERE id = ?5",
        params![
            tenant.customer_id,
            tenant.name,
            tenant.status,
            tenant.updated,
            tenant.id
        ],
    )?;
    Ok(())
}
