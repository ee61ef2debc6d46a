//! Admin writes to points systems, triggers, levels and boosts (`/admin/v1/points…`, the
//! Python SDK's shapes; docs/behaviour/admin-api.md#bulk-conventions). Bodies are stored in
//! the form the file's definitions use (`catalog::sync`), so one catalog reads both.
//! Definitions from trophy.toml are read-only here: a request touching one is refused whole
//! with 422. Items are checked one by one; a bad item becomes an issue and the others go
//! ahead.

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::store;
use super::trigger_patch::{self, Scope};
use super::view;
use super::{boost_patch, level_patch, system_patch};
use crate::catalog::{Catalog, PointsSystem};
use crate::domain::bulk::{
    archive_each, each_item, issue, valid_key, Archive, Create, Outcome, Update, BAD_KEY, MANAGED,
};
use crate::domain::ids::{DefinitionId, TenantId};
use crate::error::ApiError;
use crate::store::definitions;
use crate::writer::{Command, WriteCtx};

/// The kinds of children a system has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Child {
    Trigger,
    Level,
    Boost,
}

impl Child {
    fn kind(self) -> &'static str {
        match self {
            Child::Trigger => "points_trigger",
            Child::Level => "points_level",
            Child::Boost => "points_boost",
        }
    }

    pub fn not_found(self) -> &'static str {
        match self {
            Child::Trigger => "Points trigger not found",
            Child::Level => "Points level not found",
            Child::Boost => "Points boost not found",
        }
    }
}

fn text<'v>(item: &'v Value, field: &str) -> Result<Option<&'v str>, String> {
    match item.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{field} must be a string")),
    }
}

/// The stored body `item` makes of a child of `scope.system`: over `base`, its stored body,
/// or a new one. `active`: an active trigger that stays active keeps its type.
fn child_body(
    child: Child,
    item: &Value,
    base: Option<&Map<String, Value>>,
    scope: &Scope<'_>,
    active: bool,
) -> Result<Map<String, Value>, String> {
    match child {
        Child::Trigger => trigger_patch::body(item, base, scope, active),
        Child::Level => level_patch::body(item, base, scope.system),
        Child::Boost => boost_patch::body(item, base, scope),
    }
}

fn insert(
    ctx: &WriteCtx<'_>,
    owner: Option<TenantId>,
    kind: &str,
    key: &str,
    status: &str,
    body: &Map<String, Value>,
    uuid: &str,
) -> Result<(), ApiError> {
    definitions::insert(
        ctx.conn,
        &definitions::New {
            uuid,
            tenant: owner,
            kind: definitions::kind(kind)?,
            key,
            status: definitions::status(status)?,
            managed: false,
            body,
            now_ms: ctx.now.timestamp_millis(),
        },
    )?;
    Ok(())
}

fn key_taken(
    ctx: &WriteCtx<'_>,
    owner: Option<TenantId>,
    kind: &str,
    key: &str,
) -> Result<bool, ApiError> {
    Ok(definitions::key_taken(
        ctx.conn,
        owner.unwrap_or(TenantId::SHARED),
        definitions::kind(kind)?,
        key,
    )?)
}

fn owner_column(system: &PointsSystem) -> Option<TenantId> {
    (system.owner != TenantId::SHARED).then_some(system.owner)
}

fn status_of(item: &Value, default: &str) -> Result<String, String> {
    match text(item, "status")? {
        None => Ok(default.to_owned()),
        Some(s @ ("active" | "inactive")) => Ok(s.to_owned()),
        Some(_) => Err("status must be active or inactive".into()),
    }
}

/// Creates one child of `system`; returns its UUID.
fn create_child(
    ctx: &WriteCtx<'_>,
    catalog: &Catalog,
    tenant: TenantId,
    system: &PointsSystem,
    child: Child,
    item: &Value,
) -> Result<String, String> {
    let scope = Scope {
        catalog,
        tenant,
        system: &system.key,
    };
    let body = child_body(child, item, None, &scope, false)?;
    let status = match child {
        Child::Trigger => status_of(item, "inactive")?,
        _ => "active".to_owned(),
    };
    let uuid = uuid::Uuid::new_v4().to_string();
    let key = match child {
        Child::Trigger => format!("{}/trigger/{uuid}", system.key),
        Child::Boost => format!("{}/boost/{uuid}", system.key),
        Child::Level => format!(
            "{}/level/{}",
            system.key,
            body.get("key").and_then(Value::as_str).unwrap_or_default()
        ),
    };
    let owner = owner_column(system);
    if child == Child::Level
        && key_taken(ctx, owner, child.kind(), &key).map_err(|e| e.to_string())?
    {
        return Err("A level with this key already exists in the points system".into());
    }
    insert(ctx, owner, child.kind(), &key, &status, &body, &uuid).map_err(|e| e.to_string())?;
    Ok(uuid)
}

