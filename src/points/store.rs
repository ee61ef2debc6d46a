//! The SQL of points: totals, awards, the counters of metric triggers, and the bucket and
//! level counts the summaries read. Statements are prepared once per connection.

use std::collections::HashMap;

use rusqlite::types::{FromSql, ToSql};
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::rules::{bucket_of, level_index};
use crate::domain::ids::{DefinitionId, TenantId, UserRow};

pub fn total(
    conn: &Connection,
    user: UserRow,
    system: DefinitionId,
) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT total FROM points_totals WHERE user_id = ?1 AND system_id = ?2")?
        .query_row(params![user, system], |r| r.get(0))
        .optional()
}

pub fn set_total(
    conn: &Connection,
    user: UserRow,
    system: DefinitionId,
    tenant: TenantId,
    total: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO points_totals (user_id, system_id, tenant_id, total) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id, system_id) DO UPDATE SET total = excluded.total",
    )?
    .execute(params![user, system, tenant, total])?;
    Ok(())
}

pub struct NewAward<'a> {
    pub uuid: &'a str,
    pub user: UserRow,
    pub system: DefinitionId,
    pub trigger: DefinitionId,
    pub awarded: i64,
    pub total: i64,
    pub at_ms: i64,
    pub snapshot: i64,
    pub boosts_json: &'a str,
}

pub fn insert_award(conn: &Connection, a: &NewAward<'_>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO points_awards (uuid, user_id, system_id, trigger_id, awarded, total, at_ms, snapshot_id, boosts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        a.uuid,
        a.user,
        a.system,
        a.trigger,
        a.awarded,
        a.total,
        a.at_ms,
        a.snapshot,
        a.boosts_json
    ])?;
    Ok(())
}

/// The snapshot row of a trigger as of its `updated` time, written by `render` the first
/// time that version pays out.
pub fn snapshot(
    conn: &Connection,
    trigger: DefinitionId,
    updated: i64,
    render: impl FnOnce() -> String,
) -> rusqlite::Result<i64> {
    let found: Option<i64> = conn
        .prepare_cached(
            "SELECT id FROM points_trigger_snapshots WHERE trigger_id = ?1 AND updated = ?2",
        )?
        .query_row(params![trigger, updated], |r| r.get(0))
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    conn.prepare_cached(
        "INSERT INTO points_trigger_snapshots (trigger_id, updated, body) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![trigger, updated, render()])?;
    Ok(conn.last_insert_rowid())
}

/// The user's best-ever total on a metric, when it is above the current one.
pub fn metric_best(
    conn: &Connection,
    user: UserRow,
    metric: DefinitionId,
) -> rusqlite::Result<Option<f64>> {
    conn.prepare_cached(
        "SELECT best FROM points_metric_marks WHERE user_id = ?1 AND metric_id = ?2",
    )?
    .query_row(params![user, metric], |r| r.get(0))
    .optional()
}

pub fn set_metric_best(
    conn: &Connection,
    user: UserRow,
    metric: DefinitionId,
    best: Option<f64>,
) -> rusqlite::Result<()> {
    match best {
        Some(best) => conn
            .prepare_cached(
                "INSERT INTO points_metric_marks (user_id, metric_id, best) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user_id, metric_id) DO UPDATE SET best = excluded.best",
            )?
            .execute(params![user, metric, best])?,
        None => conn
            .prepare_cached(
                "DELETE FROM points_metric_marks WHERE user_id = ?1 AND metric_id = ?2",
            )?
            .execute(params![user, metric])?,
    };
    Ok(())
}

/// `(acc, best)` of a metric trigger with event filters.
pub fn progress(
    conn: &Connection,
    user: UserRow,
    trigger: DefinitionId,
) -> rusqlite::Result<(f64, f64)> {
    Ok(conn
        .prepare_cached(
            "SELECT acc, best FROM points_trigger_progress WHERE user_id = ?1 AND trigger_id = ?2",
        )?
        .query_row(params![user, trigger], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or((0.0, 0.0)))
}

pub fn set_progress(
    conn: &Connection,
    user: UserRow,
    trigger: DefinitionId,
    acc: f64,
    best: f64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO points_trigger_progress (user_id, trigger_id, acc, best) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id, trigger_id) DO UPDATE SET acc = excluded.acc, best = excluded.best",
    )?
    .execute(params![user, trigger, acc, best])?;
    Ok(())
}

/// `key` is a bucket, or a level id (`NO_LEVEL` below every level).
fn bump<K: ToSql>(
    conn: &Connection,
    sql: &'static str,
    (system, tenant, key): (DefinitionId, TenantId, K),
    delta: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?
        .execute(params![system, tenant, key, delta])?;
    Ok(())
}

