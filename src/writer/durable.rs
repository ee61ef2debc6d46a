//! Replies wait for the disk, the writer does not. Under `durability = "full"` the group
//! transaction commits with `synchronous = NORMAL` (SQLite writes the WAL frames but does
//! not fsync them) and the batch's replies go to a sync thread, which `fdatasync`s the WAL
//! and only then answers. While it waits on the disk the writer applies the next batch,
//! and one sync covers every batch committed before it began. A 2xx still means the event
//! is on disk; what changes is that the writer's CPU and the disk's latency overlap
//! instead of adding up (the fsync was a third of the writer's time per event).
//!
//! Why a sync of the WAL file alone suffices: a commit is durable once its frames and the
//! WAL header that validates them are on disk. Every byte SQLite wrote before the sync began
//! is on disk when it returns, so the file holds the state it had then, which is one SQLite
//! recovers from after a crash (the state a kill -9 would leave). SQLite itself still syncs
//! the WAL before each checkpoint and the header when it starts the WAL over.
//!
//! Between COMMIT and the sync, readers already see the batch (SQLite shows committed data
//! at once). A power cut in those milliseconds can lose a batch a reader saw but nobody was
//! told was stored; wake-ups of the delivery workers wait for the sync, so no webhook or
//! message is sent for such a batch.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use super::Reply;

/// What a committed (or rolled-back) batch still owes its callers.
pub(super) struct Owed {
    pub committed: bool,
    /// Effects that announce the batch outside the process (delivery wake-ups).
    pub effects: Vec<Box<dyn FnOnce() + Send>>,
    pub replies: Vec<Reply>,
}

impl Owed {
    fn settle(self, durable: bool) {
        let stored = self.committed && durable;
        if stored {
            for effect in self.effects {
                effect();
            }
        }
        for reply in self.replies {
            reply(stored);
        }
    }
}

/// Batches the sync thread may hold before the writer waits for it: a disk that stalls
/// stops the writer (and then fills its queue, which refuses with 503) instead of piling
/// up acknowledged-later replies without bound.
const MAX_UNSYNCED_BATCHES: usize = 64;

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct SyncStats {
    pub syncs: AtomicU64,
    pub nanos: AtomicU64,
}

/// Where the writer hands what it owes after COMMIT.
pub(super) enum Durability {
    /// Nothing to wait for (`durability = "normal"`, or no file): settle at once.
    Immediate,
    Pipelined {
        to_sync: mpsc::SyncSender<Owed>,
        thread: JoinHandle<()>,
    },
}

impl Durability {
    /// Starts the sync thread for the WAL of the database at `db_path`.
    pub fn pipelined(db_path: PathBuf, stats: Arc<SyncStats>) -> std::io::Result<Self> {
        let mut wal = db_path.into_os_string();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        Self::with_sync(move || sync_file(&wal), stats)
    }

    /// Starts a sync thread that makes the WAL durable with `sync`.
    fn with_sync(
        mut sync: impl FnMut() -> std::io::Result<()> + Send + 'static,
        stats: Arc<SyncStats>,
    ) -> std::io::Result<Self> {
        let (to_sync, owed) = mpsc::sync_channel::<Owed>(MAX_UNSYNCED_BATCHES);
        let thread = std::thread::Builder::new()
            .name("trophyd-sync".into())
            .spawn(move || {
                while let Ok(first) = owed.recv() {
                    let mut batches = vec![first];
                    batches.extend(owed.try_iter());
                    let durable = if batches.iter().any(|b| b.committed) {
                        let started = Instant::now();
                        let result = sync();
                        stats.syncs.fetch_add(1, Ordering::Relaxed);
                        stats.nanos.fetch_add(
                            u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
                            Ordering::Relaxed,
                        );
                        result
                    } else {
                        Ok(())
                    };
                    if let Err(e) = durable {
                        // After a failed fsync the kernel may have dropped the dirty pages
                        // and a later fsync can succeed without them (PostgreSQL's
                        // "fsyncgate"): nothing committed since the last good sync can be
                        // trusted. Answer the batches with an error and stop, so the next
                        // start recovers from what the disk holds.
                        log::error!("syncing the WAL failed ({e}); stopping to recover from disk");
                        for batch in batches {
                            batch.settle(false);
                        }
                        std::process::exit(70);
                    }
                    for batch in batches {
                        batch.settle(true);
                    }
                }
            })?;
        Ok(Durability::Pipelined { to_sync, thread })
    }

