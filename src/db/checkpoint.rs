//! When to checkpoint the WAL. Automatic checkpoints are off: under load they turn every
//! commit into random writes in the main file. The writer asks this policy after each
//! batch and runs a PASSIVE checkpoint when it is idle, or when the WAL has grown past
//! `restart_pages` even though it is busy, and a TRUNCATE one past `max_pages`.
//!
//! Why the writer checkpoints at all when a `BackgroundCheckpointer` runs: SQLite starts
//! the WAL over from its beginning only when a write transaction begins after a
//! checkpoint copied *every* frame. Under sustained load the background checkpointer
//! never catches up (the writer appends while it copies), so the WAL grew without bound
//! (1.2 GB in 20 s of the fan-out bench) and every commit wrote to new file blocks, which
//! the kernel zeroes first (a tenth of the writer's time). A PASSIVE checkpoint from the
//! writer, between batches, copies only what the background one has not yet copied, and
//! the next batch starts the WAL over.

use std::time::{Duration, Instant};

use rusqlite::Connection;

#[derive(Debug)]
pub struct CheckpointPolicy {
    last: Instant,
    /// WAL pages written since the last checkpoint that copied every frame.
    pages_since: u64,
    /// Checkpoint once the writer has been idle this long after a write.
    idle_after: Duration,
    /// Run a PASSIVE checkpoint past this many pages even when busy: 128 MiB of WAL.
    /// Measured under the fan-out bench: at 2,048 pages the writer spent 47 µs/event
    /// checkpointing, at 32,768 pages 5 µs, with the zeroing of new blocks gone either way.
    restart_pages: u64,
    /// TRUNCATE past this many pages (PASSIVE ones kept failing: readers held the WAL).
    max_pages: u64,
    /// Whether the writer runs PASSIVE checkpoints itself when idle (false when a
    /// `BackgroundCheckpointer` does it).
    idle_passive: bool,
    /// With a background checkpointer: its count of finished passes when the WAL crossed
    /// `restart_pages` (None: not crossed). The writer's restart waits for the next pass
    /// to finish, so it copies and syncs only what was appended during that pass.
    passes_at_crossing: Option<u64>,
    /// The background checkpointer's count of finished passes, as last seen.
    passes_seen: u64,
    /// False when another process (Litestream) runs the checkpoints: then nothing here
    /// ever checkpoints, not even the TRUNCATE safety net or the one at shutdown.
    enabled: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum CheckpointAction {
    None,
    Passive,
    Truncate,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            last: Instant::now(),
            pages_since: 0,
            idle_after: Duration::from_millis(200),
            restart_pages: 32_768,
            max_pages: 262_144,
            idle_passive: true,
            passes_at_crossing: None,
            passes_seen: 0,
            enabled: true,
        }
    }
}

impl CheckpointPolicy {
    /// The policy when a background checkpointer handles the routine checkpoints: only the
    /// restart of a WAL that grew under load, and the TRUNCATE safety net.
    pub fn safety_net_only() -> Self {
        CheckpointPolicy {
            idle_passive: false,
            ..Self::default()
        }
    }

    /// The policy under `checkpoints = "external"`: never checkpoint.
    pub fn never() -> Self {
        CheckpointPolicy {
            idle_passive: false,
            enabled: false,
            ..Self::default()
        }
    }

    /// Records that a batch committed, writing `pages` pages to the WAL.
    pub fn record_commit(&mut self, pages: u64) {
        self.pages_since += pages.max(1);
        if !self.idle_passive
            && self.pages_since >= self.restart_pages
            && self.passes_at_crossing.is_none()
        {
            self.passes_at_crossing = Some(self.passes_seen);
        }
    }

    /// Takes the background checkpointer's count of finished passes.
    pub fn observe_background_passes(&mut self, passes: u64) {
        self.passes_seen = passes;
    }

    /// Whether the WAL has grown enough for the writer to start it over now. Under a
    /// background checkpointer the writer's stall is the copy and fsync of what that
    /// thread has not copied yet, so it waits for one of its passes to finish (one comes
    /// every few milliseconds under load), unless the WAL reached twice the threshold.
    fn restart_due(&self) -> bool {
        if self.pages_since < self.restart_pages {
            return false;
        }
        match self.passes_at_crossing {
            Some(at) => self.passes_seen > at || self.pages_since >= 2 * self.restart_pages,
            None => true,
        }
    }

    /// What to do now, given whether more work is queued.
    pub fn decide(&self, queue_empty: bool, now: Instant) -> CheckpointAction {
        if !self.enabled || self.pages_since == 0 {
            CheckpointAction::None
        } else if self.pages_since >= self.max_pages {
            CheckpointAction::Truncate
        } else if self.restart_due()
            || (self.idle_passive
                && queue_empty
                && now.duration_since(self.last) >= self.idle_after)
        {
            CheckpointAction::Passive
        } else {
            CheckpointAction::None
        }
    }

