//! Length limits on what users send (issue #17, item 11; `src/domain/limits.rs`): past a
//! limit the request answers 422 with an error naming the field and the limit, and
//! nothing is stored; at the limit it is accepted.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::admin_support::admin;
use crate::helpers::{assert_error, parts, spawn_app, TestApp, CONFIG};

async fn refused(app: &TestApp, method: Method, path: &str, body: &Value, needle: &str) {
    let message = assert_error(
        app.send_json(method, path, body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        message.contains(needle),
        "{path}: {message:?} lacks {needle:?}"
    );
}

fn tokens(n: usize, len: usize) -> Vec<String> {
    (0..n).map(|i| format!("{i:0>len$}")).collect()
}

#[tokio::test]
async fn oversized_user_fields_are_refused_on_every_user_route() {
    let app = spawn_app(CONFIG).await;
    let cases = [
        (
            json!({"name": "n".repeat(1_000_000)}),
            "name must be at most 255 characters",
        ),
        (
            json!({"email": format!("{}@example.com", "e".repeat(320))}),
            "email must be at most 320 characters",
        ),
        (
            json!({"deviceTokens": tokens(50_000, 1)}),
            "deviceTokens must hold at most 20 tokens",
        ),
        (
            json!({"deviceTokens": ["ok", "t".repeat(4097)]}),
            "deviceTokens[1] must be at most 4096 characters",
        ),
        (
            json!({"attributes": {"plan": "p".repeat(256)}}),
            "attributes.plan must be at most 255 characters",
        ),
    ];
    for (fields, needle) in &cases {
        let mut user = fields.clone();
        user["id"] = json!("ann");
        refused(&app, Method::POST, "/v1/users", &user, needle).await;
        refused(&app, Method::PUT, "/v1/users/ann", fields, needle).await;
        let event = json!({"user": user, "value": 1});
        refused(
            &app,
            Method::POST,
            "/v1/metrics/lessons/event",
            &event,
            needle,
        )
        .await;
        let batch = json!([{"key": "lessons", "user": user, "value": 1}]);
        let (status, body) =
            admin(&app, Method::POST, "/admin/v1/metrics/events", Some(&batch)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let message = body["error"].as_str().expect("error");
        assert!(
            message.starts_with("events[0]: ") && message.contains(needle),
            "{message}"
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM users"), 0);
    assert_eq!(app.count("SELECT count(*) FROM events"), 0);

    // PATCH of an existing user: refused, and the user is as it was.
    let (status, _) = parts(
        app.send_json(
            Method::POST,
            "/v1/users",
            &json!({"id": "ann", "name": "Ann"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let before = app.user_row("ann");
    for (fields, needle) in &cases {
        refused(&app, Method::PATCH, "/v1/users/ann", fields, needle).await;
    }
    assert_eq!(app.user_row("ann"), before);
}

#[tokio::test]
async fn fields_at_their_limits_are_stored() {
    let app = spawn_app(CONFIG).await;
    let email = format!("{}@{}", "e".repeat(64), "d".repeat(255));
    assert_eq!(email.chars().count(), 320);
    let user = json!({
        "id": "u".repeat(1024),
        "name": "é".repeat(255),
        "email": email,
        "deviceTokens": tokens(20, 4096),
        "attributes": {"plan": "p".repeat(255)},
    });
    let (status, body) = parts(app.send_json(Method::POST, "/v1/users", &user).await).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["name"], user["name"]);
    assert_eq!(body["deviceTokens"].as_array().map(Vec::len), Some(20));
    let event = json!({
        "user": {"id": "bob"},
        "value": 1,
        "attributes": {"source": "s".repeat(255)},
    });
    let resp = app
        .post_event("lessons", &event, Some(&"k".repeat(255)))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn oversized_event_attributes_ids_and_keys_are_refused() {
    let app = spawn_app(CONFIG).await;
    let long_source =
        json!({"user": {"id": "bob"}, "value": 1, "attributes": {"source": "s".repeat(256)}});
    refused(
        &app,
        Method::POST,
        "/v1/metrics/lessons/event",
        &long_source,
        "attributes.source must be at most 255 characters",
    )
    .await;
    let long_id = json!({"user": {"id": "u".repeat(1025)}, "value": 1});
    refused(
        &app,
        Method::POST,
        "/v1/metrics/lessons/event",
        &long_id,
        "user id must be at most 1024 bytes",
    )
    .await;
    let ok = json!({"user": {"id": "bob"}, "value": 1});
    let message = assert_error(
        app.post_event("lessons", &ok, Some(&"k".repeat(256))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(message.contains("255"), "{message}");
    let batch = json!([{"key": "lessons", "user": {"id": "bob"}, "value": 1,
                        "attributes": {"source": "s".repeat(256)}}]);
    let (status, body) = admin(&app, Method::POST, "/admin/v1/metrics/events", Some(&batch)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["error"],
        "events[0]: attributes.source must be at most 255 characters"
    );
    assert_eq!(app.count("SELECT count(*) FROM events"), 0);
}

#[tokio::test]
async fn admin_names_and_tenant_fields_are_limited() {
    let app = spawn_app(CONFIG).await;
    let long = "n".repeat(256);
    let (status, body) = admin(
        &app,
        Method::POST,
        "/admin/v1/metrics",
        Some(&json!([{"key": "long-name", "name": long}, {"key": "fine", "name": "Fine"}])),
    )
    .await;
    assert!(status.is_success(), "{body}");
    assert_eq!(body["created"].as_array().map(Vec::len), Some(1), "{body}");
    let issue = body["issues"][0].to_string();
    assert!(issue.contains("at most 255 characters"), "{issue}");

    let (status, body) = admin(
        &app,
        Method::POST,
        "/admin/v1/tenants",
        Some(&json!([{"customerId": "c".repeat(256), "name": "Acme"},
                     {"customerId": "acme", "name": long}])),
    )
    .await;
    assert!(status.is_success(), "{body}");
    assert_eq!(body["created"], json!([]), "{body}");
    let issues = body["issues"].to_string();
    assert!(
        issues.contains("customerId must be at most 255 characters")
            && issues.contains("name must be at most 255 characters"),
        "{issues}"
    );
}
