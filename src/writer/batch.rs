//! The writer thread's loop: wait for work, drain the queue into one transaction, commit,
//! reply, and checkpoint when idle.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::context::{WriteCtx, WriterEnv};
use super::costs::{self, Feature};
use super::durable::{Durability, Owed};
use super::{Message, Reply, WriterStats};
use crate::config::{self, Checkpoints};
use crate::db::{BackgroundCheckpointer, CheckpointAction, CheckpointPolicy, WalYield};

/// How often the background checkpointer copies the WAL into the main file while writes
/// continue. What it has not copied when the writer starts the WAL over (every 128 MiB) is
/// copied and synced by the writer, stalling it: at 100 ms, with a million users and one
/// event per commit (33 WAL frames each), that was a median 23 ms a second, the paced p99.
const BACKGROUND_CHECKPOINT_EVERY: Duration = Duration::from_millis(10);

/// The most commands one transaction takes; beyond this the gain per command is nil
/// and a failed commit would hurt more callers.
const MAX_BATCH: usize = 1_000;

pub(super) fn run(
    conn: Connection,
    env: WriterEnv,
    rx: Receiver<Message>,
    stats: Arc<WriterStats>,
) {
    let commands = stats.clone();
    let external = env.settings.config.server.checkpoints == Checkpoints::External;
    let passes = Arc::new(AtomicU64::new(0));
    let background = conn
        .path()
        .filter(|p| !p.is_empty() && !external)
        .and_then(|path| {
            BackgroundCheckpointer::spawn(
                path.into(),
                BACKGROUND_CHECKPOINT_EVERY,
                move || commands.commands.load(Ordering::Relaxed),
                passes.clone(),
            )
            .map_err(|e| log::warn!("no background checkpointer ({e}); the writer will checkpoint"))
            .ok()
        });
    let mut checkpoints = if external {
        CheckpointPolicy::never()
    } else if background.is_some() {
        CheckpointPolicy::safety_net_only()
    } else {
        CheckpointPolicy::default()
    };
    let durability = pipelined_durability(&conn, &env, &stats);
    let mut wal_yield = external.then(|| {
        crate::db::track_wal_frames(&conn);
        WalYield::default()
    });
    let mut stopping = false;
    while !stopping {
        let first = match checkpoints.idle_wait() {
            Some(wait) => match rx.recv_timeout(wait) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => {
                    let action = checkpoints.decide(true, Instant::now());
                    checkpoints.run(&conn, action);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            },
            None => match rx.recv() {
                Ok(message) => message,
                Err(_) => break,
            },
        };
        let mut jobs = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Run(job) => jobs.push(job),
                Message::Stop => stopping = true,
            }
            if jobs.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !jobs.is_empty() {
            stats
                .queue_depth
                .fetch_sub(jobs.len() as i64, Ordering::Relaxed);
            let size = jobs.len();
            let owed = costs::measure(Feature::Core, || commit_batch(&conn, &env, jobs, &stats));
            let committed = owed.committed;
            durability.settle(owed);
            costs::flush(&stats.features);
            let pages = pages_written_since_last(&conn);
            stats.pages_written.fetch_add(pages, Ordering::Relaxed);
            if !committed {
                stats.failed_commits.fetch_add(1, Ordering::Relaxed);
            }
            stats.record_batch(size);
            checkpoints.observe_background_passes(passes.load(Ordering::Relaxed));
            checkpoints.record_commit(pages);
            if let Some(pause) = wal_yield
                .as_mut()
                .and_then(|y| y.after_commit(crate::db::wal_frames(), Instant::now()))
            {
                std::thread::sleep(pause);
            }
        }
        let action = checkpoints.decide(false, Instant::now());
        if action != CheckpointAction::None {
            costs::measure(Feature::Checkpoint, || checkpoints.run(&conn, action));
            costs::flush(&stats.features);
        }
    }
    durability.finish();
    drop(background);
    checkpoints.run(&conn, CheckpointAction::Truncate);
}