    pub fn run(&mut self, conn: &Connection, action: CheckpointAction) {
        if !self.enabled {
            return;
        }
        let mode = match action {
            CheckpointAction::None => return,
            CheckpointAction::Passive => "PASSIVE",
            CheckpointAction::Truncate => "TRUNCATE",
        };
        match conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        }) {
            // busy = 1 means a reader held the WAL: keep counting so we retry.
            Ok((0, log_frames, done)) if log_frames == done => {
                self.pages_since = 0;
                self.passes_at_crossing = None;
            }
            Ok(_) => {}
            Err(e) => log::warn!("wal checkpoint ({mode}) failed: {e}"),
        }
        self.last = Instant::now();
    }

    /// How long the writer may sleep waiting for work before the idle checkpoint is due.
    pub fn idle_wait(&self) -> Option<Duration> {
        (self.idle_passive && self.pages_since > 0).then_some(self.idle_after)
    }
}

/// Under `checkpoints = "external"`: leaves SQLite's write lock free now and then so that
/// the other process can checkpoint. Litestream checkpoints only while holding the write
/// lock, which it waits for with a busy timeout (1 s) and SQLite's busy handler polling
/// every few tens of ms; under sustained load the writer starts its next transaction
/// microseconds after the last one commits, so Litestream almost never got the lock and the
/// WAL grew at the write rate (1.2 to 1.6 GiB after 10 s of the load bench, 3 GiB after
/// 30 s). Once the WAL holds `threshold_frames`, the writer sleeps `pause` between two
/// batches, at most once every `every`, until a checkpoint starts the WAL over. Measured
/// with the load bench (10 s): the WAL at most 310 to 460 MiB with the same throughput;
/// a 50 ms pause left it at 740 MiB, 300 ms gained nothing over 150 ms and cost throughput.
#[derive(Debug)]
pub struct WalYield {
    /// 128 MiB of 4 KiB pages, where trophyd's own checkpoints restart the WAL: at 1,000
    /// events/s with every feature on, Litestream lets the WAL reach 90 MiB by itself, and
    /// no pause is wanted there.
    threshold_frames: u64,
    pause: Duration,
    every: Duration,
    last: Option<Instant>,
}

impl Default for WalYield {
    fn default() -> Self {
        WalYield {
            threshold_frames: 32_768,
            pause: Duration::from_millis(150),
            every: Duration::from_secs(1),
            last: None,
        }
    }
}

impl WalYield {
    /// After a batch committed, leaving `frames` frames in the WAL: how long to leave the
    /// write lock free before the next one.
    pub fn after_commit(&mut self, frames: u64, now: Instant) -> Option<Duration> {
        if frames < self.threshold_frames
            || self
                .last
                .is_some_and(|last| now.duration_since(last) < self.every)
        {
            return None;
        }
        self.last = Some(now);
        Some(self.pause)
    }
}

/// PASSIVE checkpoints from a connection of their own, on their own thread: in WAL mode a
/// checkpoint may run while the writer appends, so the writer never waits for the main
/// file's random writes and fsync (the cost that dominates under load,
/// docs/engineering-notes.md#lessons-from-the-measurements). The writer keeps only the rare
/// TRUNCATE safety net and the one at shutdown.
pub struct BackgroundCheckpointer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl BackgroundCheckpointer {
    /// Checkpoints `path` every `every` while `progress` (a count of committed commands)
    /// keeps moving, counting finished passes in `passes`.
    pub fn spawn(
        path: std::path::PathBuf,
        every: Duration,
        progress: impl Fn() -> u64 + Send + 'static,
        passes: std::sync::Arc<std::sync::atomic::AtomicU64>,
    ) -> std::io::Result<Self> {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("trophyd-checkpoint".into())
            .spawn(move || {
                let conn = match Connection::open(&path) {
                    Ok(conn) => conn,
                    Err(e) => {
                        log::error!("checkpointer could not open {}: {e}", path.display());
                        return;
                    }
                };
                let _ = conn.execute_batch("PRAGMA busy_timeout = 1000;");
                let mut seen = progress();
                while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(every);
                    let now = progress();
                    if now == seen {
                        continue;
                    }
                    seen = now;
                    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        Ok(()) => {
                            passes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Err(e) => log::warn!("background checkpoint failed: {e}"),
                    }
                }
            })?;
        Ok(BackgroundCheckpointer {
            stop,
            handle: Some(handle),
        })
    }
}

