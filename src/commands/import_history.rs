//! `trophyd import`: historic events applied in time order, many to one writer command,
//! each at its own time (`ctx.now` is the event's timestamp) and each exactly as
//! `POST /metrics/{key}/event` would apply it, in its own savepoint (after a first try of
//! the whole run with none, see `Command::copy_to_try`, which an import with no refused
//! line keeps). Also the users of `trophyd import users`. Neither command has a savepoint
//! around the whole run (`Command::OWN_SAVEPOINT`): an error that is not about a line
//! fails the run's batch, and the import stops with nothing of that run applied.
//!
//! The timed work that falls due between two events of a run (streak settlement,
//! leaderboard runs, boosts) runs between them, inside the run's transaction, with the
//! scheduler's jobs lent to the command ([`InlineJobs`]), as the live server would have run
//! it between those events. So a run is as long as the driver makes it.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::record_event::RecordEvent;
use super::upsert_user::{Missing, UpsertUser};
use crate::clock::format_timestamp;
use crate::error::ApiError;
use crate::scheduler::InlineJobs;
use crate::writer::{Command, WriteCtx};

#[derive(Clone)]
pub struct ImportedEvent {
    /// Where it is in the file, for the report of refused lines.
    pub line: u64,
    /// Where it is in the file's events sorted by time: the progress row counts these.
    pub position: u64,
    pub at: DateTime<Utc>,
    pub event: RecordEvent,
}

#[derive(Clone)]
pub struct ImportEvents {
    /// In time order.
    pub events: Vec<ImportedEvent>,
    /// The scheduler's jobs, run as they fall due between events.
    pub jobs: InlineJobs,
    /// The database's present when the import began: an earlier event is history the
    /// state has moved past, refused unless it is a replay of one already applied.
    pub present: Option<DateTime<Utc>>,
    /// The meta row that counts the file's events (in time order) already dealt with:
    /// an interrupted import resumes after them.
    pub progress: String,
}

#[derive(Default)]
pub struct ImportOutcome {
    pub applied: usize,
    /// Already in the database (their idempotency key was used).
    pub replayed: usize,
    /// Line and reason.
    pub refused: Vec<(u64, String)>,
    /// The jobs with the due times the run left, for the scheduler to take back.
    pub jobs: Option<InlineJobs>,
}

/// Errors that are about the line, not the database: the line is refused and the import
/// goes on. Anything else stops the import (its batch rolls back).
fn refusal(error: &ApiError) -> bool {
    !matches!(
        error,
        ApiError::Internal(_) | ApiError::Overloaded { .. } | ApiError::TooManyRequests { .. }
    )
}

impl Command for ImportEvents {
    type Output = ImportOutcome;
    const OWN_SAVEPOINT: bool = false;

    fn copy_to_try(&self) -> Option<Self> {
        Some(self.clone())
    }

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<ImportOutcome, ApiError> {
        let mut outcome = ImportOutcome::default();
        let mut jobs = self.jobs;
        // The events' responses are not read.
        ctx.views = false;
        let mut dealt = None;
        for item in self.events {
            dealt = Some(item.position + 1);
            ctx.now = item.at;
            jobs.run_due(ctx, item.at)?;
            let late = self.present.filter(|present| item.at < *present);
            let applied = ctx.nested(|ctx| {
                let out = item.event.apply(ctx)?;
                match late {
                    Some(present) if !out.replayed => Err(ApiError::unprocessable(format!(
                        "the event is from before the database's present ({}); history \
                         is imported before later events, into a database that has not \
                         gone past it",
                        format_timestamp(present)
                    ))),
                    _ => Ok(out.replayed),
                }
            });
            match applied {
                Ok(true) => outcome.replayed += 1,
                Ok(false) => outcome.applied += 1,
                Err(e) if refusal(&e) => outcome.refused.push((item.line, e.to_string())),
                Err(e) => return Err(e),
            }
        }
        outcome.jobs = Some(jobs);
        if let Some(dealt) = dealt {
            ctx.conn
                .prepare_cached(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )?
                .execute(params![self.progress, dealt.to_string()])?;
        }
        Ok(outcome)
    }
}

/// Users of `trophyd import users`, each upserted as `PUT /users/{id}` would.
#[derive(Clone)]
pub struct ImportUsers(pub Vec<(u64, UpsertUser)>);

impl Command for ImportUsers {
    type Output = (usize, Vec<(u64, String)>);
    const OWN_SAVEPOINT: bool = false;

    fn copy_to_try(&self) -> Option<Self> {
        Some(self.clone())
    }

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Self::Output, ApiError> {
        let mut applied = 0;
        let mut refused = Vec::new();
        for (line, upsert) in self.0 {
            debug_assert_eq!(upsert.missing, Missing::Create);
            match ctx.nested(|ctx| upsert.apply(ctx)) {
                Ok(_) => applied += 1,
                Err(e) if refusal(&e) => refused.push((line, e.to_string())),
                Err(e) => return Err(e),
            }
        }
        Ok((applied, refused))
    }
}
