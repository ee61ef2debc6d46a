//! `/admin/v1/notifications/deliveries`: the messages decided for the tenant's users, with
//! their status, and a retry for failed ones (our extension, like the webhook log).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::clock::{format_timestamp, from_millis};
use crate::domain::limits::MAX_PAGE;
use crate::error::{echo, ApiError};
use crate::notifications::commands::RetryDelivery;
use crate::notifications::store::{self, Delivery, ListFilter};
use crate::routes::extract::TenantState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/notifications/deliveries", web::get().to(list))
        .route(
            "/notifications/deliveries/{id}/retry",
            web::post().to(retry),
        );
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    user_id: Option<String>,
    /// The `id` of the last row of the previous page.
    before: Option<String>,
    limit: Option<i64>,
}

const STATUSES: [&str; 3] = ["pending", "sent", "failed"];

/// `?status=pending|sent|failed&userId=&before=&limit=1..MAX_PAGE` (default 25), newest
/// first; `next` is the `before` of the following page, null on the last.
async fn list(state: TenantState, query: web::Query<ListQuery>) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    if let Some(status) = &query.status {
        if !STATUSES.contains(&status.as_str()) {
            return Err(ApiError::unprocessable(format!(
                "status must be one of pending, sent, failed; found {}",
                echo(status)
            )));
        }
    }
    let limit = query.limit.unwrap_or(25);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::unprocessable(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    let page = state
        .read(move |conn| {
            let user_id = match &query.user_id {
                Some(id) => Some(crate::store::users::existing(conn, state.tenant, id)?.row_id),
                None => None,
            };
            let before = match &query.before {
                Some(uuid) => Some(
                    store::by_uuid(conn, state.tenant, uuid)?
                        .ok_or_else(|| ApiError::unprocessable("before is not a delivery id"))?
                        .id,
                ),
                None => None,
            };
            Ok(store::list(
                conn,
                &ListFilter {
                    tenant_id: state.tenant,
                    status: query.status,
                    user_id,
                    before,
                    limit: limit + 1,
                },
            )?)
        })
        .await?;
    let more = page.len() as i64 > limit;
    let rows: Vec<Value> = page.iter().take(limit as usize).map(to_json).collect();
    let next = more.then(|| rows.last().map(|r| r["id"].clone())).flatten();
    Ok(HttpResponse::Ok().json(json!({ "deliveries": rows, "next": next })))
}

/// Puts a failed message back in the queue, due now; 409 for one that is not failed.
async fn retry(state: TenantState, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let row = state
        .writer
        .execute(RetryDelivery {
            tenant_id: state.tenant,
            id: id.into_inner(),
        })
        .await?;
    Ok(HttpResponse::Ok().json(to_json(&row)))
}

fn to_json(d: &Delivery) -> Value {
    json!({
        "id": d.uuid,
        "userId": d.external_user_id,
        "type": d.kind,
        "channel": d.channel,
        "to": d.target,
        "status": d.status,
        "attempts": d.attempts,
        "nextAttempt": (d.status == "pending").then(|| format_timestamp(from_millis(d.next_attempt))),
        "lastError": d.last_error,
        "created": format_timestamp(from_millis(d.created)),
        "finished": d.finished.map(|f| format_timestamp(from_millis(f))),
    })
}
