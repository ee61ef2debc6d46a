//! `/admin/v1/attributes` (docs/sdk-compat.md#admin-shapes; Python `AdminAttribute`).

use actix_web::web;

use super::definitions;
use crate::commands::admin_attributes::Attributes;

pub fn configure(cfg: &mut web::ServiceConfig) {
    definitions::routes::<Attributes>(
        cfg,
        web::resource("/attributes"),
        web::resource("/attributes/{id}"),
    );
}
