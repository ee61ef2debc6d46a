//! The timed messages (streak reminder, recap, reactivation): kept as one
//! `notification_schedule` row per user and kind, started by the user's events and
//! evaluated by the scheduler's job when due.
//!
//! An event only adds a row when the user has none (`INSERT OR IGNORE`, no write when it
//! exists), so the event path stays one index probe per kind. A row's due time may then be
//! stale (the user came back, changed zone, extended the streak): the job decides against
//! the state at the due time and either sends, or moves the row to the right time, or
//! drops it. Every evaluation moves `due_at` strictly forward or deletes the row, so the
//! job always finishes.
//!
//! Each row is evaluated *at its due time*, not at the time the job happens to run: the
//! scheduler runs jobs in time order, so the streak the reminder reads is the streak as it
//! stood then (the settlement at the period's end has not run yet).

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde_json::json;

use super::decide::{decide, Due};
use super::store::{self, Scheduled};
use super::Kind;
use crate::clock::from_millis;
use crate::config::{Config, RecapFrequency};
use crate::domain::user::User;
use crate::error::ApiError;
use crate::rules::local_time::{local_date, utc_range_of_local_dates};
use crate::rules::notifications::{
    next_reactivation, next_recap, next_streak_reminder, reactivation_due, RecapEvery,
    DEFAULT_MESSAGE_ZONE,
};
use crate::rules::periods::Period;
use crate::scheduler::{FinishedRowsExpiry, Job, NextDue};
use crate::store::users as store_users;
use crate::writer::costs::{self, Feature};
use crate::writer::WriteCtx;

pub const JOB_NAME: &str = "notifications";
/// Rows read per query; each batch is evaluated before the next is read.
const BATCH: i64 = 500;
/// Finished outbox rows are kept this long for the Admin API's list.
pub const KEEP_FINISHED_DAYS: i64 = 30;

pub const OUTBOX_EXPIRY: FinishedRowsExpiry = FinishedRowsExpiry {
    name: "notification-outbox-expiry",
    table: "notification_outbox",
    keep_days: KEEP_FINISHED_DAYS,
};

/// The zone a user's messages are timed in (docs/behaviour/notifications.md#time-zone):
/// theirs, else New York.
pub fn message_zone(user: &User) -> Tz {
    zone_named(user.tz.as_deref())
}

/// [`message_zone`] from the user's `tz` as stored or shown.
pub fn zone_named(tz: Option<&str>) -> Tz {
    tz.and_then(|name| name.parse().ok())
        .unwrap_or(DEFAULT_MESSAGE_ZONE)
}

/// The streak's zone: a reminder must fall inside the period the streak is cut in, so it
/// is timed in the streak's zone (the server default for users without one).
fn streak_zone(config: &Config, user: &User) -> Tz {
    user.time_zone(config.server.default_timezone)
}

fn recap_every(f: RecapFrequency) -> RecapEvery {
    match f {
        RecapFrequency::Daily => RecapEvery::Day,
        RecapFrequency::Weekly => RecapEvery::Week,
        RecapFrequency::Monthly => RecapEvery::Month,
        RecapFrequency::Yearly => RecapEvery::Year,
    }
}

/// An event of `user` at `ctx.now`: starts the timed messages it can lead to.
pub fn on_event(ctx: &mut WriteCtx<'_>, user: &User) -> Result<(), ApiError> {
    costs::measure(Feature::Notifications, || schedule_after_event(ctx, user))
}

