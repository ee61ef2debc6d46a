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

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut conn = Connection::open_in_memory().expect("in-memory db");
        let before = MIGRATIONS
            .iter()
            .position(|(name, _)| *name == "0013_leaderboard_history_groups")
            .expect("0012");
        for (_, sql) in &MIGRATIONS[..before] {
            conn.execute_batch(sql).expect("older migration");
        }
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
