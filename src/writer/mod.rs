//! The serialized writer: one thread owns the only write connection. Handlers send it a
//! command and await the reply. It drains whatever is queued into one transaction (group
//! commit), isolates each command in a SAVEPOINT so one failure does not abort the others,
//! commits, and replies once the commit is on disk (see `durable`: the sync runs beside
//! the next batch). Nothing is acknowledged before it is durable.

mod batch;
mod context;
pub mod costs;
mod due_hints;
mod durable;
mod staged;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::ApiError;

pub use context::{WriteCtx, WriterEnv};
pub use due_hints::DueHints;
pub use durable::SyncStats;
pub use staged::{Journaled, Shared, Staged};

/// A state change the writer applies inside the group transaction.
pub trait Command: Send + 'static {
    type Output: Send + 'static;
    /// Whether the writer wraps the command in a savepoint of its own, so that its failure
    /// leaves the rest of the batch standing. A command without one fails its whole batch
    /// instead. That is for long commands whose caller owns the writer (an import run): a
    /// savepoint held over thousands of statements makes the release of each statement's
    /// own savepoint walk SQLite's in-memory sub-journal from its start, quadratic in the
    /// command's length.
    const OWN_SAVEPOINT: bool = true;
    /// A copy of the command for a batch's first try, which runs with no savepoint at all.
    /// A batch whose commands all give one is tried that way first; if one of them fails,
    /// the whole transaction rolls back and the batch runs again, each command in its own
    /// savepoint (see `batch`). A savepoint makes SQLite copy every page the command then
    /// changes into its statement journal: a tenth of the writer's time on the event path,
    /// for a rollback that almost never happens. For commands that rarely fail and are
    /// cheap to copy; the copy is made by the caller, off the writer thread.
    fn copy_to_try(&self) -> Option<Self>
    where
        Self: Sized,
    {
        None
    }
    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Self::Output, ApiError>;
}

/// How the writer runs a job this time.
pub(crate) enum Run<'a, 'c> {
    /// With no savepoint, on a copy of the command; a failure asks for [`Retry`].
    Try(&'a mut WriteCtx<'c>),
    /// For good: in the command's own savepoint (or the batch's, see `OWN_SAVEPOINT`).
    Apply(&'a mut WriteCtx<'c>),
    /// No transaction could be opened.
    NoTransaction,
}

/// A tried command failed: the batch's transaction must roll back and run again.
pub(crate) struct Retry;

/// A queued command with its reply channel, run once, or tried first and then run.
struct Job {
    tried_without_savepoint: bool,
    run: Box<RunJob>,
}
type RunJob = dyn for<'a, 'c> FnMut(Run<'a, 'c>) -> Result<Reply, Retry> + Send;
/// Called with `true` after a successful COMMIT, `false` if the batch was rolled back.
type Reply = Box<dyn FnOnce(bool) + Send>;

enum Message {
    Run(Job),
    Stop,
}

/// Counters the `/metrics` endpoint reports.
#[derive(Default, Debug)]
pub struct WriterStats {
    pub queue_depth: AtomicI64,
    /// Commands refused because the queue was full.
    pub refused: AtomicU64,
    pub batches: AtomicU64,
    pub commands: AtomicU64,
    pub failed_commits: AtomicU64,
    /// Batch sizes in buckets of 1, 2-10, 11-100, 101-1000, >1000.
    pub batch_size_buckets: [AtomicU64; 5],
    pub features: costs::FeatureCosts,
    /// Batches that ran again command by command because a command tried without a
    /// savepoint failed.
    pub retried_batches: AtomicU64,
    /// Database pages written to the WAL by group commits.
    pub pages_written: AtomicU64,
    /// The syncs of the WAL that replies wait for (`durability = "full"`).
    pub sync: Arc<SyncStats>,
}

impl WriterStats {
    fn record_batch(&self, size: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.commands.fetch_add(size as u64, Ordering::Relaxed);
        let bucket = match size {
            0..=1 => 0,
            2..=10 => 1,
            11..=100 => 2,
            101..=1000 => 3,
            _ => 4,
        };
        self.batch_size_buckets[bucket].fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Clone)]
pub struct Writer {
    /// Bounded (`[limits] writer_queue`): a full queue refuses commands instead of
    /// holding every waiting request's memory without limit.
    queue: mpsc::SyncSender<Message>,
    stats: Arc<WriterStats>,
}

