//! `/admin/v1/leaderboards` (shapes from the Python SDK;
//! docs/sdk-compat.md#admin-shapes).

use actix_web::web;

use super::bulk;
use super::listed::{self, Listed, Shown};
use crate::catalog::{Catalog, Leaderboard};
use crate::leaderboards::admin::{
    admin_view, ArchiveLeaderboards, CreateLeaderboards, UpdateLeaderboards,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/leaderboards")
            .route(web::get().to(listed::list::<Leaderboards>))
            .route(web::post().to(bulk::create::<CreateLeaderboards>))
            .route(web::patch().to(bulk::update::<UpdateLeaderboards>))
            .route(web::delete().to(bulk::archive::<ArchiveLeaderboards>)),
    )
    .route(
        "/leaderboards/{id}",
        web::get().to(listed::get::<Leaderboards>),
    );
}

struct Leaderboards;

impl Listed for Leaderboards {
    type Item = Leaderboard;
    const NOT_FOUND: &'static str = "Leaderboard not found";

    fn items(catalog: &Catalog, tenant: i64) -> impl Iterator<Item = &Leaderboard> {
        catalog.leaderboards_for(tenant)
    }

    fn uuid(item: &Leaderboard) -> &str {
        &item.uuid
    }

    fn view(item: &Leaderboard, shown: &Shown<'_>) -> serde_json::Value {
        admin_view(item, shown.catalog, shown.tenant, shown.today)
    }
}
