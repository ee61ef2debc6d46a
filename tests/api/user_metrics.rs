//! `GET /v1/users/{id}/metrics` and `/v1/users/{id}/metrics/{key}`
//! (docs/behaviour/users-and-events.md#reading-metrics).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, assert_json_eq, parts, spawn_app, CONFIG};

fn metric(app: &crate::helpers::TestApp, key: &str, name: &str, current: f64) -> Value {
    json!({
        "id": app.definition_uuid("metric", key),
        "key": key,
        "name": name,
        "status": "active",
        "current": current,
        "achievements": []
    })
}

fn by_key(list: &Value) -> Vec<Value> {
    let mut items = list.as_array().expect("a list").clone();
    items.sort_by(|a, b| a["key"].as_str().cmp(&b["key"].as_str()));
    items
}

#[tokio::test]
async fn every_active_metric_is_listed_with_its_total() {
    let app = spawn_app(CONFIG).await;
    app.event_ok("lessons", "u1", 2.0).await;
    app.event_ok("lessons", "u1", 1.5).await;
    let (status, body) = app.get_json("/v1/users/u1/metrics").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_json_eq(
        &Value::Array(by_key(&body)),
        &json!([
            metric(&app, "lessons", "Lessons completed", 3.5),
            metric(&app, "minutes", "Minutes practised", 0.0),
        ]),
    );
}

#[tokio::test]
async fn a_user_without_events_has_zero_everywhere() {
    let app = spawn_app(CONFIG).await;
    let (status, _) = parts(
        app.send_json(Method::POST, "/v1/users", &json!({"id": "quiet"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = app.get_json("/v1/users/quiet/metrics").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_json_eq(
        &Value::Array(by_key(&body)),
        &json!([
            metric(&app, "lessons", "Lessons completed", 0.0),
            metric(&app, "minutes", "Minutes practised", 0.0),
        ]),
    );
}

#[tokio::test]
async fn a_single_metric_and_its_404s() {
    let app = spawn_app(CONFIG).await;
    app.event_ok("minutes", "u1", 12.0).await;
    let (status, body) = app.get_json("/v1/users/u1/metrics/minutes").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_json_eq(&body, &metric(&app, "minutes", "Minutes practised", 12.0));
    let (status, body) = app.get_json("/v1/users/u1/metrics/lessons").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_json_eq(&body, &metric(&app, "lessons", "Lessons completed", 0.0));

    assert_error(
        app.get("/v1/users/ghost/metrics").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_error(
        app.get("/v1/users/ghost/metrics/lessons").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_error(
        app.get("/v1/users/u1/metrics/pushups").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Reads create nobody.
    assert_eq!(app.count("SELECT count(*) FROM users"), 1);
}
