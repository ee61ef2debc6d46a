//! Forgets idempotency keys older than `[server] idempotency_ttl_days` (0 = never).

use chrono::{DateTime, Duration, Utc};

use super::{Job, NextDue};
use crate::store;
use crate::writer::WriteCtx;

pub struct IdempotencyExpiry {
    pub ttl_days: u32,
}

impl Job for IdempotencyExpiry {
    fn name(&self) -> &'static str {
        "idempotency-expiry"
    }

    fn run(&self, ctx: &mut WriteCtx<'_>, until: DateTime<Utc>) -> NextDue {
        if self.ttl_days == 0 {
            return Ok(None);
        }
        let cutoff = until - Duration::days(i64::from(self.ttl_days));
        let removed = store::events::expire_keys(ctx.conn, cutoff.timestamp_millis())?;
        if removed > 0 {
            log::info!("expired {removed} idempotency keys");
        }
        Ok(Some(until + Duration::hours(1)))
    }
}
