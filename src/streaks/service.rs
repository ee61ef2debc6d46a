//! Loading a user's streak, catching it up, and (in the writer) persisting it with its
//! webhooks. Every path that touches a streak goes through here, so a settlement is
//! written, and its webhooks queued, exactly once: by whichever write reaches it first.
//! Reads catch up in memory only.

use chrono_tz::Tz;
use rusqlite::Connection;
use serde_json::{json, Value};

use super::engine::{Rules, UserStreak};
use super::store;
use super::view;
use crate::clock::from_millis;
use crate::domain::ids::{TenantId, UserRow};
use crate::domain::user::User;
use crate::error::ApiError;
use crate::rules::streak::Transition;
use crate::writer::WriteCtx;

/// The scheduler job that settles streaks and grants freezes (see `jobs`).
pub const JOB_NAME: &str = "streaks";

/// Who the streak belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    pub user_id: UserRow,
    pub tenant_id: TenantId,
    /// The user's current zone.
    pub tz: Tz,
    pub created_ms: i64,
}

impl Owner {
    pub fn of(user: &User, default_tz: Tz) -> Owner {
        Owner {
            user_id: user.row_id,
            tenant_id: user.tenant_id,
            tz: user.time_zone(default_tz),
            created_ms: user.created,
        }
    }
}

/// The stored streak, or a new one (freezes scheduled from `now_ms`) if there is none.
pub fn load(
    conn: &Connection,
    rules: Rules<'_>,
    owner: &Owner,
    now_ms: i64,
) -> Result<UserStreak, ApiError> {
    Ok(match store::load(conn, owner.user_id)? {
        Some(row) => UserStreak::from_row(row, owner.created_ms, owner.tz),
        None => UserStreak::fresh(
            rules,
            owner.user_id,
            owner.tenant_id,
            owner.tz,
            owner.created_ms.max(now_ms),
        ),
    })
}

/// Brings the streak to `now_ms` in the user's current zone: a zone change first, then
/// every settlement and grant due.
pub fn catch_up(
    conn: &Connection,
    rules: Rules<'_>,
    streak: &mut UserStreak,
    tz: Tz,
    now_ms: i64,
) -> Result<(), ApiError> {
    if streak.tz != tz || streak.needs_settlement(rules, now_ms) {
        load_pauses(conn, streak)?;
    }
    streak.change_zone(rules, tz, now_ms);
    if streak.needs_settlement(rules, now_ms) {
        load_pauses(conn, streak)?;
    }
    streak.advance(rules, now_ms);
    Ok(())
}

pub fn load_pauses(conn: &Connection, streak: &mut UserStreak) -> Result<(), ApiError> {
    if streak.pauses.is_none() {
        streak.pauses = Some(store::pauses(conn, streak.row.user_id)?);
    }
    Ok(())
}

/// Writes what changed, tells the scheduler about new due times, brings streak
/// leaderboards up to date and queues the webhooks of the transitions. `user` saves a
/// lookup when the caller has it. `now_ms` is the time the streak was caught up to.
pub fn persist(
    ctx: &mut WriteCtx<'_>,
    rules: Rules<'_>,
    streak: &mut UserStreak,
    user: Option<&User>,
    now_ms: i64,
) -> Result<(), ApiError> {
    let before = shown_length(streak.loaded.as_ref());
    save(ctx, rules, streak, now_ms)?;
    sync_leaderboards(ctx, before, streak, user)?;
    emit_transitions(ctx, rules, streak, user, now_ms)
}

/// `persist` for the event pipeline, which passes the new length to the leaderboards
/// itself so its response lists the boards: returns the length when it changed.
pub fn persist_event(
    ctx: &mut WriteCtx<'_>,
    rules: Rules<'_>,
    streak: &mut UserStreak,
    user: &User,
    now_ms: i64,
) -> Result<Option<u32>, ApiError> {
    let before = shown_length(streak.loaded.as_ref());
    save(ctx, rules, streak, now_ms)?;
    emit_transitions(ctx, rules, streak, Some(user), now_ms)?;
    Ok((before != streak.length()).then(|| streak.length()))
}

/// `persist` without webhooks (recomputations rebuild state; nothing happened just now).
pub fn write(
    ctx: &mut WriteCtx<'_>,
    rules: Rules<'_>,
    streak: &mut UserStreak,
    now_ms: i64,
) -> Result<(), ApiError> {
    let before = shown_length(streak.loaded.as_ref());
    save(ctx, rules, streak, now_ms)?;
    sync_leaderboards(ctx, before, streak, None)
}

/// The length a stored row shows (0 once the streak is no longer alive).
fn shown_length(row: Option<&store::StreakRow>) -> u32 {
    row.filter(|r| r.state.is_alive())
        .map_or(0, |r| r.state.length)
}

