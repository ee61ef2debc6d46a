//! Admin writes to leaderboards (`/admin/v1/leaderboards`, the SDK's shapes). Boards from
//! trophy.toml are read-only here. References arrive as UUIDs and are stored by key, like
//! the file's, so one catalog reads both.
//!
//! Status transitions (docs/behaviour/leaderboards.md#configuration-and-status): `inactive`
//! → `active` (or `scheduled` when the start is in the future; a board with a future start
//! cannot be made `active`) → `finished`. The key and `rankBy` can only change while the
//! board is inactive.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Map, Value};

use super::jobs::JOB_NAME;
use crate::catalog::leaderboard::{parse_unit, status_on, unit_name};
use crate::catalog::{Catalog, Leaderboard, Ranking};
use crate::config::AttributeType;
use crate::domain::bulk::{issue, valid_key, Outcome, MANAGED};
use crate::error::{echo, ApiError};
use crate::rules::time_window::{format_time_of_day, parse_time_of_day, TimeWindow};
use crate::store::definitions::{self, Kind, Status};
use crate::writer::{Command, WriteCtx};

const MAX_PARTICIPANTS: i64 = 1000;

/// `Some(None)` when the field is sent as `null`, `None` when it is absent.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// One item of a create or update; on update every field but `id` is optional.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LeaderboardItem {
    pub id: Option<String>,
    pub name: Option<String>,
    pub key: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub rank_by: Option<String>,
    pub metric_id: Option<String>,
    pub points_system_id: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub max_participants: Option<Option<i64>>,
    pub start: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub end: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub start_time: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub end_time: Option<Option<String>>,
    pub breakdown_attributes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub run_unit: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub run_interval: Option<Option<i64>>,
}

/// The Admin API's `AdminLeaderboard`. In the 1.21.1 admin schema only `maxParticipants`
/// is nullable; the other optional fields (`description`, `metricId`, `pointsSystemId`,
/// `end`, `startTime`, `endTime`, `runUnit`, `runInterval`) are left out when they have no
/// value. `userAttributes` is not in that schema but the Python SDK 1.27 requires it.
pub fn admin_view(board: &Leaderboard, catalog: &Catalog, tenant: i64, today: NaiveDate) -> Value {
    fn optional(out: &mut Map<String, Value>, field: &str, value: Option<Value>) {
        if let Some(value) = value {
            out.insert(field.into(), value);
        }
    }
    let mut out = Map::new();
    out.insert("id".into(), json!(board.uuid));
    out.insert("name".into(), json!(board.name));
    out.insert("key".into(), json!(board.key));
    optional(
        &mut out,
        "description",
        board.description.as_ref().map(|d| json!(d)),
    );
    out.insert("status".into(), json!(status_on(board, today)));
    out.insert("rankBy".into(), json!(board.rank_by()));
    match &board.ranking {
        Ranking::Metric { key } => optional(
            &mut out,
            "metricId",
            catalog.metric(tenant, key).map(|m| json!(m.uuid)),
        ),
        Ranking::Points { uuid, .. } => optional(&mut out, "pointsSystemId", Some(json!(uuid))),
        Ranking::Streak => {}
    }
    out.insert("maxParticipants".into(), json!(board.max_participants));
    out.insert("start".into(), json!(board.start.to_string()));
    optional(&mut out, "end", board.end.map(|d| json!(d.to_string())));
    optional(
        &mut out,
        "startTime",
        board.window.start().map(|t| json!(format_time_of_day(t))),
    );
    optional(
        &mut out,
        "endTime",
        board.window.end().map(|t| json!(format_time_of_day(t))),
    );
    let attributes: Vec<String> = board
        .breakdown_attributes
        .iter()
        .filter_map(|k| catalog.attribute(tenant, AttributeType::User, k))
        .map(|a| a.uuid.clone())
        .collect();
    out.insert("breakdownAttributes".into(), json!(attributes));
    if let Some((unit, interval)) = board.repeat {
        out.insert("runUnit".into(), json!(unit_name(unit)));
        out.insert("runInterval".into(), json!(interval));
    }
    out.insert("userAttributes".into(), json!([]));
    Value::Object(out)
}

fn points_system_key(
    ctx: &WriteCtx<'_>,
    tenant: i64,
    uuid: &str,
) -> Result<Option<String>, ApiError> {
    Ok(definitions::active_points_system_key(
        ctx.conn, uuid, tenant,
    )?)
}

fn date(text: &str, field: &str) -> Result<NaiveDate, String> {
    text.parse()
        .map_err(|_| format!("{field} must be a date (YYYY-MM-DD)"))
}