/// The `level_id` of the users below every level in `points_level_counts`: no definition
/// row has id 0.
pub const NO_LEVEL: DefinitionId = DefinitionId::from_raw(0);

const BUMP_BUCKET: &str = "INSERT INTO points_buckets (system_id, tenant_id, bucket, users)
     VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (system_id, tenant_id, bucket) DO UPDATE SET users = users + excluded.users";

const BUMP_LEVEL: &str = "INSERT INTO points_level_counts (system_id, tenant_id, level_id, users)
     VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (system_id, tenant_id, level_id) DO UPDATE SET users = users + excluded.users";

/// Moves one user's contribution to the summary counts from `before` (None: the user had
/// no totals row) to `after`. `levels` are `(threshold, level id)` ascending.
pub fn move_counts(
    conn: &Connection,
    system: DefinitionId,
    tenant: TenantId,
    levels: &[(i64, DefinitionId)],
    before: Option<i64>,
    after: i64,
) -> rusqlite::Result<()> {
    let level_of = |total: i64| {
        let thresholds: Vec<i64> = levels.iter().map(|(t, _)| *t).collect();
        level_index(&thresholds, total).map_or(NO_LEVEL, |i| levels[i].1)
    };
    if let Some(before) = before {
        if bucket_of(before) != bucket_of(after) {
            bump(conn, BUMP_BUCKET, (system, tenant, bucket_of(before)), -1)?;
            bump(conn, BUMP_BUCKET, (system, tenant, bucket_of(after)), 1)?;
        }
        if level_of(before) != level_of(after) {
            bump(conn, BUMP_LEVEL, (system, tenant, level_of(before)), -1)?;
            bump(conn, BUMP_LEVEL, (system, tenant, level_of(after)), 1)?;
        }
    } else {
        bump(conn, BUMP_BUCKET, (system, tenant, bucket_of(after)), 1)?;
        bump(conn, BUMP_LEVEL, (system, tenant, level_of(after)), 1)?;
    }
    Ok(())
}

/// `(bucket, users)` of the users with a totals row.
pub fn buckets(
    conn: &Connection,
    system: DefinitionId,
    tenant: TenantId,
) -> rusqlite::Result<Vec<(i64, i64)>> {
    users_by(
        conn,
        "SELECT bucket, users FROM points_buckets",
        system,
        tenant,
    )
}

/// Users with a totals row by level id (`NO_LEVEL`: below every level).
pub fn level_counts(
    conn: &Connection,
    system: DefinitionId,
    tenant: TenantId,
) -> rusqlite::Result<HashMap<DefinitionId, i64>> {
    users_by(
        conn,
        "SELECT level_id, users FROM points_level_counts",
        system,
        tenant,
    )
}

