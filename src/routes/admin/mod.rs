//! The Admin API (`/admin/v1`). Shared conventions live in `bulk`.

mod bulk;
mod tenants;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(tenants::configure);
}
