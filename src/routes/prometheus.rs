use actix_web::{web, HttpRequest, HttpResponse};

use crate::auth::KeyKind;
use crate::error::ApiError;
use crate::state::AppState;

/// Prometheus text. With `[server] metrics_auth = true` it needs an admin key.
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if state.settings.config.server.metrics_auth {
        let key = req
            .headers()
            .get("X-API-KEY")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if state.gate.keys.check(key) != Some(KeyKind::Admin) {
            return Err(ApiError::Unauthorized("Invalid API key".into()));
        }
    }
    Ok(HttpResponse::Ok()
        .content_type(crate::telemetry::CONTENT_TYPE)
        .body(state.telemetry.render()))
}
