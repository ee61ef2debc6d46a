//! The Admin API (`/admin/v1`). Shared conventions live in `bulk`.

mod achievements;
mod application_keys;
mod attributes;
mod bulk;
mod definitions;
mod leaderboards;
mod listed;
mod metrics;
mod notifications;
mod points;
mod settings;
mod streaks;
mod tenants;
mod webhooks;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(tenants::configure)
        .configure(achievements::configure)
        .configure(webhooks::configure)
        .configure(notifications::configure)
        .configure(streaks::configure)
        .configure(points::configure)
        .configure(leaderboards::configure)
        .configure(attributes::configure)
        .configure(metrics::configure)
        .configure(application_keys::configure)
        .configure(settings::configure);
}
