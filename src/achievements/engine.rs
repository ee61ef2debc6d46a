//! Evaluating achievements inside the writer's transaction
//! (docs/behaviour/achievements.md#evaluation-order): metric achievements on the event's
//! metric, then streak achievements when the length changed, then composites until nothing
//! changes. Each achievement completes at most once per user and is never revoked.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::{store, view};
use crate::catalog::{Achievement, AchievementTrigger, Catalog};
use crate::config::AchievementStatus;
use crate::domain::event_facts::EventFacts;
use crate::domain::ids::{DefinitionId, TenantId};
use crate::domain::user::User;
use crate::error::ApiError;
use crate::rules::achievements::{cascade, filters_match};
use crate::webhooks;
use crate::writer::WriteCtx;

/// One achievement completed by the current request.
#[derive(Debug, Clone)]
pub struct Completed {
    pub achievement: Achievement,
    pub completion_id: String,
    pub achieved_at: i64,
}

/// Whether a user may complete `a` now: active, and the user filters match.
pub fn eligible(a: &Achievement, user: &User) -> bool {
    a.status == AchievementStatus::Active && filters_match(&a.user_attributes, &user.attributes)
}

/// Progress of a metric achievement with event filters: the sum of matching events. The
/// first time it is needed it is computed from the stored events (the current event is
/// already stored), afterwards kept up to date one event at a time.
fn filtered_progress(
    ctx: &WriteCtx<'_>,
    user: &User,
    a: &Achievement,
    facts: &EventFacts<'_>,
) -> Result<f64, ApiError> {
    let progress = match store::progress(ctx.conn, user.row_id, a.id)? {
        Some(p) if filters_match(&a.event_attributes, facts.attributes) => p + facts.value,
        Some(p) => return Ok(p),
        None => store::event_values(ctx.conn, user.row_id, facts.metric_id)?
            .into_iter()
            .filter(|(_, attrs)| filters_match(&a.event_attributes, attrs))
            .map(|(v, _)| v)
            .sum(),
    };
    store::set_progress(ctx.conn, user.row_id, a.id, progress)?;
    Ok(progress)
}

/// Achievements the event completes, in completion order, with their webhooks queued.
pub fn after_event(
    ctx: &mut WriteCtx<'_>,
    user: &User,
    facts: &EventFacts<'_>,
) -> Result<Vec<Completed>, ApiError> {
    let _cost = crate::writer::costs::charge(crate::writer::costs::Feature::Achievements);
    let catalog = ctx.catalog.clone();
    // The user's completions are read only once something may complete: the common event
    // crosses no threshold and touches no achievement table.
    let mut done: Option<HashSet<DefinitionId>> = None;
    let mut completed = Vec::new();
    for a in catalog.achievements_for(user.tenant_id) {
        let AchievementTrigger::Metric { metric, value } = &a.trigger else {
            continue;
        };
        if metric != facts.metric_key {
            continue;
        }
        if a.event_attributes.is_empty() {
            // Without filters the achievement completed when the total first reached the
            // value, so only a crossing can complete it now. With user filters a user may
            // have become eligible since, so any total at or above the value counts.
            let before = facts.total - facts.value;
            let crossed = before < *value && *value <= facts.total;
            let reached = facts.total >= *value;
            if !(crossed || (reached && !a.user_attributes.is_empty())) {
                continue;
            }
        }
        if completions(ctx, user, &mut done)?.contains(&a.id) {
            continue;
        }
        // Filtered progress is kept whatever the user's eligibility or the achievement's
        // status: every matching event counts, not only those sent while it could complete.
        let progress = if a.event_attributes.is_empty() {
            facts.total
        } else {
            filtered_progress(ctx, user, a, facts)?
        };
        if eligible(a, user) && progress >= *value {
            completed.push(complete(ctx, user, a, true)?);
        }
    }
    if let Some(length) = facts.streak_length {
        let before = completions(ctx, user, &mut done)?.clone();
        completed.extend(after_streak(ctx, user, length, &before)?);
    }
    // Composites complete when a prerequisite just did, or when the upsert made the user
    // eligible for one whose prerequisites were already done; a tenant without composites
    // skips the lookup.
    let has_composites = catalog
        .achievements_for(user.tenant_id)
        .any(|a| matches!(a.trigger, AchievementTrigger::Composite { .. }));
    if !completed.is_empty() || has_composites {
        let mut all_done = completions(ctx, user, &mut done)?.clone();
        all_done.extend(completed.iter().map(|c| c.achievement.id));
        completed.extend(composites(ctx, user, &all_done, true)?);
    }
    Ok(completed)
}

/// The achievements the user had completed before this event, read once.
fn completions<'d>(
    ctx: &WriteCtx<'_>,
    user: &User,
    done: &'d mut Option<HashSet<DefinitionId>>,
) -> Result<&'d HashSet<DefinitionId>, ApiError> {
    if done.is_none() {
        *done = Some(
            store::completed(ctx.conn, user.row_id)?
                .into_iter()
                .map(|(id, _)| id)
                .collect(),
        );
    }
    Ok(done.get_or_insert_with(HashSet::new))
}

