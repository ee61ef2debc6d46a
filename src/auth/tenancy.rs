//! Which tenant a request acts for. In multi-tenant mode the `Tenant-ID` header names a
//! tenant by its customer id; otherwise everything belongs to the default tenant.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::domain::ids::TenantId;
use crate::error::ApiError;
use crate::store::tenants::{Tenant, DEFAULT_TENANT};

/// Active tenants by customer id, kept in memory and refreshed after tenant changes.
#[derive(Clone, Default)]
pub struct TenantDirectory(Arc<RwLock<HashMap<String, TenantId>>>);

impl TenantDirectory {
    pub fn replace(&self, tenants: &[Tenant]) {
        let map = tenants
            .iter()
            .map(|t| (t.customer_id.clone(), t.id))
            .collect();
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = map;
    }

    pub fn resolve(&self, multi_tenant: bool, header: Option<&str>) -> Result<TenantId, ApiError> {
        if !multi_tenant {
            return Ok(DEFAULT_TENANT);
        }
        let customer_id = header
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or_else(|| ApiError::bad_request("Tenant-ID header is required"))?;
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(customer_id)
            .copied()
            .ok_or_else(|| ApiError::not_found("Tenant not found"))
    }
}
