//! Admin writes to achievements (`/admin/v1/achievements`, the SDK's shapes). Definitions
//! from trophy.toml are read-only here. References arrive as UUIDs and are stored by key,
//! like the file's, so one catalog reads both.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::achievements::view;
use crate::catalog::{Achievement, AchievementTrigger, Catalog};
use crate::config::AttributeType;
use crate::domain::bulk::{issue, valid_key, Outcome, MANAGED};
use crate::error::{echo, ApiError};
use crate::rules::anniversary::MAX_YEARS;
use crate::store::definitions::{self, Kind};
use crate::writer::{Command, WriteCtx};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributePair {
    attribute_id: String,
    attribute_value: String,
}

#[derive(Debug, Deserialize)]
pub struct Badge {
    url: String,
}

/// One item of a create or update; on update every field but `id` is optional.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AchievementItem {
    pub id: Option<String>,
    pub name: Option<String>,
    pub trigger: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub badge: Option<Badge>,
    pub user_attributes: Option<Vec<AttributePair>>,
    pub key: Option<String>,
    pub metric_id: Option<String>,
    pub metric_value: Option<f64>,
    pub event_attributes: Option<Vec<AttributePair>>,
    pub streak_length: Option<i64>,
    pub anniversary_years: Option<i64>,
    pub achievement_ids: Option<Vec<String>>,
}

/// A URL-safe key from a name, for achievements created without one.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_matches('-').to_owned();
    if trimmed.is_empty() {
        "achievement".into()
    } else {
        trimmed
    }
}

fn pairs_to_keys(
    catalog: &Catalog,
    tenant: i64,
    kind: AttributeType,
    pairs: &[AttributePair],
) -> Result<Vec<Value>, String> {
    pairs
        .iter()
        .map(|p| {
            let attribute = catalog
                .attribute_by_uuid(tenant, &p.attribute_id)
                .filter(|a| a.kind == kind)
                .ok_or("Attribute not found by ID")?;
            Ok(json!({ "key": attribute.key, "value": p.attribute_value }))
        })
        .collect()
}

