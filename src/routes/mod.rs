//! HTTP routes, one module per group. Handlers stay thin: parse input into domain types,
//! hand a command to the writer or a query to a reader, shape the reply.

mod achievements;
mod admin;
mod dashboard;
mod dashboard_activity;
mod dashboard_channels;
mod dashboard_definitions;
mod dashboard_deliveries;
mod dashboard_engagement;
mod dashboard_runs;
mod dashboard_streaks;
mod dashboard_support;
mod dashboard_users;
mod events;
mod extract;
mod guard;
mod health;
mod leaderboards;
mod openapi;
mod points;
mod preferences;
mod prometheus;
mod streaks;
mod test_clock;
mod unsubscribe;
mod user_metrics;
mod users;
mod wrapped;

use actix_web::web;

use crate::auth::{RequireKey, Tier};

pub use extract::{json_config, path_config, query_config};
pub use guard::{guard, BodyLimits};

/// Every route. `test_clock` adds `/_test/clock`, which otherwise answers 404.
pub fn configure(cfg: &mut web::ServiceConfig, test_clock: bool) {
    cfg.route("/health", web::get().to(health::health))
        .route("/openapi.json", web::get().to(openapi::openapi))
        .route("/metrics", web::get().to(prometheus::metrics))
        .configure(dashboard::configure)
        .configure(console_routes)
        .service(
            // The console shows a user as the application API answers for them, read with
            // the admin key. Reads only: it changes state through /admin/v1.
            web::scope("/dashboard/api/app")
                .guard(actix_web::guard::Get())
                // The admin key's tier wherever it is used, as on /admin/v1.
                .wrap(RequireKey::admin(Tier::Writes))
                .configure(application_routes),
        )
        .configure(unsubscribe::configure)
        .service(
            web::scope("/v1")
                // Trophy's tier 1 (docs/behaviour/api.md#rate-limits): recording an event and
                // completing an achievement, each resource wrapped with
                // `RequireKey::application(Tier::Writes)` in its module. They come first
                // because the group below has an empty prefix, and a scope takes every path
                // under its prefix (what it does not route is a 404, not a fall-through).
                .configure(events::configure)
                .configure(achievements::configure_writes)
                .service(
                    web::scope("")
                        .wrap(RequireKey::application(Tier::Reads))
                        .configure(application_routes),
                ),
        )
        .service(
            web::scope("/admin/v1")
                .wrap(RequireKey::admin(Tier::Writes))
                .configure(admin::configure),
        );
    if test_clock {
        cfg.service(
            web::resource("/_test/clock")
                .wrap(RequireKey::admin(Tier::Writes))
                .route(web::get().to(test_clock::get))
                .route(web::post().to(test_clock::set)),
        );
    }
}

/// The console's own API: its reads and the support actions the Admin API lacks, each with
/// the admin key at the admin key's tier, as on /admin/v1. Its pages and files are
/// `dashboard::configure`'s.
fn console_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        console_resource("/dashboard/api/overview").route(web::get().to(dashboard::overview)),
    )
    .service(console_resource("/dashboard/api/users").route(web::get().to(dashboard_users::search)))
    .service(
        console_resource("/dashboard/api/users/{id}/events")
            .route(web::get().to(dashboard_users::events)),
    )
    .service(
        console_resource("/dashboard/api/activity")
            .route(web::get().to(dashboard_activity::activity_per_day)),
    )
    .service(
        console_resource("/dashboard/api/managed")
            .route(web::get().to(dashboard_definitions::managed)),
    )
    .service(
        console_resource("/dashboard/api/engagement")
            .route(web::get().to(dashboard_engagement::engagement)),
    )
    .service(
        console_resource("/dashboard/api/streaks").route(web::get().to(dashboard_streaks::streaks)),
    )
    .service(
        console_resource("/dashboard/api/deliveries")
            .route(web::get().to(dashboard_deliveries::deliveries)),
    )
    .service(
        console_resource("/dashboard/api/channels")
            .route(web::get().to(dashboard_channels::channels)),
    )
    .service(
        console_resource("/dashboard/api/leaderboards/{key}/runs")
            .route(web::get().to(dashboard_runs::runs)),
    )
    .service(
        console_resource("/dashboard/api/users/{id}/keys")
            .route(web::get().to(dashboard_support::keys)),
    )
    .service(
        console_resource("/dashboard/api/users/{id}/achievements/{key}/complete")
            .route(web::post().to(dashboard_support::complete)),
    );
}