/// The entity as the Admin API shows it, from a catalog loaded in this transaction.
fn render(
    catalog: &Catalog,
    tenant: TenantId,
    system: &str,
    child: Option<Child>,
    uuid: &str,
    now: NaiveDate,
) -> Option<Value> {
    let s = catalog.points_for(tenant).find(|s| s.uuid == system)?;
    match child {
        None => Some(view::admin_system(s, "active")),
        Some(Child::Trigger) => s
            .triggers
            .iter()
            .find(|t| t.uuid == uuid)
            .map(|t| view::admin_trigger(t, catalog, tenant)),
        Some(Child::Level) => s
            .levels
            .iter()
            .find(|l| l.uuid == uuid)
            .map(view::admin_level),
        Some(Child::Boost) => s
            .boosts
            .iter()
            .find(|b| b.uuid == uuid)
            .map(|b| view::admin_boost(b, catalog, tenant, now)),
    }
}

/// After definitions changed: recount levels, reload the catalog and wake the jobs.
fn changed(ctx: &mut WriteCtx<'_>) -> Result<Catalog, ApiError> {
    let fresh = Catalog::load(ctx.conn)?;
    for s in fresh.all_points() {
        let levels: Vec<(i64, DefinitionId)> = s.levels.iter().map(|l| (l.points, l.id)).collect();
        store::reconcile_levels(ctx.conn, s.id, &levels)?;
    }
    ctx.reload_catalog_after_commit()?;
    super::jobs::definitions_changed(ctx);
    Ok(fresh)
}

/// The lists of children a system item may send, by field; a slot of `Created`'s flags each.
const CHILD_LISTS: [(&str, Child); 3] = [
    ("triggers", Child::Trigger),
    ("levels", Child::Level),
    ("boosts", Child::Boost),
];

/// A system created by this request: its UUID, its children's, and which child lists
/// (triggers, levels, boosts) the item sent, so only those are echoed.
type Created = (String, Vec<(Child, String)>, [bool; 3]);

/// The points systems kind, whose bulk writes the Admin API sends.
pub struct Systems;

impl Command for Create<Systems> {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let owner = ctx.env.settings.multi_tenant().then_some(self.tenant);
        let mut out = Outcome::default();
        let mut made: Vec<Created> = Vec::new();
        for (index, item) in self.items.iter().enumerate() {
            let catalog = Catalog::load(ctx.conn)?;
            let key = match text(item, "key") {
                Ok(Some(k)) if valid_key(k) => k.to_owned(),
                _ => {
                    out.issues.push(issue(index, None, BAD_KEY));
                    continue;
                }
            };
            if key_taken(ctx, owner, "points_system", &key)? {
                out.issues.push(issue(
                    index,
                    None,
                    "A points system with this key already exists",
                ));
                continue;
            }
            let body = match system_patch::body(item, None) {
                Ok(b) => b,
                Err(m) => {
                    out.issues.push(issue(index, None, m));
                    continue;
                }
            };
            ctx.conn.execute_batch("SAVEPOINT points_system")?;
            let uuid = uuid::Uuid::new_v4().to_string();
            insert(ctx, owner, "points_system", &key, "active", &body, &uuid)?;
            let fresh = Catalog::load(ctx.conn)?;
            let Some(system) = fresh
                .points_for(self.tenant)
                .find(|s| s.uuid == uuid)
                .cloned()
            else {
                ctx.conn
                    .execute_batch("ROLLBACK TO points_system; RELEASE points_system")?;
                continue;
            };
            let mut children = Vec::new();
            let mut problem = None;
            let mut sent = [false; 3];
            for (slot, (field, child)) in CHILD_LISTS.into_iter().enumerate() {
                let Some(list) = item.get(field).and_then(Value::as_array) else {
                    continue;
                };
                sent[slot] = true;
                for c in list {
                    match create_child(ctx, &catalog, self.tenant, &system, child, c) {
                        Ok(id) => children.push((child, id)),
                        Err(m) => problem = Some(format!("{field}: {m}")),
                    }
                }
            }
            if let Some(m) = problem {
                ctx.conn
                    .execute_batch("ROLLBACK TO points_system; RELEASE points_system")?;
                out.issues.push(issue(index, None, m));
                continue;
            }
            ctx.conn.execute_batch("RELEASE points_system")?;
            made.push((uuid, children, sent));
        }
        let fresh = changed(ctx)?;
        let today = ctx.now.date_naive();
        for (uuid, children, sent) in made {
            let Some(Value::Object(mut o)) = render(&fresh, self.tenant, &uuid, None, &uuid, today)
            else {
                continue;
            };
            for (slot, (field, child)) in CHILD_LISTS.into_iter().enumerate() {
                if sent[slot] {
                    let list: Vec<Value> = children
                        .iter()
                        .filter(|(c, _)| *c == child)
                        .filter_map(|(c, id)| {
                            render(&fresh, self.tenant, &uuid, Some(*c), id, today)
                        })
                        .collect();
                    o.insert(field.into(), Value::Array(list));
                }
            }
            out.items.push(Value::Object(o));
        }
        Ok(out)
    }
}

