//! `POST /metrics/{key}/event`.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::extract::{KeySegment, TenantState};
use crate::auth::{RequireKey, Tier};
use crate::commands::record_event::RecordEvent;
use crate::config::AttributeType;
use crate::domain::attributes::{check_keys, check_values};
use crate::domain::limits::MAX_IDEMPOTENCY_KEY_BYTES as MAX_IDEMPOTENCY_KEY;
use crate::domain::user::UpsertedUserInput;
use crate::domain::user_scope::UserScope;
use crate::error::ApiError;

/// A write of Trophy's tier 1 (docs/behaviour/api.md#rate-limits).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/metrics/{key}/event")
            .wrap(RequireKey::application(Tier::Writes))
            .route(web::post().to(record)),
    );
}

#[derive(Deserialize)]
pub struct EventBody {
    user: UpsertedUserInput,
    value: f64,
    #[serde(default)]
    attributes: Option<BTreeMap<String, String>>,
}

async fn record(
    req: HttpRequest,
    state: TenantState,
    scope: UserScope,
    key: web::Path<KeySegment>,
    body: web::Json<EventBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    // Another user's event is refused before anything about it is checked.
    let user = body.user.admit(&scope)?;
    let catalog = state.catalog.current();
    let metric = catalog
        .metric(state.tenant, &key.key)
        .cloned()
        .ok_or_else(|| ApiError::not_found("Metric not found"))?;
    if !body.value.is_finite() {
        return Err(ApiError::bad_request("value must be a finite number"));
    }
    let attributes = body.attributes.unwrap_or_default();
    check_keys(&catalog, state.tenant, AttributeType::Event, &attributes)?;
    check_values("attributes", &attributes)?;
    let user = user.validate(&catalog, state.tenant)?;
    let idempotency_key = match req.headers().get("Idempotency-Key") {
        None => None,
        Some(v) => {
            let text = v
                .to_str()
                .map_err(|_| ApiError::bad_request("Idempotency-Key must be visible ASCII"))?;
            if text.is_empty() || text.len() > MAX_IDEMPOTENCY_KEY {
                return Err(ApiError::unprocessable(format!(
                    "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters"
                )));
            }
            Some(text.to_owned())
        }
    };
    let outcome = state
        .writer
        .execute(RecordEvent {
            tenant: state.tenant,
            metric,
            user,
            value: body.value,
            attributes,
            idempotency_key,
        })
        .await?;
    if outcome.replayed {
        Ok(HttpResponse::Accepted().json(outcome.response))
    } else {
        state.telemetry.events_applied.inc();
        Ok(HttpResponse::Created().json(outcome.response))
    }
}
