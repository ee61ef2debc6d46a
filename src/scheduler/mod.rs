//! The one scheduler that drives timed work. Features register jobs; each job knows when
//! it next falls due and runs through the writer, so its effects commit together.
//! `run_due(now)` runs every job due up to `now` in time order: the background loop calls
//! it every second, and `POST /_test/clock` calls it before answering.
//!
//! A job reports its next due time when it runs. Work created later by a command (a
//! coalescing window that just opened, say) can fall due earlier than that: the command
//! then tells the scheduler through [`DueHints`] (reachable as `ctx.env.due_hints`).

mod finished_expiry;
mod idempotency_expiry;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::Mutex;

use crate::error::ApiError;
use crate::writer::{Command, WriteCtx, Writer};

pub use crate::writer::DueHints;
pub use finished_expiry::FinishedRowsExpiry;
pub use idempotency_expiry::IdempotencyExpiry;

/// What a job's run answers: when it next falls due (None: nothing scheduled).
pub type NextDue = Result<Option<DateTime<Utc>>, ApiError>;

/// When a job whose work is rows due at a time in epoch milliseconds falls due next: `sql`
/// selects the earliest such time (`SELECT min(…) FROM …`), NULL when no row is left.
pub fn earliest_due(conn: &rusqlite::Connection, sql: &str) -> NextDue {
    let earliest: Option<i64> = conn.query_row(sql, [], |r| r.get(0))?;
    Ok(earliest.map(crate::clock::from_millis))
}

/// A kind of timed work.
pub trait Job: Send + Sync + 'static {
    /// Unique among the registered jobs; [`DueHints`] address jobs by it.
    fn name(&self) -> &'static str;
    /// Applies everything due at or before `until` inside the writer's transaction and
    /// returns when the job next falls due (None: nothing scheduled).
    fn run(&self, ctx: &mut WriteCtx<'_>, until: DateTime<Utc>) -> NextDue;
}

#[derive(Clone)]
struct Entry {
    job: Arc<dyn Job>,
    /// None until the job has run once: every job runs at start to catch up.
    next_due: Option<DateTime<Utc>>,
}

#[derive(Clone)]
pub struct Scheduler {
    writer: Writer,
    hints: DueHints,
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
    pub fn new(writer: Writer, hints: DueHints, jobs: Vec<Arc<dyn Job>>) -> Self {
        let entries = jobs
            .into_iter()
            .map(|job| Entry {
                job,
                next_due: None,
            })
            .collect();
        Scheduler {
            writer,
            hints,
            entries: Arc::new(Mutex::new(entries)),
        }
    }