fn body_of(
    ctx: &WriteCtx<'_>,
    id: DefinitionId,
) -> Result<(Map<String, Value>, String, bool), ApiError> {
    let row = definitions::existing(ctx.conn, id)?;
    Ok((row.body, row.status.as_str().to_owned(), row.managed))
}

fn save(
    ctx: &WriteCtx<'_>,
    id: DefinitionId,
    body: &Map<String, Value>,
    status: &str,
) -> Result<(), ApiError> {
    definitions::update(
        ctx.conn,
        id,
        None,
        definitions::status(status)?,
        body,
        ctx.now.timestamp_millis(),
    )?;
    Ok(())
}

impl Command for Update<Systems> {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let catalog = ctx.catalog.clone();
        let mut out = Outcome::default();
        let mut done = Vec::new();
        for (index, item) in self.items.iter().enumerate() {
            let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
            let Some(system) = catalog.points_for(self.tenant).find(|s| s.uuid == id) else {
                out.issues
                    .push(issue(index, Some(id), "Points system not found by ID"));
                continue;
            };
            if system.managed {
                return Err(ApiError::unprocessable(MANAGED));
            }
            let (base, status, _) = body_of(ctx, system.id)?;
            match system_patch::body(item, Some(&base)) {
                Ok(body) => {
                    save(ctx, system.id, &body, &status)?;
                    done.push(id.to_owned());
                }
                Err(m) => out.issues.push(issue(index, Some(id), m)),
            }
        }
        let fresh = changed(ctx)?;
        let today = ctx.now.date_naive();
        out.items = done
            .iter()
            .filter_map(|id| render(&fresh, self.tenant, id, None, id, today))
            .collect();
        Ok(out)
    }
}

impl Command for Archive<Systems> {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let catalog = ctx.catalog.clone();
        let out = archive_each(&self.ids, "Points system not found by ID", |id| {
            let Some(system) = catalog.points_for(self.tenant).find(|s| s.uuid == id) else {
                return Ok(false);
            };
            if system.managed {
                return Err(ApiError::unprocessable(MANAGED));
            }
            definitions::archive(ctx.conn, system.id, ctx.now.timestamp_millis())?;
            Ok(true)
        })?;
        changed(ctx)?;
        Ok(out)
    }
}

/// The system `uuid` as `tenant` sees it, or 404.
pub fn system_of<'c>(
    catalog: &'c Catalog,
    tenant: TenantId,
    uuid: &str,
) -> Result<&'c PointsSystem, ApiError> {
    catalog
        .points_for(tenant)
        .find(|s| s.uuid == uuid)
        .ok_or_else(|| ApiError::not_found("Points system not found"))
}

/// A bulk create (`CREATES`) or update of one kind of child of the system `system` (its
/// UUID), shaped like `domain::bulk::Bulk`: the items are read inside the command.
pub struct Children<const CREATES: bool> {
    pub tenant: TenantId,
    pub system: String,
    pub child: Child,
    pub items: Vec<Value>,
}

pub type CreateChildren = Children<true>;
pub type UpdateChildren = Children<false>;

/// One item of a bulk write of children, with the catalog and the system it is read against.
struct ChildItem<'a> {
    catalog: &'a Catalog,
    system: &'a PointsSystem,
    index: usize,
    item: &'a Value,
}

