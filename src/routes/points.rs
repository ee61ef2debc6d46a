//! The application API's points routes (docs/behaviour/points.md#reading-points): systems,
//! boosts, levels, the level and range summaries, and a user's points, boosts and event
//! summary.

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{AttributesQuery, KeySegment, TenantState};
use super::user_metrics::SummaryQuery as EventSummaryQuery;
use crate::auth::UserPath;
use crate::catalog::{Catalog, PointsSystem};
use crate::domain::ids::TenantId;
use crate::error::ApiError;
use crate::points::rules::{boost_status, bucket_of, level_index, summary_ranges, within};
use crate::points::{store, view};
use crate::rules::achievements::filters_match;
use crate::rules::local_time::local_date;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/points/{key}", web::get().to(system))
        .route("/points/{key}/boosts", web::get().to(boosts))
        .route("/points/{key}/levels", web::get().to(levels))
        .route("/points/{key}/level-summary", web::get().to(level_summary))
        .route("/points/{key}/summary", web::get().to(summary))
        .route("/users/{id}/points/{key}", web::get().to(user_points))
        .route(
            "/users/{id}/points/{key}/boosts",
            web::get().to(user_boosts),
        )
        .route(
            "/users/{id}/points/{key}/event-summary",
            web::get().to(user_event_summary),
        );
}

fn find(
    state: &AppState,
    tenant: TenantId,
    key: &str,
) -> Result<(Arc<Catalog>, PointsSystem), ApiError> {
    let catalog = state.catalog.current();
    let system = catalog
        .points_system(tenant, key)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Points system not found"))?;
    Ok((catalog, system))
}

async fn system(state: TenantState, key: web::Path<KeySegment>) -> Result<HttpResponse, ApiError> {
    let (catalog, system) = find(&state, state.tenant, &key.key)?;
    Ok(HttpResponse::Ok().json(view::system(&system, &catalog, state.tenant)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BoostsQuery {
    include_finished: Option<String>,
}

/// Global boosts (attribute-narrowed ones included), finished ones only on request; their
/// status is judged on today's UTC date.
async fn boosts(
    state: TenantState,
    key: web::Path<KeySegment>,
    query: web::Query<BoostsQuery>,
) -> Result<HttpResponse, ApiError> {
    let include_finished = match query.include_finished.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::unprocessable(
                "includeFinished must be true or false",
            ))
        }
    };
    let (_, system) = find(&state, state.tenant, &key.key)?;
    let today = state.clock.now().date_naive();
    let list: Vec<Value> = system
        .boosts
        .iter()
        .filter(|b| matches!(b.target, crate::catalog::points::BoostTarget::Global(_)))
        .filter(|b| include_finished || boost_status(b.start, b.end, today) != "finished")
        .map(|b| view::boost(b, today))
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

async fn levels(state: TenantState, key: web::Path<KeySegment>) -> Result<HttpResponse, ApiError> {
    let (_, system) = find(&state, state.tenant, &key.key)?;
    let list: Vec<Value> = system.levels.iter().map(view::level).collect();
    Ok(HttpResponse::Ok().json(list))
}

/// Users per level from the counts the writer keeps; users who never earned points are
/// at 0 and count for the level reached at 0.
async fn level_summary(
    state: TenantState,
    key: web::Path<KeySegment>,
) -> Result<HttpResponse, ApiError> {
    let (_, system) = find(&state, state.tenant, &key.key)?;
    if system.levels.is_empty() {
        return Err(ApiError::unprocessable(
            "No levels configured on the points system",
        ));
    }
    state
        .read_json(move |conn| {
            let counts = store::level_counts(conn, system.id, state.tenant)?;
            let with_row: i64 = store::buckets(conn, system.id, state.tenant)?
                .iter()
                .map(|(_, n)| n)
                .sum();
            let users = crate::store::users::count(conn, state.tenant)?;
            let thresholds: Vec<i64> = system.levels.iter().map(|l| l.points).collect();
            let at_zero = level_index(&thresholds, 0);
            Ok(system
                .levels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let mut n = counts.get(&l.id).copied().unwrap_or(0);
                    if at_zero == Some(i) {
                        n += (users - with_row).max(0);
                    }
                    json!({ "level": view::level(l), "users": n })
                })
                .collect::<Vec<_>>())
        })
        .await
}

