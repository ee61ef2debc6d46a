//! What a command sees while it runs inside the group transaction.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::catalog::{Catalog, CatalogHandle};
use crate::clock::Clock;
use crate::error::ApiError;
use crate::settings::RuntimeSettings;

use super::staged::{Shared, Staged, Staging};

/// Shared, read-mostly state the writer thread needs.
#[derive(Clone)]
pub struct WriterEnv {
    pub clock: Clock,
    pub catalog: CatalogHandle,
    pub settings: Arc<RuntimeSettings>,
    /// Woken after a commit that queued webhook deliveries.
    pub wake_delivery: Arc<tokio::sync::Notify>,
    /// Woken after a commit that queued notification messages.
    pub wake_notifications: Arc<tokio::sync::Notify>,
    /// Tells the scheduler that timed work a command just created falls due earlier than
    /// its job last said.
    pub due_hints: super::DueHints,
    /// In-memory state shared with readers that commands change under an undo log (the
    /// leaderboards' rank index): cut back with a savepoint, published at commit.
    pub shared: Shared,
}

/// Where a savepoint began, in what the context stages in memory.
struct Mark {
    effects: (usize, usize),
    shared: Vec<usize>,
    staged: Vec<usize>,
}

pub struct WriteCtx<'c> {
    pub conn: &'c Connection,
    pub env: &'c WriterEnv,
    /// The catalog as of the start of this command.
    pub catalog: Arc<Catalog>,
    /// The time of this command, read once so every row it writes agrees.
    pub now: DateTime<Utc>,
    /// Whether the command's caller reads the views the engines shape for a response
    /// (the event response's streak, points and leaderboard entries). An import of history
    /// reads none of them and turns this off for its run: shaping them was an eighth of
    /// its writer's time. Webhook bodies are built regardless.
    pub views: bool,
    after_commit: Vec<Box<dyn FnOnce() + Send>>,
    after_durable: Vec<Box<dyn FnOnce() + Send>>,
    /// What the batch owes the database beside its statements (wrapped aggregates, the
    /// console's hourly counts), written just before COMMIT.
    pub(super) staging: Staging,
    /// A command without a savepoint of its own failed: the batch rolls back.
    pub(super) doomed: bool,
    /// The batch is a try without savepoints (see `unguarded`).
    trying: bool,
    /// Something failed inside `nested` during a try, even if the command went on.
    try_failed: bool,
}

impl<'c> WriteCtx<'c> {
    pub(super) fn new(conn: &'c Connection, env: &'c WriterEnv) -> Self {
        WriteCtx {
            conn,
            env,
            catalog: env.catalog.current(),
            now: env.clock.now(),
            views: true,
            after_commit: Vec::new(),
            after_durable: Vec::new(),
            staging: Staging::default(),
            doomed: false,
            trying: false,
            try_failed: false,
        }
    }

    /// The batch's staged `T` (see [`Staged`]), created empty on first use.
    pub fn staged<T: Staged + Default>(&mut self) -> &mut T {
        self.staging.get::<T>()
    }

    /// In-memory effects (caches, rank structures) that must only happen if the batch commits.
    pub fn after_commit(&mut self, effect: impl FnOnce() + Send + 'static) {
        self.after_commit.push(Box::new(effect));
    }

    /// Effects that announce the batch outside the process (waking the webhook and
    /// notification senders): they wait until the batch is on disk, as replies do.
    pub fn after_durable(&mut self, effect: impl FnOnce() + Send + 'static) {
        self.after_durable.push(Box::new(effect));
    }

    /// Definitions changed in this command: the new catalog (as this transaction sees it)
    /// replaces the current one once the batch commits.
    pub fn reload_catalog_after_commit(&mut self) -> Result<(), ApiError> {
        let fresh = Catalog::load(self.conn)?;
        let handle = self.env.catalog.clone();
        self.after_commit(move || handle.replace(fresh));
        Ok(())
    }

