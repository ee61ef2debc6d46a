//! `GET /users/{id}/streak`, `GET /streaks`, `GET /streaks/rankings`.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::extract::TenantState;
use crate::auth::UserPath;
use crate::domain::limits::MAX_USER_IDS;
use crate::domain::user_scope::UserScope;
use crate::error::ApiError;
use crate::streaks::read::{self, DEFAULT_HISTORY};
use crate::streaks::settings::StreakSettings;
use crate::streaks::store::RankBy;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users/{id}/streak", web::get().to(user_streak))
        .route("/streaks", web::get().to(list))
        .route("/streaks/rankings", web::get().to(rankings));
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HistoryQuery {
    history_periods: Option<i64>,
}

async fn user_streak(
    state: TenantState,
    UserPath(id): UserPath,
    query: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let periods = query.history_periods.unwrap_or(DEFAULT_HISTORY);
    let settings = state.settings.clone();
    let now = state.clock.now();
    state
        .read_user_json(state.tenant, id, move |conn, user| {
            read::user_streak(
                conn,
                &settings.streaks,
                &user,
                settings.config.server.default_timezone,
                now,
                periods,
                read::Rank::Counted,
            )
        })
        .await
}

/// `userIds` as a comma list, a repeated parameter, or both, each one the caller's (403
/// before the count is checked, so a list naming another user is refused however long).
fn user_ids(req: &HttpRequest, scope: &UserScope) -> Result<Vec<String>, ApiError> {
    let pairs =
        web::Query::<Vec<(String, String)>>::from_query(req.query_string()).map_err(|e| {
            ApiError::unprocessable(format!(
                "Invalid query parameters: {}",
                crate::error::echo_quoted(&e.to_string())
            ))
        })?;
    let ids: Vec<String> = pairs
        .into_inner()
        .into_iter()
        .filter(|(k, _)| k == "userIds")
        .flat_map(|(_, v)| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let ids = scope.admit_each(ids)?;
    if ids.is_empty() || ids.len() > MAX_USER_IDS {
        return Err(ApiError::unprocessable(format!(
            "userIds must list between 1 and {MAX_USER_IDS} user ids"
        )));
    }
    Ok(ids)
}

async fn list(
    req: HttpRequest,
    state: TenantState,
    scope: UserScope,
) -> Result<HttpResponse, ApiError> {
    let ids = user_ids(&req, &scope)?;
    read_streaks(&state, move |conn, streaks, default_tz, now| {
        read::bulk(conn, streaks, state.tenant, &ids, default_tz, now)
    })
    .await
}

/// A read of several users' streaks, answered as JSON: `read` is given the streak settings
/// in force, the default time zone and the time now.
async fn read_streaks<T, F>(state: &TenantState, read: F) -> Result<HttpResponse, ApiError>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&Connection, &StreakSettings, Tz, DateTime<Utc>) -> Result<T, ApiError>
        + Send
        + 'static,
{
    let settings = state.settings.clone();
    let now = state.clock.now();
    state
        .read_json(move |conn| {
            let default_tz = settings.config.server.default_timezone;
            read(conn, &settings.streaks, default_tz, now)
        })
        .await
}

#[derive(Deserialize)]
struct RankingsQuery {
    limit: Option<i64>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

async fn rankings(
    state: TenantState,
    query: web::Query<RankingsQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::unprocessable("limit must be between 1 and 100"));
    }
    let by = match query.kind.as_deref() {
        None | Some("active") => RankBy::Active,
        Some("longest") => RankBy::Longest,
        Some(_) => return Err(ApiError::unprocessable("type must be active or longest")),
    };
    read_streaks(&state, move |conn, streaks, default_tz, now| {
        read::rankings(conn, streaks, state.tenant, by, limit, default_tz, now)
    })
    .await
}