/// Builds the stored body for `item` over `base` (the current body on update).
fn body_for(
    ctx: &WriteCtx<'_>,
    item: &LeaderboardItem,
    mut body: Map<String, Value>,
    catalog: &Catalog,
    tenant: i64,
) -> Result<Map<String, Value>, String> {
    for (field, value) in [("startTime", &item.start_time), ("endTime", &item.end_time)] {
        if let Some(value) = value {
            let time = value
                .as_deref()
                .map(|text| {
                    parse_time_of_day(text).ok_or_else(|| {
                        format!("{field} must be a time of day written HH:mm or HH:mm:ss (00:00 to 23:59:59)")
                    })
                })
                .transpose()?;
            body.insert(field.into(), json!(time.map(format_time_of_day)));
        }
    }
    if let Some(name) = &item.name {
        if name.trim().is_empty() {
            return Err("name must be a non-empty string".into());
        }
        body.insert("name".into(), json!(name));
    }
    if let Some(d) = &item.description {
        body.insert("description".into(), json!(d));
    }
    if let Some(rank_by) = &item.rank_by {
        if !matches!(rank_by.as_str(), "metric" | "points" | "streak") {
            return Err(format!("unknown rankBy \"{}\"", echo(rank_by)));
        }
        body.insert("rankBy".into(), json!(rank_by));
    }
    if let Some(id) = &item.metric_id {
        let metric = catalog
            .metric_by_uuid(tenant, id)
            .ok_or("Metric not found by ID")?;
        body.insert("metric".into(), json!(metric.key));
    }
    if let Some(id) = &item.points_system_id {
        let key = points_system_key(ctx, tenant, id)
            .map_err(|e| e.to_string())?
            .ok_or("Points system not found by ID")?;
        body.insert("pointsSystem".into(), json!(key));
    }
    match body.get("rankBy").and_then(Value::as_str) {
        Some("metric") if !body.contains_key("metric") => {
            return Err("metric leaderboards need metricId".into())
        }
        Some("points") if !body.get("pointsSystem").is_some_and(Value::is_string) => {
            return Err("points leaderboards need pointsSystemId".into())
        }
        None => return Err("rankBy is required".into()),
        _ => {}
    }
    let rank_by = body
        .get("rankBy")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    for (field, owner) in [("metric", "metric"), ("pointsSystem", "points")] {
        if rank_by != owner {
            body.remove(field);
        }
    }
    if let Some(max) = item.max_participants {
        let max = max.unwrap_or(MAX_PARTICIPANTS);
        if !(1..=MAX_PARTICIPANTS).contains(&max) {
            return Err(format!(
                "maxParticipants must be between 1 and {MAX_PARTICIPANTS}"
            ));
        }
        body.insert("maxParticipants".into(), json!(max));
    }
    if let Some(start) = &item.start {
        body.insert("start".into(), json!(date(start, "start")?.to_string()));
    }
    if let Some(end) = &item.end {
        let end = end.as_deref().map(|e| date(e, "end")).transpose()?;
        body.insert("end".into(), json!(end.map(|d| d.to_string())));
    }
    if let Some(ids) = &item.breakdown_attributes {
        let keys: Vec<String> = ids
            .iter()
            .map(|id| {
                catalog
                    .attribute_by_uuid(tenant, id)
                    .filter(|a| a.kind == AttributeType::User)
                    .map(|a| a.key.clone())
                    .ok_or("Attribute not found by ID")
            })
            .collect::<Result<_, _>>()?;
        body.insert("breakdownAttributes".into(), json!(keys));
    }
    if let Some(unit) = &item.run_unit {
        if let Some(u) = unit.as_deref() {
            parse_unit(u).ok_or_else(|| format!("unknown runUnit \"{}\"", echo(u)))?;
        }
        body.insert("runUnit".into(), json!(unit));
    }
    if let Some(interval) = item.run_interval {
        if interval.is_some_and(|i| !(1..=i64::from(u32::MAX)).contains(&i)) {
            return Err("runInterval must be at least 1".into());
        }
        body.insert("runInterval".into(), json!(interval));
    }
    let has = |f: &str| body.get(f).is_some_and(|v| !v.is_null());
    if has("runUnit") != has("runInterval") {
        return Err("runUnit and runInterval go together".into());
    }
    if rank_by == "streak" && has("runUnit") {
        return Err("streak leaderboards can only be perpetual".into());
    }
    check_window(&body, &rank_by)?;
    let start = body
        .get("start")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<NaiveDate>().ok());
    let end = body
        .get("end")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<NaiveDate>().ok());
    if let (Some(start), Some(end)) = (start, end) {
        if end < start {
            return Err("end is before start".into());
        }
    }
    Ok(body)
}

