//! `/admin/v1/points…`: systems, triggers, levels and boosts (shapes from the Python SDK;
//! docs/sdk-compat.md#admin-shapes). Writes go through `points::admin`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::bulk::{self, Paging};
use super::listed::{self, Listed, Shown};
use crate::catalog::{Catalog, PointsSystem};
use crate::domain::bulk::{Create, Outcome, Update};
use crate::domain::ids::TenantId;
use crate::error::ApiError;
use crate::points::admin::{system_of, ArchiveChildren, Child, Children, Systems};
use crate::points::view;
use crate::routes::extract::TenantState;
use crate::state::AppState;
use crate::writer::Command;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/points")
            .route(web::get().to(listed::list::<Systems>))
            .route(web::post().to(bulk::write::<Create<Systems>>))
            .route(web::patch().to(bulk::write::<Update<Systems>>))
            .route(web::delete().to(bulk::archive::<Systems>)),
    )
    .route("/points/{id}", web::get().to(listed::get::<Systems>));
    for (segment, child) in [
        ("triggers", Child::Trigger),
        ("levels", Child::Level),
        ("boosts", Child::Boost),
    ] {
        cfg.service(
            web::resource(format!("/points/{{system}}/{segment}"))
                .app_data(web::Data::new(child))
                .route(web::get().to(list_children))
                .route(web::post().to(write_children::<true>))
                .route(web::patch().to(write_children::<false>))
                .route(web::delete().to(archive_children)),
        )
        .service(
            web::resource(format!("/points/{{system}}/{segment}/{{id}}"))
                .app_data(web::Data::new(child))
                .route(web::get().to(get_child)),
        );
    }
}

impl Listed for Systems {
    type Item = PointsSystem;
    const NOT_FOUND: &'static str = "Points system not found";

    fn items(catalog: &Catalog, tenant: TenantId) -> impl Iterator<Item = &PointsSystem> {
        catalog.points_for(tenant)
    }

    fn uuid(item: &PointsSystem) -> &str {
        &item.uuid
    }

    fn view(item: &PointsSystem, _: &Shown<'_>) -> Value {
        view::admin_system(item, "active")
    }
}

/// The children of one kind of system `uuid`, as the Admin API shows them.
fn children(
    state: &AppState,
    tenant: TenantId,
    system: &str,
    child: Child,
) -> Result<Vec<(String, Value)>, ApiError> {
    let catalog = state.catalog.current();
    let s = system_of(&catalog, tenant, system)?;
    let today = state.clock.now().date_naive();
    Ok(match child {
        Child::Trigger => s
            .triggers
            .iter()
            .map(|t| (t.uuid.clone(), view::admin_trigger(t, &catalog, tenant)))
            .collect(),
        Child::Level => s
            .levels
            .iter()
            .map(|l| (l.uuid.clone(), view::admin_level(l)))
            .collect(),
        Child::Boost => s
            .boosts
            .iter()
            .map(|b| {
                (
                    b.uuid.clone(),
                    view::admin_boost(b, &catalog, tenant, today),
                )
            })
            .collect(),
    })
}

async fn list_children(
    state: TenantState,
    child: web::Data<Child>,
    system: web::Path<String>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let all = children(&state, state.tenant, &system, **child)?;
    let items = paging.page(all.into_iter().map(|(_, v)| v))?;
    Ok(HttpResponse::Ok().json(items))
}

async fn get_child(
    state: TenantState,
    child: web::Data<Child>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (system, id) = path.into_inner();
    let found = children(&state, state.tenant, &system, **child)?
        .into_iter()
        .find(|(uuid, _)| *uuid == id)
        .map(|(_, v)| v)
        .ok_or_else(|| ApiError::not_found(child.not_found()))?;
    Ok(HttpResponse::Ok().json(found))
}

/// `POST` or `PATCH` of children, answered like a bulk create or update.
async fn write_children<const CREATES: bool>(
    state: TenantState,
    child: web::Data<Child>,
    system: web::Path<String>,
    body: web::Json<Vec<Value>>,
) -> Result<HttpResponse, ApiError>
where
    Children<CREATES>: Command<Output = Outcome>,
{
    bulk::check_count(body.len())?;
    let command = Children::<CREATES> {
        tenant: state.tenant,
        system: system.into_inner(),
        child: **child,
        items: body.into_inner(),
    };
    let out = state.writer.execute(command).await?;
    Ok(bulk::written(CREATES, out))
}

async fn archive_children(
    state: TenantState,
    child: web::Data<Child>,
    system: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ids = bulk::ids(&req)?;
    let out = state
        .writer
        .execute(ArchiveChildren {
            tenant: state.tenant,
            system: system.into_inner(),
            child: **child,
            ids,
        })
        .await?;
    Ok(bulk::deleted(out.items, out.issues))
}
