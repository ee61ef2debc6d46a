//! What admin writes to plain definitions (metrics, attributes) share: the issue shape both
//! SDKs parse, key rules, who owns a definition, and finding one a tenant may change.

use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use crate::domain::bulk::{parse_item, Archive, Create, Update, BAD_KEY};
use crate::domain::ids::{DefinitionId, TenantId};
use crate::error::ApiError;
use crate::model::Definition;
use crate::store::definitions::{self, Kind, Status};
use crate::writer::{Command, WriteCtx};

pub use crate::domain::bulk::{issue, valid_key, Outcome, MANAGED};

pub fn valid_uuid(id: &str) -> bool {
    uuid::Uuid::parse_str(id).is_ok()
}

/// The `tenant_id` a definition created by `tenant` gets: its own in multi-tenant mode,
/// shared (NULL) otherwise.
pub fn owner(ctx: &WriteCtx<'_>, tenant: TenantId) -> Option<TenantId> {
    ctx.env.settings.multi_tenant().then_some(tenant)
}

pub fn insert(
    ctx: &WriteCtx<'_>,
    tenant: TenantId,
    kind: Kind,
    key: &str,
    body: &Map<String, Value>,
) -> Result<String, ApiError> {
    let uuid = uuid::Uuid::new_v4().to_string();
    definitions::insert(
        ctx.conn,
        &definitions::New {
            uuid: &uuid,
            tenant: owner(ctx, tenant),
            kind,
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
    pub id: DefinitionId,
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
    tenant: TenantId,
    kind: Kind,
    uuid: &str,
) -> Result<Result<Stored, Refusal>, ApiError> {
    if !valid_uuid(uuid) {
        return Ok(Err(Refusal::NotFound));
    }
    let row = definitions::by_uuid(ctx.conn, uuid)?.filter(|r| {
        r.kind == kind
            && r.status == Status::Active
            && (r.owner == TenantId::SHARED || r.owner == tenant)
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

/// The definition of kind `K` item `index` names, or `None` once `issues` says why not:
/// `bad_id` when `id` is not a UUID, `K::MISSING` when no such definition exists. A
/// file-managed one refuses the whole request.
fn target<K: PlainKind>(
    ctx: &WriteCtx<'_>,
    tenant: TenantId,
    (index, id): (usize, &str),
    bad_id: &str,
    issues: &mut Vec<Value>,
) -> Result<Option<Stored>, ApiError> {
    match editable(ctx, tenant, K::KIND, id)? {
        Ok(stored) => Ok(Some(stored)),
        Err(Refusal::Managed) => Err(ApiError::unprocessable(MANAGED)),
        Err(Refusal::NotFound) => {
            let message = if valid_uuid(id) { K::MISSING } else { bad_id };
            issues.push(issue(index, Some(id), message));
            Ok(None)
        }
    }
}

/// A plain definition kind (metric, attribute) as the Admin API writes it: its model, the
/// item that patches the model, and how both show. Creates, updates and archives of every
/// plain kind are the same commands (`Create<K>`, `Update<K>`, `Archive<K>`) over this.
pub trait PlainKind: Send + 'static {
    type Model: Definition;
    /// A create or update item; `id` (updates) is read by the command, not the patch.
    type Patch: DeserializeOwned;
    const KIND: Kind;
    /// The issue for an update naming no definition of this kind.
    const MISSING: &'static str;
    /// The 404 of a read naming none.
    const NOT_FOUND: &'static str;

    /// The key a create item gives.
    fn key(patch: &Self::Patch) -> Option<&str>;
    /// The model `patch` makes over `base` (none on create), or the first thing wrong.
    fn apply(patch: Self::Patch, base: Option<&Self::Model>) -> Result<Self::Model, String>;
    /// The issue for a create whose key is taken by `existing`.
    fn key_taken(existing: &Self::Model, new: &Self::Model) -> &'static str;
    /// The definition as the Admin API shows it.
    fn view(uuid: &str, key: &str, model: &Self::Model) -> Value;

    /// The view of a stored row, or why its body cannot be read.
    fn view_stored(uuid: &str, key: &str, body: &Map<String, Value>) -> Result<Value, ApiError> {
        let model = Self::Model::from_body(body).map_err(|e| {
            ApiError::Internal(format!("definition {uuid} ({key}) cannot be read: {e}"))
        })?;
        Ok(Self::view(uuid, key, &model))
    }
}

/// `POST` of plain definitions of kind `K`: each item a new definition, or an issue.
impl<K: PlainKind> Command for Create<K> {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let mut out = Outcome::default();
        for (index, item) in self.items.iter().enumerate() {
            let made = parse_item::<K::Patch>(item).and_then(|patch| {
                let key = K::key(&patch)
                    .filter(|k| valid_key(k))
                    .ok_or(BAD_KEY)?
                    .to_owned();
                Ok((key, K::apply(patch, None)?))
            });
            let (key, model) = match made {
                Ok(made) => made,
                Err(message) => {
                    out.issues.push(issue(index, None, message));
                    continue;
                }
            };
            let owner = owner(ctx, self.tenant).unwrap_or(TenantId::SHARED);
            if let Some(existing) = definitions::by_key(ctx.conn, owner, K::KIND, &key)? {
                // Archived ones included: their key stays taken so history keeps pointing
                // at them.
                let existing =
                    K::Model::from_body(&existing.body).map_err(|e| existing.unreadable(e))?;
                out.issues
                    .push(issue(index, None, K::key_taken(&existing, &model)));
                continue;
            }
            let uuid = insert(ctx, self.tenant, K::KIND, &key, &model.body())?;
            out.items.push(K::view(&uuid, &key, &model));
        }
        ctx.reload_catalog_after_commit()?;
        Ok(out)
    }
}

/// `PATCH` of plain definitions of kind `K`: each item names one by `id` and patches it.
impl<K: PlainKind> Command for Update<K> {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let mut out = Outcome::default();
        for (index, item) in self.items.iter().enumerate() {
            let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
            let bad_id = "id must be a valid UUID";
            let Some(stored) = target::<K>(ctx, self.tenant, (index, id), bad_id, &mut out.issues)?
            else {
                continue;
            };
            let base = K::Model::from_body(&stored.body).map_err(|e| {
                ApiError::Internal(format!("definition row {} cannot be read: {e}", stored.id))
            })?;
            let model = match parse_item::<K::Patch>(item).and_then(|p| K::apply(p, Some(&base))) {
                Ok(model) => model,
                Err(message) => {
                    out.issues.push(issue(index, Some(id), message));
                    continue;
                }
            };
            definitions::update(
                ctx.conn,
                stored.id,
                None,
                Status::Active,
                &model.body(),
                ctx.now.timestamp_millis(),
            )?;
            out.items.push(K::view(&stored.uuid, &stored.key, &model));
        }
        ctx.reload_catalog_after_commit()?;
        Ok(out)
    }
}

/// `DELETE` of plain definitions of kind `K` by UUID: each found one is archived, each
/// other id gets the `K::MISSING` issue.
impl<K: PlainKind> Command for Archive<K> {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let mut out = Outcome::default();
        for (index, id) in self.ids.iter().enumerate() {
            let target = target::<K>(ctx, self.tenant, (index, id), K::MISSING, &mut out.issues)?;
            if let Some(stored) = target {
                definitions::archive(ctx.conn, stored.id, ctx.now.timestamp_millis())?;
                out.items.push(json!({ "id": id }));
            }
        }
        ctx.reload_catalog_after_commit()?;
        Ok(out)
    }
}
