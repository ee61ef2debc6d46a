//! Counts for the dashboard's overview (`GET /dashboard/api/overview`): what the Admin API
//! has no route for. Every function reads; handlers run them on the reader pool.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use serde::Serialize;

use super::users;
use crate::domain::ids::{TenantId, UserRow};

/// The definition kinds counted, as stored in `definitions.kind`, with their JSON names.
const KINDS: [(&str, &str); 5] = [
    ("metric", "metrics"),
    ("attribute", "attributes"),
    ("achievement", "achievements"),
    ("points_system", "pointsSystems"),
    ("leaderboard", "leaderboards"),
];

/// Application keys listed at most (newest first).
pub const MAX_KEYS: i64 = 100;

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deliveries {
    pub pending: i64,
    pub failed: i64,
    pub delivered: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationKey {
    pub id: String,
    pub user_id: String,
    /// The part before the dot, safe to show; the key itself is never stored.
    pub prefix: String,
    pub created: String,
}

/// Users of `tenant`, from the count the writer keeps.
pub fn users(conn: &Connection, tenant: TenantId) -> rusqlite::Result<i64> {
    users::count(conn, tenant)
}

/// Active definitions `tenant` sees (its own and the shared ones) per kind, a key
/// defined both ways counted once. Every kind is present, zero when there are none.
pub fn definitions(conn: &Connection, tenant: TenantId) -> rusqlite::Result<BTreeMap<String, i64>> {
    let mut counts: BTreeMap<String, i64> = KINDS
        .iter()
        .map(|(_, name)| ((*name).to_owned(), 0))
        .collect();
    for (kind, n) in super::definitions::active_counts(conn, tenant)? {
        if let Some((_, name)) = KINDS.iter().find(|(k, _)| *k == kind.as_str()) {
            counts.insert((*name).to_owned(), n);
        }
    }
    Ok(counts)
}

/// Webhook deliveries by status. The outbox is the server's (webhook endpoints are
/// configured for the whole server), so these are not per tenant.
pub fn deliveries(conn: &Connection) -> rusqlite::Result<Deliveries> {
    let mut out = Deliveries::default();
    let mut stmt =
        conn.prepare_cached("SELECT status, count(*) FROM webhook_outbox GROUP BY status")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for row in rows {
        match row? {
            (s, n) if s == "pending" => out.pending = n,
            (s, n) if s == "failed" => out.failed = n,
            (s, n) if s == "delivered" => out.delivered = n,
            _ => {}
        }
    }
    Ok(out)
}

/// `tenant`'s active per-user application keys, newest first, at most [`MAX_KEYS`]. The
/// Admin API can create and delete them but has no list.
pub fn application_keys(
    conn: &Connection,
    tenant: TenantId,
) -> rusqlite::Result<Vec<ApplicationKey>> {
    let mut stmt = conn.prepare_cached(
        "SELECT k.uuid, u.external_id, k.prefix, k.created
           FROM api_keys k JOIN users u ON u.id = k.user_id
          WHERE k.kind = 'user' AND k.status = 'active' AND k.tenant_id = ?1
          ORDER BY k.id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![tenant, MAX_KEYS], application_key)?;
    rows.collect()
}

/// The active application keys of one user (their row id), newest first, at most
/// [`MAX_KEYS`].
pub fn keys_of_user(conn: &Connection, user: UserRow) -> rusqlite::Result<Vec<ApplicationKey>> {
    let mut stmt = conn.prepare_cached(
        "SELECT k.uuid, u.external_id, k.prefix, k.created
           FROM api_keys k JOIN users u ON u.id = k.user_id
          WHERE k.kind = 'user' AND k.user_id = ?1 AND k.status = 'active'
          ORDER BY k.id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![user, MAX_KEYS], application_key)?;
    rows.collect()
}

fn application_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApplicationKey> {
    let created_ms: i64 = r.get(3)?;
    Ok(ApplicationKey {
        id: r.get(0)?,
        user_id: r.get(1)?,
        prefix: r.get(2)?,
        created: crate::clock::format_timestamp(crate::clock::from_millis(created_ms)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity;
    use crate::activity::store::{events, points, Events};
    use crate::db::migrate;
    use crate::domain::ids::DefinitionId;
    use crate::domain::user::User;

    use crate::domain::ids::fixtures::{T1, T2};

    const HOUR: i64 = 3_600_000;
    const NOW: i64 = 1_900_000_000_000;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().expect("db");
        migrate(&mut conn).expect("migrations");
        for (id, customer) in [(1, ""), (2, "acme")] {
            conn.execute(
                "INSERT INTO tenants (id, uuid, customer_id, name, status, created, updated)
                 VALUES (?1, ?2, ?3, ?3, 'active', 0, 0)",
                params![id, format!("t-{id}"), customer],
            )
            .expect("tenant");
        }
        conn
    }

    fn user(conn: &Connection, tenant: TenantId, id: &str) -> UserRow {
        let user = User {
            row_id: UserRow::from_raw(0),
            tenant_id: tenant,
            id: id.into(),
            email: None,
            name: None,
            tz: None,
            device_tokens: None,
            subscribe_to_emails: true,
            attributes: Default::default(),
            control: false,
            sign_up_date: None,
            created: 0,
            updated: 0,
        };
        crate::store::users::insert(conn, &user)
            .expect("user")
            .row_id
    }

    fn definition(
        conn: &Connection,
        tenant: Option<TenantId>,
        kind: &str,
        key: &str,
        status: &str,
    ) -> DefinitionId {
        crate::store::definitions::insert(
            conn,
            &crate::store::definitions::New {
                uuid: &format!("{kind}-{key}-{tenant:?}"),
                tenant,
                kind: crate::store::definitions::Kind::parse(kind).expect("kind"),
                key,
                status: crate::store::definitions::Status::parse(status).expect("status"),
                managed: false,
                body: &serde_json::Map::new(),
                now_ms: 0,
            },
        )
        .expect("definition")
    }

    /// Counts as the writer adds them (`activity`), at a time.
    fn counted(conn: &Connection, tenant: TenantId, at_ms: i64, counts: activity::Counts) {
        activity::store::add(conn, tenant, activity::hour_of(at_ms), &counts).expect("add");
    }

    fn events_at(n: i64) -> activity::Counts {
        activity::Counts {
            events: n,
            ..Default::default()
        }
    }

    fn awards(n: i64, points: i64) -> activity::Counts {
        activity::Counts {
            awards: n,
            points,
            ..Default::default()
        }
    }

    fn delivery(conn: &Connection, status: &str) {
        conn.execute(
            "INSERT INTO webhook_outbox (uuid, endpoint, event_type, body, status, next_attempt, created)
             VALUES (?1, 'http://x', 'test', '{}', ?2, 0, 0)",
            params![uuid::Uuid::new_v4().to_string(), status],
        )
        .expect("delivery");
    }

    #[test]
    fn an_empty_database_counts_zero_everywhere() {
        let conn = db();
        assert_eq!(users(&conn, T1).expect("users"), 0);
        assert_eq!(
            events(&conn, T1, NOW).expect("events"),
            Events {
                total: 0,
                last24h: 0
            }
        );
        let p = points(&conn, T1).expect("points");
        assert_eq!((p.awards, p.awarded), (0, 0));
        let d = definitions(&conn, T1).expect("definitions");
        assert_eq!(d.len(), KINDS.len());
        assert!(d.values().all(|n| *n == 0), "{d:?}");
        assert_eq!(
            deliveries(&conn).expect("deliveries"),
            Deliveries::default()
        );
        assert!(application_keys(&conn, T1).expect("keys").is_empty());
    }

    #[test]
    fn counts_are_per_tenant_and_events_split_at_since() {
        let conn = db();
        definition(&conn, None, "metric", "lessons", "active");
        definition(&conn, None, "points_system", "xp", "active");
        definition(&conn, Some(T2), "points_system", "coins", "active");
        // Shared, overridden by tenant 2, archived, inactive, another tenant's.
        definition(&conn, Some(T2), "metric", "lessons", "active");
        definition(&conn, None, "metric", "old", "archived");
        definition(&conn, None, "achievement", "soon", "inactive");
        definition(&conn, None, "achievement", "first", "active");
        definition(&conn, Some(T2), "leaderboard", "weekly", "active");
        definition(&conn, None, "points_trigger", "t1", "active");

        user(&conn, T1, "ann");
        user(&conn, T1, "bob");
        user(&conn, T2, "ann");
        counted(&conn, T1, NOW - 48 * HOUR, events_at(1));
        counted(&conn, T1, NOW - 24 * HOUR, events_at(1));
        counted(&conn, T1, NOW - HOUR, events_at(1));
        counted(&conn, T2, NOW, events_at(1));
        counted(&conn, T1, NOW - HOUR, awards(1, 10));
        counted(&conn, T1, NOW, awards(1, -3));
        counted(&conn, T2, NOW, awards(2, 12));

        assert_eq!(users(&conn, T1).expect("users"), 2);
        assert_eq!(users(&conn, T2).expect("users"), 1);
        assert_eq!(
            events(&conn, T1, NOW - 24 * HOUR).expect("events"),
            Events {
                total: 3,
                last24h: 2
            }
        );
        assert_eq!(
            events(&conn, T2, NOW - 24 * HOUR).expect("events"),
            Events {
                total: 1,
                last24h: 1
            }
        );

        let p = points(&conn, T1).expect("points");
        assert_eq!((p.awards, p.awarded), (2, 7));
        let p = points(&conn, T2).expect("points");
        assert_eq!((p.awards, p.awarded), (2, 12));

        let d1 = definitions(&conn, T1).expect("definitions");
        assert_eq!(d1["metrics"], 1);
        assert_eq!(d1["achievements"], 1);
        assert_eq!(d1["pointsSystems"], 1);
        assert_eq!(d1["leaderboards"], 0);
        assert_eq!(d1["attributes"], 0);
        let d2 = definitions(&conn, T2).expect("definitions");
        assert_eq!(d2["metrics"], 1, "a key defined both ways counts once");
        assert_eq!(d2["pointsSystems"], 2);
        assert_eq!(d2["leaderboards"], 1);
    }

    #[test]
    fn deliveries_count_by_status() {
        let conn = db();
        for status in [
            "pending",
            "pending",
            "failed",
            "delivered",
            "delivered",
            "delivered",
        ] {
            delivery(&conn, status);
        }
        assert_eq!(
            deliveries(&conn).expect("deliveries"),
            Deliveries {
                pending: 2,
                failed: 1,
                delivered: 3
            }
        );
    }

    #[test]
    fn application_keys_are_the_tenants_active_ones_newest_first() {
        let conn = db();
        let ann = user(&conn, T1, "ann");
        let acme = user(&conn, T2, "cat");
        for (uuid, tenant, user, status, created) in [
            ("k1", 1, ann, "active", 1_000),
            ("k2", 1, ann, "archived", 2_000),
            ("k3", 2, acme, "active", 3_000),
            ("k4", 1, ann, "active", 4_000),
        ] {
            conn.execute(
                "INSERT INTO api_keys (uuid, kind, hash, prefix, tenant_id, user_id, status, created)
                 VALUES (?1, 'user', ?1, ?2, ?3, ?4, ?5, ?6)",
                params![uuid, format!("app_{uuid}"), tenant, user, status, created],
            )
            .expect("key");
        }
        let keys = application_keys(&conn, T1).expect("keys");
        assert_eq!(
            keys.iter()
                .map(|k| (k.id.as_str(), k.user_id.as_str(), k.prefix.as_str()))
                .collect::<Vec<_>>(),
            vec![("k4", "ann", "app_k4"), ("k1", "ann", "app_k1")]
        );
        assert_eq!(keys[0].created, "1970-01-01T00:00:04Z");
        assert_eq!(application_keys(&conn, T2).expect("keys").len(), 1);
    }
}