    pub(super) fn take_after_commit(&mut self) -> Vec<Box<dyn FnOnce() + Send>> {
        std::mem::take(&mut self.after_commit)
    }

    pub(super) fn take_after_durable(&mut self) -> Vec<Box<dyn FnOnce() + Send>> {
        std::mem::take(&mut self.after_durable)
    }

    fn mark(&self) -> Mark {
        Mark {
            effects: (self.after_commit.len(), self.after_durable.len()),
            shared: self.env.shared.savepoints(),
            staged: self.staging.marks(),
        }
    }

    /// Forgets what was staged in memory since `mark` (its SQL is rolled back apart).
    fn undo_to(&mut self, mark: Mark) {
        self.after_commit.truncate(mark.effects.0);
        self.after_durable.truncate(mark.effects.1);
        self.env.shared.rollback_to(&mark.shared);
        self.staging.rollback_to(&mark.staged);
    }

    /// Runs `f` in a SAVEPOINT nested in the command's: on error its writes, rank changes,
    /// wrapped additions and after-commit effects are undone and the command goes on (a
    /// batch skips one event this way). A panic is left to `isolated` or `whole_batch`,
    /// whose rollback takes this savepoint with it.
    ///
    /// In a try (see `unguarded`) there is no savepoint: a failure here marks the try
    /// failed, and the batch runs again with savepoints whatever the command does next.
    pub fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        if self.trying {
            let result = f(self);
            self.try_failed |= result.is_err();
            return result;
        }
        self.conn.execute_batch("SAVEPOINT item")?;
        let mark = self.mark();
        match f(self) {
            Ok(out) => {
                self.conn.execute_batch("RELEASE item")?;
                Ok(out)
            }
            Err(e) => {
                self.undo_to(mark);
                self.conn.execute_batch("ROLLBACK TO item; RELEASE item")?;
                Err(e)
            }
        }
    }

    /// Runs `f` as a command: with the current catalog and time, a panic turned into an error.
    fn command<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.catalog = self.env.catalog.current();
        self.now = self.env.clock.now();
        self.views = true;
        match catch_unwind(AssertUnwindSafe(|| f(self))) {
            Ok(result) => result,
            Err(_) => Err(ApiError::internal("a command panicked; it was rolled back")),
        }
    }

    /// Runs `f` with no savepoint around it or inside it (`nested` included), for a
    /// batch's first try; `None` if anything in it failed, and the caller rolls the whole
    /// transaction back.
    pub(super) fn unguarded<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, ApiError>,
    ) -> Option<T> {
        self.trying = true;
        self.try_failed = false;
        let result = self.command(f);
        self.trying = false;
        match result {
            Ok(out) if !self.try_failed => Some(out),
            _ => None,
        }
    }

    /// Forgets everything staged in memory by the batch so far, whose transaction the
    /// caller rolls back.
    pub(super) fn undo_all(&mut self) {
        self.undo_to(Mark {
            effects: (0, 0),
            shared: Vec::new(),
            staged: Vec::new(),
        });
        self.doomed = false;
    }

    /// Runs `f` with no savepoint around it: on error (or panic) the whole batch rolls back.
    pub(super) fn whole_batch<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let result = self.command(f);
        if result.is_err() {
            self.doomed = true;
        }
        result
    }

    /// Runs `f` inside a SAVEPOINT: on error (or panic) its writes and its after-commit
    /// effects are undone and the rest of the batch carries on.
    pub(super) fn isolated<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.conn.execute_batch("SAVEPOINT command")?;
        let mark = self.mark();
        let result = self.command(f).and_then(|out| {
            self.conn.execute_batch("RELEASE command")?;
            Ok(out)
        });
        if result.is_err() {
            self.undo_to(mark);
            self.conn
                .execute_batch("ROLLBACK TO command; RELEASE command")?;
        }
        result
    }
}
