//! Key checks on every `/v1`, `/admin/v1` and console route, plus the rate limit of the
//! tier each group of routes is registered with. The tenant is resolved by the `Tenant`
//! extractor so routes that manage tenants can do without one.

use std::future::{ready, Ready};
use std::time::Instant;

use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::Either;

use super::gate::Gate;
use super::keyring::{sha256, KeyKind};
use super::rate_limit::Tier;
use crate::domain::ids::TenantId;
use crate::domain::user_scope::{UserScope, NOT_YOUR_USER};
use crate::error::ApiError;

/// What the middleware learned about the caller, for handlers to extract.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub kind: KeyKind,
    tenant: Result<TenantId, String>,
    tenant_missing: bool,
    /// Whom the key may act for, read by the `UserScope` and `UserPath` extractors.
    pub(super) users: UserScope,
}

/// The tenant a request acts for. Extracting it fails with 400 (header missing in
/// multi-tenant mode) or 404 (unknown tenant).
#[derive(Debug, Clone, Copy)]
pub struct Tenant(pub TenantId);

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

/// The key check of a group of routes and the rate tier its requests draw on, both given
/// where the routes are registered (`routes/mod.rs`, `routes/events.rs`):
/// `.wrap(RequireKey::application(Tier::Writes))`. In order: 401 for a missing or wrong key
/// (403 for a per-user key on the Admin API), 429 from the tier's bucket, 403 for a
/// per-user key sent with another tenant. Which users a per-user key may act for is not
/// checked here: handlers read user ids only through the `UserScope` and `UserPath`
/// extractors, which check it.
#[derive(Debug, Clone, Copy)]
pub struct RequireKey {
    kind: KeyKind,
    tier: Tier,
}

impl RequireKey {
    /// An organisation application key or a per-user key.
    pub fn application(tier: Tier) -> RequireKey {
        RequireKey {
            kind: KeyKind::Application,
            tier,
        }
    }

    /// An admin key.
    pub fn admin(tier: Tier) -> RequireKey {
        RequireKey {
            kind: KeyKind::Admin,
            tier,
        }
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequireKey
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = RequireKeyService<S>;
    type InitError = ();
    type Future = Ready<Result<RequireKeyService<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireKeyService {
            service,
            check: *self,
        }))
    }
}

pub struct RequireKeyService<S> {
    service: S,
    check: RequireKey,
}

impl<S, B> Service<ServiceRequest> for RequireKeyService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Either<Ready<Result<ServiceResponse<B>, actix_web::Error>>, S::Future>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        // The check reads headers only, so it needs no future of its own.
        match authenticate(&req, self.check) {
            Ok(()) => Either::Right(self.service.call(req)),
            Err(e) => Either::Left(ready(Err(e.into()))),
        }
    }
}

fn authenticate(req: &ServiceRequest, check: RequireKey) -> Result<(), ApiError> {
    let wanted = check.kind;
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
        .take(sha256(presented), check.tier, Instant::now())
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