/// Applies `cmd` for good: in its own savepoint, or with the whole batch.
fn apply<C: Command>(cmd: Option<C>, ctx: &mut WriteCtx<'_>) -> Result<C::Output, ApiError> {
    match cmd {
        Some(cmd) if C::OWN_SAVEPOINT => ctx.isolated(|ctx| cmd.apply(ctx)),
        Some(cmd) => ctx.whole_batch(|ctx| cmd.apply(ctx)),
        // A job runs for good once; only a bug in `batch` could ask twice.
        None => Err(ApiError::internal("a command was applied twice")),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the writer has stopped")]
pub struct WriterStopped;

impl Writer {
    /// Starts the writer thread on `conn`. Join the handle after `stop` to be sure the
    /// last batch committed and the WAL was checkpointed.
    pub fn start(conn: Connection, env: WriterEnv) -> std::io::Result<(Writer, JoinHandle<()>)> {
        let capacity = usize::try_from(env.settings.config.limits.writer_queue)
            .unwrap_or(usize::MAX)
            .max(1);
        let (tx, rx) = mpsc::sync_channel(capacity);
        let stats = Arc::new(WriterStats::default());
        let thread_stats = stats.clone();
        let handle = std::thread::Builder::new()
            .name("trophyd-writer".into())
            .spawn(move || batch::run(conn, env, rx, thread_stats))?;
        Ok((Writer { queue: tx, stats }, handle))
    }

    pub fn stats(&self) -> &Arc<WriterStats> {
        &self.stats
    }

    /// Applies `cmd` in the next group commit and returns its output once committed.
    pub async fn execute<C: Command>(&self, cmd: C) -> Result<C::Output, ApiError> {
        let (reply_tx, reply_rx) = oneshot::channel();
        let mut tried = cmd.copy_to_try();
        let tried_without_savepoint = tried.is_some();
        let mut cmd = Some(cmd);
        // Shared by the reply of a try and that of the pass after it: a try whose batch
        // runs again drops its reply unsent.
        let reply_tx = Arc::new(std::sync::Mutex::new(Some(reply_tx)));
        let run = move |run: Run<'_, '_>| -> Result<Reply, Retry> {
            let result = match run {
                Run::Try(ctx) => match tried.take() {
                    Some(copy) => match ctx.unguarded(|ctx| copy.apply(ctx)) {
                        Some(out) => Ok(out),
                        None => return Err(Retry),
                    },
                    // Only batches whose every job has a copy are tried; a second pass
                    // with savepoints is always safe.
                    None => return Err(Retry),
                },
                Run::Apply(ctx) => apply(cmd.take(), ctx),
                Run::NoTransaction => Err(ApiError::internal(
                    "the writer could not open a transaction",
                )),
            };
            let reply_tx = reply_tx.clone();
            Ok(Box::new(move |committed: bool| {
                let outcome = match result {
                    Ok(_) if !committed => {
                        Err(ApiError::internal("the transaction could not be committed"))
                    }
                    result => result,
                };
                let taken = reply_tx.lock().ok().and_then(|mut tx| tx.take());
                if let Some(reply_tx) = taken {
                    let _ = reply_tx.send(outcome);
                }
            }))
        };
        let job = Job {
            tried_without_savepoint,
            run: Box::new(run),
        };
        match self.queue.try_send(Message::Run(job)) {
            // Counted once it is in the queue, so a depth of n means n commands were
            // sent (tests wait on it); the writer may take one before it is counted,
            // which leaves the gauge below its true value for that instant (read clamped).
            Ok(()) => {
                self.stats.queue_depth.fetch_add(1, Ordering::Relaxed);
            }
            Err(mpsc::TrySendError::Full(_)) => {
                self.stats.refused.fetch_add(1, Ordering::Relaxed);
                return Err(ApiError::Overloaded {
                    retry_after_secs: 1,
                });
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                return Err(ApiError::internal(WriterStopped));
            }
        }
        reply_rx
            .await
            .unwrap_or_else(|_| Err(ApiError::internal(WriterStopped)))
    }

    /// Asks the thread to finish what is queued, commit, checkpoint and exit (waiting for
    /// room in a full queue).
    pub fn stop(&self) {
        let _ = self.queue.send(Message::Stop);
    }
}