/// Builds the stored body for `item` over `base` (the current body on update).
fn body_for(
    item: &AchievementItem,
    base: Map<String, Value>,
    catalog: &Catalog,
    tenant: i64,
) -> Result<Map<String, Value>, String> {
    let mut body = base;
    if let Some(name) = &item.name {
        if name.trim().is_empty() {
            return Err("name must be a non-empty string".into());
        }
        body.insert("name".into(), json!(name));
    }
    if let Some(d) = &item.description {
        body.insert("description".into(), json!(d));
    }
    if let Some(b) = &item.badge {
        body.insert("badgeUrl".into(), json!(b.url));
    }
    if let Some(pairs) = &item.user_attributes {
        body.insert(
            "userAttributes".into(),
            json!(pairs_to_keys(catalog, tenant, AttributeType::User, pairs)?),
        );
    }
    if let Some(trigger) = &item.trigger {
        body.insert("trigger".into(), json!(trigger));
    }
    let trigger = body
        .get("trigger")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    match trigger.as_str() {
        "metric" => {
            if let Some(id) = &item.metric_id {
                let metric = catalog
                    .metric_by_uuid(tenant, id)
                    .ok_or("Metric not found by ID")?;
                body.insert("metric".into(), json!(metric.key));
            }
            if let Some(v) = item.metric_value {
                if !(v.is_finite() && v > 0.0) {
                    return Err("metricValue must be a positive number".into());
                }
                body.insert("metricValue".into(), json!(v));
            }
            if let Some(pairs) = &item.event_attributes {
                body.insert(
                    "eventAttributes".into(),
                    json!(pairs_to_keys(catalog, tenant, AttributeType::Event, pairs)?),
                );
            }
            if !body.contains_key("metric") || !body.contains_key("metricValue") {
                return Err("metric achievements need metricId and metricValue".into());
            }
        }
        "streak" => {
            if let Some(l) = item.streak_length {
                if l < 1 || l > i64::from(u32::MAX) {
                    return Err("streakLength must be at least 1".into());
                }
                body.insert("streakLength".into(), json!(l));
            }
            if !body.contains_key("streakLength") {
                return Err("streak achievements need streakLength".into());
            }
        }
        "api" => {}
        "achievement" => {
            if let Some(ids) = &item.achievement_ids {
                let keys: Vec<String> = ids
                    .iter()
                    .map(|id| {
                        catalog
                            .achievements_for(tenant)
                            .find(|a| a.uuid == *id)
                            .map(|a| a.key.clone())
                            .ok_or("Achievement not found by ID")
                    })
                    .collect::<Result<_, _>>()?;
                body.insert("prerequisites".into(), json!(keys));
            }
            let empty = body
                .get("prerequisites")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty);
            if empty {
                return Err("composite achievements need achievementIds".into());
            }
        }
        "anniversary" => {
            if let Some(years) = item.anniversary_years {
                if !(1..=i64::from(MAX_YEARS)).contains(&years) {
                    return Err(format!(
                        "anniversaryYears must be between 1 and {MAX_YEARS}"
                    ));
                }
                body.insert("anniversaryYears".into(), json!(years));
            }
            if !body.contains_key("anniversaryYears") {
                return Err("anniversary achievements need anniversaryYears".into());
            }
        }
        "" => return Err("trigger is required".into()),
        other => return Err(format!("unknown trigger \"{}\"", echo(other))),
    }
    // Keys that belong to another trigger would confuse readers of the body.
    for (field, owner) in [
        ("metric", "metric"),
        ("metricValue", "metric"),
        ("eventAttributes", "metric"),
        ("streakLength", "streak"),
        ("prerequisites", "achievement"),
        ("anniversaryYears", "anniversary"),
    ] {
        if trigger != owner {
            body.remove(field);
        }
    }
    Ok(body)
}

fn status_of(item: &AchievementItem, default: &str) -> Result<String, String> {
    match item.status.as_deref().unwrap_or(default) {
        s @ ("active" | "inactive" | "locked") => Ok(s.to_owned()),
        other => Err(format!("unknown status \"{}\"", echo(other))),
    }
}

/// Whether the prerequisite graph, with `key` now needing `prereqs`, has a cycle.
fn creates_cycle(catalog: &Catalog, tenant: i64, key: &str, body: &Map<String, Value>) -> bool {
    let mut graph: HashMap<String, Vec<String>> = catalog
        .achievements_for(tenant)
        .filter_map(|a| match &a.trigger {
            AchievementTrigger::Composite { prerequisites } => {
                Some((a.key.clone(), prerequisites.clone()))
            }
            _ => None,
        })
        .collect();
    let prereqs: Vec<String> = body
        .get("prerequisites")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    graph.insert(key.to_owned(), prereqs);
    let mut stack = vec![key.to_owned()];
    let mut seen = HashSet::new();
    while let Some(k) = stack.pop() {
        for next in graph.get(&k).into_iter().flatten() {
            if next == key {
                return true;
            }
            if seen.insert(next.clone()) {
                stack.push(next.clone());
            }
        }
    }
    false
}

fn owner_column(tenant: i64, multi_tenant: bool) -> Option<i64> {
    multi_tenant.then_some(tenant)
}

pub struct CreateAchievements {
    pub tenant: i64,
    pub items: Vec<AchievementItem>,
}

