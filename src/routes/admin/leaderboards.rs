//! `/admin/v1/leaderboards` (shapes from the Python SDK;
//! docs/sdk-compat.md#admin-shapes).

use actix_web::web;

use super::bulk;
use super::listed::{self, Listed, Shown};
use crate::catalog::{Catalog, Leaderboard};
use crate::domain::bulk::{Create, Update};
use crate::domain::ids::TenantId;
use crate::leaderboards::admin::{admin_view, Leaderboards};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/leaderboards")
            .route(web::get().to(listed::list::<Leaderboards>))
            .route(web::post().to(bulk::write::<Create<Leaderboards>>))
            .route(web::patch().to(bulk::write::<Update<Leaderboards>>))
            .route(web::delete().to(bulk::archive::<Leaderboards>)),
    )
    .route(
        "/leaderboards/{id}",
        web::get().to(listed::get::<Leaderboards>),
    );
}

impl Listed for Leaderboards {
    type Item = Leaderboard;
    const NOT_FOUND: &'static str = "Leaderboard not found";

    fn items(catalog: &Catalog, tenant: TenantId) -> impl Iterator<Item = &Leaderboard> {
        catalog.leaderboards_for(tenant)
    }

    fn uuid(item: &Leaderboard) -> &str {
        &item.uuid
    }

    fn view(item: &Leaderboard, shown: &Shown<'_>) -> serde_json::Value {
        admin_view(item, shown.catalog, shown.tenant, shown.today)
    }
}
