//! Numbered migrations from `sql/`, embedded in the binary and applied at start.
//! `PRAGMA user_version` records how many have been applied.

use rusqlite::Connection;

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_foundation",
        include_str!("../../sql/0001_foundation.sql"),
    ),
    (
        "0002_webhook_outbox",
        include_str!("../../sql/0002_webhook_outbox.sql"),
    ),
    (
        "0003_webhook_delivery",
        include_str!("../../sql/0003_webhook_delivery.sql"),
    ),
    ("0004_streaks", include_str!("../../sql/0004_streaks.sql")),
    (
        "0005_achievements",
        include_str!("../../sql/0005_achievements.sql"),
    ),
    ("0006_points", include_str!("../../sql/0006_points.sql")),
    (
        "0007_leaderboards",
        include_str!("../../sql/0007_leaderboards.sql"),
    ),
    (
        "0008_admin_wrapped",
        include_str!("../../sql/0008_admin_wrapped.sql"),
    ),
    (
        "0009_event_touches_user",
        include_str!("../../sql/0009_event_touches_user.sql"),
    ),
    (
        "0010_rank_index_in_memory",
        include_str!("../../sql/0010_rank_index_in_memory.sql"),
    ),
    (
        "0011_completions_by_user_only",
        include_str!("../../sql/0011_completions_by_user_only.sql"),
    ),
    (
        "0012_anniversaries",
        include_str!("../../sql/0012_anniversaries.sql"),
    ),
    (
        "0013_leaderboard_history_groups",
        include_str!("../../sql/0013_leaderboard_history_groups.sql"),
    ),
    (
        "0014_notifications",
        include_str!("../../sql/0014_notifications.sql"),
    ),
    (
        "0015_user_search",
        include_str!("../../sql/0015_user_search.sql"),
    ),
    ("0016_activity", include_str!("../../sql/0016_activity.sql")),
    (
        "0017_engagement",
        include_str!("../../sql/0017_engagement.sql"),
    ),
    (
        "0018_user_keys",
        include_str!("../../sql/0018_user_keys.sql"),
    ),
    (
        "0019_streak_settings_definition",
        include_str!("../../sql/0019_streak_settings_definition.sql"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("the database is at schema version {found}, newer than this trophyd ({known}); upgrade trophyd")]
    TooNew { found: usize, known: usize },
    #[error("migration {name} failed: {source}")]
    Failed {
        name: &'static str,
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// The schema version this trophyd migrates databases to (`PRAGMA user_version`).
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}

/// Applies every migration the database has not seen yet, each in its own transaction,
/// then builds the indexes an interrupted import left out.
pub fn migrate(conn: &mut Connection) -> Result<(), MigrationError> {
    let applied: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    if applied > MIGRATIONS.len() {
        return Err(MigrationError::TooNew {
            found: applied,
            known: MIGRATIONS.len(),
        });
    }
    for (index, (name, sql)) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .and_then(|_| tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1)))
            .map_err(|source| MigrationError::Failed { name, source })?;
        tx.commit()?;
    }
    super::deferred_indexes::restore(conn)?;
    Ok(())
}

