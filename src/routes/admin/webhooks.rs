//! `/admin/v1/webhooks/deliveries`: the webhook delivery log (our extension; Trophy shows
//! it in its dashboard). Rows are kept 7 days after they finish.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;
use crate::webhooks::store::{self, ListFilter, RetryDelivery, RetryFailed, StatusFilter};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks/deliveries", web::get().to(list))
        .route(
            "/webhooks/deliveries/retry-failed",
            web::post().to(retry_failed),
        )
        .route("/webhooks/deliveries/{id}", web::get().to(one))
        .route("/webhooks/deliveries/{id}/retry", web::post().to(retry));
}

/// A filter value (event type, endpoint URL, delivery id), in bytes.
const MAX_FILTER_BYTES: usize = 2048;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    limit: Option<i64>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    endpoint: Option<String>,
    before: Option<String>,
}

/// `?status=pending|delivered|failed&type=&endpoint=&before=ID&limit=1..100` (default 10),
/// newest first; `before` is the last id of the previous page.
async fn list(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let status = StatusFilter::parse(query.status.as_deref()).ok_or_else(|| {
        ApiError::unprocessable("status must be one of pending, delivered, failed")
    })?;
    let limit = query.limit.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::unprocessable("limit must be between 1 and 100"));
    }
    for (name, value) in [
        ("type", &query.event_type),
        ("endpoint", &query.endpoint),
        ("before", &query.before),
    ] {
        if value.as_ref().is_some_and(|v| v.len() > MAX_FILTER_BYTES) {
            return Err(ApiError::unprocessable(format!(
                "{name} must be at most {MAX_FILTER_BYTES} bytes"
            )));
        }
    }
    let filter = ListFilter {
        status,
        event_type: query.event_type.filter(|v| !v.is_empty()),
        endpoint: query.endpoint.filter(|v| !v.is_empty()),
        before: query.before.filter(|v| !v.is_empty()),
    };
    state
        .read_json(move |conn| {
            let rows = store::list(conn, &filter, limit)?;
            Ok(rows.iter().map(|r| r.to_json()).collect::<Vec<_>>())
        })
        .await
}

/// One delivery with the exact payload it sends.
async fn one(state: web::Data<AppState>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let found = state
        .read(move |conn| {
            let Some(row) = store::by_uuid(conn, &id)? else {
                return Ok(None);
            };
            let body = store::body(conn, &id)?.unwrap_or_default();
            Ok(Some((row, body)))
        })
        .await?;
    let (row, body) = found.ok_or_else(|| ApiError::not_found("Webhook delivery not found"))?;
    let mut out = row.to_json();
    out["payload"] =
        crate::store::stored_json(&body, format_args!("webhook delivery {}", row.uuid))
            .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(out))
}

/// Re-queues every failed delivery (at most `MAX_BULK_RETRY` a call, oldest first).
async fn retry_failed(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let out = state.writer.execute(RetryFailed).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "retried": out.retried,
        "endpointRemoved": out.endpoint_removed,
        "more": out.more,
    })))
}

/// Re-queues one delivery now (its attempt count is kept) and answers the row.
async fn retry(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let row = state
        .writer
        .execute(RetryDelivery(id.into_inner()))
        .await?
        .ok_or_else(|| ApiError::not_found("Webhook delivery not found"))?;
    Ok(HttpResponse::Ok().json(row.to_json()))
}
