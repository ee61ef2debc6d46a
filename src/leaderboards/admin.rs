//! Admin writes to leaderboards (`/admin/v1/leaderboards`, the SDK's shapes). Boards from
//! trophy.toml are read-only here. References arrive as UUIDs and are stored by key, like
//! the file's, so one catalog reads both.
//!
//! Status transitions (docs/behaviour/leaderboards.md#configuration-and-status): `inactive`
//! → `active` (or `scheduled` when the start is in the future; a board with a future start
//! cannot be made `active`) → `finished`. The key and `rankBy` can only change while the
//! board is inactive.

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::jobs::JOB_NAME;
use super::patch::{LeaderboardPatch, Scope};
use crate::catalog::leaderboard::status_on;
use crate::catalog::{Catalog, Leaderboard, Ranking};
use crate::config::AttributeType;
use crate::domain::bulk::{
    archive_each, created_item, issue, updated_item, valid_key, Archive, Bulk, Create, Outcome,
    Update, BAD_KEY, MANAGED,
};
use crate::domain::ids::TenantId;
use crate::error::{echo, ApiError};
use crate::model::leaderboard::LeaderboardDef;
use crate::model::Definition;
use crate::rules::time_window::format_time_of_day;
use crate::store::definitions::{self, Kind, Status};
use crate::writer::{Command, WriteCtx};

/// The Admin API's `AdminLeaderboard`. In the 1.21.1 admin schema only `maxParticipants`
/// is nullable; the other optional fields (`description`, `metricId`, `pointsSystemId`,
/// `end`, `startTime`, `endTime`, `runUnit`, `runInterval`) are left out when they have no
/// value. `userAttributes` is not in that schema but the Python SDK 1.27 requires it.
pub fn admin_view(
    board: &Leaderboard,
    catalog: &Catalog,
    tenant: TenantId,
    today: NaiveDate,
) -> Value {
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
        out.insert("runUnit".into(), json!(unit.name()));
        out.insert("runInterval".into(), json!(interval));
    }
    out.insert("userAttributes".into(), json!([]));
    Value::Object(out)
}

/// The stored status for a requested one, given the start date and today's UTC date.
fn stored_status(requested: &str, start: NaiveDate, today: NaiveDate) -> Result<Status, String> {
    match requested {
        "inactive" => Ok(Status::Inactive),
        "active" if start > today => {
            Err("a leaderboard with a future start cannot be made active; use scheduled".into())
        }
        "active" => Ok(Status::Active),
        "scheduled" if start <= today => {
            Err("only a leaderboard with a future start can be scheduled".into())
        }
        "scheduled" => Ok(Status::Active),
        "finished" => Ok(Status::Finished),
        other => Err(format!("unknown status \"{}\"", echo(other))),
    }
}

/// What the items of a bulk write of `tenant`'s boards resolve against: the catalog as the
/// command began, the tenant's active points systems by UUID, and today's UTC date.
fn scope<'c>(ctx: &WriteCtx<'c>, tenant: TenantId) -> Scope<'c> {
    let conn = ctx.conn;
    Scope {
        catalog: ctx.catalog.clone(),
        tenant,
        points_system: Box::new(move |uuid| {
            definitions::active_points_system_key(conn, uuid, tenant).map_err(|e| e.to_string())
        }),
        today: ctx.now.date_naive(),
    }
}

fn owner_column(ctx: &WriteCtx<'_>, tenant: TenantId) -> Option<TenantId> {
    ctx.env.settings.multi_tenant().then_some(tenant)
}

