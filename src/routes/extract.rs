//! Extractor settings so malformed input gets `{"error": ...}` like every other error.

use actix_web::error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError};
use actix_web::{web, HttpRequest};

use crate::domain::limits::MAX_BODY_BYTES;
use crate::error::{echo_quoted, ApiError};

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .content_type_required(false)
        .error_handler(|err: JsonPayloadError, _req: &HttpRequest| json_error(&err).into())
}

fn json_error(err: &JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            too_large()
        }
        JsonPayloadError::Payload(PayloadError::Overflow) => too_large(),
        JsonPayloadError::Payload(PayloadError::Io(e))
            if e.kind() == std::io::ErrorKind::TimedOut =>
        {
            ApiError::RequestTimeout("The request body did not arrive in time".into())
        }
        JsonPayloadError::Deserialize(e) => ApiError::bad_request(format!(
            "Invalid request body: {}",
            echo_quoted(&e.to_string())
        )),
        other => ApiError::bad_request(format!(
            "Invalid request body: {}",
            echo_quoted(&other.to_string())
        )),
    }
}

pub fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(format!(
        "Request body is too large: at most {MAX_BODY_BYTES} bytes"
    ))
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, _| {
        ApiError::bad_request(format!("Invalid path: {}", echo_quoted(&err.to_string()))).into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _| {
        ApiError::unprocessable(format!(
            "Invalid query parameters: {}",
            echo_quoted(&err.to_string())
        ))
        .into()
    })
}
