//! Where the writer's time goes, by feature: each engine's entry point runs inside
//! `measure`, which charges the time to the innermost feature running (a points award that
//! moves a leaderboard is charged to leaderboards, not twice). The writer thread keeps
//! the tally in a thread-local and adds it to shared counters after each batch, so the
//! event path pays two clock reads per feature and no atomic operation.
//!
//! `/metrics` exports the totals as `trophyd_writer_feature_seconds_total{feature=...}`;
//! the load bench divides them by the events applied to print µs/event by feature.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// Everything a command does outside the features below: idempotency, the user, the
    /// event row and total, savepoints, replies.
    Core,
    Wrapped,
    Streaks,
    Achievements,
    Points,
    Leaderboards,
    Webhooks,
    /// Lifecycle messages: the event's schedule rows, decisions.
    Notifications,
    /// Writing the batch to the WAL (and syncing it, when no sync thread does).
    Commit,
    /// Checkpoints the writer runs itself (see `db::CheckpointPolicy`).
    Checkpoint,
}

impl Feature {
    pub const ALL: [Feature; 10] = [
        Feature::Core,
        Feature::Wrapped,
        Feature::Streaks,
        Feature::Achievements,
        Feature::Points,
        Feature::Leaderboards,
        Feature::Webhooks,
        Feature::Notifications,
        Feature::Commit,
        Feature::Checkpoint,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Feature::Core => "core",
            Feature::Wrapped => "wrapped",
            Feature::Streaks => "streaks",
            Feature::Achievements => "achievements",
            Feature::Points => "points",
            Feature::Leaderboards => "leaderboards",
            Feature::Webhooks => "webhooks",
            Feature::Notifications => "notifications",
            Feature::Commit => "commit",
            Feature::Checkpoint => "checkpoint",
        }
    }
}

/// Nanoseconds spent per feature since start, in `Feature::ALL` order.
#[derive(Debug, Default)]
pub struct FeatureCosts([AtomicU64; Feature::ALL.len()]);

impl FeatureCosts {
    pub fn seconds(&self, feature: Feature) -> f64 {
        self.0[feature as usize].load(Ordering::Relaxed) as f64 / 1e9
    }
}

#[derive(Default)]
struct Meter {
    running: Vec<Feature>,
    /// When the innermost running feature was last charged.
    mark: Option<Instant>,
    nanos: [u64; Feature::ALL.len()],
}

impl Meter {
    fn charge(&mut self, now: Instant) {
        if let (Some(&feature), Some(mark)) = (self.running.last(), self.mark) {
            let spent = u64::try_from(now.duration_since(mark).as_nanos()).unwrap_or(u64::MAX);
            self.nanos[feature as usize] = self.nanos[feature as usize].saturating_add(spent);
        }
        self.mark = Some(now);
    }

    fn enter(&mut self, feature: Feature, now: Instant) {
        self.charge(now);
        self.running.push(feature);
    }

    fn leave(&mut self, now: Instant) {
        self.charge(now);
        self.running.pop();
        if self.running.is_empty() {
            self.mark = None;
        }
    }
}

thread_local! {
    static METER: RefCell<Meter> = RefCell::new(Meter::default());
}

/// Leaves the feature when dropped, also when the command panics.
pub struct Running(());

impl Drop for Running {
    fn drop(&mut self) {
        METER.with(|m| m.borrow_mut().leave(Instant::now()));
    }
}

/// Charges the time until the returned guard drops (less that of features nested in it)
/// to `feature`: for a function whose whole body is one feature's.
#[must_use = "the time is charged to the feature until the guard drops"]
pub fn charge(feature: Feature) -> Running {
    METER.with(|m| m.borrow_mut().enter(feature, Instant::now()));
    Running(())
}

/// Runs `f`, charging its time (less that of features nested in it) to `feature`.
pub fn measure<T>(feature: Feature, f: impl FnOnce() -> T) -> T {
    let _running = charge(feature);
    f()
}

/// Adds this thread's tally to `into` and starts a new one.
pub(super) fn flush(into: &FeatureCosts) {
    METER.with(|m| {
        let mut m = m.borrow_mut();
        for (slot, nanos) in into.0.iter().zip(&mut m.nanos) {
            slot.fetch_add(std::mem::take(nanos), Ordering::Relaxed);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn nested_features_are_charged_their_own_time_only() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut m = Meter::default();
        m.enter(Feature::Core, at(0));
        m.enter(Feature::Points, at(2));
        m.enter(Feature::Leaderboards, at(5));
        m.leave(at(9));
        m.leave(at(10));
        m.leave(at(11));
        // Outside any feature nothing is charged.
        m.enter(Feature::Commit, at(20));
        m.leave(at(21));
        let ms = |f: Feature| m.nanos[f as usize] / 1_000_000;
        assert_eq!(ms(Feature::Core), 3);
        assert_eq!(ms(Feature::Points), 4);
        assert_eq!(ms(Feature::Leaderboards), 4);
        assert_eq!(ms(Feature::Commit), 1);
        assert_eq!(ms(Feature::Streaks), 0);
    }

    #[test]
    fn a_panic_inside_a_feature_leaves_the_meter_balanced_and_flush_empties_it() {
        let caught = std::panic::catch_unwind(|| measure(Feature::Streaks, || panic!("boom")));
        assert!(caught.is_err());
        METER.with(|m| assert!(m.borrow().running.is_empty()));
        let costs = FeatureCosts::default();
        flush(&costs);
        METER.with(|m| assert!(m.borrow().nanos.iter().all(|&n| n == 0)));
    }
}