impl Drop for BackgroundCheckpointer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One step of a checkpoint policy script.
    enum Step {
        /// `record_commit(pages)`.
        Commit(u64),
        /// `observe_background_passes(passes)`.
        Passes(u64),
        /// `decide(queue_empty, now + seconds)` gives the action.
        Decide(bool, u64, CheckpointAction),
        /// `idle_wait()` is None.
        NoIdleWait,
    }

    #[test]
    fn checkpoint_policy_scripts() {
        use CheckpointAction::{None as Nothing, Passive, Truncate};
        use Step::{Commit, Decide, NoIdleWait, Passes};
        let cases = [
            (
                "nothing to do without writes",
                CheckpointPolicy::default(),
                vec![Decide(true, 5, Nothing)],
            ),
            (
                "an idle writer checkpoints passively, a busy one waits",
                CheckpointPolicy::default(),
                vec![
                    Commit(10),
                    Decide(true, 1, Passive),
                    Decide(false, 1, Nothing),
                ],
            ),
            (
                "with a background checkpointer the writer only restarts a grown WAL",
                CheckpointPolicy::safety_net_only(),
                vec![
                    Commit(10),
                    Decide(true, 1, Nothing),
                    NoIdleWait,
                    Commit(40_000),
                    // Waits for the background pass under way to finish.
                    Decide(false, 0, Nothing),
                    Passes(1),
                    Decide(false, 0, Passive),
                    Commit(300_000),
                    Decide(false, 0, Truncate),
                ],
            ),
            (
                "the writer stops waiting for a lagging background pass",
                CheckpointPolicy::safety_net_only(),
                vec![
                    Passes(7),
                    Commit(40_000),
                    Decide(false, 0, Nothing),
                    Commit(30_000),
                    Decide(false, 0, Passive),
                ],
            ),
            (
                "a large WAL is truncated even when busy",
                CheckpointPolicy::default(),
                vec![Commit(400_000), Decide(false, 0, Truncate)],
            ),
            (
                "external checkpoints mean never, even past the safety net",
                CheckpointPolicy::never(),
                vec![
                    Commit(400_000),
                    Decide(true, 5, Nothing),
                    Decide(false, 5, Nothing),
                    NoIdleWait,
                ],
            ),
        ];
        for (name, mut p, steps) in cases {
            for (i, step) in steps.into_iter().enumerate() {
                match step {
                    Commit(pages) => p.record_commit(pages),
                    Passes(passes) => p.observe_background_passes(passes),
                    Decide(queue_empty, seconds, action) => {
                        let now = Instant::now() + Duration::from_secs(seconds);
                        assert_eq!(p.decide(queue_empty, now), action, "{name}, step {i}");
                    }
                    NoIdleWait => assert_eq!(p.idle_wait(), None, "{name}, step {i}"),
                }
            }
        }
    }

    #[test]
    fn external_writer_yields_once_a_second_while_the_wal_is_large() {
        let mut y = WalYield::default();
        let t0 = Instant::now();
        assert_eq!(y.after_commit(32_767, t0), None, "below the threshold");
        assert_eq!(y.after_commit(40_000, t0), Some(Duration::from_millis(150)));
        let soon = t0 + Duration::from_millis(500);
        assert_eq!(y.after_commit(50_000, soon), None, "at most once a second");
        let later = t0 + Duration::from_millis(1_000);
        assert_eq!(
            y.after_commit(60_000, later),
            Some(Duration::from_millis(150))
        );
        assert_eq!(
            y.after_commit(100, later + Duration::from_secs(5)),
            None,
            "the WAL started over"
        );
    }

    /// A writer connection on `t.db` in a fresh temporary directory.
    fn writer_in_tempdir() -> (tempfile::TempDir, std::path::PathBuf, Connection) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        let conn = crate::db::open_writer(&path, crate::config::Durability::Full).expect("open");
        (dir, path, conn)
    }

    #[test]
    fn wal_frames_count_commits_and_drop_when_another_connection_checkpoints() {
        let (_dir, path, conn) = writer_in_tempdir();
        crate::db::track_wal_frames(&conn);
        conn.execute_batch("CREATE TABLE t(x);").expect("create");
        for i in 0..5 {
            conn.execute("INSERT INTO t VALUES (?1)", [i])
                .expect("insert");
        }
        let grown = crate::db::wal_frames();
        assert!(grown >= 6, "{grown} frames after six commits");
        let other = Connection::open(&path).expect("other connection");
        other
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .expect("checkpoint");
        conn.execute("INSERT INTO t VALUES (99)", [])
            .expect("insert");
        assert!(
            crate::db::wal_frames() < grown,
            "{} frames after the other connection's checkpoint",
            crate::db::wal_frames()
        );
    }

    #[test]
    fn external_checkpoints_leave_the_wal_alone_when_asked_to_truncate() {
        let (dir, _path, conn) = writer_in_tempdir();
        conn.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
            .expect("write");
        let mut p = CheckpointPolicy::never();
        p.record_commit(1);
        p.run(&conn, CheckpointAction::Truncate);
        let wal = std::fs::metadata(dir.path().join("t.db-wal")).expect("wal");
        assert!(wal.len() > 0, "the WAL was checkpointed");
    }
}
