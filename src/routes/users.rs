//! `POST /users`, `GET/PUT/PATCH /users/{id}`.

use actix_web::{web, HttpResponse};

use crate::auth::{Tenant, UserPath};
use crate::commands::upsert_user::{Missing, UpsertUser};
use crate::domain::user::{UpsertedUserInput, UserFieldsInput, UserUpsert};
use crate::domain::user_id::UserId;
use crate::domain::user_scope::UserScope;
use crate::error::ApiError;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::post().to(create)).service(
        web::resource("/users/{id}")
            .route(web::get().to(get))
            .route(web::put().to(identify))
            .route(web::patch().to(update)),
    );
}

async fn create(
    state: web::Data<AppState>,
    tenant: Tenant,
    scope: UserScope,
    body: web::Json<UpsertedUserInput>,
) -> Result<HttpResponse, ApiError> {
    let upsert = body
        .into_inner()
        .admit(&scope)?
        .validate(&state.catalog.current(), tenant.0)?;
    let user = state
        .writer
        .execute(UpsertUser {
            tenant: tenant.0,
            upsert,
            missing: Missing::Create,
        })
        .await?;
    Ok(HttpResponse::Created().json(user.to_json()))
}

async fn get(
    state: web::Data<AppState>,
    tenant: Tenant,
    UserPath(id): UserPath,
) -> Result<HttpResponse, ApiError> {
    state
        .read_user_json(tenant.0, id, |_, user| Ok(user.to_json()))
        .await
}

async fn write(
    state: &AppState,
    tenant: Tenant,
    id: UserId,
    fields: UserFieldsInput,
    missing: Missing,
) -> Result<HttpResponse, ApiError> {
    let upsert = UserUpsert {
        id,
        changes: fields.validate(&state.catalog.current(), tenant.0)?,
    };
    let user = state
        .writer
        .execute(UpsertUser {
            tenant: tenant.0,
            upsert,
            missing,
        })
        .await?;
    Ok(HttpResponse::Ok().json(user.to_json()))
}

/// PUT is identify: an upsert.
async fn identify(
    state: web::Data<AppState>,
    tenant: Tenant,
    UserPath(id): UserPath,
    body: web::Json<UserFieldsInput>,
) -> Result<HttpResponse, ApiError> {
    write(&state, tenant, id, body.into_inner(), Missing::Create).await
}

/// PATCH changes an existing user only.
async fn update(
    state: web::Data<AppState>,
    tenant: Tenant,
    UserPath(id): UserPath,
    body: web::Json<UserFieldsInput>,
) -> Result<HttpResponse, ApiError> {
    write(&state, tenant, id, body.into_inner(), Missing::NotFound).await
}