impl Command for CreateAchievements {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let now = ctx.now.timestamp_millis();
        let multi = ctx.env.settings.multi_tenant();
        let mut created_keys = Vec::new();
        let mut issues = Vec::new();
        for (index, item) in self.items.iter().enumerate() {
            // Each item sees the ones created before it (prerequisites may chain).
            let catalog = crate::catalog::Catalog::load(ctx.conn)?;
            if item.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
                issues.push(issue(index, None, "name must be a non-empty string"));
                continue;
            }
            let key = match &item.key {
                Some(k) if valid_key(k) => k.clone(),
                Some(_) => {
                    issues.push(issue(
                        index,
                        None,
                        "key may only contain letters, digits, \"-\" and \"_\"",
                    ));
                    continue;
                }
                None => {
                    let base = slug(item.name.as_deref().unwrap_or_default());
                    let mut candidate = base.clone();
                    let mut n = 2;
                    while catalog.achievement(self.tenant, &candidate).is_some() {
                        candidate = format!("{base}-{n}");
                        n += 1;
                    }
                    candidate
                }
            };
            if catalog.achievement(self.tenant, &key).is_some()
                || archived_key_taken(ctx, self.tenant, multi, &key)?
            {
                issues.push(issue(
                    index,
                    None,
                    "Key already in use by another achievement",
                ));
                continue;
            }
            let body = match body_for(item, Map::new(), &catalog, self.tenant)
                .and_then(|b| status_of(item, "inactive").map(|s| (b, s)))
            {
                Ok(ok) => ok,
                Err(message) => {
                    issues.push(issue(index, None, message));
                    continue;
                }
            };
            let (body, status) = body;
            if creates_cycle(&catalog, self.tenant, &key, &body) {
                issues.push(issue(index, None, "prerequisites would form a cycle"));
                continue;
            }
            definitions::insert(
                ctx.conn,
                &definitions::New {
                    uuid: &uuid::Uuid::new_v4().to_string(),
                    tenant: owner_column(self.tenant, multi),
                    kind: Kind::Achievement,
                    key: &key,
                    status: definitions::status(&status)?,
                    managed: false,
                    body: &body,
                    now_ms: now,
                },
            )?;
            created_keys.push(key);
        }
        let catalog = crate::catalog::Catalog::load(ctx.conn)?;
        let items = created_keys
            .iter()
            .filter_map(|k| catalog.achievement(self.tenant, k))
            .map(|a| view::admin_achievement(a, &catalog, self.tenant))
            .collect();
        ctx.reload_catalog_after_commit()?;
        Ok(Outcome { items, issues })
    }
}

/// Archived definitions keep their key (history points at them).
fn archived_key_taken(
    ctx: &WriteCtx<'_>,
    tenant: i64,
    multi: bool,
    key: &str,
) -> Result<bool, ApiError> {
    let owner = owner_column(tenant, multi).unwrap_or(0);
    Ok(definitions::key_taken(
        ctx.conn,
        owner,
        Kind::Achievement,
        key,
    )?)
}

/// The achievement with `uuid` that `tenant` may change, or why not.
fn editable<'c>(
    catalog: &'c Catalog,
    tenant: i64,
    uuid: &str,
) -> Result<&'c Achievement, ApiError> {
    let a = catalog
        .achievements_for(tenant)
        .find(|a| a.uuid == uuid)
        .ok_or_else(|| ApiError::not_found("Achievement not found by ID"))?;
    if a.managed {
        return Err(ApiError::unprocessable(MANAGED));
    }
    Ok(a)
}

pub struct UpdateAchievements {
    pub tenant: i64,
    pub items: Vec<AchievementItem>,
}

