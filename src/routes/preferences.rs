//! `GET/PATCH /users/{id}/preferences`.

use actix_web::{web, HttpResponse};
use serde_json::Value;

use crate::auth::{Tenant, UserPath};
use crate::commands::update_preferences::UpdatePreferences;
use crate::domain::preferences::{to_response, PreferencesPatch};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users/{id}/preferences")
            .route(web::get().to(get))
            .route(web::patch().to(update)),
    );
}

async fn get(
    state: web::Data<AppState>,
    tenant: Tenant,
    UserPath(id): UserPath,
) -> Result<HttpResponse, ApiError> {
    state
        .read_user_json(tenant.0, id, |conn, user| {
            Ok(to_response(&store::users::preferences(conn, user.row_id)?))
        })
        .await
}

async fn update(
    state: web::Data<AppState>,
    tenant: Tenant,
    UserPath(user): UserPath,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let patch = PreferencesPatch::parse(&body)?;
    let prefs = state
        .writer
        .execute(UpdatePreferences {
            tenant: tenant.0,
            user,
            patch,
        })
        .await?;
    Ok(HttpResponse::Ok().json(prefs))
}
