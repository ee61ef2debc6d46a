//! `GET/PATCH /admin/v1/settings` and `GET /admin/v1/environments`.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::admin_support::admin;
use crate::helpers::{spawn_app, CONFIG};

#[tokio::test]
async fn settings_patch_merges_persists_and_places_new_users() {
    let app = spawn_app(CONFIG).await;
    let (status, initial) = admin(&app, Method::GET, "/admin/v1/settings", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(initial["experimentation"]["controlRatio"], 0);
    assert_eq!(initial["aggregationPeriod"], "weekly");
    assert_eq!(initial["branding"]["font"], "MODERN_SANS");

    let (status, patched) = admin(
        &app,
        Method::PATCH,
        "/admin/v1/settings",
        Some(
            &json!({"branding": {"appName": "Lingo", "brandColor": "#12ab34",
                                  "appIcon": {"url": "https://x/i.png"}},
                     "experimentation": {"controlRatio": 100},
                     "aggregationPeriod": "monthly"}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["branding"]["appName"], "Lingo");
    assert_eq!(
        patched["branding"]["appIcon"],
        json!({"url": "https://x/i.png"})
    );
    assert_eq!(patched["branding"]["font"], "MODERN_SANS");
    assert_eq!(patched["experimentation"]["userActivationWindow"], 7);

    // Every new user now lands in the control group.
    app.event_ok("lessons", "ann", 1.0).await;
    let (_, ann) = app.get_json("/v1/users/ann").await;
    assert_eq!(ann["control"], true);

    for (body, status) in [
        (
            json!({"experimentation": {"controlRatio": 150}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"branding": {"brandColor": "teal"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"aggregationPeriod": 7}), StatusCode::BAD_REQUEST),
    ] {
        let (got, reply) = admin(&app, Method::PATCH, "/admin/v1/settings", Some(&body)).await;
        assert_eq!(got, status, "{reply}");
    }
    let app = app.restart().await;
    let (_, after) = admin(&app, Method::GET, "/admin/v1/settings", None).await;
    assert_eq!(after, patched);
}

#[tokio::test]
async fn one_environment_is_listed_with_the_production_priority() {
    let app = spawn_app(CONFIG).await;
    let (status, body) = admin(&app, Method::GET, "/admin/v1/environments", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!([{"name": "Production", "key": "production", "priority": 1}])
    );
}
