//! `/admin/v1/leaderboards` (shapes from the Python SDK;
//! docs/sdk-compat.md#admin-shapes).

use actix_web::{web, HttpResponse};

use super::bulk::{self, Paging};
use crate::auth::Tenant;
use crate::error::ApiError;
use crate::leaderboards::admin::{
    admin_view, ArchiveLeaderboards, CreateLeaderboards, UpdateLeaderboards,
};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/leaderboards")
            .route(web::get().to(list))
            .route(web::post().to(bulk::create::<CreateLeaderboards>))
            .route(web::patch().to(bulk::update::<UpdateLeaderboards>))
            .route(web::delete().to(bulk::archive::<ArchiveLeaderboards>)),
    )
    .route("/leaderboards/{id}", web::get().to(get));
}

async fn list(
    state: web::Data<AppState>,
    tenant: Tenant,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (limit, skip) = paging.limit_skip()?;
    let catalog = state.catalog.current();
    let today = state.clock.now().date_naive();
    let items: Vec<_> = catalog
        .leaderboards_for(tenant.0)
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|b| admin_view(b, &catalog, tenant.0, today))
        .collect();
    Ok(HttpResponse::Ok().json(items))
}

async fn get(
    state: web::Data<AppState>,
    tenant: Tenant,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let catalog = state.catalog.current();
    let board = catalog
        .leaderboards_for(tenant.0)
        .find(|b| b.uuid == *id)
        .ok_or_else(|| ApiError::not_found("Leaderboard not found"))?;
    let today = state.clock.now().date_naive();
    Ok(HttpResponse::Ok().json(admin_view(board, &catalog, tenant.0, today)))
}