impl Command for UpdateAchievements {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let now = ctx.now.timestamp_millis();
        let mut updated = Vec::new();
        let mut issues = Vec::new();
        for (index, item) in self.items.iter().enumerate() {
            let catalog = crate::catalog::Catalog::load(ctx.conn)?;
            let Some(id) = item.id.as_deref() else {
                issues.push(issue(index, None, "id must be a valid UUID"));
                continue;
            };
            let a = match editable(&catalog, self.tenant, id) {
                Ok(a) => a,
                Err(ApiError::Unprocessable(m)) => return Err(ApiError::Unprocessable(m)),
                Err(_) => {
                    issues.push(issue(index, Some(id), "Achievement not found by ID"));
                    continue;
                }
            };
            let stored = definitions::existing(ctx.conn, a.id)?;
            let current_status = stored.status.as_str().to_owned();
            let current_body = stored.body;
            let base = current_body.clone();
            let mut key = a.key.clone();
            if let Some(k) = &item.key {
                if !valid_key(k) {
                    issues.push(issue(
                        index,
                        Some(id),
                        "key may only contain letters, digits, \"-\" and \"_\"",
                    ));
                    continue;
                }
                if *k != a.key && catalog.achievement(self.tenant, k).is_some() {
                    issues.push(issue(
                        index,
                        Some(id),
                        "Key already in use by another achievement",
                    ));
                    continue;
                }
                key = k.clone();
            }
            let result = body_for(item, base, &catalog, self.tenant)
                .and_then(|b| status_of(item, &current_status).map(|s| (b, s)));
            let (body, status) = match result {
                Ok(ok) => ok,
                Err(message) => {
                    issues.push(issue(index, Some(id), message));
                    continue;
                }
            };
            if creates_cycle(&catalog, self.tenant, &key, &body) {
                issues.push(issue(index, Some(id), "prerequisites would form a cycle"));
                continue;
            }
            if body != current_body {
                // Progress summed under the old filters or metric means nothing now; it is
                // recomputed from the stored events when next needed.
                ctx.conn.execute(
                    "DELETE FROM achievement_progress WHERE achievement_id = ?1",
                    [a.id],
                )?;
            }
            if key != a.key {
                rename_prerequisite(ctx, &catalog, self.tenant, &a.key, &key)?;
            }
            definitions::update(
                ctx.conn,
                a.id,
                Some(&key),
                definitions::status(&status)?,
                &body,
                now,
            )?;
            updated.push(a.id);
        }
        let catalog = crate::catalog::Catalog::load(ctx.conn)?;
        let items = catalog
            .achievements_for(self.tenant)
            .filter(|a| updated.contains(&a.id))
            .map(|a| view::admin_achievement(a, &catalog, self.tenant))
            .collect();
        ctx.reload_catalog_after_commit()?;
        Ok(Outcome { items, issues })
    }
}

/// Composites name prerequisites by key: follow a rename so they keep needing the same one.
fn rename_prerequisite(
    ctx: &WriteCtx<'_>,
    catalog: &Catalog,
    tenant: i64,
    old: &str,
    new: &str,
) -> Result<(), ApiError> {
    for composite in catalog.achievements_for(tenant) {
        let AchievementTrigger::Composite { prerequisites } = &composite.trigger else {
            continue;
        };
        if !prerequisites.iter().any(|k| k == old) {
            continue;
        }
        let mut body = definitions::existing(ctx.conn, composite.id)?.body;
        let renamed: Vec<String> = prerequisites
            .iter()
            .map(|k| if k == old { new.to_owned() } else { k.clone() })
            .collect();
        body.insert("prerequisites".into(), json!(renamed));
        definitions::rewrite_body(ctx.conn, composite.id, &body)?;
    }
    Ok(())
}

pub struct ArchiveAchievements {
    pub tenant: i64,
    pub ids: Vec<String>,
}

impl Command for ArchiveAchievements {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let now = ctx.now.timestamp_millis();
        let catalog = ctx.catalog.clone();
        let mut items = Vec::new();
        let mut issues = Vec::new();
        for (index, id) in self.ids.iter().enumerate() {
            match editable(&catalog, self.tenant, id) {
                Ok(a) => {
                    definitions::archive(ctx.conn, a.id, now)?;
                    items.push(json!({ "id": id }));
                }
                Err(ApiError::Unprocessable(m)) => return Err(ApiError::Unprocessable(m)),
                Err(_) => issues.push(issue(index, Some(id), "Achievement not found by ID")),
            }
        }
        ctx.reload_catalog_after_commit()?;
        Ok(Outcome { items, issues })
    }
}
