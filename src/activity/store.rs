//! The `activity_hours` table.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::{hour_of, returns, Counts};
use crate::domain::ids::TenantId;

/// Adds `counts` to a tenant's hour.
pub fn add(
    conn: &Connection,
    tenant: TenantId,
    hour: i64,
    counts: &Counts,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO activity_hours (tenant_id, hour, events, active_users, new_users, awards, points)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (tenant_id, hour) DO UPDATE SET
             events = events + excluded.events,
             active_users = active_users + excluded.active_users,
             new_users = new_users + excluded.new_users,
             awards = awards + excluded.awards,
             points = points + excluded.points",
    )?
    .execute(params![
        tenant,
        hour,
        counts.events,
        counts.active_users,
        counts.new_users,
        counts.awards,
        counts.points
    ])?;
    Ok(())
}

/// A tenant's counts summed over the hours from `since_ms`'s on (all of them for None).
pub fn total(
    conn: &Connection,
    tenant: TenantId,
    since_ms: Option<i64>,
) -> rusqlite::Result<Counts> {
    conn.prepare_cached(
        "SELECT ifnull(sum(events), 0), ifnull(sum(active_users), 0), ifnull(sum(new_users), 0),
                ifnull(sum(awards), 0), ifnull(sum(points), 0)
           FROM activity_hours WHERE tenant_id = ?1 AND hour >= ?2",
    )?
    .query_row(params![tenant, since_ms.map_or(i64::MIN, hour_of)], |r| {
        counts(r, 0)
    })
}

/// The five counts of a row, from column `first` on, in the table's order.
fn counts(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Counts> {
    Ok(Counts {
        events: r.get(first)?,
        active_users: r.get(first + 1)?,
        new_users: r.get(first + 2)?,
        awards: r.get(first + 3)?,
        points: r.get(first + 4)?,
    })
}

/// A tenant's counts per UTC day (days since the epoch) from day `first` to day `last`,
/// both included; days with nothing are absent.
pub fn per_day(
    conn: &Connection,
    tenant: TenantId,
    first: i64,
    last: i64,
) -> rusqlite::Result<Vec<(i64, Counts)>> {
    crate::store::all_rows(
        conn,
        "SELECT hour / 24, sum(events), sum(active_users), sum(new_users), sum(awards), sum(points)
           FROM activity_hours
          WHERE tenant_id = ?1 AND hour >= ?2 AND hour < ?3
          GROUP BY hour / 24 ORDER BY 1",
        params![
            tenant,
            first.saturating_mul(24),
            last.saturating_add(1).saturating_mul(24)
        ],
        |r| Ok((r.get(0)?, counts(r, 1)?)),
    )
}

/// Adds `users` returns to a row of `activity_returns`.
pub fn add_returns(conn: &Connection, key: &returns::Key, users: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO activity_returns (tenant_id, day, control, gap, users)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (tenant_id, day, control, gap) DO UPDATE SET users = users + excluded.users",
    )?
    .execute(params![key.tenant, key.day, key.control, key.gap, users])?;
    Ok(())
}

/// A tenant's returns from day `first` to day `last` (both included), per control flag:
/// `(control, returns)` for the users outside the control group, then those in it.
pub fn returns(
    conn: &Connection,
    tenant: TenantId,
    first: i64,
    last: i64,
) -> rusqlite::Result<[returns::Returns; 2]> {
    let mut out = [returns::Returns::default(), returns::Returns::default()];
    let mut stmt = conn.prepare_cached(
        "SELECT day, control, gap, users FROM activity_returns
          WHERE tenant_id = ?1 AND day BETWEEN ?2 AND ?3",
    )?;
    let mut rows = stmt.query(params![tenant, first, last])?;
    while let Some(r) = rows.next()? {
        let control: bool = r.get(1)?;
        out[usize::from(control)].add(r.get(0)?, r.get(2)?, r.get(3)?);
    }
    Ok(out)
}

// The overview's counts (`GET /dashboard/api/overview`).

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Events {
    pub total: i64,
    /// Events at or after `since` (the handler passes now − 24 h).
    pub last24h: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Points {
    /// Awards written (negative ones included).
    pub awards: i64,
    /// Their sum.
    pub awarded: i64,
}

/// Events of `tenant`'s users: all of them, and those of the hours from `since_ms`'s on
/// (`activity_hours`: a few rows a day, not the events).
pub fn events(conn: &Connection, tenant: TenantId, since_ms: i64) -> rusqlite::Result<Events> {
    Ok(Events {
        total: total(conn, tenant, None)?.events,
        last24h: total(conn, tenant, Some(since_ms))?.events,
    })
}

/// Points awarded to `tenant`'s users.
pub fn points(conn: &Connection, tenant: TenantId) -> rusqlite::Result<Points> {
    let counts = total(conn, tenant, None)?;
    Ok(Points {
        awards: counts.awards,
        awarded: counts.points,
    })
}
