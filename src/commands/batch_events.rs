//! `POST /admin/v1/metrics/events` (behaviour.md §10.2): up to 1,000 events applied in
//! order by one writer command, each exactly as `POST /metrics/{key}/event` would (its
//! own idempotency key included), so a replayed batch changes nothing.

use super::record_event::RecordEvent;
use crate::error::ApiError;
use crate::writer::{Command, WriteCtx};

pub use crate::domain::limits::MAX_BATCH_EVENTS as MAX_BATCH;

pub struct BatchEvents(pub Vec<RecordEvent>);

impl Command for BatchEvents {
    /// How many events were accepted (replays included: they are accepted and ignored).
    type Output = usize;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<usize, ApiError> {
        let accepted = self.0.len();
        for event in self.0 {
            event.apply(ctx)?;
        }
        Ok(accepted)
    }
}