/// The `(value, users)` rows `select` reads of one system and tenant.
fn users_by<K: FromSql, C: FromIterator<(K, i64)>>(
    conn: &Connection,
    select: &str,
    system: DefinitionId,
    tenant: TenantId,
) -> rusqlite::Result<C> {
    let mut stmt =
        conn.prepare_cached(&format!("{select} WHERE system_id = ?1 AND tenant_id = ?2"))?;
    let rows = stmt.query_map(params![system, tenant], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Recounts users per level of `system` after its levels changed, if they did since the
/// counts were last made. One pass over the system's totals rows, in the writer.
pub fn reconcile_levels(
    conn: &Connection,
    system: DefinitionId,
    levels: &[(i64, DefinitionId)],
) -> rusqlite::Result<()> {
    // Stored: the Debug text of the (threshold, level id) integer pairs, as written before
    // level ids had their own type, so an unchanged system is not recounted.
    let pairs: Vec<(i64, i64)> = levels.iter().map(|&(t, id)| (t, id.get())).collect();
    let fingerprint = format!("{pairs:?}");
    let stored: Option<String> = conn
        .prepare_cached("SELECT fingerprint FROM points_level_fingerprints WHERE system_id = ?1")?
        .query_row([system], |r| r.get(0))
        .optional()?;
    if stored.as_deref() == Some(fingerprint.as_str()) {
        return Ok(());
    }
    conn.execute(
        "DELETE FROM points_level_counts WHERE system_id = ?1",
        [system],
    )?;
    let thresholds: Vec<i64> = levels.iter().map(|(t, _)| *t).collect();
    let mut counts: HashMap<(TenantId, DefinitionId), i64> = HashMap::new();
    {
        let mut stmt =
            conn.prepare("SELECT tenant_id, total FROM points_totals WHERE system_id = ?1")?;
        let rows = stmt.query_map([system], |r| {
            Ok((r.get::<_, TenantId>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (tenant, total) = row?;
            let level = level_index(&thresholds, total).map_or(NO_LEVEL, |i| levels[i].1);
            *counts.entry((tenant, level)).or_insert(0) += 1;
        }
    }
    for ((tenant, level), users) in counts {
        bump(conn, BUMP_LEVEL, (system, tenant, level), users)?;
    }
    conn.execute(
        "INSERT INTO points_level_fingerprints (system_id, fingerprint) VALUES (?1, ?2)
         ON CONFLICT (system_id) DO UPDATE SET fingerprint = excluded.fingerprint",
        params![system, fingerprint],
    )?;
    Ok(())
}

/// The `n` most recent awards as `(uuid, awarded, total, at_ms, trigger, boosts)`.
pub type AwardRow = (String, i64, i64, i64, Value, Value);

pub fn recent_awards(
    conn: &Connection,
    user: UserRow,
    system: DefinitionId,
    n: i64,
) -> rusqlite::Result<Vec<AwardRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.uuid, a.awarded, a.total, a.at_ms, s.body, a.boosts
           FROM points_awards a JOIN points_trigger_snapshots s ON s.id = a.snapshot_id
          WHERE a.user_id = ?1 AND a.system_id = ?2 ORDER BY a.at_ms DESC, a.id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![user, system, n], |r| {
        let uuid: String = r.get(0)?;
        let trigger: String = r.get(4)?;
        let boosts: String = r.get(5)?;
        let trigger = crate::store::stored_json(
            &trigger,
            format_args!("the trigger snapshot of points award {uuid}"),
        )?;
        let boosts =
            crate::store::stored_json(&boosts, format_args!("the boosts of points award {uuid}"))?;
        Ok((uuid, r.get(1)?, r.get(2)?, r.get(3)?, trigger, boosts))
    })?;
    rows.collect()
}

/// `(at_ms, awarded)` of the awards at or after `since_ms`, oldest first.
pub fn awards_since(
    conn: &Connection,
    user: UserRow,
    system: DefinitionId,
    since_ms: i64,
) -> rusqlite::Result<Vec<(i64, i64)>> {
    crate::store::all_rows(
        conn,
        "SELECT at_ms, awarded FROM points_awards
          WHERE user_id = ?1 AND system_id = ?2 AND at_ms >= ?3 ORDER BY at_ms, id",
        params![user, system, since_ms],
        |r| r.try_into(),
    )
}

/// Totals of the users of `tenant` whose attributes include every pair of `filter`
/// (users without a totals row count as 0). A scan of the tenant's users: only the
/// attribute-filtered summary needs it, the unfiltered one reads the bucket counts.
pub fn filtered_totals(
    conn: &Connection,
    system: DefinitionId,
    tenant: TenantId,
    filter: &[(String, String)],
) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT u.attributes, ifnull(t.total, 0) FROM users u
           LEFT JOIN points_totals t ON t.user_id = u.id AND t.system_id = ?1
          WHERE u.tenant_id = ?2",
    )?;
    let rows = stmt.query_map(params![system, tenant], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (attributes, total) = row?;
        let attributes: std::collections::BTreeMap<String, String> =
            crate::store::stored(&attributes, "a user's attributes")?;
        if filter
            .iter()
            .all(|(k, v)| attributes.get(k).is_some_and(|a| a == v))
        {
            out.push(total);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::fixtures::{D1, D7};

    /// `level:users` of every count row, in level order.
    fn counts(conn: &Connection) -> String {
        conn.query_row(
            "SELECT group_concat(level_id || ':' || users, ' ')
               FROM (SELECT level_id, users FROM points_level_counts ORDER BY level_id)",
            [],
            |r| r.get(0),
        )
        .expect("counts")
    }

    #[test]
    fn a_fingerprint_stored_before_level_ids_had_a_type_still_matches() {
        let conn = crate::db::migrated_in_memory();
        conn.execute_batch(
            "INSERT INTO points_level_fingerprints (system_id, fingerprint) VALUES (1, '[(100, 7)]');
             INSERT INTO points_level_counts (system_id, tenant_id, level_id, users) VALUES (1, 1, 7, 42);
             INSERT INTO points_totals (user_id, system_id, tenant_id, total) VALUES (1, 1, 1, 150);",
        )
        .expect("seed");
        // The same levels: the stored text is recognised and nothing is recounted.
        reconcile_levels(&conn, D1, &[(100, D7)]).expect("reconcile");
        assert_eq!(counts(&conn), "7:42");
        // Other levels: recounted from the totals.
        reconcile_levels(&conn, D1, &[(200, D7)]).expect("reconcile");
        assert_eq!(counts(&conn), format!("{}:1", NO_LEVEL.get()));
    }
}
