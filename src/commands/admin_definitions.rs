//! What admin writes to plain definitions (metrics, attributes) share: the issue shape both
//! SDKs parse, key rules, who owns a definition, and finding one a tenant may change.

use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::store::definitions::{self, Status};
use crate::writer::{Command, WriteCtx};

pub use crate::domain::bulk::{issue, valid_key, Outcome, MANAGED};

pub fn valid_uuid(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok()
}

/// The `tenant_id` a definition created by `tenant` gets: its own in multi-tenant mode,
/// shared (NULL) otherwise.
pub fn owner(ctx: &WriteCtx<'_>, tenant: i64) -> Option<i64> {
    ctx.env.settings.multi_tenant().then_some(tenant)
}

/// The body of the definition of `kind` with `key` that `tenant` would collide with
/// (archived ones included: their key stays taken so history keeps pointing at them).
pub fn existing_with_key(
    ctx: &WriteCtx<'_>,
    tenant: i64,
    kind: &str,
    key: &str,
) -> Result<Option<Value>, ApiError> {
    let owner = owner(ctx, tenant).unwrap_or(0);
    let row = definitions::by_key(ctx.conn, owner, definitions::kind(kind)?, key)?;
    Ok(row.map(|r| Value::Object(r.body)))
}

pub fn insert(
    ctx: &WriteCtx<'_>,
    tenant: i64,
    kind: &str,
    key: &str,
    body: &Map<String, Value>,
) -> Result<String, ApiError> {
    let uuid = uuid::Uuid::new_v4().to_string();
    definitions::insert(
        ctx.conn,
        &definitions::New {
            uuid: &uuid,
            tenant: owner(ctx, tenant),
            kind: definitions::kind(kind)?,
            key,
            status: Status::Active,
            managed: false,
            body,
            now_ms: ctx.now.timestamp_millis(),
        },
    )?;
    Ok(uuid)
}

/// An active definition `tenant` sees, as stored.
pub struct Stored {
    pub id: i64,
    pub uuid: String,
    pub key: String,
    pub body: Map<String, Value>,
}

/// Why an item cannot change the definition it names.
pub enum Refusal {
    /// Not a UUID, or no active definition of this kind with it: an issue on the item.
    NotFound,
    /// Declared in trophy.toml: the whole request is refused (422).
    Managed,
}

/// The active definition of `kind` with `uuid` that `tenant` may change.
pub fn editable(
    ctx: &WriteCtx<'_>,
    tenant: i64,
    kind: &str,
    uuid: &str,
) -> Result<Result<Stored, Refusal>, ApiError> {
    if !valid_uuid(uuid) {
        return Ok(Err(Refusal::NotFound));
    }
    let kind = definitions::kind(kind)?;
    let row = definitions::by_uuid(ctx.conn, uuid)?.filter(|r| {
        r.kind == kind && r.status == Status::Active && (r.owner == 0 || r.owner == tenant)
    });
    Ok(match row {
        None => Err(Refusal::NotFound),
        Some(row) if row.managed => Err(Refusal::Managed),
        Some(row) => Ok(Stored {
            id: row.id,
            uuid: row.uuid,
            key: row.key,
            body: row.body,
        }),
    })
}

/// The definition item `index` names, or `None` once `issues` says why not: `bad_id` when
/// `id` is not a UUID, `missing` when no such definition exists. A file-managed one
/// refuses the whole request.
pub fn target(
    ctx: &WriteCtx<'_>,
    tenant: i64,
    kind: &str,
    id: &str,
    index: usize,
    (bad_id, missing): (&str, &str),
    issues: &mut Vec<Value>,
) -> Result<Option<Stored>, ApiError> {
    match editable(ctx, tenant, kind, id)? {
        Ok(stored) => Ok(Some(stored)),
        Err(Refusal::Managed) => Err(ApiError::unprocessable(MANAGED)),
        Err(Refusal::NotFound) => {
            let message = if valid_uuid(id) { missing } else { bad_id };
            issues.push(issue(index, Some(id), message));
            Ok(None)
        }
    }
}

pub fn save_body(ctx: &WriteCtx<'_>, stored: &Stored) -> Result<(), ApiError> {
    // `editable` found it active.
    definitions::update(
        ctx.conn,
        stored.id,
        None,
        Status::Active,
        &stored.body,
        ctx.now.timestamp_millis(),
    )?;
    Ok(())
}

pub fn archive(ctx: &WriteCtx<'_>, stored: &Stored) -> Result<(), ApiError> {
    definitions::archive(ctx.conn, stored.id, ctx.now.timestamp_millis())?;
    Ok(())
}

/// Sets the name an update item gives (`None`: unchanged), or says why it cannot.
pub fn rename(stored: &mut Stored, name: Option<&str>) -> Result<(), &'static str> {
    if name.is_some() {
        stored.body.insert("name".into(), json!(name_of(name)?));
    }
    Ok(())
}

/// An item of a bulk update of plain definitions: the definition it names and what it
/// changes there.
pub trait UpdateItem {
    fn id(&self) -> &str;
    /// Changes the stored body, or says why the item is refused.
    fn change(&self, stored: &mut Stored) -> Result<(), &'static str>;
}

/// Applies each item to the definition of `kind` it names and saves it; an item naming
/// none (`missing`) or refused gets an issue instead. `view` shows the saved ones.
pub fn update_each<I: UpdateItem>(
    ctx: &mut WriteCtx<'_>,
    tenant: i64,
    (kind, missing): (&str, &str),
    items: &[I],
    view: fn(&str, &str, &Map<String, Value>) -> Value,
) -> Result<Outcome, ApiError> {
    let mut out = Outcome::default();
    for (index, item) in items.iter().enumerate() {
        let id = item.id();
        let messages = ("id must be a valid UUID", missing);
        let Some(mut stored) = target(ctx, tenant, kind, id, index, messages, &mut out.issues)?
        else {
            continue;
        };
        if let Err(m) = item.change(&mut stored) {
            out.issues.push(issue(index, Some(id), m));
            continue;
        }
        save_body(ctx, &stored)?;
        out.items
            .push(view(&stored.uuid, &stored.key, &stored.body));
    }
    ctx.reload_catalog_after_commit()?;
    Ok(out)
}

/// `DELETE` of plain definitions by UUID: each found one is archived, each other id gets
/// the `missing` issue.
pub struct ArchiveDefinitions {
    pub tenant: i64,
    pub kind: &'static str,
    pub missing: &'static str,
    pub ids: Vec<String>,
}

impl Command for ArchiveDefinitions {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let mut out = Outcome::default();
        for (index, id) in self.ids.iter().enumerate() {
            let messages = (self.missing, self.missing);
            let target = target(
                ctx,
                self.tenant,
                self.kind,
                id,
                index,
                messages,
                &mut out.issues,
            )?;
            if let Some(stored) = target {
                archive(ctx, &stored)?;
                out.items.push(json!({ "id": id }));
            }
        }
        ctx.reload_catalog_after_commit()?;
        Ok(out)
    }
}

/// A required, non-blank name of at most 255 characters (the admin spec's `maxLength`
/// for names).
pub fn name_of(name: Option<&str>) -> Result<String, &'static str> {
    match name.map(str::trim) {
        None | Some("") => Err("name must be a non-empty string"),
        Some(n) if n.chars().count() > crate::domain::limits::MAX_DEFINITION_NAME_CHARS => {
            Err("name must be a non-empty string of at most 255 characters")
        }
        Some(n) => Ok(n.to_owned()),
    }
}
