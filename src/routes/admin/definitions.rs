//! What every plain definition kind (metrics, attributes) shares in the Admin API: its
//! routes (`routes`), the list and get of the kind `K` here and its writes `bulk::write`
//! and `bulk::archive` of its commands. A tenant sees its own and the shared ones, active
//! only, oldest first. Each kind's module gives its own paths.

use actix_web::{web, HttpResponse, Resource};

use super::bulk::{self, Paging};
use crate::commands::admin_definitions::PlainKind;
use crate::domain::bulk::{Create, Update};
use crate::domain::ids::TenantId;
use crate::error::ApiError;
use crate::routes::extract::TenantState;
use crate::store::definitions::{self, Status};

/// The routes of the plain kind `K`: list, create, update and archive on `kind`, get by
/// UUID on `item`.
pub fn routes<K: PlainKind>(cfg: &mut web::ServiceConfig, kind: Resource, item: Resource) {
    cfg.service(
        kind.route(web::get().to(list::<K>))
            .route(web::post().to(bulk::write::<Create<K>>))
            .route(web::patch().to(bulk::write::<Update<K>>))
            .route(web::delete().to(bulk::archive::<K>)),
    )
    .service(item.route(web::get().to(get::<K>)));
}

pub async fn list<K: PlainKind>(
    state: TenantState,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (limit, skip) = paging.limit_skip()?;
    state
        .read_json(move |c| {
            let rows = definitions::active_page(c, K::KIND, state.tenant, limit, skip)?;
            rows.iter()
                .map(|r| K::view_stored(&r.uuid, &r.key, &r.body))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
}

/// One by UUID: 422 for something that is not a UUID, 404 for an unknown one.
pub async fn get<K: PlainKind>(
    state: TenantState,
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
            r.kind == K::KIND
                && r.status == Status::Active
                && (r.owner == TenantId::SHARED || r.owner == state.tenant)
        })
        .ok_or_else(|| ApiError::not_found(K::NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(K::view_stored(&row.uuid, &row.key, &row.body)?))
}
