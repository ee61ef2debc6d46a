//! `GET /dashboard/api/managed`: the definitions trophy.toml declares (or the embedded demo
//! configuration, when the server runs without a file), so the console marks their rows and
//! opens their forms read-only. The Admin API refuses a change to one (`managed by
//! trophy.toml`), but its lists do not say which they are.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::auth::Tenant;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::definitions::{self, Status};

/// The file's definitions are shared by every tenant; the tenant is checked as on every
/// console read.
pub(super) async fn managed(
    state: web::Data<AppState>,
    _tenant: Tenant,
) -> Result<HttpResponse, ApiError> {
    let rows = state
        .read(|conn| Ok(definitions::managed_shared(conn)?))
        .await?;
    let ids: Vec<String> = rows
        .into_iter()
        .filter(|r| r.status != Status::Archived)
        .map(|r| r.uuid)
        .collect();
    let by = (!ids.is_empty()).then(|| state.settings.source.manager());
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "managedBy": by, "ids": ids })))
}
