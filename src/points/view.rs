//! The spec's points shapes (application API, webhooks) and the Admin API's.

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::rules::boost_status;
use crate::catalog::points::{Boost, BoostTarget, Level, PointsTrigger, TriggerKind};
use crate::catalog::{Catalog, PointsSystem};
use crate::clock::{format_timestamp, from_millis};
use crate::config::{AttributeType, TimeUnit};
use crate::domain::choices::Choice;
use crate::domain::ids::TenantId;
use crate::model::{attribute_pairs, Definition};

/// `PointsResponse`: the fields every points shape starts with.
pub fn system_base(s: &PointsSystem) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("id".into(), json!(s.uuid));
    out.insert("key".into(), json!(s.key));
    out.insert("name".into(), json!(s.name));
    out.insert("description".into(), json!(s.description));
    out.insert("badgeUrl".into(), json!(s.badge_url));
    out.insert("maxPoints".into(), json!(s.max_points));
    out
}

/// `PointsTrigger` (the application API's names: `hour|day`, `streakLengthThreshold`).
pub fn trigger(t: &PointsTrigger, catalog: &Catalog, tenant: TenantId) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), json!(t.uuid));
    out.insert("type".into(), json!(t.kind.name()));
    out.insert("points".into(), json!(t.points));
    out.insert("status".into(), json!(t.status.name()));
    out.insert(
        "userAttributes".into(),
        attribute_pairs::json(&t.user_attributes),
    );
    match &t.kind {
        TriggerKind::Metric { metric, threshold } => {
            if let Some(m) = catalog.metric(tenant, metric) {
                out.insert("metricId".into(), json!(m.uuid));
                out.insert("metricName".into(), json!(m.name));
            }
            out.insert("metricThreshold".into(), json!(threshold));
            out.insert(
                "eventAttributes".into(),
                attribute_pairs::json(&t.event_attributes),
            );
            if let Some((k, v)) = t.event_attributes.first() {
                out.insert("eventAttribute".into(), json!({ "key": k, "value": v }));
            }
        }
        TriggerKind::Achievement { achievement } => {
            if let Some(a) = catalog.achievement(tenant, achievement) {
                out.insert("achievementId".into(), json!(a.uuid));
                out.insert("achievementName".into(), json!(a.name));
            }
        }
        TriggerKind::Streak { length } => {
            out.insert("streakLengthThreshold".into(), json!(length));
        }
        TriggerKind::Time { unit, interval } => {
            let unit = match unit {
                TimeUnit::Hours => "hour",
                TimeUnit::Days => "day",
            };
            out.insert("timeUnit".into(), json!(unit));
            out.insert("timeInterval".into(), json!(interval));
        }
        TriggerKind::UserCreation => {}
    }
    out.insert(
        "created".into(),
        json!(format_timestamp(from_millis(t.created))),
    );
    out.insert(
        "updated".into(),
        json!(format_timestamp(from_millis(t.updated))),
    );
    Value::Object(out)
}

/// `PointsBoost` with its status on `today`.
pub fn boost(b: &Boost, today: NaiveDate) -> Value {
    Value::Object(boost_fields(b, boost_status(b.start, b.end, today)))
}

/// What every boost shape shows, with the status it is given.
fn boost_fields(b: &Boost, status: &str) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("id".into(), json!(b.uuid));
    out.insert("name".into(), json!(b.name));
    out.insert("status".into(), json!(status));
    out.insert("start".into(), json!(b.start.to_string()));
    out.insert("end".into(), json!(b.end.map(|d| d.to_string())));
    out.insert("multiplier".into(), json!(b.multiplier));
    out.insert("rounding".into(), json!(b.rounding.name()));
    out
}

/// `PointsLevel`.
pub fn level(l: &Level) -> Value {
    json!({
        "id": l.uuid,
        "key": l.key,
        "name": l.name,
        "description": l.description.clone().unwrap_or_default(),
        "badgeUrl": l.badge_url,
        "points": l.points,
    })
}

/// `PointsSystemResponse`: the system with its active triggers.
pub fn system(s: &PointsSystem, catalog: &Catalog, tenant: TenantId) -> Value {
    let mut out = system_base(s);
    out.insert(
        "triggers".into(),
        s.active_triggers()
            .map(|t| trigger(t, catalog, tenant))
            .collect(),
    );
    Value::Object(out)
}