    /// Runs every job due at or before `now`, earliest first. A job is run only up to the
    /// next other job's due time, so effects of different jobs interleave in time order.
    /// At the first call every job runs once, up to `now`, to catch up on what was missed
    /// while the server was down.
    ///
    /// A job that fails is left due (it is retried at the next call) and skipped for the
    /// rest of this call so it cannot hold up the others; the first error is returned.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<(), ApiError> {
        let mut entries = self.entries.lock().await;
        let mut failed = vec![false; entries.len()];
        let mut first_error = None;
        loop {
            apply_hints(&self.hints, &mut entries);
            let Some((index, until)) = plan(&entries, &failed, now) else {
                break;
            };
            let job = entries[index].job.clone();
            let result = self
                .writer
                .execute(RunJob {
                    job: job.clone(),
                    until,
                })
                .await;
            match result {
                Ok(next) => entries[index].next_due = Some(next_due(job.name(), next, until, now)),
                Err(e) => {
                    log::error!("scheduled job {} failed: {e}", job.name());
                    failed[index] = true;
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Hands the jobs and their due times to one writer command that runs them itself
    /// ([`InlineJobs::run_due`]); [`Scheduler::resume`] takes them back.
    pub async fn lend(&self) -> InlineJobs {
        let mut entries = self.entries.lock().await;
        apply_hints(&self.hints, &mut entries);
        InlineJobs {
            entries: entries.clone(),
        }
    }

    /// Takes back the jobs lent to a command that committed, with the due times it left.
    pub async fn resume(&self, jobs: InlineJobs) {
        *self.entries.lock().await = jobs.entries;
    }

    /// The earliest time any job is due, for the background loop's sleep.
    pub async fn next_due(&self) -> Option<DateTime<Utc>> {
        let mut entries = self.entries.lock().await;
        apply_hints(&self.hints, &mut entries);
        entries
            .iter()
            .map(|e| e.next_due.unwrap_or(DateTime::<Utc>::MIN_UTC))
            .min()
    }
}

/// The scheduler's jobs, lent to a writer command that runs the timed work falling due
/// between the things it applies, inside its own transaction: `trophyd import` applies
/// history in runs of thousands of events that way rather than stopping at every due time.
/// A copy: a command rolled back leaves the scheduler's own due times as they were.
#[derive(Clone)]
pub struct InlineJobs {
    entries: Vec<Entry>,
}

impl InlineJobs {
    /// Runs every job due at or before `now`, earliest first, inside `ctx`, as
    /// [`Scheduler::run_due`] would. A job's error fails the command.
    pub fn run_due(&mut self, ctx: &mut WriteCtx<'_>, now: DateTime<Utc>) -> Result<(), ApiError> {
        loop {
            apply_hints(&ctx.env.due_hints, &mut self.entries);
            let Some((index, until)) = plan(&self.entries, &[], now) else {
                return Ok(());
            };
            let job = self.entries[index].job.clone();
            let next = job.run(ctx, until)?;
            self.entries[index].next_due = Some(next_due(job.name(), next, until, now));
        }
    }
}

fn apply_hints(hints: &DueHints, entries: &mut [Entry]) {
    for (name, at) in hints.take() {
        match entries.iter_mut().find(|e| e.job.name() == name) {
            Some(entry) => {
                if let Some(due) = entry.next_due.as_mut() {
                    *due = (*due).min(at);
                }
            }
            None => log::warn!("due hint for unknown job {name}"),
        }
    }
}

/// When a job that ran up to `until` (at `now`) is next due, from what it reported.
fn next_due(
    name: &str,
    reported: Option<DateTime<Utc>>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    match reported {
        Some(next) if next > until => next,
        Some(_) => {
            // The job applied everything up to `until` yet says it is due again by then.
            // Running it again at once could spin (two such jobs would take turns a
            // millisecond apart), so it waits for the next call.
            log::warn!("job {name} reported itself due at or before {until}; deferred");
            now + Duration::milliseconds(1)
        }
        None => DateTime::<Utc>::MAX_UTC,
    }
}

/// Which job runs next and up to when: the earliest due one (jobs that never ran count
/// as due first), run up to the earliest due time of any other job, or `now`. Jobs that
/// never ran have no known due time, so they do not bound the others: at start each job
/// runs once, up to `now`. `failed` marks jobs to pass over (shorter than `entries`: the
/// rest are not failed).
fn plan(entries: &[Entry], failed: &[bool], now: DateTime<Utc>) -> Option<(usize, DateTime<Utc>)> {
    let index = entries
        .iter()
        .enumerate()
        .filter(|(i, _)| !failed.get(*i).copied().unwrap_or(false))
        .filter_map(|(i, e)| match e.next_due {
            None => Some((i, DateTime::<Utc>::MIN_UTC)),
            Some(t) if t <= now => Some((i, t)),
            Some(_) => None,
        })
        .min_by_key(|&(i, t)| (t, i))?
        .0;
    let until = entries
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != index && !failed.get(*i).copied().unwrap_or(false))
        .filter_map(|(_, e)| e.next_due)
        .filter(|t| *t <= now)
        .min()
        .unwrap_or(now)
        .max(entries[index].next_due.unwrap_or(DateTime::<Utc>::MIN_UTC));
    Some((index, until))
}

#[cfg(test)]
mod tests;