/// Streak achievements reached at `length`.
fn after_streak(
    ctx: &mut WriteCtx<'_>,
    user: &User,
    length: u32,
    done: &HashSet<DefinitionId>,
) -> Result<Vec<Completed>, ApiError> {
    let catalog = ctx.catalog.clone();
    let mut completed = Vec::new();
    for a in catalog.achievements_for(user.tenant_id) {
        if let AchievementTrigger::Streak { length: needed } = a.trigger {
            if needed <= length && !done.contains(&a.id) && eligible(a, user) {
                completed.push(complete(ctx, user, a, true)?);
            }
        }
    }
    Ok(completed)
}

/// Composites whose prerequisites are now all done, cascading.
pub fn composites(
    ctx: &mut WriteCtx<'_>,
    user: &User,
    done: &HashSet<DefinitionId>,
    notify: bool,
) -> Result<Vec<Completed>, ApiError> {
    let catalog = ctx.catalog.clone();
    let defs = composite_defs(&catalog, user);
    let mut completed = Vec::new();
    for id in cascade(&defs, done) {
        if let Some(a) = catalog
            .achievements_for(user.tenant_id)
            .find(|a| a.id == id)
        {
            completed.push(complete(ctx, user, a, notify)?);
        }
    }
    Ok(completed)
}

/// Active composites the user is eligible for, with prerequisite ids.
fn composite_defs(catalog: &Catalog, user: &User) -> Vec<(DefinitionId, Vec<DefinitionId>)> {
    // A prerequisite the user cannot see: an id no row has, so never done.
    const UNKNOWN: DefinitionId = DefinitionId::from_raw(-1);
    catalog
        .achievements_for(user.tenant_id)
        .filter(|a| eligible(a, user))
        .filter_map(|a| match &a.trigger {
            AchievementTrigger::Composite { prerequisites } => Some((
                a.id,
                prerequisites
                    .iter()
                    .map(|k| {
                        catalog
                            .achievement(user.tenant_id, k)
                            .map_or(UNKNOWN, |p| p.id)
                    })
                    .collect(),
            )),
            _ => None,
        })
        .collect()
}

/// Completes `a` outside an event (a backdate, the scheduler, an upsert), then the
/// composites that completes in turn, and pays the points triggers of all of them.
pub fn complete_outside_event(
    ctx: &mut WriteCtx<'_>,
    user: &User,
    a: &Achievement,
    done: &HashSet<DefinitionId>,
    notify: bool,
) -> Result<(), ApiError> {
    let completed = complete(ctx, user, a, notify)?;
    let mut now_done = done.clone();
    now_done.insert(completed.achievement.id);
    let cascaded = composites(ctx, user, &now_done, notify)?;
    let ids: Vec<DefinitionId> = std::iter::once(completed.achievement.id)
        .chain(cascaded.iter().map(|c| c.achievement.id))
        .collect();
    award_points(ctx, user, &ids)
}

/// Points triggers of completions outside an event pay like live ones
/// (docs/behaviour/points.md#achievement-triggers).
pub fn award_points(
    ctx: &mut WriteCtx<'_>,
    user: &User,
    completed: &[DefinitionId],
) -> Result<(), ApiError> {
    if completed.is_empty() {
        return Ok(());
    }
    let mut points = crate::points::UserPoints::default();
    crate::points::on_achievements(ctx, &mut points, user, completed)?;
    crate::points::finish(ctx, user, points)?;
    Ok(())
}

/// Records the completion; queues `achievement.completed` unless it is a silent backdate.
pub fn complete(
    ctx: &mut WriteCtx<'_>,
    user: &User,
    a: &Achievement,
    notify: bool,
) -> Result<Completed, ApiError> {
    let at = ctx.now.timestamp_millis();
    let completion_id = store::insert(ctx.conn, user.tenant_id, user.row_id, a.id, at, !notify)?;
    let webhook = notify && webhooks::subscribed(ctx, "achievement.completed");
    let message = notify && crate::notifications::wants_achievements(ctx);
    if webhook || message {
        let achievement = view::user_achievement(a, &ctx.catalog, user.tenant_id, Some(at));
        if webhook {
            let body = json!({
                "type": "achievement.completed",
                "user": user.to_json(),
                "achievement": achievement,
            });
            webhooks::emit(ctx, "achievement.completed", &body)?;
        }
        if message {
            crate::notifications::achievement_completed(ctx, user, achievement, ctx.now)?;
        }
    }
    Ok(Completed {
        achievement: a.clone(),
        completion_id,
        achieved_at: at,
    })
}

/// The response entries for completions, in completion order.
pub fn response_entries(
    completed: &[Completed],
    catalog: &Catalog,
    tenant: TenantId,
) -> Vec<Value> {
    completed
        .iter()
        .map(|c| view::user_achievement(&c.achievement, catalog, tenant, Some(c.achieved_at)))
        .collect()
}
