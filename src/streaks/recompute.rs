//! Rebuilding streaks when the settings change
//! (docs/behaviour/streaks.md#changing-the-settings). Events carry their time and the
//! user's zone at the time, so each user's streak is replayed event by event through the
//! same engine the live path uses, with settlements and freeze grants interleaved in time
//! order.
//!
//! What a replay cannot know is lost: admin freeze grants, restores and resets. Pauses are
//! kept (they live in their own table). No webhooks are sent: nothing happened just now.

use std::collections::HashMap;

use chrono_tz::Tz;

use super::engine::{Rules, UserStreak};
use super::service;
use super::settings;
use super::store;
use crate::config::StreakDef;
use crate::domain::ids::{DefinitionId, TenantId, UserRow};
use crate::error::ApiError;
use crate::writer::WriteCtx;

/// Users read per query.
const BATCH: i64 = 500;

/// Brings stored state in line with `def`: a full recompute when the rules changed, new
/// auto-earn dates when only the freezes changed, nothing otherwise.
pub fn reconcile(
    ctx: &mut WriteCtx<'_>,
    def: Option<&StreakDef>,
    now_ms: i64,
) -> Result<(), ApiError> {
    let (rules_fp, freezes_fp) = settings::stored_fingerprints(ctx.conn)?;
    if rules_fp.as_deref() != Some(settings::fingerprint(def).as_str()) {
        let users = recompute_all(ctx, def, now_ms)?;
        log::info!("streak settings changed: recomputed the streaks of {users} users");
    } else if freezes_fp.as_deref() != Some(settings::freeze_fingerprint(def).as_str()) {
        if let Some(def) = def {
            reschedule_freezes(ctx, Rules::new(def), now_ms)?;
        }
    } else {
        return Ok(());
    }
    settings::store_fingerprints(ctx.conn, def)?;
    if def.is_some() {
        ctx.env
            .due_hints
            .due_by(service::JOB_NAME, crate::clock::from_millis(now_ms));
    }
    Ok(())
}

/// Replaces every streak with one recomputed from the user's events; returns how many
/// users were replayed.
pub fn recompute_all(
    ctx: &mut WriteCtx<'_>,
    def: Option<&StreakDef>,
    now_ms: i64,
) -> Result<usize, ApiError> {
    store::clear_all(ctx.conn)?;
    let Some(def) = def else { return Ok(0) };
    let rules = Rules::new(def);
    let default_tz = ctx.env.settings.config.server.default_timezone;
    let catalog = ctx.catalog.clone();
    let mut metric_keys: HashMap<TenantId, Vec<(DefinitionId, String)>> = HashMap::new();
    let mut count = 0;
    each_user(ctx, |ctx, user| {
        let store::UserInfo {
            id: user_id,
            tenant_id,
            tz,
            created,
        } = user;
        let personal = if def.customization_enabled {
            let prefs = crate::store::users::preferences(ctx.conn, user_id)?;
            super::personal::conditions(def, &prefs)
        } else {
            None
        };
        let keys_of = |d: &StreakDef| -> Vec<(DefinitionId, String)> {
            d.metrics
                .iter()
                .filter_map(|m| catalog.metric(tenant_id, &m.metric))
                .map(|m| (m.id, m.key.clone()))
                .collect()
        };
        let personal_keys;
        let keys = match &personal {
            Some(p) => {
                personal_keys = keys_of(p);
                &personal_keys
            }
            None => metric_keys.entry(tenant_id).or_insert_with(|| keys_of(def)),
        };
        let rules = personal.as_ref().map_or(rules, Rules::new);
        let ids: Vec<DefinitionId> = keys.iter().map(|(id, _)| *id).collect();
        let events = store::events_of(ctx.conn, user_id, &ids)?;
        let user_tz: Tz = tz.and_then(|t| t.parse().ok()).unwrap_or(default_tz);
        let first_tz = events
            .first()
            .and_then(|e| e.1.parse().ok())
            .unwrap_or(user_tz);
        let mut streak = UserStreak::fresh(rules, user_id, tenant_id, first_tz, created);
        streak.fresh_history = true;
        service::load_pauses(ctx.conn, &mut streak)?;
        for (at, event_tz, metric_id, value) in events {
            let Some(key) = keys.iter().find(|(id, _)| *id == metric_id).map(|k| &k.1) else {
                continue;
            };
            let event_tz = event_tz.parse().unwrap_or(streak.tz);
            streak.change_zone(rules, event_tz, at);
            streak.advance(rules, at);
            streak.record(rules, at, key, value);
        }
        streak.change_zone(rules, user_tz, now_ms.max(created));
        streak.advance(rules, now_ms);
        streak.outcome = Default::default();
        service::write(ctx, rules, &mut streak, now_ms)?;
        count += 1;
        Ok(())
    })?;
    Ok(count)
}

/// Calls `f` with every user, in id order, read `BATCH` at a time.
fn each_user(
    ctx: &mut WriteCtx<'_>,
    mut f: impl FnMut(&mut WriteCtx<'_>, store::UserInfo) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    let mut after = UserRow::from_raw(0);
    loop {
        let users = store::users_after(ctx.conn, after, BATCH)?;
        let Some(last) = users.last() else {
            return Ok(());
        };
        after = last.id;
        for user in users {
            f(ctx, user)?;
        }
    }
}

/// New auto-earn dates for everyone after the freeze settings changed (balances kept).
fn reschedule_freezes(
    ctx: &mut WriteCtx<'_>,
    rules: Rules<'_>,
    now_ms: i64,
) -> Result<(), ApiError> {
    let default_tz = ctx.env.settings.config.server.default_timezone;
    each_user(ctx, |ctx, user| {
        let Some(row) = store::load(ctx.conn, user.id)? else {
            return Ok(());
        };
        let tz: Tz = user.tz.and_then(|t| t.parse().ok()).unwrap_or(default_tz);
        let mut streak = UserStreak::from_row(row, user.created, tz);
        streak.row.next_freeze_earn_at = None;
        service::write(ctx, rules, &mut streak, now_ms)
    })
}
