//! The embedded operator dashboard: `/` redirects to `/dashboard/`, which serves the static
//! files of `assets/dashboard/` compiled into the binary (they hold no data, so no key is
//! needed to load them), and `GET /dashboard/api/overview` answers the counts the Admin API
//! has no route for. A user's page reads through `dashboard_users`; everything else the
//! dashboard shows comes from `/admin/v1`.

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Compress;
use actix_web::{guard, web, HttpRequest, HttpResponse};
use serde_json::json;

use super::extract::TenantState;
use crate::activity;
use crate::clock::format_timestamp;
use crate::error::ApiError;
use crate::store::overview;

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const INDEX: &str = "index.html";

/// An embedded file of `assets/dashboard/`, by its name there.
macro_rules! asset {
    ($name:literal, $content_type:literal) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../../assets/dashboard/", $name)),
        }
    };
}

const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("api.js", "text/javascript; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
];

/// Only the server's own files: no inline script or style, no other origin.
pub const CSP: &str = "default-src 'self'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    // HEAD as GET (actix sends no body for it): monitors and `curl -I` probe with HEAD.
    let get_or_head = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
    // The files are gzipped for a client that accepts it (app.js is most of the weight).
    cfg.route("/", get_or_head().to(to_dashboard))
        .route("/dashboard", get_or_head().to(to_dashboard))
        .service(
            web::resource("/dashboard/")
                .wrap(Compress::default())
                .route(get_or_head().to(index)),
        )
        .service(
            web::resource("/dashboard/{file}")
                .wrap(Compress::default())
                .route(get_or_head().to(asset)),
        );
}

async fn to_dashboard() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, "/dashboard/"))
        .finish()
}

/// A strong validator per embedded file: the start of its SHA-256, computed once.
fn etag(asset: &Asset) -> &'static str {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let digest = ring::digest::digest(&ring::digest::SHA256, a.body);
                format!("\"{}\"", &hex::encode(digest.as_ref())[..20])
            })
            .collect()
    });
    ASSETS
        .iter()
        .position(|a| a.name == asset.name)
        .and_then(|i| tags.get(i))
        .map_or("\"\"", String::as_str)
}

/// Whether the client's `If-None-Match` names `tag` (or is `*`).
fn unchanged(req: &HttpRequest, tag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == tag || t == "*")
}

/// The file, or 304 when the client already holds this version. `no-cache` makes the
/// browser ask every time; the ETag makes the answer a few bytes when nothing changed.
fn serve(req: &HttpRequest, asset: &Asset) -> HttpResponse {
    let tag = etag(asset);
    if unchanged(req, tag) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, tag))
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .finish();
    }
    HttpResponse::Ok()
        .insert_header((header::ETAG, tag))
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        ))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(asset.body)
}

fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

async fn index(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    find(INDEX)
        .map(|a| serve(&req, a))
        .ok_or_else(|| ApiError::internal("the dashboard index is not embedded"))
}

async fn asset(req: HttpRequest, file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    find(&file)
        .map(|a| serve(&req, a))
        .ok_or_else(|| ApiError::not_found("Not found"))
}

/// Counts for the tenant the request names, read in one snapshot. Webhook deliveries are
/// the server's (endpoints are configured for the whole server).
pub(super) async fn overview(state: TenantState) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let since_ms = (now - chrono::Duration::hours(24)).timestamp_millis();
    let (users, events, points, definitions, deliveries, keys) = state
        .read(move |conn| {
            let conn = &conn.unchecked_transaction()?;
            Ok((
                overview::users(conn, state.tenant)?,
                activity::store::events(conn, state.tenant, since_ms)?,
                activity::store::points(conn, state.tenant)?,
                overview::definitions(conn, state.tenant)?,
                overview::deliveries(conn)?,
                overview::application_keys(conn, state.tenant)?,
            ))
        })
        .await?;
    let streak = state.settings.streaks.current();
    let frequency = streak.as_deref().map(|s| s.frequency.name());
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "now": format_timestamp(now),
            "multiTenant": state.settings.multi_tenant(),
            "users": users,
            "events": events,
            "points": points,
            "definitions": definitions,
            "streak": {
                "configured": streak.is_some(),
                "frequency": frequency,
                // What manages them, if not the Admin API: the embedded demo config is not
                // a trophy.toml.
                "managedBy": state
                    .settings
                    .streaks
                    .managed_by_file()
                    .then(|| state.settings.source.manager()),
            },
            "webhookDeliveries": deliveries,
            "applicationApiKeys": keys,
        })))
}
