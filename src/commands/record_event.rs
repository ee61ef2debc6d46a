//! `POST /metrics/{key}/event`: the pipeline every gamification feature hangs off.
//! Order (docs/behaviour/users-and-events.md#recording-an-event): idempotency check, user
//! upsert, store the event and the new total, then streaks, achievements, points and
//! leaderboards as they land, then reply.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::upsert_user::{upsert_found, Touch};
use crate::achievements::engine as achievements;
use crate::catalog::Metric;
use crate::domain::event_facts::EventFacts;
use crate::domain::ids::{DefinitionId, TenantId};
use crate::domain::number::check_finite;
use crate::domain::user::UserUpsert;
use crate::error::ApiError;
use crate::leaderboards::ValueChange;
use crate::store;
use crate::streaks::view::EventStreak;
use crate::writer::{Command, WriteCtx};

#[derive(Clone)]
pub struct RecordEvent {
    pub tenant: TenantId,
    pub metric: Metric,
    pub user: UserUpsert,
    pub value: f64,
    pub attributes: BTreeMap<String, String>,
    pub idempotency_key: Option<String>,
}

/// The spec's `EventResponse`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventResponse {
    pub event_id: String,
    pub metric_id: String,
    #[serde(serialize_with = "crate::domain::number::serialize")]
    pub total: f64,
    pub achievements: Vec<Value>,
    pub current_streak: EventStreak,
    pub points: Map<String, Value>,
    pub leaderboards: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idempotent_replayed: Option<bool>,
}

pub struct EventOutcome {
    pub response: EventResponse,
    /// True when the idempotency key had been used: answer 202 and nothing changed.
    pub replayed: bool,
}

impl Command for RecordEvent {
    type Output = EventOutcome;

    fn copy_to_try(&self) -> Option<Self> {
        Some(self.clone())
    }

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<EventOutcome, ApiError> {
        let now_ms = ctx.now.timestamp_millis();
        let settings = &ctx.env.settings.config;
        let default_tz = settings.server.default_timezone;

        let found = store::users::find(ctx.conn, self.tenant, self.user.id.as_str())?;
        // Replays are recognised before the upsert, so a replay changes no user field.
        if let Some(key) = &self.idempotency_key {
            if let Some(existing) = &found {
                let ttl_days = i64::from(settings.server.idempotency_ttl_days);
                let not_before = if ttl_days == 0 {
                    i64::MIN
                } else {
                    now_ms - ttl_days * 86_400_000
                };
                if let Some(event_uuid) = store::events::replayed_event(
                    ctx.conn,
                    existing.row_id,
                    self.metric.id,
                    key,
                    not_before,
                )? {
                    let total = store::events::total(ctx.conn, existing.row_id, self.metric.id)?;
                    let current_streak = crate::streaks::current(
                        ctx.conn,
                        &ctx.env.settings.streaks,
                        existing,
                        default_tz,
                        ctx.now,
                    )?;
                    return Ok(EventOutcome {
                        response: EventResponse {
                            event_id: event_uuid,
                            metric_id: self.metric.uuid.clone(),
                            total,
                            achievements: Vec::new(),
                            current_streak,
                            points: Map::new(),
                            leaderboards: Map::new(),
                            idempotency_key: Some(key.clone()),
                            idempotent_replayed: Some(true),
                        },
                        replayed: true,
                    });
                }
            }
        }

        crate::points::check_block(
            ctx,
            self.tenant,
            &self.user,
            &self.metric,
            self.value,
            &self.attributes,
        )?;
        let upserted = upsert_found(ctx, self.tenant, &self.user, Touch::ByEvent, found)?;
        let created = upserted.created;
        let (user, mut points) = (upserted.user, upserted.points);
        let tz = user.time_zone(default_tz);
        let event_uuid = crate::store::row_uuid::new().to_string();
        let attributes = if self.attributes.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&self.attributes).map_err(ApiError::internal)?)
        };
        let event_row = store::events::insert(
            ctx.conn,
            &store::events::NewEvent {
                uuid: &event_uuid,
                user_row: user.row_id,
                metric_id: self.metric.id,
                value: self.value,
                attributes: attributes.as_deref(),
                at_ms: now_ms,
                tz: tz.name(),
            },
        )?;
        let previous_event = if created {
            None
        } else {
            store::events::last_event_at(ctx.conn, user.row_id)?
        };
        ctx.staged::<crate::activity::Pending>().event(
            self.tenant,
            now_ms,
            previous_event,
            user.control,
        );
        let total =
            store::events::add_to_total(ctx.conn, user.row_id, self.metric.id, self.value, now_ms)?;
        // An infinite total would be answered as null from then on; refusing the event
        // rolls back everything it did so far.
        let total = check_finite(total, "the user's total on this metric")?;
        crate::wrapped::record_metric_event(
            ctx,
            &user,
            self.metric.id,
            self.value,
            &self.attributes,
            now_ms,
            tz,
        )?;
        if let Some(key) = &self.idempotency_key {
            store::events::claim_key(
                ctx.conn,
                user.row_id,
                self.metric.id,
                key,
                event_row,
                now_ms,
            )?;
        }
        crate::notifications::schedule::on_event(ctx, &user)?;
        let streak = crate::streaks::on_event(ctx, &user, &self.metric.key, self.value)?;
        let facts = EventFacts {
            metric_key: &self.metric.key,
            metric_id: self.metric.id,
            total,
            value: self.value,
            attributes: &self.attributes,
            streak_length: streak.raised_to,
        };
        let completed = achievements::after_event(ctx, &user, &facts)?;
        let completed_ids: Vec<DefinitionId> = completed.iter().map(|c| c.achievement.id).collect();
        crate::points::after_event(ctx, &mut points, &user, &facts, &completed_ids)?;
        let points = crate::points::finish(ctx, &user, points)?;

        let mut ranked_changes = vec![ValueChange::Metric {
            metric_id: self.metric.id,
            value: self.value,
        }];
        if let Some(length) = streak.changed_to {
            ranked_changes.push(ValueChange::Streak { length });
        }
        let mut leaderboards = crate::leaderboards::apply(ctx, &user, &ranked_changes)?;
        // Boards ranked by points were moved when the points were finished.
        leaderboards.extend(points.leaderboards);

        Ok(EventOutcome {
            response: EventResponse {
                event_id: event_uuid,
                metric_id: self.metric.uuid.clone(),
                total,
                achievements: if ctx.views {
                    achievements::response_entries(&completed, &ctx.catalog, self.tenant)
                } else {
                    Vec::new()
                },
                current_streak: streak.view,
                points: points.response,
                leaderboards,
                idempotent_replayed: self.idempotency_key.as_ref().map(|_| false),
                idempotency_key: self.idempotency_key,
            },
            replayed: false,
        })
    }
}
