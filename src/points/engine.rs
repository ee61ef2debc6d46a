//! Evaluating points triggers inside the writer's transaction (docs/behaviour/points.md).
//! A command collects one user's awards in a [`UserPoints`], then [`finish`] updates the
//! summary counts, queues the webhooks and shapes the response's `points` map.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use serde_json::{json, Map, Value};

use super::award::{persist_award, Decided, Persisted};
use super::rules::{boosted, capped, crossings, level_index, within};
use super::{store, view};
use crate::catalog::points::{Boost, BoostTarget, PointsTrigger, TriggerKind};
use crate::catalog::{Catalog, Metric, PointsSystem};
use crate::clock::from_millis;
use crate::domain::event_facts::EventFacts;
use crate::domain::ids::{DefinitionId, TenantId, UserRow};
use crate::domain::user::{User, UserUpsert};
use crate::error::ApiError;
use crate::leaderboards::ValueChange;
use crate::rules::achievements::filters_match;
use crate::rules::local_time::local_date;
use crate::webhooks::{self, emit_coalesced, merge_points_changed};
use crate::writer::WriteCtx;

struct Made {
    award: Persisted,
    /// Null when nothing will show it (no response views, no `points.changed` endpoint).
    trigger: Value,
    boosts: Value,
    /// user_creation awards do not fire `points.changed`
    /// (docs/behaviour/points.md#user-creation-triggers).
    quiet: bool,
}

struct SystemChange {
    system_id: DefinitionId,
    /// The stored total before the command; None when the user had no totals row.
    stored: Option<i64>,
    total: i64,
    made: Vec<Made>,
}

/// One user's points changes within one command, per system in order of first change.
#[derive(Default)]
pub struct UserPoints {
    changes: Vec<SystemChange>,
}

impl UserPoints {
    fn entry(
        &mut self,
        ctx: &WriteCtx<'_>,
        user: UserRow,
        system: DefinitionId,
    ) -> Result<&mut SystemChange, ApiError> {
        let index = match self.changes.iter().position(|c| c.system_id == system) {
            Some(i) => i,
            None => {
                let stored = store::total(ctx.conn, user, system)?;
                self.changes.push(SystemChange {
                    system_id: system,
                    stored,
                    total: stored.unwrap_or(0),
                    made: Vec::new(),
                });
                self.changes.len() - 1
            }
        };
        Ok(&mut self.changes[index])
    }
}

fn tz_of(ctx: &WriteCtx<'_>, user: &User) -> Tz {
    user.time_zone(ctx.env.settings.config.server.default_timezone)
}

fn boost_applies(b: &Boost, user: &User, local: chrono::NaiveDate) -> bool {
    within(b.start, b.end, local)
        && match &b.target {
            BoostTarget::User(id) => *id == user.id,
            BoostTarget::Global(filters) => filters_match(filters, &user.attributes),
        }
}

/// Boosts, then the cap, then the choke point. Awards of 0 after the cap are not made.
#[allow(clippy::too_many_arguments)]
fn award(
    ctx: &mut WriteCtx<'_>,
    points: &mut UserPoints,
    user: &User,
    system: &PointsSystem,
    trigger: &PointsTrigger,
    base: i64,
    at_ms: i64,
    quiet: bool,
) -> Result<(), ApiError> {
    let catalog = ctx.catalog.clone();
    let local = local_date(from_millis(at_ms), tz_of(ctx, user));
    let applied: Vec<&Boost> = if base > 0 {
        system
            .boosts
            .iter()
            .filter(|b| boost_applies(b, user, local))
            .collect()
    } else {
        Vec::new()
    };
    let factors: Vec<_> = applied.iter().map(|b| (b.multiplier, b.rounding)).collect();
    let change = points.entry(ctx, user.row_id, system.id)?;
    let awarded = capped(boosted(base, &factors), change.total, system.max_points);
    if awarded == 0 {
        return Ok(());
    }
    let trigger_json = || view::trigger(trigger, &catalog, user.tenant_id);
    let shown = ctx.views || webhooks::subscribed(ctx, "points.changed");
    let boosts_json: Value = applied.iter().map(|b| view::boost(b, local)).collect();
    let persisted = persist_award(
        ctx,
        &Decided {
            user_row: user.row_id,
            tenant: user.tenant_id,
            system_id: system.id,
            trigger_id: trigger.id,
            trigger_updated: trigger.updated,
            awarded,
            total_before: change.total,
            at_ms,
            tz: user.time_zone(ctx.env.settings.config.server.default_timezone),
            trigger: &trigger_json,
            boosts: &boosts_json,
        },
    )?;
    change.total = persisted.total;
    change.made.push(Made {
        award: persisted,
        trigger: if shown { trigger_json() } else { Value::Null },
        boosts: boosts_json,
        quiet,
    });
    Ok(())
}

