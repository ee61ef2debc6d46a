//! `/admin/v1/leaderboards` (shapes from the Python SDK;
//! docs/sdk-compat.md#admin-shapes).

use actix_web::{web, HttpRequest, HttpResponse};

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
            .route(web::post().to(create))
            .route(web::patch().to(update))
            .route(web::delete().to(archive)),
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

async fn create(
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Json<Vec<serde_json::Value>>,
) -> Result<HttpResponse, ApiError> {
    bulk::check_count(body.len())?;
    let outcome = state
        .writer
        .execute(CreateLeaderboards {
            tenant: tenant.0,
            items: body.into_inner(),
        })
        .await?;
    Ok(bulk::created(outcome.items, outcome.issues))
}

async fn update(
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Json<Vec<serde_json::Value>>,
) -> Result<HttpResponse, ApiError> {
    bulk::check_count(body.len())?;
    let outcome = state
        .writer
        .execute(UpdateLeaderboards {
            tenant: tenant.0,
            items: body.into_inner(),
        })
        .await?;
    Ok(bulk::updated(outcome.items, outcome.issues))
}

async fn archive(
    state: web::Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ids = bulk::ids(&req)?;
    let outcome = state
        .writer
        .execute(ArchiveLeaderboards {
            tenant: tenant.0,
            ids,
        })
        .await?;
    Ok(bulk::deleted(outcome.items, outcome.issues))
}
