//! `POST /admin/v1/metrics/events` (docs/behaviour/admin-api.md#batch-events): up to 1,000
//! events applied in order by one writer command, each exactly as `POST
//! /metrics/{key}/event` would (its own idempotency key included), so a replayed batch
//! changes nothing.
//!
//! Trophy applies a batch asynchronously after answering 202, so an event that turns out
//! bad cannot be refused to the caller. Input that is bad on its own (an unknown metric or
//! attribute, an invalid user field) is refused with the whole batch before any is
//! applied; an event that would carry a total past the largest double, which only
//! applying it reveals, is skipped in its own savepoint, logged and counted in
//! `trophyd_batch_events_skipped_total`, and the others are applied.

use super::record_event::RecordEvent;
use crate::error::ApiError;
use crate::writer::{Command, WriteCtx};

pub use crate::domain::limits::MAX_BATCH_EVENTS as MAX_BATCH;

#[derive(Clone)]
pub struct BatchEvents(pub Vec<RecordEvent>);

/// What became of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Events accepted (replays included: they are accepted and ignored).
    pub accepted: usize,
    /// Of those, events skipped because they would have overflowed a total.
    pub skipped: usize,
}

impl Command for BatchEvents {
    type Output = BatchOutcome;

    fn copy_to_try(&self) -> Option<Self> {
        Some(self.clone())
    }

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<BatchOutcome, ApiError> {
        let accepted = self.0.len();
        let mut skipped = 0;
        for (index, event) in self.0.into_iter().enumerate() {
            match ctx.nested(|ctx| event.apply(ctx)) {
                Ok(_) => {}
                Err(ApiError::NotFinite(message)) => {
                    log::warn!("batch event {index} skipped: {message}");
                    skipped += 1;
                }
                Err(other) => return Err(other),
            }
        }
        Ok(BatchOutcome { accepted, skipped })
    }
}