fn schedule_after_event(ctx: &mut WriteCtx<'_>, user: &User) -> Result<(), ApiError> {
    let emails = &ctx.env.settings.config.emails;
    if user.control
        || (emails.reactivation.is_none()
            && emails.recap.is_none()
            && emails.streak_reminder.is_none())
    {
        return Ok(());
    }
    let have = store::scheduled_kinds(ctx.conn, user.row_id)?;
    let wanted = |kind: Kind| !have.contains(&kind);
    let now = ctx.now;
    let mut rows = Vec::with_capacity(3);
    if let Some(r) = emails
        .reactivation
        .as_ref()
        .filter(|_| wanted(Kind::Reactivation))
    {
        if let Some(due) = next_reactivation(now, &r.after_days, 0, message_zone(user)) {
            rows.push((Kind::Reactivation, due, now.timestamp_millis()));
        }
    }
    if let Some(r) = emails.recap.as_ref().filter(|_| wanted(Kind::Recap)) {
        let zone = message_zone(user);
        if let Some((due, _)) = next_recap(now, recap_every(r.frequency), r.local_hour, zone) {
            rows.push((Kind::Recap, due, 0));
        }
    }
    let reminder = emails
        .streak_reminder
        .as_ref()
        .filter(|_| wanted(Kind::StreakReminder));
    if let (Some(r), Some(def)) = (reminder, ctx.env.settings.streaks.current()) {
        let kind = crate::streaks::settings::period_kind(Some(&def));
        let zone = streak_zone(&ctx.env.settings.config, user);
        if let Some((due, _)) = next_streak_reminder(now, kind, r.local_hour, zone) {
            rows.push((Kind::StreakReminder, due, 0));
        }
    }
    for (kind, due, anchor) in rows {
        let inserted = store::schedule_if_absent(
            ctx.conn,
            &Scheduled {
                user_id: user.row_id,
                kind,
                due_at: due.timestamp_millis(),
                step: 0,
                anchor,
            },
        )?;
        if inserted {
            ctx.env.due_hints.due_by(JOB_NAME, due);
        }
    }
    Ok(())
}

/// The scheduler job evaluating due rows.
pub struct NotificationJob;

impl Job for NotificationJob {
    fn name(&self) -> &'static str {
        JOB_NAME
    }

    fn run(&self, ctx: &mut WriteCtx<'_>, until: DateTime<Utc>) -> NextDue {
        let until_ms = until.timestamp_millis();
        loop {
            let rows = store::due(ctx.conn, until_ms, BATCH)?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                evaluate(ctx, &row)?;
            }
        }
        Ok(store::next_due(ctx.conn)?.map(from_millis))
    }
}

/// Where a row goes after its evaluation.
enum Next {
    At(DateTime<Utc>, i64, i64),
    Drop,
}

fn evaluate(ctx: &mut WriteCtx<'_>, row: &Scheduled) -> Result<(), ApiError> {
    let user = match store_users::by_row(ctx.conn, row.user_id)? {
        Some(user) if !user.control => user,
        _ => return finish(ctx, row, Next::Drop),
    };
    let at = from_millis(row.due_at);
    let next = match row.kind {
        Kind::Reactivation => reactivation(ctx, &user, row, at)?,
        Kind::Recap => recap(ctx, &user, at)?,
        Kind::StreakReminder => streak_reminder(ctx, &user, at)?,
        Kind::Achievement => Next::Drop,
    };
    finish(ctx, row, next)
}

fn finish(ctx: &mut WriteCtx<'_>, row: &Scheduled, next: Next) -> Result<(), ApiError> {
    match next {
        Next::At(due, step, anchor) if due.timestamp_millis() > row.due_at => {
            store::reschedule(
                ctx.conn,
                &Scheduled {
                    due_at: due.timestamp_millis(),
                    step,
                    anchor,
                    ..row.clone()
                },
            )?;
        }
        Next::At(due, ..) => {
            // Cannot happen by the rules' construction; dropping keeps the job finite.
            log::warn!(
                "{} message of user {} would not move forward from {due}; dropped",
                row.kind.as_str(),
                row.user_id
            );
            store::unschedule(ctx.conn, row.user_id, row.kind)?;
        }
        Next::Drop => store::unschedule(ctx.conn, row.user_id, row.kind)?,
    }
    Ok(())
}

/// The latest reactivation message due by `at` since the user's last event, then the
/// next one; the sequence starts over when the user came back.
fn reactivation(
    ctx: &mut WriteCtx<'_>,
    user: &User,
    row: &Scheduled,
    at: DateTime<Utc>,
) -> Result<Next, ApiError> {
    let Some(def) = ctx.env.settings.config.emails.reactivation.clone() else {
        return Ok(Next::Drop);
    };
    let zone = message_zone(user);
    let last = store::last_activity(ctx.conn, user.row_id)?.unwrap_or(row.anchor);
    let (mut sent, anchor) = if last > row.anchor {
        (0, last)
    } else {
        (usize::try_from(row.step).unwrap_or(usize::MAX), row.anchor)
    };
    let last_active = from_millis(anchor);
    if let Some((index, _)) = reactivation_due(last_active, &def.after_days, sent, at, zone) {
        let days = (local_date(at, zone) - local_date(last_active, zone)).num_days();
        decide(
            ctx,
            user,
            Due {
                kind: Kind::Reactivation,
                at,
                details: json!({
                    "messageNumber": index + 1,
                    "daysSinceLastActive": days,
                }),
            },
        )?;
        sent = index + 1;
    }
    Ok(
        match next_reactivation(last_active, &def.after_days, sent, zone) {
            Some(due) => Next::At(due, sent as i64, anchor),
            None => Next::Drop,
        },
    )
}

