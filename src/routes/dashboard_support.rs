//! The console's support routes on one user that the Admin API lacks, with the admin key:
//! `GET /dashboard/api/users/{id}/keys` lists the user's application keys (the Admin API
//! creates and revokes them but lists none), and
//! `POST /dashboard/api/users/{id}/achievements/{key}/complete` completes an API
//! achievement for a user who exists (the application API does it with an application key,
//! and creates the user if missing). The other support actions (freezes, restore, reset,
//! pauses) are Admin API routes.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::dashboard_activity::no_store;
use super::extract::TenantState;
use crate::commands::complete_achievement::CompleteAchievement;
use crate::domain::user::{UpsertedUserInput, UserFieldsInput};
use crate::domain::user_id::UserId;
use crate::error::ApiError;
use crate::store;

pub(super) async fn keys(
    state: TenantState,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = UserId::parse(&id)?;
    let keys = state
        .read(move |conn| {
            let user = store::users::existing(conn, state.tenant, id.as_str())?;
            Ok(store::overview::keys_of_user(conn, user.row_id)?)
        })
        .await?;
    Ok(no_store(json!({ "keys": keys })))
}

pub(super) async fn complete(
    state: TenantState,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, key) = path.into_inner();
    let id = UserId::parse(&id)?;
    let lookup = id.clone();
    state
        .read(move |conn| store::users::existing(conn, state.tenant, lookup.as_str()))
        .await?;
    // The console's admin key acts for every user.
    let user = state.validated(
        UpsertedUserInput::new(id.as_str().to_owned(), UserFieldsInput::default()).unscoped(),
    )?;
    let response = state
        .writer
        .execute(CompleteAchievement {
            tenant: state.tenant,
            key,
            user,
        })
        .await?;
    Ok(HttpResponse::Created().json(response))
}
