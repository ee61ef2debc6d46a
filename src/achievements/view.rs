//! The spec's achievement shapes: `AchievementResponse` and its user and stats variants.

use serde_json::{json, Map, Value};

use crate::catalog::{Achievement, AchievementTrigger, Catalog};
use crate::clock::{format_timestamp, from_millis};
use crate::domain::ids::TenantId;
use crate::domain::number::json_number;
use crate::model::attribute_pairs;

/// `AchievementResponse` as `tenant` sees it (references resolved to that tenant's ids).
pub fn achievement(a: &Achievement, catalog: &Catalog, tenant: TenantId) -> Map<String, Value> {
    let mut out = shown_alike(a, catalog, tenant);
    out.insert("badgeUrl".into(), json!(a.badge_url));
    out.insert(
        "userAttributes".into(),
        attribute_pairs::json(&a.user_attributes),
    );
    if let AchievementTrigger::Metric { metric, value } = &a.trigger {
        out.insert("metricValue".into(), json_number(*value));
        if let Some(m) = catalog.metric(tenant, metric) {
            out.insert("metricId".into(), json!(m.uuid));
            out.insert("metricName".into(), json!(m.name));
        }
        out.insert(
            "eventAttributes".into(),
            attribute_pairs::json(&a.event_attributes),
        );
        if let Some((k, v)) = a.event_attributes.first() {
            out.insert("eventAttribute".into(), json!({ "key": k, "value": v }));
        }
    }
    out
}

/// What every view of `a` shows alike: `id`, `name`, `description`, `key`, `trigger` and the
/// fields of a streak, API, anniversary or composite trigger. A metric trigger's fields
/// differ by view, so each view adds them.
fn shown_alike(a: &Achievement, catalog: &Catalog, tenant: TenantId) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("id".into(), json!(a.uuid));
    out.insert("name".into(), json!(a.name));
    out.insert("description".into(), json!(a.description));
    out.insert("key".into(), json!(a.key));
    out.insert("trigger".into(), json!(a.trigger.name()));
    match &a.trigger {
        AchievementTrigger::Metric { .. } | AchievementTrigger::Api => {}
        AchievementTrigger::Streak { length } => {
            out.insert("streakLength".into(), json!(length));
        }
        AchievementTrigger::Anniversary { years } => {
            out.insert("anniversaryYears".into(), json!(years));
        }
        AchievementTrigger::Composite { prerequisites } => {
            let ids: Vec<&str> = prerequisites
                .iter()
                .filter_map(|k| catalog.achievement(tenant, k).map(|p| p.uuid.as_str()))
                .collect();
            out.insert("achievementIds".into(), json!(ids));
        }
    }
    out
}

/// `UserAchievementResponse`: the achievement plus `achievedAt` (null when not completed).
pub fn user_achievement(
    a: &Achievement,
    catalog: &Catalog,
    tenant: TenantId,
    achieved_at: Option<i64>,
) -> Value {
    let mut out = achievement(a, catalog, tenant);
    out.insert(
        "achievedAt".into(),
        json!(achieved_at.map(|ms| format_timestamp(from_millis(ms)))),
    );
    Value::Object(out)
}

/// Adds `completions` and `rarity` to an achievement object.
/// `user`'s achievements completed from `from_ms` to `to_ms` (end excluded), oldest first,
/// each with its completion count and rarity, inactive ones left out (the year in review).
pub fn completed_between(
    conn: &rusqlite::Connection,
    catalog: &Catalog,
    user: &crate::domain::user::User,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<Value>, crate::error::ApiError> {
    let tenant = user.tenant_id;
    let completed = super::store::completed_between(conn, user.row_id, from_ms, to_ms)?;
    if completed.is_empty() {
        return Ok(Vec::new());
    }
    let counts = super::store::counts(conn, tenant)?;
    let users = crate::store::users::count(conn, tenant)?;
    let mut out = Vec::new();
    for (id, at) in completed {
        let Some(a) = catalog
            .achievements_for(tenant)
            .find(|a| a.id == id && a.status != crate::config::AchievementStatus::Inactive)
        else {
            continue;
        };
        let completions = counts.get(&a.id).copied().unwrap_or(0);
        out.push(with_stats(
            user_achievement(a, catalog, tenant, Some(at)),
            completions,
            crate::rules::achievements::rarity(completions, users),
        ));
    }
    Ok(out)
}

pub fn with_stats(mut v: Value, completions: i64, rarity: f64) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.insert("completions".into(), json!(completions));
        o.insert("rarity".into(), json_number(rarity));
    }
    v
}

/// The Admin API's `AdminAchievement`: references by UUID, attributes by attribute id.
pub fn admin_achievement(a: &Achievement, catalog: &Catalog, tenant: TenantId) -> Value {
    use crate::config::AttributeType;
    let mut out = shown_alike(a, catalog, tenant);
    out.insert(
        "status".into(),
        json!(match a.status {
            crate::config::AchievementStatus::Active => "active",
            crate::config::AchievementStatus::Inactive => "inactive",
            crate::config::AchievementStatus::Locked => "locked",
        }),
    );
    out.insert(
        "badge".into(),
        a.badge_url
            .as_ref()
            .map_or(Value::Null, |u| json!({ "url": u })),
    );
    out.insert(
        "userAttributes".into(),
        catalog.attribute_refs(tenant, AttributeType::User, &a.user_attributes),
    );
    if let AchievementTrigger::Metric { metric, value } = &a.trigger {
        out.insert(
            "metricId".into(),
            json!(catalog.metric(tenant, metric).map(|m| m.uuid.clone())),
        );
        out.insert("metricValue".into(), json_number(*value));
        out.insert(
            "eventAttributes".into(),
            catalog.attribute_refs(tenant, AttributeType::Event, &a.event_attributes),
        );
    }
    Value::Object(out)
}
