//! Deletes delivery-log rows 7 days after they finished (delivered or given up), as
//! Trophy keeps its delivery logs (behaviour.md §8.1). Pending rows are never deleted.

use chrono::{DateTime, Duration, Utc};
use rusqlite::OptionalExtension;

use crate::clock::from_millis;
use crate::error::ApiError;
use crate::scheduler::Job;
use crate::writer::WriteCtx;

pub const KEEP_FINISHED_DAYS: i64 = 7;

pub struct DeliveryLogExpiry;

impl Job for DeliveryLogExpiry {
    fn name(&self) -> &'static str {
        "webhook-log-expiry"
    }

    fn run(
        &self,
        ctx: &mut WriteCtx<'_>,
        until: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ApiError> {
        let keep = Duration::days(KEEP_FINISHED_DAYS);
        let cutoff = (until - keep).timestamp_millis();
        let removed = ctx.conn.execute(
            "DELETE FROM webhook_outbox WHERE finished IS NOT NULL AND finished <= ?1",
            [cutoff],
        )?;
        if removed > 0 {
            log::info!(
                "deleted {removed} webhook deliveries finished over {KEEP_FINISHED_DAYS} days ago"
            );
        }
        let oldest: Option<i64> = ctx
            .conn
            .query_row(
                "SELECT MIN(finished) FROM webhook_outbox WHERE finished IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        // Rows that finish later finish at or after `until`, so with none left the next
        // deletion is due a full retention period from now at the earliest.
        Ok(Some(match oldest {
            Some(ms) => from_millis(ms) + keep,
            None => until + keep,
        }))
    }
}
