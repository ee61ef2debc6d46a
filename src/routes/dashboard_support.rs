//! `POST /dashboard/api/users/{id}/achievements/{key}/complete`: the console's support
//! action that completes an API achievement for a user who exists, with the admin key (the
//! application API does it with an application key, and creates the user if missing). The
//! other support actions (freezes, restore, reset, pauses) are Admin API routes.

use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};

use crate::auth::{require_admin_key, Tenant};
use crate::commands::complete_achievement::CompleteAchievement;
use crate::domain::user::{UpsertedUserInput, UserFieldsInput};
use crate::domain::user_id::UserId;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/dashboard/api/users/{id}/achievements/{key}/complete")
            .wrap(from_fn(require_admin_key))
            .route(web::post().to(complete)),
    );
}

async fn complete(
    state: web::Data<AppState>,
    tenant: Tenant,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, key) = path.into_inner();
    let id = UserId::parse(&id)?;
    let lookup = id.clone();
    state
        .read(move |conn| {
            store::users::find(conn, tenant.0, lookup.as_str())?
                .map(|_| ())
                .ok_or_else(|| ApiError::not_found("User not found"))
        })
        .await?;
    let user = UpsertedUserInput {
        id: id.as_str().to_owned(),
        fields: UserFieldsInput::default(),
    }
    .validate(&state.catalog.current(), tenant.0)?;
    let response = state
        .writer
        .execute(CompleteAchievement {
            tenant: tenant.0,
            key,
            user,
        })
        .await?;
    Ok(HttpResponse::Created().json(response))
}