fn on_metric(t: &PointsTrigger, key: &str) -> Option<u32> {
    match &t.kind {
        TriggerKind::Metric { metric, threshold } if metric == key => Some(*threshold),
        _ => None,
    }
}

/// The counter a metric trigger moves to with this event and its best so far, or None
/// when the event does not count for it. Read-only.
fn counter(
    ctx: &WriteCtx<'_>,
    user_row: Option<UserRow>,
    t: &PointsTrigger,
    facts: (&BTreeMap<String, String>, f64, f64, f64),
) -> Result<Option<(f64, f64)>, ApiError> {
    let (attributes, value, total, best) = facts;
    if t.event_attributes.is_empty() {
        return Ok(Some((total, best)));
    }
    if !filters_match(&t.event_attributes, attributes) {
        return Ok(None);
    }
    let (acc, best) = match user_row {
        Some(row) => store::progress(ctx.conn, row, t.id)?,
        None => (0.0, 0.0),
    };
    let acc = crate::domain::number::check_finite(acc + value, "a points trigger's progress")?;
    Ok(Some((acc, best)))
}

/// Metric, streak and achievement triggers for one event, system by system; `completed`
/// holds the achievements (definition ids) the event completed.
pub fn after_event(
    ctx: &mut WriteCtx<'_>,
    points: &mut UserPoints,
    user: &User,
    facts: &EventFacts<'_>,
    completed: &[DefinitionId],
) -> Result<(), ApiError> {
    let _cost = crate::writer::costs::charge(crate::writer::costs::Feature::Points);
    let catalog = ctx.catalog.clone();
    let at_ms = ctx.now.timestamp_millis();
    let unfiltered = catalog.points_for(user.tenant_id).any(|s| {
        s.active_triggers()
            .any(|t| on_metric(t, facts.metric_key).is_some() && t.event_attributes.is_empty())
    });
    let before = facts.total - facts.value;
    let stored_best = if unfiltered {
        store::metric_best(ctx.conn, user.row_id, facts.metric_id)?
    } else {
        None
    };
    let best = stored_best.unwrap_or(before).max(before);
    for system in catalog.points_for(user.tenant_id) {
        for t in system.active_triggers() {
            let Some(threshold) = on_metric(t, facts.metric_key) else {
                continue;
            };
            let Some((acc, from)) = counter(
                ctx,
                Some(user.row_id),
                t,
                (facts.attributes, facts.value, facts.total, best),
            )?
            else {
                continue;
            };
            if !t.event_attributes.is_empty() {
                store::set_progress(ctx.conn, user.row_id, t.id, acc, from.max(acc))?;
            }
            let k = crossings(from, acc, threshold);
            if k > 0 && filters_match(&t.user_attributes, &user.attributes) {
                let base = t.points.saturating_mul(k);
                award(ctx, points, user, system, t, base, at_ms, false)?;
            }
        }
        if let Some(length) = facts.streak_length {
            for t in system.active_triggers() {
                if let TriggerKind::Streak { length: every } = t.kind {
                    if length > 0
                        && length % every == 0
                        && filters_match(&t.user_attributes, &user.attributes)
                    {
                        award(ctx, points, user, system, t, t.points, at_ms, false)?;
                    }
                }
            }
        }
        achievement_triggers(ctx, points, user, system, &catalog, completed)?;
    }
    if unfiltered {
        let new_best = best.max(facts.total);
        let keep = (new_best > facts.total).then_some(new_best);
        if keep.is_some() || stored_best.is_some() {
            store::set_metric_best(ctx.conn, user.row_id, facts.metric_id, keep)?;
        }
    }
    Ok(())
}

fn achievement_triggers(
    ctx: &mut WriteCtx<'_>,
    points: &mut UserPoints,
    user: &User,
    system: &PointsSystem,
    catalog: &Catalog,
    completed: &[DefinitionId],
) -> Result<(), ApiError> {
    if completed.is_empty() {
        return Ok(());
    }
    let at_ms = ctx.now.timestamp_millis();
    for t in system.active_triggers() {
        let TriggerKind::Achievement { achievement } = &t.kind else {
            continue;
        };
        let done = catalog
            .achievement(user.tenant_id, achievement)
            .is_some_and(|a| completed.contains(&a.id));
        if done && filters_match(&t.user_attributes, &user.attributes) {
            award(ctx, points, user, system, t, t.points, at_ms, false)?;
        }
    }
    Ok(())
}

