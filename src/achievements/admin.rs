//! Admin writes to achievements (`/admin/v1/achievements`, the SDK's shapes): each item
//! an [`AchievementPatch`] applied onto the stored model. Definitions from trophy.toml are
//! read-only here.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use super::patch::{AchievementPatch, Scope};
use super::view;
use crate::catalog::{Achievement, AchievementTrigger, Catalog};
use crate::domain::bulk::{
    archive_each, created_item, issue, updated_item, valid_key, Archive, Create, Outcome, Update,
    BAD_KEY, MANAGED,
};
use crate::domain::ids::TenantId;
use crate::error::ApiError;
use crate::model::achievement::AchievementDef;
use crate::model::Definition;
use crate::store::definitions::{self, Kind, Status};
use crate::writer::{Command, WriteCtx};

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

/// Whether the prerequisite graph, with `key` now defined as `def`, has a cycle.
fn creates_cycle(catalog: &Catalog, tenant: TenantId, key: &str, def: &AchievementDef) -> bool {
    let mut graph: HashMap<String, Vec<String>> = catalog
        .achievements_for(tenant)
        .filter_map(|a| match &a.trigger {
            AchievementTrigger::Composite { prerequisites } => {
                Some((a.key.clone(), prerequisites.clone()))
            }
            _ => None,
        })
        .collect();
    let prereqs = match &def.trigger {
        AchievementTrigger::Composite { prerequisites } => prerequisites.clone(),
        _ => Vec::new(),
    };
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

fn owner_column(tenant: TenantId, multi_tenant: bool) -> Option<TenantId> {
    multi_tenant.then_some(tenant)
}

/// The achievements kind, whose bulk writes the Admin API sends.
pub struct Achievements;

impl Command for Create<Achievements> {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let now = ctx.now.timestamp_millis();
        let multi = ctx.env.settings.multi_tenant();
        let (created_keys, issues) = self.each_item(|index, item, issues, _| {
            // Each item sees the ones created before it (prerequisites may chain).
            let catalog = crate::catalog::Catalog::load(ctx.conn)?;
            let Some(item) = created_item::<AchievementPatch>(index, item, issues) else {
                return Ok(None);
            };
            if item.name.as_deref().is_none_or(|n| n.trim().is_empty()) {
                issues.push(issue(index, None, "name must be a non-empty string"));
                return Ok(None);
            }
            let key = match &item.key {
                Some(k) if valid_key(k) => k.clone(),
                Some(_) => {
                    issues.push(issue(index, None, BAD_KEY));
                    return Ok(None);
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
                return Ok(None);
            }
            let scope = Scope {
                catalog: &catalog,
                tenant: self.tenant,
            };
            let made = item
                .apply(None, &scope)
                .and_then(|def| item.status(Status::Inactive).map(|s| (def, s)));
            let (def, status) = match made {
                Ok(made) => made,
                Err(message) => {
                    issues.push(issue(index, None, message));
                    return Ok(None);
                }
            };
            if creates_cycle(&catalog, self.tenant, &key, &def) {
                issues.push(issue(index, None, "prerequisites would form a cycle"));
                return Ok(None);
            }
            definitions::insert(
                ctx.conn,
                &definitions::New {
                    uuid: &uuid::Uuid::new_v4().to_string(),
                    tenant: owner_column(self.tenant, multi),
                    kind: Kind::Achievement,
                    key: &key,
                    status,
                    managed: false,
                    body: &def.body(),
                    now_ms: now,
                },
            )?;
            Ok(Some(key))
        })?;
        finish(ctx, self.tenant, issues, |catalog| {
            created_keys
                .iter()
                .filter_map(|k| catalog.achievement(self.tenant, k))
                .collect()
        })
    }
}

/// The outcome of a write: the achievements `written` picks from the catalog as the write
/// left it, and the issues. The catalog in force is reloaded after the commit.
fn finish(
    ctx: &mut WriteCtx<'_>,
    tenant: TenantId,
    issues: Vec<Value>,
    written: impl Fn(&Catalog) -> Vec<&Achievement>,
) -> Result<Outcome, ApiError> {
    let catalog = Catalog::load(ctx.conn)?;
    let items = written(&catalog)
        .into_iter()
        .map(|a| view::admin_achievement(a, &catalog, tenant))
        .collect();
    ctx.reload_catalog_after_commit()?;
    Ok(Outcome { items, issues })
}

/// Archived definitions keep their key (history points at them).
fn archived_key_taken(
    ctx: &WriteCtx<'_>,
    tenant: TenantId,
    multi: bool,
    key: &str,
) -> Result<bool, ApiError> {
    let owner = owner_column(tenant, multi).unwrap_or(TenantId::SHARED);
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
    tenant: TenantId,
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

impl Command for Update<Achievements> {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let now = ctx.now.timestamp_millis();
        let (updated, issues) = self.each_item(|index, item, issues, _| {
            let catalog = crate::catalog::Catalog::load(ctx.conn)?;
            let Some((item, id)) = updated_item::<AchievementPatch>(index, item, issues) else {
                return Ok(None);
            };
            let a = match editable(&catalog, self.tenant, id) {
                Ok(a) => a,
                Err(ApiError::Unprocessable(m)) => return Err(ApiError::Unprocessable(m)),
                Err(_) => {
                    issues.push(issue(index, Some(id), "Achievement not found by ID"));
                    return Ok(None);
                }
            };
            let stored = definitions::existing(ctx.conn, a.id)?;
            let mut key = a.key.clone();
            if let Some(k) = &item.key {
                if !valid_key(k) {
                    issues.push(issue(index, Some(id), BAD_KEY));
                    return Ok(None);
                }
                if *k != a.key && catalog.achievement(self.tenant, k).is_some() {
                    issues.push(issue(
                        index,
                        Some(id),
                        "Key already in use by another achievement",
                    ));
                    return Ok(None);
                }
                key = k.clone();
            }
            let scope = Scope {
                catalog: &catalog,
                tenant: self.tenant,
            };
            let made = item
                .apply(Some(&a.def), &scope)
                .and_then(|def| item.status(stored.status).map(|s| (def, s)));
            let (def, status) = match made {
                Ok(made) => made,
                Err(message) => {
                    issues.push(issue(index, Some(id), message));
                    return Ok(None);
                }
            };
            if creates_cycle(&catalog, self.tenant, &key, &def) {
                issues.push(issue(index, Some(id), "prerequisites would form a cycle"));
                return Ok(None);
            }
            let body = def.body();
            if body != stored.body {
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
            definitions::update(ctx.conn, a.id, Some(&key), status, &body, now)?;
            Ok(Some(a.id))
        })?;
        finish(ctx, self.tenant, issues, |catalog| {
            catalog
                .achievements_for(self.tenant)
                .filter(|a| updated.contains(&a.id))
                .collect()
        })
    }
}

/// Composites name prerequisites by key: follow a rename so they keep needing the same one.
fn rename_prerequisite(
    ctx: &WriteCtx<'_>,
    catalog: &Catalog,
    tenant: TenantId,
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

impl Command for Archive<Achievements> {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let now = ctx.now.timestamp_millis();
        let catalog = ctx.catalog.clone();
        let out = archive_each(
            &self.ids,
            "Achievement not found by ID",
            |id| match editable(&catalog, self.tenant, id) {
                Ok(a) => {
                    definitions::archive(ctx.conn, a.id, now)?;
                    Ok(true)
                }
                Err(ApiError::Unprocessable(m)) => Err(ApiError::Unprocessable(m)),
                Err(_) => Ok(false),
            },
        )?;
        ctx.reload_catalog_after_commit()?;
        Ok(out)
    }
}
