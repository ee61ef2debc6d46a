//! `GET /dashboard/api/leaderboards/{key}/runs?before=&limit=`: a board's runs, newest
//! first, from the current one (or the last finished) back to its first, so the console
//! can offer past runs; the application API answers a run's standings (`?run=`) but has
//! no list of them. Computed from the board's schedule (`rules::leaderboard_runs`): no
//! SQL.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use super::dashboard_activity::no_store;
use super::extract::TenantState;
use crate::domain::limits::MAX_PAGE;
use crate::error::ApiError;
use crate::leaderboards::read;

const DEFAULT_LIMIT: i64 = 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RunsQuery {
    /// The `next` of the previous page: runs that start before this date.
    before: Option<String>,
    limit: Option<i64>,
}

pub(super) async fn runs(
    state: TenantState,
    key: web::Path<String>,
    query: web::Query<RunsQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::unprocessable(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    let before = match &query.before {
        Some(text) => Some(
            text.parse::<NaiveDate>()
                .map_err(|_| ApiError::unprocessable("before must be a date (YYYY-MM-DD)"))?,
        ),
        None => None,
    };
    let catalog = state.catalog.current();
    let board = read::visible(&catalog, state.tenant, &key)?;
    let today = state.clock.now().date_naive();
    let schedule = board.schedule();
    let mut run = match before {
        Some(date) => date.pred_opt().and_then(|d| schedule.run_containing(d)),
        None => schedule
            .run_containing(today)
            .or_else(|| schedule.last_run_ended_by(today)),
    };
    let mut out = Vec::new();
    while let Some(r) = run {
        if out.len() as i64 == limit {
            break;
        }
        out.push(r);
        run = schedule.previous_run(r);
    }
    let next = run.and(out.last()).map(|last| last.start.to_string());
    let runs: Vec<_> = out
        .iter()
        .map(|r| {
            json!({
                "start": r.start.to_string(),
                "end": r.end.map(|d| d.to_string()),
                "current": r.contains(today),
            })
        })
        .collect();
    Ok(no_store(json!({ "runs": runs, "next": next })))
}
