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
    let prefs = state
        .read(move |conn| {
            let user = store::users::find(conn, tenant.0, id.as_str())?
                .ok_or_else(|| ApiError::not_found("User not found"))?;
            Ok(store::users::preferences(conn, user.row_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(to_response(&prefs)))
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
