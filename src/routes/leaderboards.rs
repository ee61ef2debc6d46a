//! `GET /leaderboards`, `GET /leaderboards/{key}`, `GET /users/{id}/leaderboards/{key}`.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{KeySegment, TenantState};
use crate::auth::UserPath;
use crate::catalog::leaderboard::status_on;
use crate::domain::user_scope::UserScope;
use crate::error::ApiError;
use crate::leaderboards::{read, view};
use crate::state::AppState;
use crate::store;

const DEFAULT_LIMIT: i64 = 10;
/// Pages up to this size are read on the worker itself (see [`read_inline`]).
const INLINE_ROWS: usize = 100;
const DEFAULT_EVENTS: i64 = 10;
const MAX_EVENTS: i64 = 100;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/leaderboards", web::get().to(list))
        .route("/leaderboards/{key}", web::get().to(get))
        .route("/users/{id}/leaderboards/{key}", web::get().to(user_board));
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    include_finished: Option<bool>,
}

async fn list(state: TenantState, query: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let catalog = state.catalog.current();
    let today = state.clock.now().date_naive();
    let include_finished = query.include_finished.unwrap_or(false);
    let boards: Vec<Value> = catalog
        .leaderboards_for(state.tenant)
        .filter(|b| match status_on(b, today) {
            "active" | "scheduled" => true,
            "finished" => include_finished,
            _ => false,
        })
        .map(|b| Value::Object(view::board(b, &catalog, state.tenant, today, &[])))
        .collect();
    Ok(HttpResponse::Ok().json(boards))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RankingsQuery {
    offset: Option<i64>,
    limit: Option<i64>,
    run: Option<String>,
    user_id: Option<String>,
    user_attributes: Option<String>,
}

async fn get(
    state: TenantState,
    scope: UserScope,
    key: web::Path<KeySegment>,
    query: web::Query<RankingsQuery>,
) -> Result<HttpResponse, ApiError> {
    let catalog = state.catalog.current();
    let today = state.clock.now().date_naive();
    let board = read::visible(&catalog, state.tenant, &key.key)?.clone();
    let offset = query.offset.unwrap_or(0);
    let limit = query
        .limit
        .unwrap_or(DEFAULT_LIMIT.min(i64::from(board.max_participants)));
    if query.user_id.is_none() && offset < 0 {
        return Err(ApiError::unprocessable("offset must not be negative"));
    }
    if limit < 0 || limit > i64::from(board.max_participants) {
        return Err(ApiError::unprocessable(format!(
            "limit must be between 0 and the size of the leaderboard ({})",
            board.max_participants
        )));
    }
    let group = read::group_from_query(&board, query.user_attributes.as_deref())?;
    let run = read::select_run(&board, query.run.as_deref(), today)?;
    let around = match &query.user_id {
        Some(id) => Some(scope.admit_to_public_view(id)?),
        None => None,
    };
    let mut body = view::board(&board, &catalog, state.tenant, today, &group);
    let Some(run) = run.filter(|_| status_on(&board, today) != "scheduled") else {
        body.insert("rankings".into(), json!([]));
        return Ok(HttpResponse::Ok().json(body));
    };
    let index = state.leaderboards.clone();
    let group_key = read::group_key(&board, run, state.tenant, &group);
    let limit = usize::try_from(limit).unwrap_or(0);
    let style = board.rank_style;
    let (rows, ranks) = read_inline(&state, limit <= INLINE_ROWS, move |conn| {
        // One snapshot for the user's row id and the page's names.
        let conn = &conn.unchecked_transaction()?;
        let around = match around {
            Some(id) => match read::user_row(conn, state.tenant, id.as_str())? {
                Some(row) => Some(row),
                None => return Ok((Vec::new(), Vec::new())),
            },
            None => None,
        };
        read::page(conn, &index, &group_key, style, around, offset, limit)
    })
    .await?;
    body.insert("rankings".into(), view::rankings(&rows, &ranks));
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserQuery {
    run: Option<String>,
    num_events: Option<i64>,
}

async fn user_board(
    state: TenantState,
    UserPath(id): UserPath,
    key: web::Path<KeySegment>,
    query: web::Query<UserQuery>,
) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner().key;
    let catalog = state.catalog.current();
    let today = state.clock.now().date_naive();
    let board = read::visible(&catalog, state.tenant, &key)?.clone();
    let count = query.num_events.unwrap_or(DEFAULT_EVENTS);
    if !(1..=MAX_EVENTS).contains(&count) {
        return Err(ApiError::unprocessable(format!(
            "numEvents must be between 1 and {MAX_EVENTS}"
        )));
    }
    let count = u32::try_from(count).unwrap_or(1);
    let run = read::select_run(&board, query.run.as_deref(), today)?;
    let index = state.leaderboards.clone();
    let board_for_read = board.clone();
    let (user, standing) = read_inline(&state, true, move |conn| {
        // One snapshot (and one read lock) for the user, their standing and history.
        let conn = &conn.unchecked_transaction()?;
        let user = store::users::existing(conn, state.tenant, id.as_str())?;
        let standing = match run {
            Some(run) => Some(read::user_standing(
                conn,
                &index,
                &board_for_read,
                run,
                user.row_id,
                count,
            )?),
            None => None,
        };
        Ok((user, standing))
    })
    .await?;
    let group = crate::leaderboards::engine::group_of(&board, &user).unwrap_or_default();
    let mut body = view::board(&board, &catalog, state.tenant, today, &group);
    let (rank, value, history) = match standing {
        Some(s) => (s.rank, s.value, view::history(&s.history)),
        None => (None, None, json!([])),
    };
    body.insert("rank".into(), json!(rank));
    body.insert(
        "value".into(),
        value.map_or(Value::Null, crate::domain::number::json_number),
    );
    body.insert("history".into(), history);
    Ok(HttpResponse::Ok().json(body))
}

/// Rank reads come from the in-memory index; SQLite only supplies point lookups (a user
/// by id, the names of at most `INLINE_ROWS` users, the last `numEvents` history rows by
/// index, and at most `displacement::REPLAY_LIMIT` rows of the user's group, about 1 ms
/// at worst). That is cheaper than the hop to the blocking pool, which dominated their
/// latency, so they run on the worker; bigger pages go through the pool like other reads.
async fn read_inline<T, F>(state: &AppState, inline: bool, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&rusqlite::Connection) -> Result<T, ApiError> + Send + 'static,
{
    if inline {
        let conn = state.readers.get()?;
        f(&conn)
    } else {
        state.read(f).await
    }
}
