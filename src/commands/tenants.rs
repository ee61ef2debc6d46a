//! Admin tenant writes (`/admin/v1/tenants`): bulk create, update and archive.

use serde_json::{json, Value};

use crate::domain::limits::{check_chars, MAX_TENANT_FIELD_CHARS};
use crate::error::{echo, ApiError};
use crate::store::tenants::{self, Tenant};
use crate::writer::{Command, WriteCtx};

pub struct CreateTenants(pub Vec<(String, String)>);

/// `created`/`updated`/`deleted` items, the issues, and the directory after the change.
pub struct TenantChanges {
    pub items: Vec<Value>,
    pub issues: Vec<Value>,
    pub active: Vec<Tenant>,
}

impl Command for CreateTenants {
    type Output = TenantChanges;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<TenantChanges, ApiError> {
        let now = ctx.now.timestamp_millis();
        let mut items = Vec::new();
        let mut issues = Vec::new();
        for (index, (customer_id, name)) in self.0.into_iter().enumerate() {
            if let Err(message) = check_fields(Some(&customer_id), Some(&name)) {
                issues.push(json!({"index": index, "severity": "error", "message": message}));
                continue;
            }
            if tenants::by_customer_id(ctx.conn, &customer_id)?.is_some() || customer_id.is_empty()
            {
                issues.push(json!({
                    "index": index,
                    "severity": "error",
                    "message": format!("Customer ID \"{}\" already exists in this environment", echo(&customer_id)),
                }));
                continue;
            }
            items.push(tenants::insert(ctx.conn, &customer_id, &name, now)?.to_json());
        }
        Ok(TenantChanges {
            items,
            issues,
            active: tenants::active(ctx.conn)?,
        })
    }
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
        let now = ctx.now.timestamp_millis();
        let mut items = Vec::new();
        let mut issues = Vec::new();
        for (index, patch) in self.0.into_iter().enumerate() {
            let Some(mut tenant) = tenants::by_uuid(ctx.conn, &patch.id)? else {
                issues.push(json!({"index": index, "id": patch.id, "severity": "error", "message": "Tenant not found by ID"}));
                continue;
            };
            if let Err(message) = check_fields(patch.customer_id.as_deref(), patch.name.as_deref())
            {
                issues.push(json!({"index": index, "id": patch.id, "severity": "error", "message": message}));
                continue;
            }
            if let Some(customer_id) = patch.customer_id {
                if customer_id != tenant.customer_id {
                    if customer_id.is_empty()
                        || tenants::by_customer_id(ctx.conn, &customer_id)?.is_some()
                    {
                        issues.push(json!({
                            "index": index, "id": patch.id, "severity": "error",
                            "message": format!("Customer ID \"{}\" already exists in this environment", echo(&customer_id)),
                        }));
                        continue;
                    }
                    tenant.customer_id = customer_id;
                }
            }
            if let Some(name) = patch.name {
                tenant.name = name;
            }
            tenant.updated = now;
            tenants::update(ctx.conn, &tenant)?;
            items.push(tenant.to_json());
        }
        Ok(TenantChanges {
            items,
            issues,
            active: tenants::active(ctx.conn)?,
        })
    }
}

pub struct ArchiveTenants(pub Vec<String>);

impl Command for ArchiveTenants {
    type Output = TenantChanges;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<TenantChanges, ApiError> {
        let now = ctx.now.timestamp_millis();
        let mut items = Vec::new();
        let mut issues = Vec::new();
        for id in self.0 {
            match tenants::by_uuid(ctx.conn, &id)? {
                Some(mut tenant) if tenant.status == "active" => {
                    tenant.status = "archived".into();
                    tenant.updated = now;
                    tenants::update(ctx.conn, &tenant)?;
                    items.push(json!({ "id": id }));
                }
                _ => issues.push(
                    json!({"id": id, "severity": "error", "message": "Tenant not found by ID"}),
                ),
            }
        }
        Ok(TenantChanges {
            items,
            issues,
            active: tenants::active(ctx.conn)?,
        })
    }
}
