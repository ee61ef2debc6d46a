//! The one scheduler that drives timed work. Features register jobs; each job knows when
//! it next falls due and runs through the writer, so its effects commit together.
//! `run_due(now)` runs every job due up to `now` in time order: the background loop calls
//! it every second, and `POST /_test/clock` calls it before answering.

mod idempotency_expiry;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Mutex;

use crate::error::ApiError;
use crate::writer::{Command, WriteCtx, Writer};

pub use idempotency_expiry::IdempotencyExpiry;

/// A kind of timed work.
pub trait Job: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// Applies everything due at or before `until` inside the writer's transaction and
    /// returns when the job next falls due (None: nothing scheduled).
    fn run(
        &self,
        ctx: &mut WriteCtx<'_>,
        until: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, ApiError>;
}

struct Entry {
    job: Arc<dyn Job>,
    /// None until the job has run once: every job runs at start to catch up.
    next_due: Option<DateTime<Utc>>,
}

#[derive(Clone)]
pub struct Scheduler {
    writer: Writer,
    entries: Arc<Mutex<Vec<Entry>>>,
}

struct RunJob {
    job: Arc<dyn Job>,
    until: DateTime<Utc>,
}

impl Command for RunJob {
    type Output = Option<DateTime<Utc>>;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Self::Output, ApiError> {
        self.job.run(ctx, self.until)
    }
}

impl Scheduler {
    pub fn new(writer: Writer, jobs: Vec<Arc<dyn Job>>) -> Self {
        let entries = jobs
            .into_iter()
            .map(|job| Entry {
                job,
                next_due: None,
            })
            .collect();
        Scheduler {
            writer,
            entries: Arc::new(Mutex::new(entries)),
        }
    }

    /// Runs every job due at or before `now`, earliest first. A job is run only up to the
    /// next other job's due time, so effects of different jobs interleave in time order.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<(), ApiError> {
        let mut entries = self.entries.lock().await;
        loop {
            let mut due: Vec<(usize, DateTime<Utc>)> = entries
                .iter()
                .enumerate()
                .filter_map(|(i, e)| match e.next_due {
                    None => Some((i, DateTime::<Utc>::MIN_UTC)),
                    Some(t) if t <= now => Some((i, t)),
                    Some(_) => None,
                })
                .collect();
            if due.is_empty() {
                return Ok(());
            }
            due.sort_by_key(|&(_, t)| t);
            let (index, _) = due[0];
            let until = entries
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != index)
                .filter_map(|(_, e)| e.next_due)
                .filter(|t| *t <= now)
                .min()
                .unwrap_or(now);
            let job = entries[index].job.clone();
            let next = self
                .writer
                .execute(RunJob {
                    job: job.clone(),
                    until,
                })
                .await?;
            // A job that reports itself due again at or before `until` would loop forever;
            // push it just past `until`.
            entries[index].next_due = Some(match next {
                Some(t) if t > until => t,
                Some(_) => until + chrono::Duration::milliseconds(1),
                None => DateTime::<Utc>::MAX_UTC,
            });
            if next.is_some_and(|t| t <= until) && until >= now {
                log::warn!(
                    "job {} reported itself due in the past; deferred",
                    job.name()
                );
            }
        }
    }

    /// The earliest time any job is due, for the background loop's sleep.
    pub async fn next_due(&self) -> Option<DateTime<Utc>> {
        self.entries
            .lock()
            .await
            .iter()
            .map(|e| e.next_due.unwrap_or(DateTime::<Utc>::MIN_UTC))
            .min()
    }
}