/// An in-memory database migrated up to, not including, the migration `name`, at that
/// schema version: what an older trophyd left, for tests of a migration.
#[cfg(test)]
pub(crate) fn in_memory_before(name: &str) -> Connection {
    let conn = Connection::open_in_memory().expect("in-memory db");
    let before = MIGRATIONS
        .iter()
        .position(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no migration {name}"));
    for (_, sql) in &MIGRATIONS[..before] {
        conn.execute_batch(sql).expect("older migration");
    }
    conn.execute_batch(&format!("PRAGMA user_version = {before}"))
        .expect("version");
    conn
}

#[cfg(test)]
mod tests {
    use rusqlite::OptionalExtension;

    use super::*;

    /// A database migrated up to the migration `name` (not applied), and how many were.
    fn migrated_before(name: &str) -> (Connection, usize) {
        let conn = Connection::open_in_memory().expect("in-memory db");
        let before = MIGRATIONS
            .iter()
            .position(|(n, _)| *n == name)
            .expect("a migration of that name");
        for (_, sql) in &MIGRATIONS[..before] {
            conn.execute_batch(sql).expect("older migration");
        }
        (conn, before)
    }

    #[test]
    fn activity_hours_count_what_a_database_held_before_0016() {
        let (mut conn, before) = migrated_before("0016_activity");
        const H: i64 = 3_600_000;
        let day = 20_000 * 24 * H;
        conn.execute_batch(&format!(
            "PRAGMA user_version = {before};
             INSERT INTO tenants (id, uuid, customer_id, name, created, updated)
                 VALUES (1, 't1', 'default', 'Default', 0, 0), (2, 't2', 'b', 'B', 0, 0);
             INSERT INTO users (id, tenant_id, external_id, subscribe_to_emails, attributes,
                                control, preferences, created, updated)
                 VALUES (1, 1, 'ann', 1, '{{}}', 0, '{{}}', {d9}, 0),
                        (2, 1, 'bob', 1, '{{}}', 0, '{{}}', {d9}, 0),
                        (3, 2, 'cy', 1, '{{}}', 0, '{{}}', {d9}, 0);
             INSERT INTO events (uuid, user_id, metric_id, value, at, tz) VALUES
                 ('e1', 1, 1, 1, {d9}, 'UTC'), ('e2', 1, 1, 1, {d10}, 'UTC'),
                 ('e3', 2, 1, 1, {d10}, 'UTC'), ('e4', 1, 1, 1, {next}, 'UTC'),
                 ('e5', 3, 1, 1, {d9}, 'UTC');
             INSERT INTO points_awards (uuid, user_id, system_id, trigger_id, awarded, total,
                                        at_ms, snapshot_id, boosts)
                 VALUES ('a1', 1, 9, 1, 10, 10, {d10}, 1, '[]'), ('a2', 2, 9, 1, 5, 5, {d10}, 1, '[]');",
            d9 = day + 9 * H,
            d10 = day + 10 * H + 1,
            next = day + 24 * H + 5,
        ))
        .expect("seed");
        migrate(&mut conn).expect("migrate");
        let rows: Vec<(i64, i64, i64, i64, i64, i64, i64)> = conn
            .prepare("SELECT tenant_id, hour, events, active_users, new_users, awards, points FROM activity_hours ORDER BY 1, 2")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        let h = day / H;
        assert_eq!(
            rows,
            [
                (1, h + 9, 1, 1, 2, 0, 0),
                (1, h + 10, 2, 1, 0, 2, 15),
                (1, h + 24, 1, 1, 0, 0, 0),
                (2, h + 9, 1, 1, 1, 0, 0),
            ]
        );
        // 0017 counts the same days' returns: first events ever, then ann's a day later.
        let returns: Vec<(i64, i64, i64, i64, i64)> = conn
            .prepare(
                "SELECT tenant_id, day, control, gap, users FROM activity_returns ORDER BY 1, 2",
            )
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect()
            })
            .expect("returns");
        let d = day / (24 * H);
        assert_eq!(
            returns,
            [(1, d, 0, 31, 2), (1, d + 1, 0, 1, 1), (2, d, 0, 31, 1)]
        );
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().expect("in-memory db");
        migrate(&mut conn).expect("first migration");
        migrate(&mut conn).expect("second migration");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("user_version");
        assert_eq!(version as usize, MIGRATIONS.len());
    }

    #[test]
    fn leaderboard_history_rows_from_before_0012_get_their_users_group() {
        let (mut conn, before) = migrated_before("0013_leaderboard_history_groups");
        conn.execute_batch(&format!(
            "PRAGMA user_version = {before};
             INSERT INTO leaderboard_values VALUES (7, '2031-03-01', 1, 'US', 5, 0, 1);
             INSERT INTO leaderboard_history (leaderboard_id, run_start, user_id, at_ms, rank, value)
                 VALUES (7, '2031-03-01', 1, 0, 1, 5), (7, '2031-03-01', 2, 0, 2, 3);"
        ))
        .expect("seed");
        migrate(&mut conn).expect("migrate");
        let groups: Vec<(i64, Option<String>, Option<String>)> = conn
            .prepare("SELECT user_id, grp, previous_grp FROM leaderboard_history ORDER BY user_id")
            .and_then(|mut s| {
                s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect()
            })
            .expect("rows");
        assert_eq!(
            groups,
            [(1, Some("US".to_owned()), None), (2, None, None)],
            "a user whose value was pruned keeps no group"
        );
    }

    #[test]
    fn streak_settings_move_from_meta_to_their_definitions_row_byte_for_byte() {
        // Spaced and ordered as no serializer of ours writes it: moved, not rewritten.
        let body = r#"{"metrics": [{"key": "lessons", "threshold": 1}], "frequency": "daily"}"#;
        let mut conn = in_memory_before("0019_streak_settings_definition");
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('streak_settings', ?1),
                 ('streak_fingerprint', 'rules'), ('streak_freeze_fingerprint', 'null'),
                 ('other', 'kept')",
            [body],
        )
        .expect("seed");
        let started = chrono::Utc::now().timestamp_millis();
        migrate(&mut conn).expect("migrate");
        let row: (String, Option<i64>, String, String, i64, String, i64, i64) = conn
            .query_row(
                "SELECT uuid, tenant_id, key, status, managed, body, created, updated
                   FROM definitions WHERE kind = 'streak_settings'",
                [],
                |r| r.try_into(),
            )
            .expect("the definitions row");
        let (uuid, tenant, key, status, managed, stored, created, updated) = row;
        assert_eq!(
            (
                tenant,
                key.as_str(),
                status.as_str(),
                managed,
                stored.as_str()
            ),
            (None, "streak", "active", 0, body)
        );
        let parsed = uuid::Uuid::parse_str(&uuid).expect("a UUID");
        assert_eq!(uuid, parsed.to_string(), "lower case, hyphenated");
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(created, updated);
        assert!(
            (started - 1..=started + 60_000).contains(&created),
            "{created}"
        );
        let row = crate::store::definitions::streak_settings(&conn)
            .expect("reads back")
            .expect("row");
        assert_eq!(row.body["frequency"], "daily");
        let meta: Vec<(String, String)> = conn
            .prepare(
                "SELECT key, value FROM meta
                  WHERE key IN ('other', 'streak_settings', 'streak_fingerprint',
                                'streak_freeze_fingerprint')
                  ORDER BY key",
            )
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .expect("meta");
        let meta: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (&k[..], &v[..])).collect();
        assert_eq!(
            meta,
            [
                ("other", "kept"),
                ("streak_fingerprint", "rules"),
                ("streak_freeze_fingerprint", "null"),
            ],
            "the settings left meta, the engine's fingerprints stayed unchanged"
        );
    }

    #[test]
    fn streak_settings_that_are_null_or_absent_move_as_no_row_and_damage_moves_as_is() {
        for (value, row) in [
            (None, None),
            (Some("null"), None),
            (Some(" null "), None),
            (Some("{\"metrics\": "), Some("{\"metrics\": ")),
            (Some("[1, 2]"), Some("[1, 2]")),
        ] {
            let mut conn = in_memory_before("0019_streak_settings_definition");
            if let Some(value) = value {
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('streak_settings', ?1)",
                    [value],
                )
                .expect("seed");
            }
            migrate(&mut conn).expect("migrate");
            let body: Option<String> = conn
                .query_row(
                    "SELECT body FROM definitions WHERE kind = 'streak_settings'",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .expect("body");
            assert_eq!(body.as_deref(), row, "{value:?}");
            let left: i64 = conn
                .query_row(
                    "SELECT count(*) FROM meta WHERE key = 'streak_settings'",
                    [],
                    |r| r.get(0),
                )
                .expect("meta");
            assert_eq!(left, 0, "{value:?}");
            if row.is_some() {
                // The start refuses, naming the row, as it refused the meta row.
                let message = crate::store::definitions::live(&conn)
                    .expect_err("unreadable")
                    .to_string();
                assert!(
                    message.contains("(streak_settings \"streak\")"),
                    "{message}"
                );
            }
        }
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().expect("in-memory db");
        conn.execute_batch("PRAGMA user_version = 999")
            .expect("set version");
        assert!(matches!(
            migrate(&mut conn),
            Err(MigrationError::TooNew { .. })
        ));
    }
}
