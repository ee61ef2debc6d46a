//! `/admin/v1/achievements` (shapes from the Python SDK;
//! docs/sdk-compat.md#admin-shapes).

use actix_web::{web, HttpResponse};

use super::bulk;
use super::listed::{self, Listed, Shown};
use crate::achievements::admin::Achievements;
use crate::achievements::view;
use crate::catalog::{Achievement, Catalog};
use crate::domain::bulk::{BulkWrite, Create, Outcome, Update};
use crate::domain::ids::TenantId;
use crate::error::ApiError;
use crate::routes::extract::TenantState;
use crate::writer::Command;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/achievements")
            .route(web::get().to(listed::list::<Achievements>))
            .route(web::post().to(write::<Create<Achievements>>))
            .route(web::patch().to(write::<Update<Achievements>>))
            .route(web::delete().to(bulk::archive::<Achievements>)),
    )
    .route(
        "/achievements/{id}",
        web::get().to(listed::get::<Achievements>),
    );
}

impl Listed for Achievements {
    type Item = Achievement;
    const NOT_FOUND: &'static str = "Achievement not found";

    fn items(catalog: &Catalog, tenant: TenantId) -> impl Iterator<Item = &Achievement> {
        catalog.achievements_for(tenant)
    }

    fn uuid(item: &Achievement) -> &str {
        &item.uuid
    }

    fn view(item: &Achievement, shown: &Shown<'_>) -> serde_json::Value {
        view::admin_achievement(item, shown.catalog, shown.tenant)
    }
}

/// New and changed achievements may already be met: the backdater completes them.
async fn write<C: BulkWrite + Command<Output = Outcome>>(
    state: TenantState,
    body: web::Json<Vec<serde_json::Value>>,
) -> Result<HttpResponse, ApiError> {
    let reply = bulk::write::<C>(state.clone(), body).await?;
    state.backdater.spawn();
    Ok(reply)
}
