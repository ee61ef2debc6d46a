//! SQLite: opening connections with the right pragmas, migrations, the reader pool and
//! checkpoint policy. Only the writer thread ever holds a connection that may write.

mod checkpoint;
mod deferred_indexes;
mod migrations;
pub mod page_cache;
mod readers;

use std::path::Path;

use rusqlite::Connection;

use crate::config::Durability;

pub use checkpoint::{BackgroundCheckpointer, CheckpointAction, CheckpointPolicy, WalYield};
pub use deferred_indexes::{drop_for_import, restore as restore_deferred_indexes};
pub use migrations::{migrate, schema_version};
pub use readers::{open_reader_pool, ReaderPool};

/// Prepared statements each connection keeps. The event path with every feature on runs
/// about a hundred distinct statements; with rusqlite's default of 16 most of them were
/// parsed again on every event (the parser was the top of the writer's profile).
const STATEMENT_CACHE: usize = 512;

/// How long a connection waits on a lock before giving up. Readers never block the
/// writer in WAL mode; this only matters for checkpoints and `trophyd backup`.
const BUSY_TIMEOUT_MS: u32 = 5_000;

/// The writer's page cache. Bigger is not better: when a b-tree split renumbers pages,
/// SQLite parks one at the lock-byte page number (1 GiB in), and the next COMMIT then
/// walks the cache's whole hash table to drop pages past the end of the file. At 64 MiB
/// (16,384 slots) that walk was 6% of the writer's CPU and about 180 µs per commit, seen
/// with `perf probe` on `pcache1TruncateUnsafe`; at 16 MiB commits cost less and the hot
/// pages still fit.
const WRITER_CACHE_KIB: u32 = 16 * 1024;

#[cfg(test)]
pub(crate) use migrations::in_memory_before;

/// A migrated in-memory database, for unit tests of SQL.
#[cfg(test)]
pub fn migrated_in_memory() -> Connection {
    let mut conn = Connection::open_in_memory().expect("in-memory database");
    migrate(&mut conn).expect("migrations");
    conn
}

/// The writer's page cache under `trophyd import`: its runs of thousands of events dirty
/// tens of thousands of pages a transaction, which should stay in memory until COMMIT
/// rather than be read back from the file (a quarter of an import's time went to `pread`
/// at 16 MiB). The walk `WRITER_CACHE_KIB` is about costs once a commit, and an import
/// commits once per run.
const IMPORT_CACHE_KIB: u32 = 512 * 1024;

/// Gives the write connection the page cache of an import.
pub fn widen_cache_for_import(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!("PRAGMA cache_size = -{IMPORT_CACHE_KIB};"))
}

/// Opens the single write connection: WAL, the configured fsync policy, foreign keys,
/// and automatic checkpoints switched off because `CheckpointPolicy` runs them.
pub fn open_writer(path: &Path, durability: Durability) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = {synchronous};
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};
         PRAGMA wal_autocheckpoint = 0;
         PRAGMA cache_size = -{WRITER_CACHE_KIB};
         PRAGMA temp_store = MEMORY;"
    ))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    stable_plans(&conn)?;
    Ok(conn)
}

/// Under `checkpoints = "external"`: SQLite would otherwise checkpoint the WAL and delete
/// it when the last connection closes, which makes Litestream lose its place. Automatic
/// checkpoints are already off on every connection we open for writing.
pub fn no_checkpoint_on_close(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )?;
    Ok(())
}

thread_local! {
    /// Frames in the WAL after the last commit of a connection `track_wal_frames` was
    /// called on, from this thread.
    static WAL_FRAMES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts the frames in the WAL after each commit of `conn` (SQLite's WAL hook, which runs
/// on the committing thread): `wal_frames` on that thread reads the count. The count drops
/// when a checkpoint by any process lets a commit start the WAL over.
pub fn track_wal_frames(conn: &Connection) {
    fn record(_: &rusqlite::hooks::Wal, frames: std::ffi::c_int) -> rusqlite::Result<()> {
        WAL_FRAMES.with(|f| f.set(u64::try_from(frames).unwrap_or(0)));
        Ok(())
    }
    conn.wal_hook(Some(record));
}

/// Frames in the WAL after the last commit on this thread (see `track_wal_frames`).
pub fn wal_frames() -> u64 {
    WAL_FRAMES.with(std::cell::Cell::get)
}

/// Turns on the query planner stability guarantee. Without it SQLite 3.50 plans
/// `LIMIT ?n` (and LIKE with a bound pattern) for the value bound, so every new binding
/// re-prepares the statement: the statement cache saved nothing for those, and parsing
/// took a tenth of the server's CPU under rank reads. One plan per statement suits us: our
/// queries are written for their indexes, and there are no ANALYZE statistics to use.
fn stable_plans(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// Pragmas every read connection gets.
fn prepare_reader(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};
         PRAGMA query_only = ON;
         PRAGMA cache_size = -16384;"
    ))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    stable_plans(conn)
}

/// `trophyd backup`: a consistent copy of a live database through SQLite's backup API.
pub fn backup(source: &Path, dest: &Path) -> rusqlite::Result<()> {
    let src = Connection::open_with_flags(source, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    src.execute_batch(&format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};"))?;
    let mut dst = Connection::open(dest)?;
    let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
    backup.run_to_completion(256, std::time::Duration::from_millis(5), None)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;

    /// Runs `SELECT .. LIMIT ?1` from the statement cache with three limits and returns
    /// how many times SQLite re-prepared it.
    fn reprepares(conn: &Connection) -> i32 {
        for limit in 1..=3 {
            let mut stmt = conn
                .prepare_cached("SELECT value FROM generate_limits LIMIT ?1")
                .expect("prepare");
            let rows: Vec<i64> = stmt
                .query_map([limit], |r| r.get(0))
                .expect("query")
                .collect::<rusqlite::Result<_>>()
                .expect("rows");
            assert_eq!(rows.len(), limit as usize);
        }
        conn.prepare_cached("SELECT value FROM generate_limits LIMIT ?1")
            .expect("prepare")
            .get_status(StatementStatus::RePrepare)
    }

    #[test]
    fn cached_statements_with_a_bound_limit_are_not_reprepared() {
        let dir = tempfile::tempdir().expect("dir");
        let conn = open_writer(&dir.path().join("t.db"), Durability::Normal).expect("open");
        conn.execute_batch(
            "CREATE TABLE generate_limits (value INTEGER);
             INSERT INTO generate_limits VALUES (1), (2), (3), (4);",
        )
        .expect("table");
        assert_eq!(reprepares(&conn), 0);

        let plain = Connection::open(dir.path().join("t.db")).expect("open plain");
        assert!(
            reprepares(&plain) > 0,
            "without the stability guarantee SQLite re-prepares on each new LIMIT"
        );
    }
}