/// Achievement triggers for completions outside an event (the complete route, cascades,
/// backdates).
pub fn on_achievements(
    ctx: &mut WriteCtx<'_>,
    points: &mut UserPoints,
    user: &User,
    completed: &[DefinitionId],
) -> Result<(), ApiError> {
    let catalog = ctx.catalog.clone();
    for system in catalog.points_for(user.tenant_id) {
        achievement_triggers(ctx, points, user, system, &catalog, completed)?;
    }
    Ok(())
}

/// A new user: user_creation awards, and the first ticks of the time triggers.
pub fn on_user_created(ctx: &mut WriteCtx<'_>, user: &User) -> Result<UserPoints, ApiError> {
    let catalog = ctx.catalog.clone();
    let at_ms = ctx.now.timestamp_millis();
    let mut points = UserPoints::default();
    for system in catalog.points_for(user.tenant_id) {
        for t in system.active_triggers() {
            if t.kind == TriggerKind::UserCreation
                && filters_match(&t.user_attributes, &user.attributes)
            {
                award(ctx, &mut points, user, system, t, t.points, at_ms, true)?;
            }
        }
    }
    super::jobs::schedule_new_user(ctx, user)?;
    Ok(points)
}

/// Awards of a time trigger's ticks (from the scheduler).
pub fn on_ticks(
    ctx: &mut WriteCtx<'_>,
    points: &mut UserPoints,
    user: &User,
    system: &PointsSystem,
    trigger: &PointsTrigger,
    ticks: &[i64],
) -> Result<(), ApiError> {
    if !filters_match(&trigger.user_attributes, &user.attributes) {
        return Ok(());
    }
    for at_ms in ticks {
        award(
            ctx,
            points,
            user,
            system,
            trigger,
            trigger.points,
            *at_ms,
            false,
        )?;
    }
    Ok(())
}

/// `block_if_out_of_points` (docs/behaviour/points.md#floor): rejects the event, before anything
/// is written, when a blocking trigger's deduction would take a system below 0.
pub fn check_block(
    ctx: &WriteCtx<'_>,
    tenant: TenantId,
    upsert: &UserUpsert,
    metric: &Metric,
    value: f64,
    attributes: &BTreeMap<String, String>,
) -> Result<(), ApiError> {
    let catalog = ctx.catalog.clone();
    let blocking: Vec<&PointsSystem> = catalog
        .points_for(tenant)
        .filter(|s| {
            s.active_triggers().any(|t| {
                t.block_if_out_of_points && t.points < 0 && on_metric(t, &metric.key).is_some()
            })
        })
        .collect();
    if blocking.is_empty() {
        return Ok(());
    }
    let existing = crate::store::users::find(ctx.conn, tenant, upsert.id.as_str())?;
    let mut user_attributes = existing
        .as_ref()
        .map(|u| u.attributes.clone())
        .unwrap_or_default();
    user_attributes.extend(upsert.changes.attributes.clone());
    let row = existing.as_ref().map(|u| u.row_id);
    let before = match row {
        Some(row) => crate::store::events::total(ctx.conn, row, metric.id)?,
        None => 0.0,
    };
    let best = match row {
        Some(row) => store::metric_best(ctx.conn, row, metric.id)?
            .unwrap_or(before)
            .max(before),
        None => before,
    };
    for system in blocking {
        let mut total = match row {
            Some(row) => store::total(ctx.conn, row, system.id)?.unwrap_or(0),
            // A new user starts with what the user_creation triggers give.
            None => system
                .active_triggers()
                .filter(|t| t.kind == TriggerKind::UserCreation)
                .filter(|t| filters_match(&t.user_attributes, &user_attributes))
                .fold(0i64, |sum, t| {
                    sum.saturating_add(capped(t.points, sum, system.max_points))
                }),
        };
        let mut blocked = false;
        for t in system.active_triggers() {
            let Some(threshold) = on_metric(t, &metric.key) else {
                continue;
            };
            if t.points >= 0 || !filters_match(&t.user_attributes, &user_attributes) {
                continue;
            }
            let Some((acc, from)) =
                counter(ctx, row, t, (attributes, value, before + value, best))?
            else {
                continue;
            };
            let k = crossings(from, acc, threshold);
            if k > 0 {
                total = total.saturating_add(t.points.saturating_mul(k));
                blocked |= t.block_if_out_of_points;
            }
        }
        if blocked && total < 0 {
            return Err(ApiError::unprocessable(format!(
                "Insufficient points in points system '{}'",
                system.key
            )));
        }
    }
    Ok(())
}

