//! Admin tenant writes (`/admin/v1/tenants`): bulk create, update and archive.

use serde_json::{json, Value};

use crate::domain::limits::{check_chars, MAX_TENANT_FIELD_CHARS};
use crate::error::{echo, ApiError};
use crate::store::tenants::{self, Tenant};
use crate::writer::{Command, WriteCtx};

const NOT_FOUND: &str = "Tenant not found by ID";

pub struct CreateTenants(pub Vec<(String, String)>);

/// `created`/`updated`/`deleted` items, the issues, and the directory after the change.
#[derive(Default)]
pub struct TenantChanges {
    pub items: Vec<Value>,
    pub issues: Vec<Value>,
    pub active: Vec<Tenant>,
}

impl Command for CreateTenants {
    type Output = TenantChanges;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<TenantChanges, ApiError> {
        let mut out = TenantChanges::default();
        for (index, (customer_id, name)) in self.0.into_iter().enumerate() {
            if let Err(message) = check_fields(Some(&customer_id), Some(&name)) {
                out.issues.push(issue(Some(index), None, message));
                continue;
            }
            if customer_id_taken(ctx, &customer_id)? {
                out.issues
                    .push(issue(Some(index), None, taken(&customer_id)));
                continue;
            }
            let now = ctx.now.timestamp_millis();
            let tenant = tenants::insert(ctx.conn, &customer_id, &name, now)?;
            out.items.push(tenant.to_json());
        }
        finish(ctx, out)
    }
}

/// What a write changed, with the active tenants after it (the directory the gate loads).
fn finish(ctx: &WriteCtx<'_>, mut out: TenantChanges) -> Result<TenantChanges, ApiError> {
    out.active = tenants::active(ctx.conn)?;
    Ok(out)
}

/// A tenant issue: the item's `index` and the tenant's `id` where there are.
fn issue(index: Option<usize>, id: Option<&str>, message: impl Into<String>) -> Value {
    let mut issue = json!({ "severity": "error", "message": message.into() });
    if let Some(index) = index {
        issue["index"] = json!(index);
    }
    if let Some(id) = id {
        issue["id"] = json!(id);
    }
    issue
}

/// Whether a customer id cannot be given to a tenant: empty, or another tenant's.
fn customer_id_taken(ctx: &WriteCtx<'_>, customer_id: &str) -> Result<bool, ApiError> {
    Ok(customer_id.is_empty() || tenants::by_customer_id(ctx.conn, customer_id)?.is_some())
}

fn taken(customer_id: &str) -> String {
    format!(
        "Customer ID \"{}\" already exists in this environment",
        echo(customer_id)
    )
}

/// The admin spec's `maxLength` on both fields.
fn check_fields(customer_id: Option<&str>, name: Option<&str>) -> Result<(), String> {
    if let Some(customer_id) = customer_id {
        check_chars("customerId", customer_id, MAX_TENANT_FIELD_CHARS)?;
    }
    if let Some(name) = name {
        check_chars("name", name, MAX_TENANT_FIELD_CHARS)?;
    }
    Ok(())
}

pub struct TenantPatch {
    pub id: String,
    pub customer_id: Option<String>,
    pub name: Option<String>,
}

pub struct UpdateTenants(pub Vec<TenantPatch>);

impl Command for UpdateTenants {
    type Output = TenantChanges;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<TenantChanges, ApiError> {
        let mut out = TenantChanges::default();
        for (index, patch) in self.0.into_iter().enumerate() {
            let id = Some(patch.id.as_str());
            let Some(mut tenant) = tenants::by_uuid(ctx.conn, &patch.id)? else {
                out.issues.push(issue(Some(index), id, NOT_FOUND));
                continue;
            };
            if let Err(message) = check_fields(patch.customer_id.as_deref(), patch.name.as_deref())
            {
                out.issues.push(issue(Some(index), id, message));
                continue;
            }
            if let Some(customer_id) = patch.customer_id {
                if customer_id != tenant.customer_id {
                    if customer_id_taken(ctx, &customer_id)? {
                        out.issues.push(issue(Some(index), id, taken(&customer_id)));
                        continue;
                    }
                    tenant.customer_id = customer_id;
                }
            }
            if let Some(name) = patch.name {
                tenant.name = name;
            }
            tenant.updated = ctx.now.timestamp_millis();
            tenants::update(ctx.conn, &tenant)?;
            out.items.push(tenant.to_json());
        }
        finish(ctx, out)
    }
}

pub struct ArchiveTenants(pub Vec<String>);

impl Command for ArchiveTenants {
    type Output = TenantChanges;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<TenantChanges, ApiError> {
        let mut out = TenantChanges::default();
        for id in self.0 {
            match tenants::by_uuid(ctx.conn, &id)? {
                Some(mut tenant) if tenant.status == "active" => {
                    tenant.status = "archived".into();
                    tenant.updated = ctx.now.timestamp_millis();
                    tenants::update(ctx.conn, &tenant)?;
                    out.items.push(json!({ "id": id }));
                }
                _ => out.issues.push(issue(None, Some(&id), NOT_FOUND)),
            }
        }
        finish(ctx, out)
    }
}
