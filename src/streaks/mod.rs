//! Streaks (docs/behaviour/streaks.md, issue #4): one streak per user, extended by metric events,
//! settled at the end of each period in the user's time zone, with freezes, pauses, days
//! off, admin restores and resets.
//!
//! * `rules::streak`: the pure state machine over period indexes.
//! * `engine`: one user's streak in memory, driven by instants in their zone.
//! * `service`: load, catch up, persist with webhooks; `store`: the SQL.
//! * `jobs`: the scheduler job settling streaks and granting freezes at local midnights.
//! * `read`: the settled views the read routes serve; `admin`: the Admin API commands,
//!   `patch`: the body of a settings PATCH, applied onto the settings model.
//! * `recompute`: rebuilding every streak from the events when the settings change.
//! * `settings`: the configuration in force (the `model::streak_settings` model, stored as
//!   a `definitions` row; the fingerprints of the state computed with it in `meta`);
//!   `view`: the response shapes.

pub mod admin;
pub mod engine;
pub mod jobs;
pub mod patch;
pub mod personal;
pub mod read;
pub mod recompute;
pub mod service;
pub mod settings;
pub mod store;
pub mod view;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rusqlite::Connection;

pub use jobs::StreakJob;
pub use settings::StreakSettings;

use engine::Rules;
use service::Owner;
use view::EventStreak;

use crate::domain::user::User;
use crate::error::ApiError;
use crate::store::users as store_users;
use crate::writer::WriteCtx;

/// What an event did to the streak.
#[derive(Debug, Clone)]
pub struct EventStreakOutcome {
    /// `currentStreak` of the event response.
    pub view: EventStreak,
    /// The length after the event when the event raised it (for streak achievements and
    /// points triggers), else `None`.
    pub raised_to: Option<u32>,
    /// The length shown after the event when it differs from the stored one (raised, or
    /// lost in a settlement the event caught up on): for streak leaderboards.
    pub changed_to: Option<u32>,
}

fn default_tz(ctx: &WriteCtx<'_>) -> Tz {
    ctx.env.settings.config.server.default_timezone
}

/// Step 6 of the event pipeline (docs/behaviour/streaks.md#evaluating-an-event): settle
/// what lapsed, add the value to the current period, start or extend the streak. Every
/// event gets the streak object, whether or not its metric is a streak metric.
pub fn on_event(
    ctx: &mut WriteCtx<'_>,
    user: &User,
    metric_key: &str,
    value: f64,
) -> Result<EventStreakOutcome, ApiError> {
    crate::writer::costs::measure(crate::writer::costs::Feature::Streaks, || {
        on_event_measured(ctx, user, metric_key, value)
    })
}

fn on_event_measured(
    ctx: &mut WriteCtx<'_>,
    user: &User,
    metric_key: &str,
    value: f64,
) -> Result<EventStreakOutcome, ApiError> {
    let owner = Owner::of(user, default_tz(ctx));
    let Some(def) = ctx.env.settings.streaks.current() else {
        return Ok(EventStreakOutcome {
            view: EventStreak {
                base: view::unconfigured(owner.tz, ctx.now),
                extended: false,
            },
            raised_to: None,
            changed_to: None,
        });
    };
    // Only with customization on is a user's preferences row read on the event path.
    let personal = if def.customization_enabled {
        personal::conditions(&def, &store_users::preferences(ctx.conn, user.row_id)?)
    } else {
        None
    };
    let rules = Rules::new(personal.as_ref().unwrap_or(&def));
    let now = ctx.now.timestamp_millis();
    let mut streak = service::load(ctx.conn, rules, &owner, now)?;
    service::catch_up(ctx.conn, rules, &mut streak, owner.tz, now)?;
    if let Some(index) = streak.period_to_load(rules, now, metric_key) {
        let row = store::period(ctx.conn, owner.user_id, index)?;
        streak.put_period(index, row);
    }
    let raised = streak.record(rules, now, metric_key, value);
    if !streak.sums_are_finite() {
        return Err(crate::domain::number::too_large(
            "the streak's total for this period",
        ));
    }
    let changed_to = service::persist_event(ctx, rules, &mut streak, user, now)?;
    Ok(EventStreakOutcome {
        view: EventStreak {
            base: view::base(rules, &streak, now),
            extended: raised,
        },
        raised_to: raised.then(|| streak.length()),
        changed_to,
    })
}

/// The current streak with `extended: false`, for an idempotent replay: computed in
/// memory, nothing is written (a replay changes nothing).
pub fn current(
    conn: &Connection,
    settings: &StreakSettings,
    user: &User,
    default_tz: Tz,
    now: DateTime<Utc>,
) -> Result<EventStreak, ApiError> {
    let owner = Owner::of(user, default_tz);
    let base = match settings.current() {
        None => view::unconfigured(owner.tz, now),
        Some(def) => {
            let rules = Rules::new(&def);
            let now_ms = now.timestamp_millis();
            let mut streak = service::load(conn, rules, &owner, now_ms)?;
            service::catch_up(conn, rules, &mut streak, owner.tz, now_ms)?;
            view::base(rules, &streak, now_ms)
        }
    };
    Ok(EventStreak {
        base,
        extended: false,
    })
}

/// A new user: the initial freezes (no webhook, docs/behaviour/streaks.md#freezes) and the
/// auto-earn date.
pub fn on_user_created(ctx: &mut WriteCtx<'_>, user: &User) -> Result<(), ApiError> {
    let Some(def) = ctx.env.settings.streaks.current() else {
        return Ok(());
    };
    let rules = Rules::new(&def);
    let owner = Owner::of(user, default_tz(ctx));
    let mut streak = engine::UserStreak::fresh(
        rules,
        owner.user_id,
        owner.tenant_id,
        owner.tz,
        owner.created_ms,
    );
    service::write(ctx, rules, &mut streak, ctx.now.timestamp_millis())
}

/// The user's zone changed: settle what ended in the old zone, bridge what the move
/// skipped, and reschedule in the new one, so the deadline follows the user at once.
pub fn on_time_zone_change(ctx: &mut WriteCtx<'_>, user: &User) -> Result<(), ApiError> {
    let Some(def) = ctx.env.settings.streaks.current() else {
        return Ok(());
    };
    let rules = Rules::new(&def);
    let owner = Owner::of(user, default_tz(ctx));
    let Some(row) = store::load(ctx.conn, owner.user_id)? else {
        return Ok(());
    };
    let now = ctx.now.timestamp_millis();
    let mut streak = engine::UserStreak::from_row(row, owner.created_ms, owner.tz);
    service::catch_up(ctx.conn, rules, &mut streak, owner.tz, now)?;
    service::persist(ctx, rules, &mut streak, Some(user), now)
}
