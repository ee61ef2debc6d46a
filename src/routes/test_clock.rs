//! `/_test/clock` (docs/interface.md#test-clock): move the clock forward, run what fell
//! due, answer.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::json;

use crate::clock::format_timestamp;
use crate::commands::persist_clock::PersistClock;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetClock {
    now: Option<String>,
    advance_seconds: Option<i64>,
}

fn reply(now: DateTime<Utc>) -> HttpResponse {
    HttpResponse::Ok().json(json!({ "now": format_timestamp(now) }))
}

pub async fn get(state: web::Data<AppState>) -> HttpResponse {
    reply(state.clock.now())
}

pub async fn set(
    state: web::Data<AppState>,
    body: web::Json<SetClock>,
) -> Result<HttpResponse, ApiError> {
    let current = state.clock.now();
    let target = match (&body.now, body.advance_seconds) {
        (Some(now), None) => DateTime::parse_from_rfc3339(now)
            .map_err(|_| ApiError::unprocessable("now must be an RFC 3339 timestamp"))?
            .to_utc(),
        (None, Some(seconds)) if seconds >= 0 => Duration::try_seconds(seconds)
            .and_then(|d| current.checked_add_signed(d))
            .ok_or_else(|| ApiError::unprocessable("advanceSeconds is out of range"))?,
        (None, Some(_)) => {
            return Err(ApiError::unprocessable(
                "advanceSeconds must not be negative",
            ))
        }
        _ => {
            return Err(ApiError::bad_request(
                "send exactly one of now or advanceSeconds",
            ))
        }
    };
    let now = state
        .clock
        .set(target)
        .map_err(|_| ApiError::unprocessable("The test clock only moves forward"))?;
    state.writer.execute(PersistClock(now)).await?;
    state.backdater.run().await?;
    state.scheduler.run_due(now).await?;
    state.delivery.run_due_once(now).await?;
    state
        .notifier
        .run_all_due(now)
        .await
        .map_err(ApiError::Internal)?;
    Ok(reply(now))
}
