//! `/admin/v1/tenants`: tenants are partitions named by the customer's own id.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::bulk::{self, Paging};
use crate::commands::tenants::{ArchiveTenants, CreateTenants, TenantPatch, UpdateTenants};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::tenants;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/tenants")
            .route(web::get().to(list))
            .route(web::post().to(create))
            .route(web::patch().to(update))
            .route(web::delete().to(archive)),
    )
    .route("/tenants/{id}", web::get().to(get));
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateItem {
    customer_id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateItem {
    id: String,
    customer_id: Option<String>,
    name: Option<String>,
}

async fn list(
    state: web::Data<AppState>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (limit, skip) = paging.limit_skip()?;
    state
        .read_json(move |conn| {
            let list = tenants::list(conn, limit, skip)?;
            Ok(list.iter().map(|t| t.to_json()).collect::<Vec<_>>())
        })
        .await
}

async fn get(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let tenant = state
        .read(move |conn| Ok(tenants::by_uuid(conn, &id)?))
        .await?
        .ok_or_else(|| ApiError::not_found("Tenant not found"))?;
    Ok(HttpResponse::Ok().json(tenant.to_json()))
}

async fn create(
    state: web::Data<AppState>,
    body: web::Json<Vec<CreateItem>>,
) -> Result<HttpResponse, ApiError> {
    bulk::check_count(body.len())?;
    let items = body
        .into_inner()
        .into_iter()
        .map(|i| (i.customer_id, i.name))
        .collect();
    let changes = state.writer.execute(CreateTenants(items)).await?;
    state.gate.tenants.replace(&changes.active);
    Ok(bulk::created(changes.items, changes.issues))
}

async fn update(
    state: web::Data<AppState>,
    body: web::Json<Vec<UpdateItem>>,
) -> Result<HttpResponse, ApiError> {
    bulk::check_count(body.len())?;
    let patches = body
        .into_inner()
        .into_iter()
        .map(|i| TenantPatch {
            id: i.id,
            customer_id: i.customer_id,
            name: i.name,
        })
        .collect();
    let changes = state.writer.execute(UpdateTenants(patches)).await?;
    state.gate.tenants.replace(&changes.active);
    Ok(bulk::updated(changes.items, changes.issues))
}

async fn archive(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let ids = bulk::ids(&req)?;
    let changes = state.writer.execute(ArchiveTenants(ids)).await?;
    state.gate.tenants.replace(&changes.active);
    Ok(bulk::deleted(changes.items, changes.issues))
}
