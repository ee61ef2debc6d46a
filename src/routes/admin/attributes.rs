//! `/admin/v1/attributes` (docs/sdk-compat.md#admin-shapes; Python `AdminAttribute`).

use actix_web::{web, HttpRequest, HttpResponse};

use super::bulk::{self, Paging};
use super::definitions;
use crate::auth::Tenant;
use crate::commands::admin_attributes::{
    view, CreateAttributeItem, CreateAttributes, UpdateAttributeItem, UpdateAttributes,
};
use crate::commands::admin_definitions::ArchiveDefinitions;
use crate::error::ApiError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/attributes")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .route(web::patch().to(update))
            .route(web::delete().to(archive)),
    )
    .route("/attributes/{id}", web::get().to(get));
}

async fn list(
    state: web::Data<AppState>,
    tenant: Tenant,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (limit, skip) = paging.limit_skip()?;
    let rows = state
        .read(move |c| definitions::list(c, "attribute", tenant.0, limit, skip))
        .await?;
    let items: Vec<_> = rows.iter().map(|(u, k, b)| view(u, k, b)).collect();
    Ok(HttpResponse::Ok().json(items))
}

async fn get(
    state: web::Data<AppState>,
    tenant: Tenant,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (u, k, b) = state
        .read(move |c| definitions::get(c, "attribute", tenant.0, &id))
        .await?;
    Ok(HttpResponse::Ok().json(view(&u, &k, &b)))
}

async fn create(
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Json<Vec<CreateAttributeItem>>,
) -> Result<HttpResponse, ApiError> {
    bulk::check_count(body.len())?;
    let out = state
        .writer
        .execute(CreateAttributes {
            tenant: tenant.0,
            items: body.into_inner(),
        })
        .await?;
    Ok(bulk::created(out.items, out.issues))
}

async fn update(
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Json<Vec<UpdateAttributeItem>>,
) -> Result<HttpResponse, ApiError> {
    bulk::check_count(body.len())?;
    let out = state
        .writer
        .execute(UpdateAttributes {
            tenant: tenant.0,
            items: body.into_inner(),
        })
        .await?;
    Ok(bulk::updated(out.items, out.issues))
}

async fn archive(
    state: web::Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ids = bulk::ids(&req)?;
    let out = state
        .writer
        .execute(ArchiveDefinitions {
            tenant: tenant.0,
            kind: "attribute",
            missing: "Attribute not found by ID",
            ids,
        })
        .await?;
    Ok(bulk::deleted(out.items, out.issues))
}
