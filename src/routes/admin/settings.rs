//! `GET/PATCH /admin/v1/settings` and `GET /admin/v1/environments`.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use crate::commands::admin_settings::UpdateSettings;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/settings")
            .route(web::get().to(get))
            .route(web::patch().to(update)),
    )
    .route("/environments", web::get().to(environments));
}

async fn get(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let settings = state.settings.clone();
    state
        .read_json(move |c| Ok(store::admin_settings::load(c, &settings.config)?))
        .await
}

async fn update(
    state: web::Data<AppState>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let merged = state
        .writer
        .execute(UpdateSettings(body.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(merged))
}

/// One server is one environment (docs/behaviour/api.md#environments: data is isolated per
/// environment, and a trophyd deployment holds exactly one), so the list has a single
/// production entry.
/// Its priority is 1 because the SDK's `AdminEnvironment` documents "Production is always 1".
async fn environments() -> HttpResponse {
    HttpResponse::Ok().json(json!([{ "name": "Production", "key": "production", "priority": 1 }]))
}
