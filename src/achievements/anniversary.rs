//! Anniversary achievements (SDK 1.27.0 `trigger: "anniversary"`, `anniversaryYears`):
//! completed by the scheduler when the user's local date reaches the anniversary of their
//! sign-up date (`rules::anniversary`), with `achievement.completed`.
//!
//! Users are found through the indexed `users.anniversary_from` (the sign-up date, else the
//! UTC date of creation, within a day of the local date the rule uses). Per achievement,
//! `anniversary_progress.decided_through` is the `anniversary_from` date through which
//! every user has been decided, so each run reads only the last few days of dates instead
//! of every user. Anniversaries already past when an achievement is defined, or when a
//! user's sign-up date is set, complete silently, like any backdate
//! (docs/behaviour/achievements.md#anniversaries).

use std::collections::HashSet;

use chrono::{DateTime, Days, Duration, DurationRound, NaiveDate, Utc};

use super::engine::{complete_outside_event, eligible};
use super::{backdate, store};
use crate::catalog::{Achievement, AchievementTrigger};
use crate::config::AchievementStatus;
use crate::domain::ids::{DefinitionId, UserRow};
use crate::domain::user::User;
use crate::error::ApiError;
use crate::rules::anniversary::{anniversary, base_date, reached};
use crate::rules::local_time::local_date;
use crate::scheduler::{Job, NextDue};
use crate::writer::WriteCtx;

pub const JOB_NAME: &str = "anniversaries";

/// Users read per query; a run reads on until it has seen every due date.
const BATCH: i64 = 500;

/// Local midnights fall on quarter hours of UTC in every zone, so nothing can become due
/// between two of them.
const STEP_MINUTES: i64 = 15;

/// Whether `user`'s `years`-th anniversary has come in their zone at `at`.
pub fn reached_by(ctx: &WriteCtx<'_>, user: &User, years: u32, at: DateTime<Utc>) -> bool {
    let tz = user.time_zone(ctx.env.settings.config.server.default_timezone);
    let base = base_date(
        user.sign_up_date,
        crate::clock::from_millis(user.created),
        tz,
    );
    reached(base, years, local_date(at, tz))
}

/// The latest `anniversary_from` whose user may have reached the `years`-th anniversary at
/// `now`: the date in the zone furthest ahead (UTC+14), less the years, plus the day
/// `anniversary_from` may lie after the local creation date.
pub fn latest_due_key(now: DateTime<Utc>, years: u32) -> String {
    let ahead = (now + Duration::hours(14)).date_naive();
    key(years_before(ahead, years).and_then(|d| d.checked_add_days(Days::new(1))))
}

/// The latest `anniversary_from` whose user had surely reached the anniversary at `now` in
/// every zone (the zone furthest behind is a day behind UTC, and `anniversary_from` may lie
/// a day before the local creation date).
fn surely_due_key(now: DateTime<Utc>, years: u32) -> String {
    let behind = now.date_naive().checked_sub_days(Days::new(2));
    key(behind.and_then(|d| years_before(d, years)))
}

/// The latest base date whose `years`-th anniversary is on or before `date`.
fn years_before(date: NaiveDate, years: u32) -> Option<NaiveDate> {
    let mut candidate = date.checked_sub_months(chrono::Months::new(years.checked_mul(12)?))?;
    // 29 February bases fall on 28 February, so one more base date may qualify.
    while let Some(next) = candidate.succ_opt() {
        if anniversary(next, years).is_some_and(|a| a <= date) {
            candidate = next;
        } else {
            break;
        }
    }
    Some(candidate)
}

fn key(date: Option<NaiveDate>) -> String {
    date.map_or_else(String::new, |d| d.to_string())
}

/// Called when the backdate of `a` finished: every user whose anniversary was surely past
/// has been decided, so the job goes on from there, and may have work at once.
pub fn backdated(ctx: &WriteCtx<'_>, a: &Achievement, years: u32) -> Result<(), ApiError> {
    store::set_anniversary_decided_through(ctx.conn, a.id, &surely_due_key(ctx.now, years))?;
    ctx.env.due_hints.due_by(JOB_NAME, ctx.now);
    Ok(())
}

/// After an upsert that set a sign-up date or moved the user's zone: anniversaries already
/// reached complete now, silently, since they did not happen today.
pub fn on_user_changed(ctx: &mut WriteCtx<'_>, user: &User) -> Result<(), ApiError> {
    let catalog = ctx.catalog.clone();
    for a in catalog.achievements_for(user.tenant_id) {
        let AchievementTrigger::Anniversary { years } = a.trigger else {
            continue;
        };
        if !eligible(a, user) || !reached_by(ctx, user, years, ctx.now) {
            continue;
        }
        // Read afresh: an earlier completion may have completed composites too.
        let done = completed_ids(ctx, user)?;
        if !done.contains(&a.id) {
            complete_outside_event(ctx, user, a, &done, false)?;
        }
    }
    Ok(())
}

