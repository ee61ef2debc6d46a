//! The serialized writer: one thread owns the only write connection. Handlers send it a
//! command and await the reply. It drains whatever is queued into one transaction (group
//! commit), isolates each command in a SAVEPOINT so one failure does not abort the others,
//! commits, and replies once the commit is on disk (see `durable`: the sync runs beside
//! the next batch). Nothing is acknowledged before it is durable.

mod batch;
mod context;
pub mod costs;
mod durable;
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
pub use durable::SyncStats;

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
    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Self::Output, ApiError>;
}

/// Runs inside the transaction (or, given `None`, learns there is none and fails);
/// returns what to do once the outcome of COMMIT is known.
type Job = Box<dyn FnOnce(Option<&mut WriteCtx<'_>>) -> Reply + Send>;
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
        let job: Job = Box::new(move |ctx: Option<&mut WriteCtx<'_>>| {
            let result = match ctx {
                Some(ctx) if C::OWN_SAVEPOINT => ctx.isolated(|ctx| cmd.apply(ctx)),
                Some(ctx) => ctx.whole_batch(|ctx| cmd.apply(ctx)),
                None => Err(ApiError::internal(
                    "the writer could not open a transaction",
                )),
            };
            Box::new(move |committed: bool| {
                let outcome = match result {
                    Ok(_) if !committed => {
                        Err(ApiError::internal("the transaction could not be committed"))
                    }
                    result => result,
                };
                let _ = reply_tx.send(outcome);
            })
        });
        self.stats.queue_depth.fetch_add(1, Ordering::Relaxed);
        match self.queue.try_send(Message::Run(job)) {
            Ok(()) => {}
            Err(mpsc::TrySendError::Full(_)) => {
                self.stats.queue_depth.fetch_sub(1, Ordering::Relaxed);
                self.stats.refused.fetch_add(1, Ordering::Relaxed);
                return Err(ApiError::Overloaded {
                    retry_after_secs: 1,
                });
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                self.stats.queue_depth.fetch_sub(1, Ordering::Relaxed);
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
