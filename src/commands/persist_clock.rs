//! Remembers the test clock in the database so a restart never moves time backwards, and
//! the engine's present: the latest time it has run at, which history imported later must
//! not precede (`trophyd import`).

use chrono::{DateTime, Utc};
use rusqlite::params;

use crate::error::ApiError;
use crate::writer::{Command, WriteCtx};

pub const META_KEY: &str = "test_clock_ms";
/// The latest time the engine was opened or stopped at.
const PRESENT_KEY: &str = "engine_present_ms";

pub struct PersistClock(pub DateTime<Utc>);

impl Command for PersistClock {
    type Output = ();

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<(), ApiError> {
        ctx.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![META_KEY, self.0.timestamp_millis().to_string()],
        )?;
        Ok(())
    }
}

/// Records that the engine has run at `now` (never moving the record back).
pub fn record_present(conn: &rusqlite::Connection, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE
         SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
        params![PRESENT_KEY, now.timestamp_millis().to_string()],
    )?;
    Ok(())
}

/// `record_present` through the writer, for a stopping engine.
pub struct RecordPresent(pub DateTime<Utc>);

impl Command for RecordPresent {
    type Output = ();

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<(), ApiError> {
        Ok(record_present(ctx.conn, self.0)?)
    }
}

/// The latest time the database has reached: the test clock, the engine's recorded
/// present, or its latest event. State after it (runs finished, streaks settled) was
/// computed without anything that happened before it and has not arrived yet.
pub fn present(conn: &rusqlite::Connection) -> rusqlite::Result<Option<DateTime<Utc>>> {
    use rusqlite::OptionalExtension;
    let mut latest: Option<i64> = None;
    for key in [META_KEY, PRESENT_KEY] {
        let value: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?;
        latest = latest.max(value.and_then(|v| v.parse().ok()));
    }
    let event: Option<i64> = conn.query_row("SELECT max(at) FROM events", [], |r| r.get(0))?;
    Ok(latest.max(event).map(crate::clock::from_millis))
}
