//! Extractors: the settings that give malformed input `{"error": ...}` like every other
//! error, and what handlers share (`TenantState`, `KeySegment`, `AttributesQuery`).

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError};
use actix_web::http::Method;
use actix_web::{web, FromRequest, HttpRequest};
use serde::Deserialize;

use crate::auth::Tenant;
use crate::domain::attribute_query;
use crate::domain::ids::TenantId;
use crate::domain::limits::MAX_BODY_BYTES;
use crate::domain::user::{AdmittedUpsert, UserUpsert};
use crate::error::{echo_quoted, ApiError};
use crate::state::AppState;

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_BODY_BYTES)
        .content_type_required(false)
        .error_handler(
            |err: JsonPayloadError, req: &HttpRequest| match json_error(&err) {
                ApiError::BadRequest(message)
                    if !documents_400(req.method(), req.match_pattern().as_deref()) =>
                {
                    ApiError::unprocessable(message).into()
                }
                other => other.into(),
            },
        )
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

/// Admin operations whose 1.21.1 spec lists 400 for a bad body, plus `/settings` and
/// `/streaks/settings`, which are newer than the specs and answer 400 like the application
/// API (an unknown key or a wrong JSON type in a streak settings PATCH is unreadable).
const ADMIN_WITH_400: &[(Method, &str)] = &[
    (Method::POST, "/admin/v1/metrics/events"),
    (Method::POST, "/admin/v1/streaks/freezes"),
    (Method::POST, "/admin/v1/streaks/restore"),
    (Method::PATCH, "/admin/v1/settings"),
    (Method::PATCH, "/admin/v1/streaks/settings"),
];

/// Application operations with a body whose spec lists no 400.
const APP_WITHOUT_400: &[(Method, &str)] = &[
    (Method::POST, "/v1/achievements/{key}/complete"),
    (Method::PATCH, "/v1/users/{id}/preferences"),
];

/// Whether the operation's spec documents 400 for an unreadable body (docs/behaviour/api.md#errors
/// prefers 400 for it). Where it does not, the answer is the 422 every operation documents
/// for invalid input, so a client reading the spec knows every status it can get.
fn documents_400(method: &Method, pattern: Option<&str>) -> bool {
    let Some(pattern) = pattern else {
        return true;
    };
    let listed = |ops: &[(Method, &str)]| ops.iter().any(|(m, p)| m == method && *p == pattern);
    if pattern.starts_with("/admin/") {
        listed(ADMIN_WITH_400)
    } else {
        !listed(APP_WITHOUT_400)
    }
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, _| {
        ApiError::bad_request(format!("Invalid path: {}", echo_quoted(&err.to_string()))).into()
    })
}

/// The `{key}` of a `/users/{id}/…/{key}` route, read as `web::Path<KeySegment>`; the
/// `{id}` beside it is read through `auth::UserPath`, which holds it to the caller's scope.
#[derive(Deserialize)]
pub struct KeySegment {
    pub key: String,
}

/// The shared state and the tenant the request's key (and `Tenant-ID`) chose: what nearly
/// every handler reads first, as one extractor. Derefs to the state.
#[derive(Clone)]
pub struct TenantState {
    state: web::Data<AppState>,
    pub tenant: TenantId,
}

impl std::ops::Deref for TenantState {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.state
    }
}

impl TenantState {
    /// A body's user, once admitted for the caller, checked against the tenant's attributes.
    pub fn validated(&self, user: AdmittedUpsert) -> Result<UserUpsert, ApiError> {
        user.validate(&self.catalog.current(), self.tenant)
    }
}

impl FromRequest for TenantState {
    type Error = actix_web::Error;
    type Future = Ready<Result<TenantState, actix_web::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = web::Data::<AppState>::from_request(req, payload).into_inner();
        let tenant = Tenant::from_request(req, payload).into_inner();
        ready(match (state, tenant) {
            (Ok(state), Ok(Tenant(tenant))) => Ok(TenantState { state, tenant }),
            (Err(e), _) => Err(e),
            (_, Err(e)) => Err(e.into()),
        })
    }
}

/// `?userAttributes=key:value,…`: the filter of a list that takes one.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributesQuery {
    user_attributes: Option<String>,
}

impl AttributesQuery {
    /// The filter, if one was given (`domain::attribute_query`).
    pub fn filter(&self) -> Result<Option<Vec<(String, String)>>, ApiError> {
        self.user_attributes
            .as_deref()
            .map(attribute_query::parse)
            .transpose()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_body_is_400_only_where_the_spec_lists_400() {
        assert!(documents_400(&Method::POST, Some("/v1/users")));
        assert!(documents_400(
            &Method::POST,
            Some("/v1/metrics/{key}/event")
        ));
        assert!(!documents_400(
            &Method::POST,
            Some("/v1/achievements/{key}/complete")
        ));
        assert!(!documents_400(
            &Method::PATCH,
            Some("/v1/users/{id}/preferences")
        ));
        assert!(documents_400(
            &Method::POST,
            Some("/admin/v1/metrics/events")
        ));
        assert!(!documents_400(&Method::POST, Some("/admin/v1/metrics")));
        assert!(!documents_400(
            &Method::PATCH,
            Some("/admin/v1/points/{system}/levels")
        ));
        assert!(documents_400(&Method::POST, None));
    }
}
