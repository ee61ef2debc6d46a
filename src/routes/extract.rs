//! Extractor settings so malformed input gets `{"error": ...}` like every other error.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{web, HttpRequest};

use crate::error::ApiError;

/// Request bodies are small; 1 MiB leaves room for a 1,000-event batch.
const MAX_BODY: usize = 1 << 20;

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY)
        .content_type_required(false)
        .error_handler(|err: JsonPayloadError, _req: &HttpRequest| {
            let message = match &err {
                JsonPayloadError::Deserialize(e) => format!("Invalid request body: {e}"),
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => "Request body is too large".to_string(),
                other => format!("Invalid request body: {other}"),
            };
            ApiError::bad_request(message).into()
        })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, _| {
        ApiError::bad_request(format!("Invalid path: {err}")).into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _| {
        ApiError::unprocessable(format!("Invalid query parameters: {err}")).into()
    })
}
