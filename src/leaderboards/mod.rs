//! Leaderboards (docs/behaviour/leaderboards.md, issue #7): metric, points and streak
//! boards with runs, breakdown groups, capacity, history and webhooks.
//!
//! * `runs`, `ranking`: the pure rules (runs and their dates; order, membership,
//!   threshold).
//! * `engine`: [`apply`], the one entry point writers call when a user's ranked value may
//!   have changed; `store`: the SQL (the source of truth).
//! * `index`: the in-memory rank index: the writer ranks from its staged copy, the read
//!   routes from the committed one.
//! * `read`: the read routes' queries; `displacement`: a user's history with the rank
//!   changes others caused, derived at read time; `view`: response shapes; `jobs`:
//!   run-boundary webhooks; `admin`: the Admin API commands.

pub mod admin;
pub mod displacement;
pub mod engine;
pub mod index;
pub mod jobs;
pub mod patch;
pub mod ranking;
pub mod read;
pub mod store;
pub mod view;

pub use engine::{apply, ValueChange};
pub use index::RankIndex;
pub use jobs::LeaderboardJob;

/// The rank index the writer stages its changes in (a handle onto the readers' one).
pub fn writer_index(env: &crate::writer::WriterEnv) -> Result<RankIndex, crate::error::ApiError> {
    env.shared
        .get::<RankIndex>()
        .cloned()
        .ok_or_else(|| crate::error::ApiError::internal("the writer has no rank index"))
}

#[cfg(test)]
mod tests;
