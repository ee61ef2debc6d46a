//! "Job X falls due at T at the latest": what commands tell the scheduler about timed
//! work they create. Kept with the writer because every command reaches it through
//! `ctx.env.due_hints`; the scheduler (`scheduler::Scheduler`) reads and clears it.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// "Job X falls due at T at the latest", from commands that create timed work after the
/// job last ran. Early hints are harmless: the job runs, finds nothing, and reports its
/// real next due time.
#[derive(Clone, Default, Debug)]
pub struct DueHints(Arc<std::sync::Mutex<HashMap<&'static str, DateTime<Utc>>>>);

impl DueHints {
    pub fn due_by(&self, job: &'static str, at: DateTime<Utc>) {
        let mut hints = self.0.lock().unwrap_or_else(|p| p.into_inner());
        hints
            .entry(job)
            .and_modify(|t| *t = (*t).min(at))
            .or_insert(at);
    }

    pub(crate) fn take(&self) -> HashMap<&'static str, DateTime<Utc>> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
