//! `/admin/v1/application-api-keys`: per-user keys (docs/behaviour/admin-api.md#application-keys).

use actix_web::{web, HttpRequest, HttpResponse};

use super::bulk;
use crate::commands::application_keys::{
    CreateApplicationKeys, CreateKeyItem, DeleteApplicationKeys,
};
use crate::error::ApiError;
use crate::routes::extract::TenantState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/application-api-keys")
            .route(web::post().to(create))
            .route(web::delete().to(delete)),
    );
}

async fn create(
    state: TenantState,
    body: web::Json<Vec<CreateKeyItem>>,
) -> Result<HttpResponse, ApiError> {
    bulk::check_count(body.len())?;
    let out = state
        .writer
        .execute(CreateApplicationKeys {
            tenant: state.tenant,
            items: body.into_inner(),
            directory: state.gate.user_keys.clone(),
        })
        .await?;
    Ok(bulk::created(out.items, out.issues))
}

async fn delete(state: TenantState, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let ids = bulk::ids(&req)?;
    let out = state
        .writer
        .execute(DeleteApplicationKeys {
            tenant: state.tenant,
            ids,
            directory: state.gate.user_keys.clone(),
        })
        .await?;
    Ok(bulk::deleted(out.items, out.issues))
}
