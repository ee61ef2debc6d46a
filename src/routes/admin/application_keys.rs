//! `/admin/v1/application-api-keys`: per-user keys (docs/behaviour/admin-api.md#application-keys).

use actix_web::{web, HttpRequest, HttpResponse};

use super::bulk;
use crate::auth::Tenant;
use crate::commands::application_keys::{
    CreateApplicationKeys, CreateKeyItem, DeleteApplicationKeys,
};
use crate::error::ApiError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/application-api-keys")
            .route(web::post().to(create))
            .route(web::delete().to(delete)),
    );
}

async fn create(
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Json<Vec<CreateKeyItem>>,
) -> Result<HttpResponse, ApiError> {
    bulk::check_count(body.len())?;
    let out = state
        .writer
        .execute(CreateApplicationKeys {
            tenant: tenant.0,
            items: body.into_inner(),
            directory: state.gate.user_keys.clone(),
        })
        .await?;
    Ok(bulk::created(out.items, out.issues))
}

async fn delete(
    state: web::Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ids = bulk::ids(&req)?;
    let out = state
        .writer
        .execute(DeleteApplicationKeys {
            tenant: tenant.0,
            ids,
            directory: state.gate.user_keys.clone(),
        })
        .await?;
    Ok(bulk::deleted(out.items, out.issues))
}
