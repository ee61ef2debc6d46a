//! `POST /users`, `GET/PUT/PATCH /users/{id}`.

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};

use super::extract::TenantState;
use crate::auth::UserPath;
use crate::commands::upsert_user::{Missing, UpsertUser};
use crate::domain::user::{UpsertedUserInput, UserFieldsInput, UserUpsert};
use crate::domain::user_scope::UserScope;
use crate::error::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::post().to(create)).service(
        web::resource("/users/{id}")
            .route(web::get().to(get))
            .route(web::put().to(write))
            .route(web::patch().to(write)),
    );
}

async fn create(
    state: TenantState,
    scope: UserScope,
    body: web::Json<UpsertedUserInput>,
) -> Result<HttpResponse, ApiError> {
    let upsert = state.validated(body.into_inner().admit(&scope)?)?;
    let user = state
        .writer
        .execute(UpsertUser {
            tenant: state.tenant,
            upsert,
            missing: Missing::Create,
        })
        .await?;
    Ok(HttpResponse::Created().json(user.to_json()))
}

async fn get(state: TenantState, UserPath(id): UserPath) -> Result<HttpResponse, ApiError> {
    state
        .read_user_json(state.tenant, id, |_, user| Ok(user.to_json()))
        .await
}

/// PUT is identify, an upsert; PATCH changes an existing user only.
async fn write(
    req: HttpRequest,
    state: TenantState,
    UserPath(id): UserPath,
    body: web::Json<UserFieldsInput>,
) -> Result<HttpResponse, ApiError> {
    let missing = if req.method() == Method::PUT {
        Missing::Create
    } else {
        Missing::NotFound
    };
    let upsert = UserUpsert {
        id,
        changes: body
            .into_inner()
            .validate(&state.catalog.current(), state.tenant)?,
    };
    let user = state
        .writer
        .execute(UpsertUser {
            tenant: state.tenant,
            upsert,
            missing,
        })
        .await?;
    Ok(HttpResponse::Ok().json(user.to_json()))
}
