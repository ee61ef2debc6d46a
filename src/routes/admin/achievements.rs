//! `/admin/v1/achievements` (shapes from the Python SDK;
//! docs/sdk-compat.md#admin-shapes).

use actix_web::{web, HttpResponse};

use super::bulk::{self, Paging};
use crate::achievements::admin::{ArchiveAchievements, CreateAchievements, UpdateAchievements};
use crate::achievements::view;
use crate::auth::Tenant;
use crate::error::ApiError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/achievements")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .route(web::patch().to(update))
            .route(web::delete().to(bulk::archive::<ArchiveAchievements>)),
    )
    .route("/achievements/{id}", web::get().to(get));
}

async fn list(
    state: web::Data<AppState>,
    tenant: Tenant,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (limit, skip) = paging.limit_skip()?;
    let catalog = state.catalog.current();
    let items: Vec<_> = catalog
        .achievements_for(tenant.0)
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|a| view::admin_achievement(a, &catalog, tenant.0))
        .collect();
    Ok(HttpResponse::Ok().json(items))
}

async fn get(
    state: web::Data<AppState>,
    tenant: Tenant,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let catalog = state.catalog.current();
    let a = catalog
        .achievements_for(tenant.0)
        .find(|a| a.uuid == *id)
        .ok_or_else(|| ApiError::not_found("Achievement not found"))?;
    Ok(HttpResponse::Ok().json(view::admin_achievement(a, &catalog, tenant.0)))
}

/// New and changed achievements may already be met: the backdater completes them.
async fn create(
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Json<Vec<serde_json::Value>>,
) -> Result<HttpResponse, ApiError> {
    let reply = bulk::create::<CreateAchievements>(state.clone(), tenant, body).await?;
    state.backdater.spawn();
    Ok(reply)
}

async fn update(
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Json<Vec<serde_json::Value>>,
) -> Result<HttpResponse, ApiError> {
    let reply = bulk::update::<UpdateAchievements>(state.clone(), tenant, body).await?;
    state.backdater.spawn();
    Ok(reply)
}