/// The period a message of a row due at `at` is about, from the message's schedule `next`
/// (its first time after an instant, with the period it is about). `Err` is what becomes of
/// the row when no message is due at `at`: dropped when none is scheduled, only moved when
/// the next one is later (the row is stale: the user changed zone).
fn period_due(
    at: DateTime<Utc>,
    next: impl Fn(DateTime<Utc>) -> Option<(DateTime<Utc>, Period)>,
) -> Result<Period, Next> {
    match next(at - Duration::milliseconds(1)) {
        None => Err(Next::Drop),
        Some((due, _)) if due > at => Err(Next::At(due, 0, 0)),
        Some((_, period)) => Ok(period),
    }
}

/// The recap of the period that just ended, for a user active in it. The row stays while
/// the user is active after that period (the next recap may be due); otherwise their next
/// event starts it again.
fn recap(ctx: &mut WriteCtx<'_>, user: &User, at: DateTime<Utc>) -> Result<Next, ApiError> {
    let Some(def) = ctx.env.settings.config.emails.recap.clone() else {
        return Ok(Next::Drop);
    };
    let zone = message_zone(user);
    let every = recap_every(def.frequency);
    let period = match period_due(at, |after| next_recap(after, every, def.local_hour, zone)) {
        Ok(period) => period,
        Err(next) => return Ok(next),
    };
    let Some((from, to)) = utc_range_of_local_dates(period.start, period.end, zone) else {
        return Ok(Next::Drop);
    };
    let (from, to) = (from.timestamp_millis(), to.timestamp_millis());
    // Only whether the user was active: the figures the email shows are read by the
    // delivery worker on a reader (`recap::figures`), not on the writer.
    if store::active_between(ctx.conn, user.row_id, from, to)? {
        decide(
            ctx,
            user,
            Due {
                kind: Kind::Recap,
                at,
                details: json!({
                    "periodStart": period.start.to_string(),
                    "periodEnd": period.end.to_string(),
                }),
            },
        )?;
    }
    let active_since = store::last_activity(ctx.conn, user.row_id)?.is_some_and(|l| l >= to);
    Ok(match next_recap(at, every, def.local_hour, zone) {
        Some((due, _)) if active_since => Next::At(due, 0, 0),
        _ => Next::Drop,
    })
}

/// On the period's last day at the hour: a reminder when the streak is alive and this
/// period is not yet met. The row follows the streak while it lives.
fn streak_reminder(
    ctx: &mut WriteCtx<'_>,
    user: &User,
    at: DateTime<Utc>,
) -> Result<Next, ApiError> {
    let (Some(def), Some(streak_def)) = (
        ctx.env.settings.config.emails.streak_reminder.clone(),
        ctx.env.settings.streaks.current(),
    ) else {
        return Ok(Next::Drop);
    };
    let kind = crate::streaks::settings::period_kind(Some(&streak_def));
    let zone = streak_zone(&ctx.env.settings.config, user);
    let period = match period_due(at, |after| {
        next_streak_reminder(after, kind, def.local_hour, zone)
    }) {
        Ok(period) => period,
        Err(next) => return Ok(next),
    };
    let default_tz = ctx.env.settings.config.server.default_timezone;
    let streak = crate::streaks::read::user_streak(
        ctx.conn,
        &ctx.env.settings.streaks,
        user,
        default_tz,
        at,
        1,
        crate::streaks::read::Rank::Omitted,
    )?;
    if streak.base.length == 0 {
        return Ok(Next::Drop);
    }
    if at_risk(&streak.base.expires, period) {
        let details = serde_json::to_value(&streak)
            .map_err(|e| ApiError::Internal(format!("streak view: {e}")))?;
        decide(
            ctx,
            user,
            Due {
                kind: Kind::StreakReminder,
                at,
                details,
            },
        )?;
    }
    Ok(match next_streak_reminder(at, kind, def.local_hour, zone) {
        Some((due, _)) => Next::At(due, 0, 0),
        None => Next::Drop,
    })
}

/// The streak is lost at the end of `period` unless the user acts in it.
fn at_risk(expires: &Option<chrono::NaiveDate>, period: Period) -> bool {
    *expires == Some(period.end)
}