    /// Hands over a batch's replies: answered now, or once the WAL is on disk.
    pub fn settle(&self, owed: Owed) {
        match self {
            Durability::Immediate => owed.settle(true),
            Durability::Pipelined { to_sync, .. } => {
                if let Err(mpsc::SendError(owed)) = to_sync.send(owed) {
                    // The sync thread is gone (it only leaves on a failed sync, after
                    // which the process exits): nothing can be acknowledged.
                    owed.settle(false);
                }
            }
        }
    }

    /// Waits until every batch handed over is answered.
    pub fn finish(self) {
        if let Durability::Pipelined { to_sync, thread } = self {
            drop(to_sync);
            let _ = thread.join();
        }
    }
}

/// `fdatasync` of the WAL, opened by path each time so a WAL file SQLite replaced is never
/// missed (Linux syncs a file's dirty pages whichever descriptor wrote them). A WAL that is
/// not there has nothing to sync.
fn sync_file(path: &std::path::Path) -> std::io::Result<()> {
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(file) => file.sync_data(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Mutex;

    fn owed(committed: bool, log: &Arc<Mutex<Vec<String>>>, name: &str) -> Owed {
        let (effect_log, reply_log) = (log.clone(), log.clone());
        let (effect_name, reply_name) = (name.to_owned(), name.to_owned());
        Owed {
            committed,
            effects: vec![Box::new(move || {
                effect_log
                    .lock()
                    .expect("log")
                    .push(format!("{effect_name} woke"))
            })],
            replies: vec![Box::new(move |stored| {
                reply_log
                    .lock()
                    .expect("log")
                    .push(format!("{reply_name} {stored}"))
            })],
        }
    }

    #[test]
    fn replies_wait_for_the_sync_and_one_sync_covers_the_batches_before_it() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (entered_tx, entered) = mpsc::channel::<()>();
        let (go, go_rx) = mpsc::channel::<()>();
        let sync_log = log.clone();
        let stats = Arc::new(SyncStats::default());
        let durability = Durability::with_sync(
            move || {
                let _ = entered_tx.send(());
                let _ = go_rx.recv();
                sync_log.lock().expect("log").push("synced".into());
                Ok(())
            },
            stats.clone(),
        )
        .expect("thread");
        durability.settle(owed(true, &log, "a"));
        entered.recv().expect("the first sync starts");
        // Committed while the first sync runs: answered only after a later sync.
        durability.settle(owed(true, &log, "b"));
        durability.settle(owed(true, &log, "c"));
        assert!(
            log.lock().expect("log").is_empty(),
            "nothing before the sync"
        );
        go.send(()).expect("release a");
        entered.recv().expect("the second sync starts");
        assert_eq!(*log.lock().expect("log"), ["synced", "a woke", "a true"]);
        go.send(()).expect("release b and c");
        durability.finish();
        assert_eq!(
            *log.lock().expect("log"),
            ["synced", "a woke", "a true", "synced", "b woke", "b true", "c woke", "c true"]
        );
        assert_eq!(
            stats.syncs.load(Ordering::Relaxed),
            2,
            "b and c shared one sync"
        );
    }

    #[test]
    fn a_rolled_back_batch_is_answered_without_a_sync_or_its_effects() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let synced = Arc::new(AtomicBool::new(false));
        let flag = synced.clone();
        let durability = Durability::with_sync(
            move || {
                flag.store(true, Ordering::Relaxed);
                Ok(())
            },
            Arc::new(SyncStats::default()),
        )
        .expect("thread");
        durability.settle(owed(false, &log, "a"));
        durability.finish();
        assert_eq!(*log.lock().expect("log"), ["a false"]);
        assert!(!synced.load(Ordering::Relaxed));
    }

    #[test]
    fn syncing_a_missing_wal_is_nothing_to_do() {
        let dir = std::env::temp_dir().join(format!("trophyd-sync-{}", std::process::id()));
        assert!(sync_file(&dir.join("absent.db-wal")).is_ok());
    }
}
