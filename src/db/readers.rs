//! The pool of read-only connections that serves every GET.

use std::path::Path;

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::OpenFlags;

pub type ReaderPool = r2d2::Pool<SqliteConnectionManager>;

pub fn open_reader_pool(path: &Path, size: u32) -> Result<ReaderPool, r2d2::Error> {
    let manager = SqliteConnectionManager::file(path)
        .with_flags(
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .with_init(super::prepare_reader);
    r2d2::Pool::builder().max_size(size).build(manager)
}