/// `PointsAward` from its stored parts.
pub fn award(
    uuid: &str,
    awarded: i64,
    total: i64,
    at_ms: i64,
    trigger: Value,
    boosts: Value,
) -> Value {
    json!({
        "id": uuid,
        "awarded": awarded,
        "date": format_timestamp(from_millis(at_ms)),
        "total": total,
        "trigger": trigger,
        "boosts": boosts,
    })
}

/// `PointsBoostWebhookPayload`.
pub fn boost_webhook(b: &Boost, s: &PointsSystem, status: &str) -> Value {
    let mut out = boost_fields(b, status);
    let user = match &b.target {
        BoostTarget::User(u) => Some(u.as_str()),
        BoostTarget::Global(_) => None,
    };
    out.insert("userId".into(), json!(user));
    out.insert("pointsSystemId".into(), json!(s.uuid));
    out.insert("pointsSystemKey".into(), json!(s.key));
    out.insert("pointsSystemName".into(), json!(s.name));
    Value::Object(out)
}

fn badge(url: &Option<String>) -> Value {
    url.as_ref().map_or(Value::Null, |u| json!({ "url": u }))
}

/// `AdminPointsSystem`.
pub fn admin_system(s: &PointsSystem, status: &str) -> Value {
    json!({
        "id": s.uuid,
        "name": s.name,
        "key": s.key,
        "description": s.description.clone().unwrap_or_default(),
        "status": status,
        "badge": badge(&s.badge_url),
        "maxPoints": s.max_points,
    })
}

/// `AdminPointsTrigger` (the Admin API's names: `hours|days`, `streakLength`).
pub fn admin_trigger(t: &PointsTrigger, catalog: &Catalog, tenant: TenantId) -> Value {
    // The model as stored, with its references by UUID instead of key: a field the model
    // gains shows here under its stored name without a change.
    let mut out = t.def.body();
    out.remove("system");
    out.insert("id".into(), json!(t.uuid));
    out.insert("status".into(), json!(t.status.name()));
    out.insert(
        "userAttributes".into(),
        catalog.attribute_refs(tenant, AttributeType::User, &t.user_attributes),
    );
    out.remove("eventAttributes");
    match &t.kind {
        TriggerKind::Metric { metric, threshold } => {
            out.remove("metric");
            out.remove("threshold");
            out.insert(
                "metricId".into(),
                json!(catalog.metric(tenant, metric).map(|m| m.uuid.clone())),
            );
            out.insert("metricThreshold".into(), json!(threshold));
            out.insert(
                "eventAttributes".into(),
                catalog.attribute_refs(tenant, AttributeType::Event, &t.event_attributes),
            );
        }
        TriggerKind::Achievement { achievement } => {
            out.remove("achievement");
            out.insert(
                "achievementId".into(),
                json!(catalog
                    .achievement(tenant, achievement)
                    .map(|a| a.uuid.clone())),
            );
        }
        TriggerKind::Streak { .. } | TriggerKind::Time { .. } | TriggerKind::UserCreation => {}
    }
    Value::Object(out)
}

/// `AdminPointsLevel`.
pub fn admin_level(l: &Level) -> Value {
    json!({
        "id": l.uuid,
        "name": l.name,
        "key": l.key,
        "points": l.points,
        "description": l.description.clone().unwrap_or_default(),
        "badge": badge(&l.badge_url),
    })
}

/// `AdminPointsBoost`, its status on `today` (UTC).
pub fn admin_boost(b: &Boost, catalog: &Catalog, tenant: TenantId, today: NaiveDate) -> Value {
    let (user, filters) = match &b.target {
        BoostTarget::User(u) => (Some(u.as_str()), Vec::new()),
        BoostTarget::Global(f) => (None, f.clone()),
    };
    let mut out = boost_fields(b, boost_status(b.start, b.end, today));
    out.insert("userId".into(), json!(user));
    out.insert(
        "userAttributes".into(),
        catalog.attribute_refs(tenant, AttributeType::User, &filters),
    );
    Value::Object(out)
}
