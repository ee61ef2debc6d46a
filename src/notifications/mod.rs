//! Notifications: the lifecycle messages (achievement, streak reminder, recap,
//! reactivation) sent by email and push, and announced by the `emails.*_due` webhooks.
//!
//! * `rules::notifications` (pure) says when a timed message falls due in a user's zone.
//! * `schedule`: one row per user and timed kind, started by events, evaluated by the
//!   scheduler's job; `decide`: the webhook and outbox rows of a due message, written in
//!   the transaction that made it due; `store`: the SQL.
//! * `delivery`: the worker that renders and sends outbox rows and records the outcomes
//!   through the writer; `email` and `push`: the senders.

pub mod commands;
pub mod content;
pub mod decide;
pub mod delivery;
pub mod email;
pub mod kind;
pub mod push;
pub mod recap;
pub mod schedule;
pub mod secret;
pub mod store;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use delivery::Notifier;
pub use kind::Kind;
pub use schedule::{NotificationJob, OUTBOX_EXPIRY};

use crate::domain::user::User;
use crate::error::ApiError;
use crate::writer::WriteCtx;

/// A live (not backdated) completion: the achievement message is due now.
/// `achievement` is the webhook's `UserAchievementResponse`.
pub fn achievement_completed(
    ctx: &mut WriteCtx<'_>,
    user: &User,
    achievement: Value,
    at: DateTime<Utc>,
) -> Result<(), ApiError> {
    decide::decide(
        ctx,
        user,
        decide::Due {
            kind: Kind::Achievement,
            at,
            details: achievement,
        },
    )
}

/// Reads and compiles what the config names outside itself (email templates, push key
/// files) as the server will at start; the first problem, naming its file.
pub fn check_files(config: &crate::config::Config) -> Result<(), String> {
    if let Some(smtp) = &config.emails.smtp {
        email::Mailer::new(smtp)?;
        email::Templates::load(&config.emails)?;
    }
    if config.push.any() {
        push::Push::new(&config.push)?;
    }
    Ok(())
}

/// Whether achievement messages are on: the caller skips building the view otherwise.
pub fn wants_achievements(ctx: &WriteCtx<'_>) -> bool {
    ctx.env.settings.config.emails.achievement.is_some()
}
