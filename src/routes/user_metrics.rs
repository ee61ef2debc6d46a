//! `GET /users/{id}/metrics`, `/users/{id}/metrics/{key}` and its `event-summary`.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{json, Value};

use std::collections::HashMap;

use super::extract::{KeySegment, TenantState};
use crate::achievements::{store as achievement_store, view};
use crate::auth::UserPath;
use crate::catalog::{AchievementTrigger, Catalog, Metric};
use crate::clock::from_millis;
use crate::config::AchievementStatus;
use crate::domain::ids::DefinitionId;
use crate::domain::number::json_number;
use crate::domain::user::User;
use crate::error::ApiError;
use crate::rules::achievements::filters_match;
use crate::rules::event_summary::{self, Aggregation, SummaryRow};
use crate::store;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users/{id}/metrics", web::get().to(all))
        .route("/users/{id}/metrics/{key}", web::get().to(single))
        .route(
            "/users/{id}/metrics/{key}/event-summary",
            web::get().to(summary),
        );
}

/// The spec's `MetricResponse`, plus `status` which the Node SDK requires. Its
/// `achievements` are the metric's achievements the user can see: active ones they are
/// eligible for and locked ones they completed, by threshold
/// (docs/behaviour/users-and-events.md#reading-metrics).
fn metric_json(
    metric: &Metric,
    current: f64,
    catalog: &Catalog,
    user: &User,
    completed: &HashMap<DefinitionId, i64>,
) -> Value {
    let mut achievements: Vec<(f64, Value)> = catalog
        .achievements_for(user.tenant_id)
        .filter_map(|a| match &a.trigger {
            AchievementTrigger::Metric { metric: key, value } if *key == metric.key => {
                let achieved_at = completed.get(&a.id).copied();
                let visible = match a.status {
                    AchievementStatus::Active => {
                        achieved_at.is_some() || filters_match(&a.user_attributes, &user.attributes)
                    }
                    AchievementStatus::Locked => achieved_at.is_some(),
                    AchievementStatus::Inactive => false,
                };
                visible.then(|| {
                    (
                        *value,
                        view::user_achievement(a, catalog, user.tenant_id, achieved_at),
                    )
                })
            }
            _ => None,
        })
        .collect();
    achievements.sort_by(|a, b| a.0.total_cmp(&b.0));
    json!({
        "id": metric.uuid,
        "key": metric.key,
        "name": metric.name,
        "status": "active",
        "current": json_number(current),
        "achievements": achievements.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    })
}

fn completions(
    conn: &rusqlite::Connection,
    user: &User,
) -> Result<HashMap<DefinitionId, i64>, ApiError> {
    Ok(achievement_store::completed(conn, user.row_id)?
        .into_iter()
        .collect())
}

async fn all(state: TenantState, UserPath(id): UserPath) -> Result<HttpResponse, ApiError> {
    let catalog = state.catalog.current();
    state
        .read_user_json(state.tenant, id, move |conn, user| {
            let totals: HashMap<DefinitionId, f64> = store::events::totals(conn, user.row_id)?
                .into_iter()
                .collect();
            let completed = completions(conn, &user)?;
            Ok(catalog
                .metrics_for(state.tenant)
                .into_iter()
                .map(|m| {
                    let current = totals.get(&m.id).copied().unwrap_or(0.0);
                    metric_json(m, current, &catalog, &user, &completed)
                })
                .collect::<Vec<_>>())
        })
        .await
}

async fn single(
    state: TenantState,
    UserPath(id): UserPath,
    key: web::Path<KeySegment>,
) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner().key;
    let catalog = state.catalog.current();
    let metric = catalog
        .metric(state.tenant, &key)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Metric not found"))?;
    state
        .read_user_json(state.tenant, id, move |conn, user| {
            let completed = completions(conn, &user)?;
            let total = store::events::total(conn, user.row_id, metric.id)?;
            Ok(metric_json(&metric, total, &catalog, &user, &completed))
        })
        .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryQuery {
    aggregation: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
}

fn parse_date(name: &str, value: Option<&str>) -> Result<NaiveDate, ApiError> {
    let value = value.ok_or_else(|| ApiError::unprocessable(format!("{name} is required")))?;
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| ApiError::unprocessable(format!("{name} must be a date in YYYY-MM-DD format")))
}

/// What every event summary (metrics and points) asks for: the aggregation and the checked
/// `[startDate, endDate]` range.
#[derive(Clone, Copy)]
pub struct Summary {
    aggregation: Aggregation,
    start: NaiveDate,
    end: NaiveDate,
}

impl SummaryQuery {
    pub fn parse(&self) -> Result<Summary, ApiError> {
        let aggregation = self
            .aggregation
            .as_deref()
            .and_then(Aggregation::parse)
            .ok_or_else(|| {
                ApiError::unprocessable("aggregation must be one of daily, weekly, monthly")
            })?;
        let start = parse_date("startDate", self.start_date.as_deref())?;
        let end = parse_date("endDate", self.end_date.as_deref())?;
        event_summary::validate_range(start, end)
            .map_err(|e| ApiError::unprocessable(e.to_string()))?;
        Ok(Summary {
            aggregation,
            start,
            end,
        })
    }
}

impl Summary {
    /// The first instant (UTC milliseconds) whose values the summary in `tz` needs.
    pub fn since(&self, tz: Tz) -> Result<i64, ApiError> {
        let (lower, _) = event_summary::utc_bounds(tz, self.aggregation, self.start, self.end)
            .ok_or_else(|| ApiError::unprocessable("date range is out of bounds"))?;
        Ok(lower.timestamp_millis())
    }

    /// The periods from the `(time, value)` pairs at and after [`since`](Self::since) and
    /// the total now. Reading forward from the range start and subtracting from the current
    /// total touches only the values a recent range needs.
    pub fn periods(
        &self,
        tz: Tz,
        since: Vec<(i64, f64)>,
        now: f64,
    ) -> Result<Vec<SummaryRow>, ApiError> {
        let before = now - since.iter().map(|(_, v)| v).sum::<f64>();
        let values: Vec<_> = since
            .into_iter()
            .map(|(at, v)| (from_millis(at), v))
            .collect();
        event_summary::summarize(&values, before, tz, self.aggregation, self.start, self.end)
            .map_err(|e| ApiError::unprocessable(e.to_string()))
    }
}

async fn summary(
    state: TenantState,
    UserPath(id): UserPath,
    key: web::Path<KeySegment>,
    query: web::Query<SummaryQuery>,
) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner().key;
    let summary = query.parse()?;
    let metric = state
        .catalog
        .current()
        .metric(state.tenant, &key)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Metric not found"))?;
    let default_tz = state.settings.config.server.default_timezone;
    state
        .read_user_json(state.tenant, id, move |conn, user| {
            let tz = user.time_zone(default_tz);
            let since =
                store::events::values_since(conn, user.row_id, metric.id, summary.since(tz)?)?;
            let now = store::events::total(conn, user.row_id, metric.id)?;
            Ok(summary
                .periods(tz, since, now)?
                .into_iter()
                .map(|r| json!({ "date": r.date.to_string(), "total": json_number(r.total), "change": json_number(r.change) }))
                .collect::<Vec<_>>())
        })
        .await
}
