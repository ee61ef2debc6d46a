//! `GET /dashboard/api/engagement?days=N`: distinct active users per UTC day over the day
//! itself, the last 7 and the last 30 days (DAU, WAU, MAU), and the control group against
//! the rest: the share of each active in the last 7 and 30 days (docs/behaviour: the
//! reason `controlRatio` exists). From `activity_returns` (at most N + 29 days of rows,
//! see `activity::returns`) and the control group's partial index.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::dashboard_activity::{date_of, no_store, Days};
use super::extract::TenantState;
use crate::activity::returns::MAX_WINDOW;
use crate::activity::store::returns;
use crate::error::ApiError;
use crate::store;

pub(super) async fn engagement(
    state: TenantState,
    query: web::Query<Days>,
) -> Result<HttpResponse, ApiError> {
    let (first, last) = query.range(&state)?;
    let (groups, users, control) = state
        .read(move |conn| {
            let conn = &conn.unchecked_transaction()?;
            Ok((
                returns(conn, state.tenant, first - (MAX_WINDOW - 1), last)?,
                store::users::count(conn, state.tenant)?,
                store::engagement::control_users(conn, state.tenant)?,
            ))
        })
        .await?;
    // The groups hold different users, so their distinct counts add up.
    let active =
        |day: i64, window: i64| -> i64 { groups.iter().map(|g| g.active(day, window)).sum() };
    let days: Vec<_> = (first..=last)
        .map(|day| {
            json!({
                "date": date_of(day),
                "activeUsers": active(day, 1),
                "weeklyActive": active(day, 7),
                "monthlyActive": active(day, 30),
            })
        })
        .collect();
    let [rest, in_control] = &groups;
    let group = |name: &str, g: &crate::activity::returns::Returns, size: i64| {
        json!({
            "group": name,
            "users": size,
            "active7": g.active(last, 7),
            "active30": g.active(last, 30),
        })
    };
    Ok(no_store(json!({
        "days": days,
        "groups": [
            group("control", in_control, control),
            group("rest", rest, (users - control).max(0)),
        ],
    })))
}