/// A resource of the console's API: the admin key, at the admin key's tier.
fn console_resource(
    path: &str,
) -> actix_web::Resource<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::resource(path).wrap(RequireKey::admin(Tier::Writes))
}

/// The application API's routes but its writes (`events::configure`,
/// `achievements::configure_writes`), which draw on another rate tier.
fn application_routes(cfg: &mut web::ServiceConfig) {
    // First: rank reads are the hottest reads, and routes are matched in order.
    cfg.configure(leaderboards::configure)
        .configure(users::configure)
        .configure(achievements::configure)
        .configure(preferences::configure)
        .configure(user_metrics::configure)
        .configure(streaks::configure)
        .configure(points::configure)
        .configure(wrapped::configure);
}

/// Unknown routes answer like every other error.
pub async fn not_found() -> Result<actix_web::HttpResponse, crate::error::ApiError> {
    Err(crate::error::ApiError::not_found("Not found"))
}

/// Routing answers a method a path does not take with an empty 405; every error of this API
/// has an `{"error": ...}` body, so that one gets one too.
pub fn method_not_allowed<B>(
    res: actix_web::dev::ServiceResponse<B>,
) -> actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>> {
    let (req, _) = res.into_parts();
    let res = actix_web::HttpResponse::MethodNotAllowed().json(serde_json::json!({
        "error": format!("Method {} is not allowed on {}", req.method(), req.path())
    }));
    Ok(actix_web::middleware::ErrorHandlerResponse::Response(
        actix_web::dev::ServiceResponse::new(req, res).map_into_right_body(),
    ))
}

/// Counts every request by route pattern and status for `/metrics`.
pub async fn record_request(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let state = req.app_data::<web::Data<crate::state::AppState>>().cloned();
    let method = req.method().to_string();
    let response = next.call(req).await;
    if let Some(state) = state {
        let (route, status) = match &response {
            Ok(res) => (
                res.request()
                    .match_pattern()
                    .unwrap_or_else(|| "unmatched".into()),
                res.status().as_u16(),
            ),
            Err(e) => (
                "unmatched".into(),
                e.as_response_error().status_code().as_u16(),
            ),
        };
        state
            .telemetry
            .record_request(route, method, status, started.elapsed());
    }
    response
}

#[cfg(test)]
mod tests {
    /// The modules `configure` registers under `/v1`: those `application_routes` names and
    /// those the `/v1` scope adds itself.
    fn application_modules() -> Vec<String> {
        let text = include_str!("mod.rs");
        let block = |start: &str, end: &str| -> &str {
            let from = text.find(start).expect("start of block");
            let to = text[from..].find(end).map_or(text.len(), |e| from + e);
            &text[from..to]
        };
        let blocks = [
            block("fn application_routes", "\n}\n"),
            block("web::scope(\"/v1\")", "web::scope(\"/admin/v1\")"),
        ];
        let mut out: Vec<String> = blocks
            .iter()
            .flat_map(|b| b.match_indices("::configure").map(move |(at, _)| &b[..at]))
            .map(|before| {
                before
                    .chars()
                    .rev()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect::<String>()
                    .chars()
                    .rev()
                    .collect()
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// A per-user key is held to its user where an application handler reads an id
    /// (`auth::UserPath`, `UserScope`, `UpsertedUserInput::admit`). These are the other
    /// ways to read one, which the application modules must not use: parsing an id
    /// directly, a body's user taken unscoped, a path read whole or by hand (the only path
    /// extractor beside `UserPath` is `web::Path<KeySegment>`, which has no `{id}`).
    #[test]
    fn application_handlers_read_user_ids_only_through_the_scope() {
        let modules = application_modules();
        for expected in ["users", "events", "achievements", "streaks", "points"] {
            assert!(modules.iter().any(|m| m == expected), "{modules:?}");
        }
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/routes/");
        for module in &modules {
            let path = format!("{dir}{module}.rs");
            let text = std::fs::read_to_string(&path).expect("route module");
            let code = text.split("#[cfg(test)]").next().unwrap_or(&text);
            for banned in ["UserId::parse", ".unscoped()", "match_info"] {
                assert!(!code.contains(banned), "{path} uses {banned}");
            }
            for (at, _) in code.match_indices("web::Path<") {
                assert!(
                    code[at..].starts_with("web::Path<KeySegment>"),
                    "{path} reads a path other than through UserPath or KeySegment"
                );
            }
        }
    }
}