/// Under `durability = "full"` with a database file: the connection stops syncing at
/// COMMIT and a sync thread does it before the replies (see `durable`). Otherwise replies
/// go out at COMMIT.
fn pipelined_durability(conn: &Connection, env: &WriterEnv, stats: &WriterStats) -> Durability {
    let path = conn.path().filter(|p| !p.is_empty());
    let (config::Durability::Full, Some(path)) = (env.settings.config.server.durability, path)
    else {
        return Durability::Immediate;
    };
    let started = Durability::pipelined(path.into(), stats.sync.clone()).and_then(|durability| {
        conn.execute_batch("PRAGMA synchronous = NORMAL")
            .map_err(std::io::Error::other)?;
        Ok(durability)
    });
    match started {
        Ok(durability) => durability,
        Err(e) => {
            // The connection still syncs at each COMMIT (`synchronous = FULL`).
            log::warn!("no sync thread ({e}); each commit syncs before the next batch");
            Durability::Immediate
        }
    }
}

/// Applies every job in one transaction. Returns what it owes the callers: their replies,
/// and whether it committed.
///
/// A batch whose commands all allow it is first tried with no savepoints (see
/// `Command::copy_to_try`); if one of them fails, the transaction rolls back and
/// the batch runs again with a savepoint per command, so the failure costs only its
/// command, as always.
fn commit_batch(
    conn: &Connection,
    env: &WriterEnv,
    mut jobs: Vec<super::Job>,
    stats: &WriterStats,
) -> Owed {
    if jobs.iter().all(|job| job.tried_without_savepoint) {
        if let Some(owed) = run_batch(conn, env, &mut jobs, Pass::Try) {
            return owed;
        }
        stats.retried_batches.fetch_add(1, Ordering::Relaxed);
    }
    match run_batch(conn, env, &mut jobs, Pass::Apply) {
        Some(owed) => owed,
        // Not reached: only a tried command asks for another pass.
        None => not_committed(&mut jobs),
    }
}

/// What the batch owes when no transaction could hold it: an error for every caller.
fn not_committed(jobs: &mut [super::Job]) -> Owed {
    Owed {
        committed: false,
        effects: Vec::new(),
        replies: jobs
            .iter_mut()
            .filter_map(|job| (job.run)(super::Run::NoTransaction).ok())
            .collect(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    Try,
    Apply,
}

/// One pass over the batch in a transaction. `None` when a tried command failed: the
/// transaction was rolled back and nothing of the pass remains.
fn run_batch(
    conn: &Connection,
    env: &WriterEnv,
    jobs: &mut [super::Job],
    pass: Pass,
) -> Option<Owed> {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        log::error!("writer could not begin a transaction: {e}");
        return Some(not_committed(jobs));
    }
    let mut ctx = WriteCtx::new(conn, env);
    let mut replies: Vec<Reply> = Vec::with_capacity(jobs.len());
    for job in jobs.iter_mut() {
        let run = match pass {
            Pass::Try => super::Run::Try(&mut ctx),
            Pass::Apply => super::Run::Apply(&mut ctx),
        };
        match (job.run)(run) {
            Ok(reply) => replies.push(reply),
            Err(super::Retry) => {
                ctx.undo_all();
                if let Err(e) = conn.execute_batch("ROLLBACK") {
                    log::error!("writer could not roll back a tried batch: {e}");
                }
                return None;
            }
        }
    }
    let effects = ctx.take_after_commit();
    let announcements = ctx.take_after_durable();
    let committed = if ctx.doomed {
        let _ = conn.execute_batch("ROLLBACK");
        false
    } else {
        let flushed = ctx.staging.flush(conn);
        match flushed
            .and_then(|()| costs::measure(Feature::Commit, || conn.execute_batch("COMMIT")))
        {
            Ok(()) => true,
            Err(e) => {
                log::error!("group commit failed: {e}");
                let _ = conn.execute_batch("ROLLBACK");
                false
            }
        }
    };
    env.shared.finish(committed);
    if committed {
        for effect in effects {
            effect();
        }
    }
    Some(Owed {
        committed,
        effects: announcements,
        replies,
    })
}

/// Pages this connection wrote to the WAL since the last call: what a commit costs is
/// mostly these pages, so the count per event tells how well a batch shares its pages.
fn pages_written_since_last(conn: &Connection) -> u64 {
    let (mut current, mut highwater) = (0, 0);
    // SAFETY: the handle is this thread's open connection, and the outputs are locals.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_db_status(
            conn.handle(),
            rusqlite::ffi::SQLITE_DBSTATUS_CACHE_WRITE,
            &mut current,
            &mut highwater,
            1,
        )
    };
    if rc == rusqlite::ffi::SQLITE_OK {
        u64::try_from(current).unwrap_or(0)
    } else {
        0
    }
}