/// The window of the merged body (an update may set one bound and keep the other).
fn check_window(body: &Map<String, Value>, rank_by: &str) -> Result<(), String> {
    let time = |field: &str| {
        body.get(field)
            .and_then(Value::as_str)
            .and_then(parse_time_of_day)
    };
    let (start, end) = (time("startTime"), time("endTime"));
    if rank_by == "streak" && (start.is_some() || end.is_some()) {
        return Err(
            "streak leaderboards cannot have a time window (startTime/endTime): \
                    they rank the current streak length, not activity at a time of day"
                .into(),
        );
    }
    TimeWindow::new(start, end)
        .map(|_| ())
        .map_err(|e| e.message().to_owned())
}

/// The stored status for a requested one, given the start date and today's UTC date.
fn stored_status(
    requested: &str,
    start: NaiveDate,
    today: NaiveDate,
) -> Result<&'static str, String> {
    match requested {
        "inactive" => Ok("inactive"),
        "active" if start > today => {
            Err("a leaderboard with a future start cannot be made active; use scheduled".into())
        }
        "active" => Ok("active"),
        "scheduled" if start <= today => {
            Err("only a leaderboard with a future start can be scheduled".into())
        }
        "scheduled" => Ok("active"),
        "finished" => Ok("finished"),
        other => Err(format!("unknown status \"{}\"", echo(other))),
    }
}

fn start_of(body: &Map<String, Value>, today: NaiveDate) -> NaiveDate {
    body.get("start")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(today)
}

fn owner_column(tenant: i64, multi: bool) -> Option<i64> {
    multi.then_some(tenant)
}

fn finish_write(
    ctx: &mut WriteCtx<'_>,
    keys: &[String],
    tenant: i64,
) -> Result<Vec<Value>, ApiError> {
    let catalog = Catalog::load(ctx.conn)?;
    let today = ctx.now.date_naive();
    let items = keys
        .iter()
        .filter_map(|k| catalog.leaderboard(tenant, k))
        .map(|b| admin_view(b, &catalog, tenant, today))
        .collect();
    ctx.reload_catalog_after_commit()?;
    let hints = ctx.env.due_hints.clone();
    let now = ctx.now;
    ctx.after_commit(move || hints.due_by(JOB_NAME, now));
    Ok(items)
}

fn key_taken(ctx: &WriteCtx<'_>, tenant: i64, multi: bool, key: &str) -> Result<bool, ApiError> {
    let owner = owner_column(tenant, multi).unwrap_or(0);
    Ok(definitions::key_taken(
        ctx.conn,
        owner,
        Kind::Leaderboard,
        key,
    )?)
}

pub struct CreateLeaderboards {
    pub tenant: i64,
    pub items: Vec<LeaderboardItem>,
}

impl Command for CreateLeaderboards {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let now = ctx.now.timestamp_millis();
        let today = ctx.now.date_naive();
        let multi = ctx.env.settings.multi_tenant();
        let catalog = ctx.catalog.clone();
        let mut created = Vec::new();
        let mut issues = Vec::new();
        for (index, item) in self.items.iter().enumerate() {
            let Some(key) = item.key.clone().filter(|k| valid_key(k)) else {
                issues.push(issue(
                    index,
                    None,
                    "key may only contain letters, digits, \"-\" and \"_\"",
                ));
                continue;
            };
            if item.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
                issues.push(issue(index, None, "name must be a non-empty string"));
                continue;
            }
            if created.contains(&key) || key_taken(ctx, self.tenant, multi, &key)? {
                issues.push(issue(
                    index,
                    None,
                    "Key already in use by another leaderboard",
                ));
                continue;
            }
            let mut base = Map::new();
            base.insert("start".into(), json!(today.to_string()));
            base.insert("maxParticipants".into(), json!(MAX_PARTICIPANTS));
            base.insert("breakdownAttributes".into(), json!([]));
            let result = body_for(ctx, item, base, &catalog, self.tenant).and_then(|body| {
                let status = stored_status(
                    item.status.as_deref().unwrap_or("inactive"),
                    start_of(&body, today),
                    today,
                )?;
                Ok((body, status))
            });
            let (body, status) = match result {
                Ok(ok) => ok,
                Err(message) => {
                    issues.push(issue(index, None, message));
                    continue;
                }
            };
            definitions::insert(
                ctx.conn,
                &definitions::New {
                    uuid: &uuid::Uuid::new_v4().to_string(),
                    tenant: owner_column(self.tenant, multi),
                    kind: Kind::Leaderboard,
                    key: &key,
                    status: definitions::status(status)?,
                    managed: false,
                    body: &body,
                    now_ms: now,
                },
            )?;
            created.push(key);
        }
        let items = finish_write(ctx, &created, self.tenant)?;
        Ok(Outcome { items, issues })
    }
}

