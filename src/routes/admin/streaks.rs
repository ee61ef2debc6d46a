//! `/admin/v1/streaks/...`: freezes, restore, reset, pauses and settings
//! (docs/sdk-compat.md#admin-shapes).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::bulk;
use crate::error::ApiError;
use crate::routes::extract::TenantState;
use crate::state::AppState;
use crate::streaks::admin::{
    CreatePauses, GrantFreezes, PauseRequest, Pauses, ResetStreaks, RestoreStreaks, UpdateSettings,
};
use crate::streaks::patch::StreakSettingsPatch;
use crate::streaks::settings;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/streaks/freezes", web::post().to(freezes))
        .route("/streaks/restore", web::post().to(restore))
        .route("/streaks/reset", web::post().to(reset))
        .service(
            web::resource("/streaks/pauses")
                .route(web::post().to(create_pauses))
                .route(web::delete().to(bulk::archive::<Pauses>)),
        )
        .service(
            web::resource("/streaks/settings")
                .route(web::get().to(get_settings))
                .route(web::patch().to(update_settings)),
        );
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FreezeItem {
    user_id: String,
}

#[derive(Deserialize)]
struct FreezesBody {
    freezes: Vec<FreezeItem>,
}

async fn freezes(
    state: TenantState,
    body: web::Json<FreezesBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    bulk::check_count(body.freezes.len())?;
    let out = state
        .writer
        .execute(GrantFreezes {
            tenant: state.tenant,
            user_ids: body.freezes.into_iter().map(|f| f.user_id).collect(),
        })
        .await?;
    let mut status = if out.granted > 0 {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(status.json(json!({ "issues": out.issues })))
}

#[derive(Deserialize)]
struct UserItem {
    id: String,
}

#[derive(Deserialize)]
struct UsersBody {
    users: Vec<UserItem>,
}

fn user_ids(body: UsersBody) -> Result<Vec<String>, ApiError> {
    bulk::check_count(body.users.len())?;
    Ok(body.users.into_iter().map(|u| u.id).collect())
}

async fn restore(state: TenantState, body: web::Json<UsersBody>) -> Result<HttpResponse, ApiError> {
    let out = state
        .writer
        .execute(RestoreStreaks {
            tenant: state.tenant,
            user_ids: user_ids(body.into_inner())?,
        })
        .await?;
    let mut status = if out.users.is_empty() {
        HttpResponse::Ok()
    } else {
        HttpResponse::Created()
    };
    Ok(status.json(json!({ "restoredUsers": out.users, "issues": out.issues })))
}

async fn reset(state: TenantState, body: web::Json<UsersBody>) -> Result<HttpResponse, ApiError> {
    let out = state
        .writer
        .execute(ResetStreaks {
            tenant: state.tenant,
            user_ids: user_ids(body.into_inner())?,
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "resetUsers": out.users, "issues": out.issues })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PauseItem {
    user_id: String,
    start: String,
    end: String,
}

#[derive(Deserialize)]
struct PausesBody {
    pauses: Vec<PauseItem>,
}

async fn create_pauses(
    state: TenantState,
    body: web::Json<PausesBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    bulk::check_count(body.pauses.len())?;
    let out = state
        .writer
        .execute(CreatePauses {
            tenant: state.tenant,
            pauses: body
                .pauses
                .into_iter()
                .map(|p| PauseRequest {
                    user_id: p.user_id,
                    start: p.start,
                    end: p.end,
                })
                .collect(),
        })
        .await?;
    Ok(bulk::created(out.created, out.issues))
}

async fn get_settings(state: web::Data<AppState>) -> HttpResponse {
    let current = state.settings.streaks.current();
    HttpResponse::Ok().json(settings::view(current.as_deref()))
}

async fn update_settings(
    state: TenantState,
    body: web::Json<StreakSettingsPatch>,
) -> Result<HttpResponse, ApiError> {
    if state.settings.streaks.managed_by_file() {
        return Err(ApiError::unprocessable("managed by trophy.toml"));
    }
    let settings = state
        .writer
        .execute(UpdateSettings {
            tenant: state.tenant,
            patch: body.into_inner(),
        })
        .await?;
    Ok(HttpResponse::Ok().json(settings))
}
