//! The handlers every plain definition kind (metrics, attributes) shares: list, get, bulk
//! create, update and archive of the kind `K`. A tenant sees its own and the shared ones,
//! active only, oldest first. Each kind's module registers them under its own paths.

use std::marker::PhantomData;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::bulk::{self, Paging};
use crate::auth::Tenant;
use crate::commands::admin_definitions::{ArchivePlain, CreatePlain, PlainKind, UpdatePlain};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::definitions::{self, Status};

pub async fn list<K: PlainKind>(
    state: web::Data<AppState>,
    tenant: Tenant,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (limit, skip) = paging.limit_skip()?;
    let rows = state
        .read(move |c| Ok(definitions::active_page(c, K::KIND, tenant.0, limit, skip)?))
        .await?;
    let items = rows
        .iter()
        .map(|r| K::view_stored(&r.uuid, &r.key, &r.body))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(items))
}

/// One by UUID: 422 for something that is not a UUID, 404 for an unknown one.
pub async fn get<K: PlainKind>(
    state: web::Data<AppState>,
    tenant: Tenant,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let uuid = id.into_inner();
    if uuid::Uuid::parse_str(&uuid).is_err() {
        return Err(ApiError::unprocessable("id must be a valid UUID"));
    }
    let row = state
        .read(move |c| Ok(definitions::by_uuid(c, &uuid)?))
        .await?
        .filter(|r| {
            r.kind == K::KIND && r.status == Status::Active && (r.owner == 0 || r.owner == tenant.0)
        })
        .ok_or_else(|| ApiError::not_found(K::NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(K::view_stored(&row.uuid, &row.key, &row.body)?))
}

pub async fn create<K: PlainKind>(
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Json<Vec<Value>>,
) -> Result<HttpResponse, ApiError> {
    bulk::check_count(body.len())?;
    let out = state
        .writer
        .execute(CreatePlain::<K> {
            tenant: tenant.0,
            items: body.into_inner(),
            kind: PhantomData,
        })
        .await?;
    Ok(bulk::created(out.items, out.issues))
}

pub async fn update<K: PlainKind>(
    state: web::Data<AppState>,
    tenant: Tenant,
    body: web::Json<Vec<Value>>,
) -> Result<HttpResponse, ApiError> {
    bulk::check_count(body.len())?;
    let out = state
        .writer
        .execute(UpdatePlain::<K> {
            tenant: tenant.0,
            items: body.into_inner(),
            kind: PhantomData,
        })
        .await?;
    Ok(bulk::updated(out.items, out.issues))
}

pub async fn archive<K: PlainKind>(
    state: web::Data<AppState>,
    tenant: Tenant,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ids = bulk::ids(&req)?;
    let out = state
        .writer
        .execute(ArchivePlain::<K> {
            tenant: tenant.0,
            ids,
            kind: PhantomData,
        })
        .await?;
    Ok(bulk::deleted(out.items, out.issues))
}
