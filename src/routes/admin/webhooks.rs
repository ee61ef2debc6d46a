//! `/admin/v1/webhooks/deliveries`: the webhook delivery log (our extension; Trophy shows
//! it in its dashboard). Rows are kept 7 days after they finish.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;
use crate::webhooks::store::{self, RetryDelivery, StatusFilter};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks/deliveries", web::get().to(list))
        .route("/webhooks/deliveries/{id}/retry", web::post().to(retry));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    limit: Option<i64>,
}

/// `?status=pending|delivered|failed&limit=1..100` (default 10), newest first.
async fn list(
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let filter = StatusFilter::parse(query.status.as_deref()).ok_or_else(|| {
        ApiError::unprocessable("status must be one of pending, delivered, failed")
    })?;
    let limit = query.limit.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::unprocessable("limit must be between 1 and 100"));
    }
    let rows = state
        .read(move |conn| Ok(store::list(conn, filter, limit)?))
        .await?;
    Ok(HttpResponse::Ok().json(rows.iter().map(|r| r.to_json()).collect::<Vec<_>>()))
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
