//! Deletes the rows of a delivery log (the webhook outbox, the notification outbox) a
//! retention period after they finished (delivered, sent or given up). Pending rows, whose
//! `finished` is NULL, are never deleted. Each log's table has a partial index on
//! `finished`, so the deletion and the next due time read only finished rows.

use chrono::{DateTime, Duration, Utc};

use super::{Job, NextDue};
use crate::clock::from_millis;
use crate::writer::WriteCtx;

pub struct FinishedRowsExpiry {
    pub name: &'static str,
    /// A table with a nullable `finished` (ms) column.
    pub table: &'static str,
    pub keep_days: i64,
}

impl Job for FinishedRowsExpiry {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run(&self, ctx: &mut WriteCtx<'_>, until: DateTime<Utc>) -> NextDue {
        let keep = Duration::days(self.keep_days);
        let cutoff = (until - keep).timestamp_millis();
        let removed = ctx.conn.execute(
            &format!(
                "DELETE FROM {} WHERE finished IS NOT NULL AND finished <= ?1",
                self.table
            ),
            [cutoff],
        )?;
        if removed > 0 {
            log::info!(
                "deleted {removed} rows of {} finished over {} days ago",
                self.table,
                self.keep_days
            );
        }
        let oldest: Option<i64> = ctx.conn.query_row(
            &format!(
                "SELECT min(finished) FROM {} WHERE finished IS NOT NULL",
                self.table
            ),
            [],
            |r| r.get(0),
        )?;
        // Rows that finish later finish at or after `until`, so with none left the next
        // deletion is due a full retention period from now at the earliest.
        Ok(Some(match oldest {
            Some(ms) => from_millis(ms) + keep,
            None => until + keep,
        }))
    }
}
