//! Indexes that only read routes use, which `trophyd import` leaves out while it applies
//! history and builds once at its end. Each of them is keyed by user, so a run of
//! thousands of events dirties most of its pages and rewrites it whole: at 1M events for
//! 10k users, keeping these three up to date cost the import about 7 s, building them at the
//! end about 3 s.
//!
//! Nothing the writer does looks rows up through them (the event path, the scheduler's
//! jobs and the import never filter on these columns), so leaving them out changes no
//! result, only the speed of the reads that need them. An import that stops early leaves
//! them out: [`restore`] runs with every migration, so the next start of the server (or
//! of an import) builds them again before anything reads.

use rusqlite::Connection;

/// Name and definition, exactly as the migrations create them.
const DEFERRED: [(&str, &str); 3] = [
    (
        "points_awards_by_user",
        "CREATE INDEX points_awards_by_user ON points_awards (user_id, system_id, at_ms)",
    ),
    (
        "leaderboard_history_by_user",
        "CREATE INDEX leaderboard_history_by_user
    ON leaderboard_history (leaderboard_id, user_id, run_start, at_ms)",
    ),
    (
        "leaderboard_history_by_group",
        "CREATE INDEX leaderboard_history_by_group
    ON leaderboard_history (leaderboard_id, run_start, grp, id)",
    ),
];

/// Drops the deferred indexes, in one transaction.
pub fn drop_for_import(conn: &Connection) -> rusqlite::Result<()> {
    let drops: String = DEFERRED
        .iter()
        .map(|(name, _)| format!("DROP INDEX IF EXISTS {name};"))
        .collect();
    conn.execute_batch(&format!("BEGIN; {drops} COMMIT;"))
}

/// Builds whichever deferred index is missing (none, unless an import left them out).
pub fn restore(conn: &Connection) -> rusqlite::Result<()> {
    for (name, sql) in DEFERRED {
        let present: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?1)",
            [name],
            |r| r.get(0),
        )?;
        if !present {
            conn.execute_batch(sql)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(conn: &Connection) -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query");
        rows.collect::<Result<_, _>>().expect("rows")
    }

    #[test]
    fn each_deferred_index_is_the_one_the_migrations_create() {
        let conn = crate::db::migrated_in_memory();
        let indexes = schema(&conn);
        for (name, sql) in DEFERRED {
            let migrated = indexes.iter().find(|(n, _)| n == name);
            assert_eq!(migrated.map(|(_, s)| s.as_str()), Some(sql), "{name}");
        }
    }

    #[test]
    fn restore_builds_what_an_import_dropped_and_nothing_else() {
        let conn = crate::db::migrated_in_memory();
        let before = schema(&conn);
        drop_for_import(&conn).expect("drop");
        let dropped = schema(&conn);
        assert_eq!(dropped.len(), before.len() - DEFERRED.len());
        restore(&conn).expect("restore");
        assert_eq!(schema(&conn), before);
        restore(&conn).expect("a second restore");
        assert_eq!(schema(&conn), before);
    }
}