/// The board with `uuid` that `tenant` may change: 404 unknown, 422 file-managed.
fn editable<'c>(
    catalog: &'c Catalog,
    tenant: i64,
    uuid: &str,
) -> Result<Option<&'c Leaderboard>, ApiError> {
    match catalog.leaderboards_for(tenant).find(|b| b.uuid == uuid) {
        Some(b) if b.managed => Err(ApiError::unprocessable(MANAGED)),
        found => Ok(found),
    }
}

pub struct UpdateLeaderboards {
    pub tenant: i64,
    pub items: Vec<LeaderboardItem>,
}

impl Command for UpdateLeaderboards {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let now = ctx.now.timestamp_millis();
        let today = ctx.now.date_naive();
        let multi = ctx.env.settings.multi_tenant();
        let catalog = ctx.catalog.clone();
        let mut updated = Vec::new();
        let mut issues = Vec::new();
        for (index, item) in self.items.iter().enumerate() {
            let Some(id) = item.id.as_deref() else {
                issues.push(issue(index, None, "id must be a valid UUID"));
                continue;
            };
            let Some(board) = editable(&catalog, self.tenant, id)? else {
                issues.push(issue(index, Some(id), "Leaderboard not found by ID"));
                continue;
            };
            let stored = definitions::existing(ctx.conn, board.id)?;
            let current = stored.status.as_str().to_owned();
            let base = stored.body;
            let inactive = stored.status == Status::Inactive;
            let mut key = board.key.clone();
            if let Some(k) = item.key.as_ref().filter(|k| **k != board.key) {
                let problem = if !inactive {
                    Some("the key can only change while the leaderboard is inactive")
                } else if !valid_key(k) {
                    Some("key may only contain letters, digits, \"-\" and \"_\"")
                } else if key_taken(ctx, self.tenant, multi, k)? {
                    Some("Key already in use by another leaderboard")
                } else {
                    None
                };
                if let Some(message) = problem {
                    issues.push(issue(index, Some(id), message));
                    continue;
                }
                key = k.clone();
            }
            if !inactive
                && item
                    .rank_by
                    .as_deref()
                    .is_some_and(|r| r != board.rank_by())
            {
                issues.push(issue(
                    index,
                    Some(id),
                    "rankBy can only change while the leaderboard is inactive",
                ));
                continue;
            }
            let result = body_for(ctx, item, base, &catalog, self.tenant).and_then(|body| {
                let status = match item.status.as_deref() {
                    None => current.clone(),
                    Some("inactive") if !inactive => {
                        return Err("an activated leaderboard cannot return to inactive".into())
                    }
                    Some("active" | "scheduled") if current == "finished" => {
                        return Err("a finished leaderboard cannot be reactivated".into())
                    }
                    Some(s) => stored_status(s, start_of(&body, today), today)?.to_owned(),
                };
                Ok((body, status))
            });
            let (body, status) = match result {
                Ok(ok) => ok,
                Err(message) => {
                    issues.push(issue(index, Some(id), message));
                    continue;
                }
            };
            definitions::update(
                ctx.conn,
                board.id,
                Some(&key),
                definitions::status(&status)?,
                &body,
                now,
            )?;
            updated.push(key);
        }
        let items = finish_write(ctx, &updated, self.tenant)?;
        Ok(Outcome { items, issues })
    }
}

/// `DELETE`: archived, so history that points at the board stays valid.
pub struct ArchiveLeaderboards {
    pub tenant: i64,
    pub ids: Vec<String>,
}

impl Command for ArchiveLeaderboards {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let now = ctx.now.timestamp_millis();
        let catalog = ctx.catalog.clone();
        let mut deleted = Vec::new();
        let mut issues = Vec::new();
        for (index, id) in self.ids.iter().enumerate() {
            let Some(board) = editable(&catalog, self.tenant, id)? else {
                issues.push(issue(index, Some(id), "Leaderboard not found by ID"));
                continue;
            };
            definitions::archive(ctx.conn, board.id, now)?;
            deleted.push(json!({ "id": id }));
        }
        finish_write(ctx, &[], self.tenant)?;
        Ok(Outcome {
            items: deleted,
            issues,
        })
    }
}
