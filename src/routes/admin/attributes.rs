//! `/admin/v1/attributes` (docs/sdk-compat.md#admin-shapes; Python `AdminAttribute`).

use actix_web::web;

use super::definitions::{archive, create, get, list, update};
use crate::commands::admin_attributes::Attributes;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/attributes")
            .route(web::get().to(list::<Attributes>))
            .route(web::post().to(create::<Attributes>))
            .route(web::patch().to(update::<Attributes>))
            .route(web::delete().to(archive::<Attributes>)),
    )
    .route("/attributes/{id}", web::get().to(get::<Attributes>));
}
