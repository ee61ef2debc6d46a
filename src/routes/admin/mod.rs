//! The Admin API (`/admin/v1`). Shared conventions live in `bulk`.

mod achievements;
mod bulk;
mod points;
mod leaderboards;
mod streaks;
mod tenants;
mod webhooks;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(tenants::configure)
        .configure(achievements::configure)
        .configure(webhooks::configure)
        .configure(streaks::configure)
        .configure(points::configure)
        .configure(leaderboards::configure);
}