/// Streak leaderboards rank by the current length: every change reaches them, losses
/// and resets included.
fn sync_leaderboards(
    ctx: &mut WriteCtx<'_>,
    before: u32,
    streak: &UserStreak,
    user: Option<&User>,
) -> Result<(), ApiError> {
    let length = streak.length();
    if length == before
        || !ctx
            .catalog
            .all_leaderboards()
            .any(|b| b.ranking == crate::catalog::Ranking::Streak)
    {
        return Ok(());
    }
    let loaded;
    let user = match user {
        Some(u) => u,
        None => match crate::store::users::by_row(ctx.conn, streak.row.user_id)? {
            Some(u) => {
                loaded = u;
                &loaded
            }
            None => return Ok(()),
        },
    };
    crate::leaderboards::apply(
        ctx,
        user,
        &[crate::leaderboards::ValueChange::Streak { length }],
    )?;
    Ok(())
}

fn save(
    ctx: &mut WriteCtx<'_>,
    rules: Rules<'_>,
    streak: &mut UserStreak,
    now_ms: i64,
) -> Result<(), ApiError> {
    streak.finish(rules, now_ms);
    if streak.row_changed() {
        store::save(ctx.conn, &streak.row)?;
        let before = streak.loaded.as_ref();
        for (now, was) in [
            (
                streak.row.next_settle_at,
                before.and_then(|b| b.next_settle_at),
            ),
            (
                streak.row.next_freeze_earn_at,
                before.and_then(|b| b.next_freeze_earn_at),
            ),
        ] {
            if let Some(at) = now.filter(|at| Some(*at) != was) {
                ctx.env.due_hints.due_by(JOB_NAME, from_millis(at));
            }
        }
        streak.loaded = Some(streak.row.clone());
    }
    let user_id = streak.row.user_id;
    for (index, slot) in streak.periods.iter_mut().filter(|(_, s)| s.dirty) {
        store::save_period(ctx.conn, user_id, *index, &slot.row, slot.sums_known)?;
        slot.dirty = false;
    }
    Ok(())
}

/// Queues one webhook per transition (docs/behaviour/webhooks.md#event-types), unless the
/// user turned streaks off in their preferences (`streak.enabled: false`).
fn emit_transitions(
    ctx: &mut WriteCtx<'_>,
    rules: Rules<'_>,
    streak: &mut UserStreak,
    user: Option<&User>,
    now_ms: i64,
) -> Result<(), ApiError> {
    let transitions = std::mem::take(&mut streak.outcome.transitions);
    if !transitions
        .iter()
        .any(|t| crate::webhooks::subscribed(ctx, t.event_type()))
    {
        return Ok(());
    }
    let user_id = streak.row.user_id;
    if !webhooks_enabled(ctx.conn, user_id)? {
        return Ok(());
    }
    let loaded;
    let user = match user {
        Some(u) => u,
        None => match crate::store::users::by_row(ctx.conn, user_id)? {
            Some(u) => {
                loaded = u;
                &loaded
            }
            None => return Ok(()),
        },
    };
    let user_json = user.to_json();
    // Freezes after each transition, worked back from the balance now.
    let mut balance = streak.row.state.freezes;
    let mut after = vec![0; transitions.len()];
    for (i, t) in transitions.iter().enumerate().rev() {
        after[i] = balance;
        match t {
            Transition::FreezesConsumed(n) => balance = balance.saturating_add(*n),
            Transition::FreezesEarned(n) => balance = balance.saturating_sub(*n),
            _ => {}
        }
    }
    for (t, freezes) in transitions.iter().zip(after) {
        let kind = t.event_type();
        if !crate::webhooks::subscribed(ctx, kind) {
            continue;
        }
        let body = match t {
            Transition::Started | Transition::Extended => {
                let streak_json = serde_json::to_value(view::base(rules, streak, now_ms))
                    .map_err(ApiError::internal)?;
                json!({ "type": kind, "user": user_json, "streak": streak_json })
            }
            Transition::Lost { length } => {
                json!({ "type": kind, "user": user_json, "length": length })
            }
            Transition::FreezesConsumed(n) => json!({
                "type": kind,
                "user": user_json,
                "consumed": n,
                "freezes": freezes,
            }),
            Transition::FreezesEarned(n) => json!({
                "type": kind,
                "user": user_json,
                "earned": n,
                "freezes": freezes,
            }),
        };
        crate::webhooks::emit(ctx, kind, &body)?;
    }
    Ok(())
}

/// False when the user's preferences say `streak.enabled: false`. Deviation from Trophy
/// (docs/behaviour/streaks.md#turning-streaks-off), which also keeps such a user's streak
/// at 0: as the issue asks, the streak is still computed (and shown); only its webhooks are
/// silenced, so turning the preference back on needs no recomputation.
fn webhooks_enabled(conn: &Connection, user_id: UserRow) -> Result<bool, ApiError> {
    let prefs: Value = crate::store::users::preferences(conn, user_id)?;
    Ok(!crate::domain::preferences::streak_disabled(&prefs))
}