/// The awards a command made, for the response and for features fed by points.
pub struct Finished {
    /// The response's `points` map: systems with at least one award, by key.
    pub response: Map<String, Value>,
    /// Every award as `(system id, awarded)`, in order.
    pub awards: Vec<(DefinitionId, i64)>,
    /// Event-response entries of the leaderboards ranked by these points.
    pub leaderboards: Map<String, Value>,
}

fn level_json(system: &PointsSystem, index: Option<usize>) -> Value {
    index
        .and_then(|i| system.levels.get(i))
        .map_or(Value::Null, view::level)
}

/// Updates the summary counts, queues `points.changed` (coalesced) and
/// `points.level_changed`, and shapes the response entries.
pub fn finish(
    ctx: &mut WriteCtx<'_>,
    user: &User,
    points: UserPoints,
) -> Result<Finished, ApiError> {
    crate::writer::costs::measure(crate::writer::costs::Feature::Points, || {
        finish_measured(ctx, user, points)
    })
}

fn finish_measured(
    ctx: &mut WriteCtx<'_>,
    user: &User,
    points: UserPoints,
) -> Result<Finished, ApiError> {
    let catalog = ctx.catalog.clone();
    let window = ctx.env.settings.config.limits.points_changed_window_seconds;
    let notify_changed = webhooks::subscribed(ctx, "points.changed");
    let notify_level = webhooks::subscribed(ctx, "points.level_changed");
    let mut response = Map::new();
    let mut awards = Vec::new();
    for change in points.changes {
        if change.made.is_empty() {
            continue;
        }
        let Some(system) = catalog
            .points_for(user.tenant_id)
            .find(|s| s.id == change.system_id)
        else {
            continue;
        };
        let levels: Vec<(i64, DefinitionId)> =
            system.levels.iter().map(|l| (l.points, l.id)).collect();
        store::move_counts(
            ctx.conn,
            system.id,
            user.tenant_id,
            &levels,
            change.stored,
            change.total,
        )?;
        let thresholds: Vec<i64> = levels.iter().map(|(t, _)| *t).collect();
        let before = level_index(&thresholds, change.stored.unwrap_or(0));
        let after = level_index(&thresholds, change.total);
        let entry = |made: &mut dyn Iterator<Item = &Made>| {
            let mut added = 0i64;
            let list: Vec<Value> = made
                .map(|m| {
                    added = added.saturating_add(m.award.awarded);
                    view::award(
                        &m.award.uuid,
                        m.award.awarded,
                        m.award.total,
                        m.award.at_ms,
                        m.trigger.clone(),
                        m.boosts.clone(),
                    )
                })
                .collect();
            let mut out = view::system_base(system);
            out.insert("total".into(), json!(change.total));
            out.insert("added".into(), json!(added));
            out.insert("awards".into(), Value::Array(list));
            out
        };
        if ctx.views {
            let mut full = entry(&mut change.made.iter());
            if before != after {
                full.insert("level".into(), level_json(system, after));
            }
            response.insert(system.key.clone(), Value::Object(full));
        }
        if before != after && notify_level {
            let mut base = view::system_base(system);
            base.insert("total".into(), json!(change.total));
            let body = json!({
                "type": "points.level_changed",
                "user": user.to_json(),
                "points": base,
                "previousLevel": level_json(system, before),
                "newLevel": level_json(system, after),
            });
            webhooks::emit(ctx, "points.level_changed", &body)?;
        }
        if notify_changed && change.made.iter().any(|m| !m.quiet) {
            let mut announced = entry(&mut change.made.iter().filter(|m| !m.quiet));
            if before != after {
                announced.insert("level".into(), level_json(system, after));
            }
            let body =
                json!({ "type": "points.changed", "user": user.to_json(), "points": announced });
            let subject = format!("{}:{}", user.row_id, system.id);
            emit_coalesced(
                ctx,
                "points.changed",
                &subject,
                window,
                body,
                merge_points_changed,
            )?;
        }
        awards.extend(change.made.iter().map(|m| (system.id, m.award.awarded)));
    }
    // Boards ranked by points are fed here, so every path that awards points (events,
    // completions, backdates, user creation, time triggers) moves them.
    let changes: Vec<ValueChange> = awards
        .iter()
        .map(|&(system_id, awarded)| ValueChange::Points { system_id, awarded })
        .collect();
    let leaderboards = crate::leaderboards::apply(ctx, user, &changes)?;
    Ok(Finished {
        response,
        awards,
        leaderboards,
    })
}
