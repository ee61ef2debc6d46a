//! Key checks on every `/v1` and `/admin/v1` route, plus the rate limit. The tenant is
//! resolved by the `Tenant` extractor so routes that manage tenants can do without one.

use std::future::{ready, Ready};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use super::gate::Gate;
use super::keyring::{sha256, KeyKind};
use super::rate_limit::Tier;
use crate::domain::user_scope::{UserScope, NOT_YOUR_USER};
use crate::error::ApiError;

/// What the middleware learned about the caller, for handlers to extract.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub kind: KeyKind,
    tenant: Result<i64, String>,
    tenant_missing: bool,
    /// Whom the key may act for, read by the `UserScope` and `UserPath` extractors.
    pub(super) users: UserScope,
}

/// The tenant a request acts for. Extracting it fails with 400 (header missing in
/// multi-tenant mode) or 404 (unknown tenant).
#[derive(Debug, Clone, Copy)]
pub struct Tenant(pub i64);

impl FromRequest for Tenant {
    type Error = ApiError;
    type Future = Ready<Result<Tenant, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let result = match req.extensions().get::<RequestContext>() {
            Some(ctx) => match &ctx.tenant {
                Ok(id) => Ok(Tenant(*id)),
                Err(msg) if ctx.tenant_missing => Err(ApiError::bad_request(msg.clone())),
                Err(msg) => Err(ApiError::not_found(msg.clone())),
            },
            None => Err(ApiError::internal("route is missing the key middleware")),
        };
        ready(result)
    }
}

fn tier_of(req: &ServiceRequest, kind: KeyKind) -> Tier {
    let path = req.path();
    let write = kind == KeyKind::Admin
        || (req.method() == actix_web::http::Method::POST
            && (path.ends_with("/event") || path.ends_with("/complete")));
    if write {
        Tier::Writes
    } else {
        Tier::Reads
    }
}

fn authenticate(req: &ServiceRequest, wanted: KeyKind) -> Result<(), ApiError> {
    let state = req
        .app_data::<web::Data<Gate>>()
        .ok_or_else(|| ApiError::internal("authentication state missing"))?;
    let presented = req
        .headers()
        .get("X-API-KEY")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::Unauthorized("Missing API key".into()))?;
    let kind = state.keys.check(presented);
    let user_key = match kind {
        None => state.user_keys.find(presented),
        Some(_) => None,
    };
    match (kind, &user_key, wanted) {
        (Some(kind), _, wanted) if kind == wanted => {}
        (None, Some(_), KeyKind::Application) => {}
        (None, Some(_), KeyKind::Admin) => {
            return Err(ApiError::Forbidden(
                "Per-user application keys cannot use the Admin API".into(),
            ))
        }
        _ => return Err(ApiError::Unauthorized("Invalid API key".into())),
    }
    state
        .rate_limiter
        .take(sha256(presented), tier_of(req, wanted), Instant::now())
        .map_err(|retry_after_secs| ApiError::TooManyRequests { retry_after_secs })?;
    let header = req.headers().get("Tenant-ID").and_then(|v| v.to_str().ok());
    let multi = state.multi_tenant;
    let tenant_missing = multi && header.map(str::trim).is_none_or(str::is_empty);
    let tenant = state
        .tenants
        .resolve(multi, header)
        .map_err(|e| e.to_string());
    if let (Some(key), Ok(tenant)) = (&user_key, &tenant) {
        if key.tenant != *tenant {
            return Err(ApiError::Forbidden(NOT_YOUR_USER.into()));
        }
    }
    let users = match user_key {
        Some(key) => UserScope::One(key.user_id),
        None => UserScope::Every,
    };
    req.extensions_mut().insert(RequestContext {
        kind: wanted,
        tenant,
        tenant_missing,
        users,
    });
    Ok(())
}

/// Which users the key may act for is not checked here: handlers read user ids only
/// through the `UserScope` and `UserPath` extractors, which check it.
pub async fn require_app_key(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    authenticate(&req, KeyKind::Application)?;
    next.call(req).await
}

pub async fn require_admin_key(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    authenticate(&req, KeyKind::Admin)?;
    next.call(req).await
}
