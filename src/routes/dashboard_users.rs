//! The console's user lookup, with the admin key: `GET /dashboard/api/users?q=` finds users
//! by id, email or name, and `GET /dashboard/api/users/{id}/events` lists a user's latest
//! events, which the application API has no route for. The rest of a user's page is the
//! application API's own answers, read with the admin key under `/dashboard/api/app`
//! (`routes::configure`).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::TenantState;
use crate::clock::{format_timestamp, from_millis};
use crate::domain::user_id::UserId;
use crate::error::ApiError;
use crate::store;

/// Users one search answers (and the default).
const MAX_SEARCH_RESULTS: usize = 50;
const DEFAULT_SEARCH_RESULTS: usize = 20;
/// A search text, in bytes: an id, email or name is never longer than a user id may be.
const MAX_SEARCH_BYTES: usize = crate::domain::limits::MAX_USER_ID_BYTES;
/// Events one page of a user's latest answers (and the default).
const MAX_EVENTS: usize = 100;
const DEFAULT_EVENTS: usize = 20;

#[derive(Deserialize)]
pub(super) struct SearchQuery {
    q: Option<String>,
    limit: Option<usize>,
}

fn limit(given: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    match given {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::unprocessable(format!(
            "limit must be between 1 and {max}"
        ))),
    }
}

pub(super) async fn search(
    state: TenantState,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let text = query.q.unwrap_or_default().trim().to_owned();
    if text.len() > MAX_SEARCH_BYTES {
        return Err(ApiError::unprocessable(format!(
            "q must be at most {MAX_SEARCH_BYTES} bytes"
        )));
    }
    let limit = limit(query.limit, DEFAULT_SEARCH_RESULTS, MAX_SEARCH_RESULTS)?;
    let users = state
        .read(move |conn| Ok(store::users::search(conn, state.tenant, &text, limit)?))
        .await?;
    let users: Vec<Value> = users.iter().map(|u| u.to_json()).collect();
    Ok(HttpResponse::Ok().json(json!({ "users": users })))
}

#[derive(Deserialize)]
pub(super) struct EventsQuery {
    limit: Option<usize>,
}

pub(super) async fn events(
    state: TenantState,
    id: web::Path<String>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = UserId::parse(&id)?;
    let limit = limit(query.limit, DEFAULT_EVENTS, MAX_EVENTS)?;
    let events = state
        .read(move |conn| {
            let user = store::users::existing(conn, state.tenant, id.as_str())?;
            Ok(store::events::latest_of_user(conn, user.row_id, limit)?)
        })
        .await?;
    let catalog = state.catalog.current();
    let events = events
        .into_iter()
        .map(|e| {
            let attributes = match &e.attributes {
                Some(text) => store::stored_json(text, format_args!("event {}", e.uuid))?,
                None => json!({}),
            };
            Ok(json!({
                "id": e.uuid,
                "metric": catalog.metric_by_id(e.metric_id).map(|m| m.key.clone()),
                "value": e.value,
                "attributes": attributes,
                "time": format_timestamp(from_millis(e.at_ms)),
                "tz": e.tz,
            }))
        })
        .collect::<Result<Vec<Value>, rusqlite::Error>>()?;
    Ok(HttpResponse::Ok().json(events))
}