fn completed_ids(ctx: &WriteCtx<'_>, user: &User) -> Result<HashSet<DefinitionId>, ApiError> {
    Ok(store::completed(ctx.conn, user.row_id)?
        .into_iter()
        .map(|(id, _)| id)
        .collect())
}

pub struct AnniversaryJob;

impl Job for AnniversaryJob {
    fn name(&self) -> &'static str {
        JOB_NAME
    }

    fn run(&self, ctx: &mut WriteCtx<'_>, until: DateTime<Utc>) -> NextDue {
        let catalog = ctx.catalog.clone();
        let mut any = false;
        for a in catalog.all_achievements() {
            let AchievementTrigger::Anniversary { years } = a.trigger else {
                continue;
            };
            if a.status != AchievementStatus::Active || !backdate::is_current(ctx, a)? {
                continue;
            }
            any = true;
            run_one(ctx, a, years, until)?;
        }
        if !any {
            // A new or re-activated achievement hints the job when its backdate is done.
            return Ok(None);
        }
        let step = Duration::minutes(STEP_MINUTES);
        let next = until
            .duration_trunc(step)
            .map_err(ApiError::internal)?
            .checked_add_signed(step);
        Ok(next)
    }
}

/// Completes `a` for every user whose anniversary has come since the last run.
fn run_one(
    ctx: &mut WriteCtx<'_>,
    a: &Achievement,
    years: u32,
    until: DateTime<Utc>,
) -> Result<(), ApiError> {
    let Some(decided) = store::anniversary_decided_through(ctx.conn, a.id)? else {
        return Ok(());
    };
    let through = latest_due_key(until, years);
    // The first `anniversary_from` met that is not due yet; everything before it is decided.
    let mut first_pending: Option<String> = None;
    let mut last_seen: Option<String> = None;
    let mut after = (decided.clone(), UserRow::from_raw(i64::MAX));
    loop {
        let rows = crate::store::users::by_anniversary_from(
            ctx.conn,
            a.owner,
            (&after.0, after.1),
            &through,
            BATCH,
        )?;
        let Some(last) = rows.last().cloned() else {
            break;
        };
        for (key, row) in rows {
            let Some(user) = crate::store::users::by_row(ctx.conn, row)? else {
                continue;
            };
            if !reached_by(ctx, &user, years, until) {
                if first_pending.as_ref().is_none_or(|p| key < *p) {
                    first_pending = Some(key);
                }
                continue;
            }
            if !eligible(a, &user) {
                continue;
            }
            let done = completed_ids(ctx, &user)?;
            if !done.contains(&a.id) {
                complete_outside_event(ctx, &user, a, &done, true)?;
            }
        }
        last_seen = Some(last.0.clone());
        after = last;
    }
    let now_decided = match (first_pending, last_seen) {
        (Some(pending), _) => previous_day(&pending).unwrap_or(decided),
        (None, Some(last)) => last,
        (None, None) => decided,
    };
    store::set_anniversary_decided_through(ctx.conn, a.id, &now_decided)?;
    Ok(())
}

/// The day before a stored `YYYY-MM-DD` key.
fn previous_day(key: &str) -> Option<String> {
    let date: NaiveDate = key.parse().ok()?;
    date.pred_opt().map(|d| d.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("instant")
    }

    #[test]
    fn the_due_keys_bracket_every_zone() {
        // 10:30 UTC on 2032-03-01 is already 2032-03-02 in Kiritimati.
        let now = at("2032-03-01T10:30:00Z");
        assert_eq!(latest_due_key(now, 1), "2031-03-03");
        assert_eq!(surely_due_key(now, 1), "2031-02-28");
    }

    #[test]
    fn a_29_february_base_is_due_on_28_february() {
        // The 1st anniversary of 2028-02-29 is 2029-02-28, so on 2029-02-28 (+1 day of
        // slack for the key) the latest due key reaches past 2028-02-29.
        let now = at("2029-02-27T12:00:00Z");
        assert_eq!(latest_due_key(now, 1), "2028-03-01");
        assert_eq!(
            years_before(NaiveDate::from_ymd_opt(2029, 2, 28).expect("date"), 1),
            NaiveDate::from_ymd_opt(2028, 2, 29)
        );
    }
}