fn finish_write(
    ctx: &mut WriteCtx<'_>,
    keys: &[String],
    tenant: TenantId,
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

fn key_taken(ctx: &WriteCtx<'_>, tenant: TenantId, key: &str) -> Result<bool, ApiError> {
    let owner = owner_column(ctx, tenant).unwrap_or(TenantId::SHARED);
    Ok(definitions::key_taken(
        ctx.conn,
        owner,
        Kind::Leaderboard,
        key,
    )?)
}

/// The leaderboards kind, whose bulk writes the Admin API sends.
pub struct Leaderboards;

impl<const CREATES: bool> Bulk<Leaderboards, CREATES> {
    /// Writes each item with `write`, which takes it with the scope its references and
    /// defaults resolve against, its index, the request's issues and the keys of the boards
    /// the items before it wrote; it answers the key of the board it wrote, or `None` once it
    /// has put the item's issue in the issues. The outcome shows the boards written as the
    /// catalog left them.
    fn write_each(
        &self,
        ctx: &mut WriteCtx<'_>,
        mut write: impl FnMut(
            &mut WriteCtx<'_>,
            &Scope<'_>,
            (usize, &Value),
            &mut Vec<Value>,
            &[String],
        ) -> Result<Option<String>, ApiError>,
    ) -> Result<Outcome, ApiError> {
        let scope = scope(ctx, self.tenant);
        let (written, issues) = self.each_item(|index, item, issues, written| {
            write(ctx, &scope, (index, item), issues, written)
        })?;
        let items = finish_write(ctx, &written, self.tenant)?;
        Ok(Outcome { items, issues })
    }
}

impl Command for Create<Leaderboards> {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        self.write_each(ctx, |ctx, scope, (index, item), issues, written| {
            let Some(item) = created_item::<LeaderboardPatch>(index, item, issues) else {
                return Ok(None);
            };
            let Some(key) = item.key.clone().filter(|k| valid_key(k)) else {
                issues.push(issue(index, None, BAD_KEY));
                return Ok(None);
            };
            if item.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
                issues.push(issue(index, None, "name must be a non-empty string"));
                return Ok(None);
            }
            if written.contains(&key) || key_taken(ctx, scope.tenant, &key)? {
                issues.push(issue(
                    index,
                    None,
                    "Key already in use by another leaderboard",
                ));
                return Ok(None);
            }
            let today = scope.today;
            let result = item.apply(None, scope).and_then(|board| {
                let requested = item.status.as_deref().unwrap_or("inactive");
                let status = stored_status(requested, board.start.unwrap_or(today), today)?;
                Ok((board, status))
            });
            let (board, status) = match result {
                Ok(made) => made,
                Err(message) => {
                    issues.push(issue(index, None, message));
                    return Ok(None);
                }
            };
            definitions::insert(
                ctx.conn,
                &definitions::New {
                    uuid: &uuid::Uuid::new_v4().to_string(),
                    tenant: owner_column(ctx, scope.tenant),
                    kind: Kind::Leaderboard,
                    key: &key,
                    status,
                    managed: false,
                    body: &board.body(),
                    now_ms: ctx.now.timestamp_millis(),
                },
            )?;
            Ok(Some(key))
        })
    }
}

/// The board with `uuid` that `tenant` may change: 404 unknown, 422 file-managed.
fn editable<'c>(
    catalog: &'c Catalog,
    tenant: TenantId,
    uuid: &str,
) -> Result<Option<&'c Leaderboard>, ApiError> {
    match catalog.leaderboards_for(tenant).find(|b| b.uuid == uuid) {
        Some(b) if b.managed => Err(ApiError::unprocessable(MANAGED)),
        found => Ok(found),
    }
}

impl Command for Update<Leaderboards> {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        self.write_each(ctx, |ctx, scope, (index, item), issues, _| {
            let Some((item, id)) = updated_item::<LeaderboardPatch>(index, item, issues) else {
                return Ok(None);
            };
            let Some(board) = editable(&scope.catalog, scope.tenant, id)? else {
                issues.push(issue(index, Some(id), "Leaderboard not found by ID"));
                return Ok(None);
            };
            let stored = definitions::existing(ctx.conn, board.id)?;
            let current = stored.status;
            let base = LeaderboardDef::from_body(&stored.body).map_err(|e| stored.unreadable(e))?;
            let inactive = current == Status::Inactive;
            let mut key = board.key.clone();
            if let Some(k) = item.key.as_ref().filter(|k| **k != board.key) {
                let problem = if !inactive {
                    Some("the key can only change while the leaderboard is inactive")
                } else if !valid_key(k) {
                    Some(BAD_KEY)
                } else if key_taken(ctx, scope.tenant, k)? {
                    Some("Key already in use by another leaderboard")
                } else {
                    None
                };
                if let Some(message) = problem {
                    issues.push(issue(index, Some(id), message));
                    return Ok(None);
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
                return Ok(None);
            }
            let today = scope.today;
            let result = item.apply(Some(&base), scope).and_then(|board| {
                let status = match item.status.as_deref() {
                    None => current,
                    Some("inactive") if !inactive => {
                        return Err("an activated leaderboard cannot return to inactive".into())
                    }
                    Some("active" | "scheduled") if current == Status::Finished => {
                        return Err("a finished leaderboard cannot be reactivated".into())
                    }
                    Some(s) => stored_status(s, board.start.unwrap_or(today), today)?,
                };
                Ok((board, status))
            });
            let (def, status) = match result {
                Ok(made) => made,
                Err(message) => {
                    issues.push(issue(index, Some(id), message));
                    return Ok(None);
                }
            };
            definitions::update(
                ctx.conn,
                board.id,
                Some(&key),
                status,
                &def.body(),
                ctx.now.timestamp_millis(),
            )?;
            Ok(Some(key))
        })
    }
}

/// `DELETE`: archived, so history that points at the board stays valid.
impl Command for Archive<Leaderboards> {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let now = ctx.now.timestamp_millis();
        let catalog = ctx.catalog.clone();
        let out = archive_each(&self.ids, "Leaderboard not found by ID", |id| {
            let Some(board) = editable(&catalog, self.tenant, id)? else {
                return Ok(false);
            };
            definitions::archive(ctx.conn, board.id, now)?;
            Ok(true)
        })?;
        finish_write(ctx, &[], self.tenant)?;
        Ok(out)
    }
}
