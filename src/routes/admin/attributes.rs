//! `/admin/v1/attributes` (docs/sdk-compat.md#admin-shapes; Python `AdminAttribute`).

use actix_web::web;

use super::bulk;
use super::definitions::{get, list};
use crate::commands::admin_attributes::Attributes;
use crate::domain::bulk::{Create, Update};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/attributes")
            .route(web::get().to(list::<Attributes>))
            .route(web::post().to(bulk::write::<Create<Attributes>>))
            .route(web::patch().to(bulk::write::<Update<Attributes>>))
            .route(web::delete().to(bulk::archive::<Attributes>)),
    )
    .route("/attributes/{id}", web::get().to(get::<Attributes>));
}
