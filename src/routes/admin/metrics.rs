//! `/admin/v1/metrics` and `POST /admin/v1/metrics/events`
//! (docs/sdk-compat.md#admin-shapes, docs/behaviour/admin-api.md#batch-events).

use std::collections::BTreeMap;

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::definitions;
use crate::commands::admin_metrics::Metrics;
use crate::commands::batch_events::{BatchEvents, MAX_BATCH};
use crate::commands::record_event::RecordEvent;
use crate::config::AttributeType;
use crate::domain::attributes::{check_keys, check_values};
use crate::domain::limits::MAX_IDEMPOTENCY_KEY_BYTES as MAX_IDEMPOTENCY_KEY;
use crate::domain::user::UpsertedUserInput;
use crate::error::{echo, ApiError};
use crate::routes::extract::TenantState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Before `/metrics/{id}`, which would otherwise claim the path and answer 405.
    cfg.route("/metrics/events", web::post().to(batch_events));
    definitions::routes::<Metrics>(
        cfg,
        web::resource("/metrics"),
        web::resource("/metrics/{id}"),
    );
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchItem {
    key: String,
    user: UpsertedUserInput,
    value: f64,
    #[serde(default)]
    attributes: Option<BTreeMap<String, String>>,
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// Names the event an error is about.
fn about_event(index: usize, e: ApiError) -> ApiError {
    match e {
        ApiError::BadRequest(m) => ApiError::BadRequest(format!("events[{index}]: {m}")),
        ApiError::Unprocessable(m) => ApiError::Unprocessable(format!("events[{index}]: {m}")),
        other => other,
    }
}

/// Every event is checked before any is applied, so a bad one changes nothing.
async fn batch_events(
    state: TenantState,
    body: web::Json<Vec<BatchItem>>,
) -> Result<HttpResponse, ApiError> {
    let items = body.into_inner();
    if items.is_empty() || items.len() > MAX_BATCH {
        return Err(ApiError::unprocessable(format!(
            "Provide between 1 and {MAX_BATCH} events"
        )));
    }
    let catalog = state.catalog.current();
    let mut events = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let at = |e: ApiError| about_event(index, e);
        let metric = catalog
            .metric(state.tenant, &item.key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("Metric not found: {}", echo(&item.key))))?;
        if !item.value.is_finite() {
            return Err(at(ApiError::bad_request("value must be a finite number")));
        }
        if let Some(key) = &item.idempotency_key {
            if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY {
                return Err(at(ApiError::unprocessable(format!(
                    "idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY} characters"
                ))));
            }
        }
        let attributes = item.attributes.unwrap_or_default();
        check_keys(&catalog, state.tenant, AttributeType::Event, &attributes).map_err(at)?;
        check_values("attributes", &attributes).map_err(at)?;
        // The admin key acts for every user.
        let user = item
            .user
            .unscoped()
            .validate(&catalog, state.tenant)
            .map_err(at)?;
        events.push(RecordEvent {
            tenant: state.tenant,
            metric,
            user,
            value: item.value,
            attributes,
            idempotency_key: item.idempotency_key,
        });
    }
    let outcome = state.writer.execute(BatchEvents(events)).await?;
    state
        .telemetry
        .batch_events_skipped
        .inc_by(outcome.skipped as u64);
    Ok(HttpResponse::Accepted().json(json!({ "accepted": outcome.accepted })))
}
