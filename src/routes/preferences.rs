//! `GET/PATCH /users/{id}/preferences`.

use actix_web::{web, HttpResponse};
use serde_json::Value;

use super::extract::TenantState;
use crate::auth::UserPath;
use crate::commands::update_preferences::UpdatePreferences;
use crate::domain::preferences::{to_response, PreferencesPatch};
use crate::error::ApiError;
use crate::store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/users/{id}/preferences")
            .route(web::get().to(get))
            .route(web::patch().to(update)),
    );
}

async fn get(state: TenantState, UserPath(id): UserPath) -> Result<HttpResponse, ApiError> {
    state
        .read_user_json(state.tenant, id, |conn, user| {
            Ok(to_response(&store::users::preferences(conn, user.row_id)?))
        })
        .await
}

async fn update(
    state: TenantState,
    UserPath(user): UserPath,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let patch = PreferencesPatch::parse(&body)?;
    let prefs = state
        .writer
        .execute(UpdatePreferences {
            tenant: state.tenant,
            user,
            patch,
        })
        .await?;
    Ok(HttpResponse::Ok().json(prefs))
}
