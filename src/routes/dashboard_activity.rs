//! `GET /dashboard/api/activity?days=N`: the console's charts of a tenant's last N UTC days
//! (events, active users, new users, points awards), from the hourly counts the writer keeps
//! (`activity`), so a chart costs a few hundred rows whatever the number of events.

use actix_web::{web, HttpResponse};
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use serde_json::json;

use super::extract::TenantState;
use crate::activity;
use crate::error::ApiError;
use crate::state::AppState;

/// Days one chart covers at most (and by default).
const MAX_DAYS: i64 = 366;
const DEFAULT_DAYS: i64 = 30;

/// `?days=N`: the last N UTC days, today's included. Other console charts take it too.
#[derive(Deserialize)]
pub(super) struct Days {
    days: Option<i64>,
}

impl Days {
    /// The first and last day asked for, in days since the epoch; 422 out of range.
    pub(super) fn range(&self, state: &AppState) -> Result<(i64, i64), ApiError> {
        let days = self.days.unwrap_or(DEFAULT_DAYS);
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(ApiError::unprocessable(format!(
                "days must be between 1 and {MAX_DAYS}"
            )));
        }
        let last = crate::activity::day_of(state.clock.now().timestamp_millis());
        Ok((last - (days - 1), last))
    }
}

/// The date of a day since the epoch (`2031-03-01`).
pub(super) fn date_of(day: i64) -> String {
    (NaiveDate::default() + Duration::days(day)).to_string()
}

pub(super) async fn activity_per_day(
    state: TenantState,
    query: web::Query<Days>,
) -> Result<HttpResponse, ApiError> {
    let (first, last) = query.range(&state)?;
    let counted = state
        .read(move |conn| Ok(activity::store::per_day(conn, state.tenant, first, last)?))
        .await?;
    let mut counted = counted.into_iter().peekable();
    let series: Vec<_> = (first..=last)
        .map(|day| {
            let counts = match counted.peek() {
                Some((d, _)) if *d == day => counted.next().map(|(_, c)| c).unwrap_or_default(),
                _ => activity::Counts::default(),
            };
            json!({
                "date": date_of(day),
                "events": counts.events,
                "activeUsers": counts.active_users,
                "newUsers": counts.new_users,
                "awards": counts.awards,
                "points": counts.points,
            })
        })
        .collect();
    Ok(no_store(json!({ "days": series })))
}

/// A console read's answer: counts of the moment, never cached.
pub(super) fn no_store(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(body)
}