/// The 11 ranges. Unfiltered, they come from the bucket counts the writer keeps; with
/// `userAttributes`, from the matching users' totals.
async fn summary(
    state: TenantState,
    key: web::Path<KeySegment>,
    query: web::Query<AttributesQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = query.filter()?.unwrap_or_default();
    let (_, system) = find(&state, state.tenant, &key.key)?;
    state
        .read_json(move |conn| {
            let ranges = if filter.is_empty() {
                let buckets = store::buckets(conn, system.id, state.tenant)?;
                let users = crate::store::users::count(conn, state.tenant)?;
                summary_ranges(&buckets, users)
            } else {
                let totals = store::filtered_totals(conn, system.id, state.tenant, &filter)?;
                let mut buckets: std::collections::BTreeMap<i64, i64> = Default::default();
                for t in &totals {
                    *buckets.entry(bucket_of(*t)).or_insert(0) += 1;
                }
                let buckets: Vec<(i64, i64)> = buckets.into_iter().collect();
                summary_ranges(&buckets, totals.len() as i64)
            };
            Ok(ranges
                .into_iter()
                .map(|r| json!({ "from": r.from, "to": r.to, "users": r.users }))
                .collect::<Vec<_>>())
        })
        .await
}

#[derive(Deserialize)]
struct AwardsQuery {
    awards: Option<String>,
}

async fn user_points(
    state: TenantState,
    UserPath(id): UserPath,
    key: web::Path<KeySegment>,
    query: web::Query<AwardsQuery>,
) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner().key;
    let n = match query.awards.as_deref() {
        None => 10,
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| ApiError::unprocessable("awards must be an integer from 1 to 100"))?,
    };
    let (_, system) = find(&state, state.tenant, &key)?;
    state
        .read_user_json(state.tenant, id, move |conn, user| {
            let total = store::total(conn, user.row_id, system.id)?.unwrap_or(0);
            let awards: Vec<Value> = store::recent_awards(conn, user.row_id, system.id, n)?
                .into_iter()
                .map(|(uuid, awarded, total, at, trigger, boosts)| {
                    view::award(&uuid, awarded, total, at, trigger, boosts)
                })
                .collect();
            let thresholds: Vec<i64> = system.levels.iter().map(|l| l.points).collect();
            let level = level_index(&thresholds, total)
                .and_then(|i| system.levels.get(i))
                .map_or(Value::Null, view::level);
            let mut out = view::system_base(&system);
            out.insert("total".into(), json!(total));
            out.insert("level".into(), level);
            out.insert("awards".into(), Value::Array(awards));
            Ok(Value::Object(out))
        })
        .await
}

/// The boosts active for the user today (their local date): global ones they qualify for
/// and their own.
async fn user_boosts(
    state: TenantState,
    UserPath(id): UserPath,
    key: web::Path<KeySegment>,
) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner().key;
    let (_, system) = find(&state, state.tenant, &key)?;
    let default_tz = state.settings.config.server.default_timezone;
    let now = state.clock.now();
    state
        .read_user_json(state.tenant, id, move |_, user| {
            let today = local_date(now, user.time_zone(default_tz));
            Ok(system
                .boosts
                .iter()
                .filter(|b| within(b.start, b.end, today))
                .filter(|b| match &b.target {
                    crate::catalog::points::BoostTarget::User(u) => *u == user.id,
                    crate::catalog::points::BoostTarget::Global(f) => {
                        filters_match(f, &user.attributes)
                    }
                })
                .map(|b| view::boost(b, today))
                .collect::<Vec<_>>())
        })
        .await
}

/// Like the metric event summary, over the awards: `change` sums a period's awards,
/// `total` is the points total at its end.
async fn user_event_summary(
    state: TenantState,
    UserPath(id): UserPath,
    key: web::Path<KeySegment>,
    query: web::Query<EventSummaryQuery>,
) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner().key;
    let summary = query.parse()?;
    let (_, system) = find(&state, state.tenant, &key)?;
    let default_tz = state.settings.config.server.default_timezone;
    state
        .read_user_json(state.tenant, id, move |conn, user| {
            let tz = user.time_zone(default_tz);
            let since = store::awards_since(conn, user.row_id, system.id, summary.since(tz)?)?;
            let since = since.into_iter().map(|(at, a)| (at, a as f64)).collect();
            let now = store::total(conn, user.row_id, system.id)?.unwrap_or(0);
            Ok(summary
                .periods(tz, since, now as f64)?
                .into_iter()
                .map(|r| json!({ "date": r.date.to_string(), "total": r.total.round() as i64, "change": r.change.round() as i64 }))
                .collect::<Vec<_>>())
        })
        .await
}