impl<const CREATES: bool> Children<CREATES> {
    /// Writes each item with `write`, which answers the UUID of the child it wrote, or `None`
    /// once it has put the item's issue in the issues it is given; the outcome shows the
    /// children written as the Admin API does.
    fn write_each(
        &self,
        ctx: &mut WriteCtx<'_>,
        mut write: impl FnMut(
            &mut WriteCtx<'_>,
            ChildItem<'_>,
            &mut Vec<Value>,
        ) -> Result<Option<String>, ApiError>,
    ) -> Result<Outcome, ApiError> {
        let catalog = ctx.catalog.clone();
        let system = system_of(&catalog, self.tenant, &self.system)?.clone();
        let (written, issues) = each_item(&self.items, |index, item, issues, _| {
            let each = ChildItem {
                catalog: &catalog,
                system: &system,
                index,
                item,
            };
            write(ctx, each, issues)
        })?;
        let fresh = changed(ctx)?;
        let today = ctx.now.date_naive();
        let items = written
            .iter()
            .filter_map(|id| {
                render(
                    &fresh,
                    self.tenant,
                    &system.uuid,
                    Some(self.child),
                    id,
                    today,
                )
            })
            .collect();
        Ok(Outcome { items, issues })
    }
}

impl Command for CreateChildren {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        self.write_each(ctx, |ctx, c, issues| {
            match create_child(ctx, c.catalog, self.tenant, c.system, self.child, c.item) {
                Ok(id) => Ok(Some(id)),
                Err(m) => {
                    let mut i = issue(c.index, None, m);
                    if let (Some(user), Some(o)) = (
                        c.item.get("userId").and_then(Value::as_str),
                        i.as_object_mut(),
                    ) {
                        o.insert("userId".into(), json!(user));
                    }
                    issues.push(i);
                    Ok(None)
                }
            }
        })
    }
}

/// `(definition id, managed, active)` of the child `uuid` of `system`.
fn find_child(
    system: &PointsSystem,
    child: Child,
    uuid: &str,
) -> Option<(DefinitionId, bool, bool)> {
    match child {
        Child::Trigger => system.triggers.iter().find(|t| t.uuid == uuid).map(|t| {
            (
                t.id,
                t.managed,
                t.status == crate::catalog::points::TriggerStatus::Active,
            )
        }),
        Child::Level => system
            .levels
            .iter()
            .find(|l| l.uuid == uuid)
            .map(|l| (l.id, l.managed, true)),
        Child::Boost => system
            .boosts
            .iter()
            .find(|b| b.uuid == uuid)
            .map(|b| (b.id, b.managed, true)),
    }
}

impl Command for UpdateChildren {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        self.write_each(ctx, |ctx, c, issues| {
            let (index, item) = (c.index, c.item);
            let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
            let Some((row, managed, active)) = find_child(c.system, self.child, id) else {
                let message = format!("{} by ID", self.child.not_found());
                let mut i = issue(index, Some(id), message);
                if let (Child::Boost, Some(o)) = (self.child, i.as_object_mut()) {
                    o.insert("boostId".into(), json!(id));
                }
                issues.push(i);
                return Ok(None);
            };
            if managed {
                return Err(ApiError::unprocessable(MANAGED));
            }
            let (base, status, _) = body_of(ctx, row)?;
            let status = match self.child {
                Child::Trigger => match status_of(item, &status) {
                    Ok(s) => s,
                    Err(m) => {
                        issues.push(issue(index, Some(id), m));
                        return Ok(None);
                    }
                },
                _ => status,
            };
            // The type may change in the same request that deactivates the trigger.
            let locked = active && status == "active";
            let scope = Scope {
                catalog: c.catalog,
                tenant: self.tenant,
                system: &c.system.key,
            };
            match child_body(self.child, item, Some(&base), &scope, locked) {
                Ok(body) => {
                    save(ctx, row, &body, &status)?;
                    Ok(Some(id.to_owned()))
                }
                Err(m) => {
                    issues.push(issue(index, Some(id), m));
                    Ok(None)
                }
            }
        })
    }
}

pub struct ArchiveChildren {
    pub tenant: TenantId,
    pub system: String,
    pub child: Child,
    pub ids: Vec<String>,
}

impl Command for ArchiveChildren {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let catalog = ctx.catalog.clone();
        let system = system_of(&catalog, self.tenant, &self.system)?.clone();
        let missing = format!("{} by ID", self.child.not_found());
        let out = archive_each(&self.ids, &missing, |id| {
            let Some((row, managed, _)) = find_child(&system, self.child, id) else {
                return Ok(false);
            };
            if managed {
                return Err(ApiError::unprocessable(MANAGED));
            }
            if self.child == Child::Level {
                // Levels hold no history; deleting frees the key for a new level.
                definitions::delete(ctx.conn, row)?;
            } else {
                definitions::archive(ctx.conn, row, ctx.now.timestamp_millis())?;
            }
            Ok(true)
        })?;
        changed(ctx)?;
        Ok(out)
    }
}
