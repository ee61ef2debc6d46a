//! The extractors through which application handlers learn whom a request acts for. The
//! rule itself is `domain::user_scope` (pure); here it meets the request: the scope the key
//! middleware put in the request's extensions, and the `{id}` the router matched. Because
//! the check sits where the id is read, nothing has to be kept in step with the routes.

use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use serde::Deserialize;

use super::middleware::RequestContext;
use crate::domain::user_id::UserId;
use crate::domain::user_scope::UserScope;
use crate::error::ApiError;

fn scope_of(req: &HttpRequest) -> Result<UserScope, ApiError> {
    req.extensions()
        .get::<RequestContext>()
        .map(|ctx| ctx.users.clone())
        // Fails closed: a route registered outside the key middleware acts for no one.
        .ok_or_else(|| ApiError::internal("route is missing the key middleware"))
}

/// Whom the caller may act for, for ids a handler finds in a query or a body.
impl FromRequest for UserScope {
    type Error = ApiError;
    type Future = Ready<Result<UserScope, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(scope_of(req))
    }
}

/// The `{id}` of a `/users/{id}/…` route, admitted by the caller's scope: 403 for another
/// user's id, then the parse of [`UserId`] (400/422).
#[derive(Debug)]
pub struct UserPath(pub UserId);

#[derive(Deserialize)]
struct IdSegment {
    id: String,
}

impl FromRequest for UserPath {
    type Error = ApiError;
    type Future = Ready<Result<UserPath, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(user_path(req))
    }
}

fn user_path(req: &HttpRequest) -> Result<UserPath, ApiError> {
    let scope = scope_of(req)?;
    // Decoded as `web::Path` decodes it (`%XX`, and `+` stays a plus), so the id checked
    // is the id the handler acts on.
    let segment: IdSegment = req
        .match_info()
        .load()
        .map_err(|_| ApiError::internal("route has no {id} segment"))?;
    Ok(UserPath(scope.admit(&segment.id)?))
}
