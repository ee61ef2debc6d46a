//! SQLite: opening connections with the right pragmas, migrations, the reader pool and
//! checkpoint policy. Only the writer thread ever holds a connection that may write.

mod checkpoint;
mod migrations;
mod readers;

use std::path::Path;

use rusqlite::Connection;

use crate::config::Durability;

pub use checkpoint::{BackgroundCheckpointer, CheckpointAction, CheckpointPolicy};
pub use migrations::migrate;
pub use readers::{open_reader_pool, ReaderPool};

/// How long a connection waits on a lock before giving up. Readers never block the
/// writer in WAL mode; this only matters for checkpoints and `trophyd backup`.
const BUSY_TIMEOUT_MS: u32 = 5_000;

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
         PRAGMA cache_size = -65536;
         PRAGMA temp_store = MEMORY;"
    ))?;
    Ok(conn)
}

/// Pragmas every read connection gets.
fn prepare_reader(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};
         PRAGMA query_only = ON;
         PRAGMA cache_size = -16384;"
    ))
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
