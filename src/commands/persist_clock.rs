//! Remembers the test clock in the database so a restart never moves time backwards.

use chrono::{DateTime, Utc};
use rusqlite::params;

use crate::error::ApiError;
use crate::writer::{Command, WriteCtx};

pub const META_KEY: &str = "test_clock_ms";

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
