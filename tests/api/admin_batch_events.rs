//! `POST /admin/v1/metrics/events`: up to 1,000 events applied in order, each with its own
//! idempotency key (a replayed batch applies nothing), 404 for an unknown metric and 422
//! for bad input, both changing nothing.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::admin_support::admin;
use crate::helpers::{spawn_app, CONFIG};

#[tokio::test]
async fn a_batch_applies_in_order_and_a_replay_applies_once() {
    let app = spawn_app(CONFIG).await;
    let batch = json!([
        {"key": "lessons", "user": {"id": "ann", "tz": "Asia/Kolkata"}, "value": 2, "idempotencyKey": "a1"},
        {"key": "lessons", "user": {"id": "ann"}, "value": 3, "idempotencyKey": "a2",
         "attributes": {"source": "web"}},
        {"key": "minutes", "user": {"id": "bob"}, "value": 7.5},
        {"key": "lessons", "user": {"id": "ann"}, "value": 100, "idempotencyKey": "a1"}
    ]);
    let (status, body) = admin(&app, Method::POST, "/admin/v1/metrics/events", Some(&batch)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body, json!({ "accepted": 4 }));
    assert_eq!(app.total("ann", "lessons").await, 5.0);
    assert_eq!(app.total("bob", "minutes").await, 7.5);
    let (_, ann) = app.get_json("/v1/users/ann").await;
    assert_eq!(ann["tz"], "Asia/Kolkata");
    // Stored in the order sent.
    let values: Vec<f64> = {
        let db = app.db();
        let mut stmt = db
            .prepare("SELECT value FROM events ORDER BY id")
            .expect("prepare");
        let rows = stmt.query_map([], |r| r.get(0)).expect("query");
        rows.map(|v| v.expect("value")).collect()
    };
    assert_eq!(values, vec![2.0, 3.0, 7.5]);

    let (status, body) = admin(&app, Method::POST, "/admin/v1/metrics/events", Some(&batch)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["accepted"], 4);
    assert_eq!(app.total("ann", "lessons").await, 5.0);
    // The event without a key is not idempotent.
    assert_eq!(app.total("bob", "minutes").await, 15.0);
    assert_eq!(app.count("SELECT count(*) FROM events"), 4);
}

#[tokio::test]
async fn bad_batches_change_nothing() {
    let app = spawn_app(CONFIG).await;
    let one = |key: &str| json!({"key": key, "user": {"id": "ann"}, "value": 1});
    let too_many: Vec<Value> = (0..1001).map(|_| one("lessons")).collect();
    let full: Vec<Value> = (0..1000).map(|_| one("lessons")).collect();
    for (batch, status) in [
        (json!([one("lessons"), one("nope")]), StatusCode::NOT_FOUND),
        (json!(too_many), StatusCode::UNPROCESSABLE_ENTITY),
        (json!([]), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!([one("lessons"), {"key": "lessons", "user": {"id": "ann"}, "value": 1,
                   "attributes": {"device": "x"}}]),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!([{"key": "lessons", "user": {"id": "ann", "tz": "Mars/Base"}, "value": 1}]),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!([{"key": "lessons", "value": 1}]),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"key": "lessons"}), StatusCode::BAD_REQUEST),
    ] {
        let (got, body) = admin(&app, Method::POST, "/admin/v1/metrics/events", Some(&batch)).await;
        assert_eq!(got, status, "{body}");
        assert!(body["error"].is_string(), "{body}");
    }
    assert_eq!(app.count("SELECT count(*) FROM events"), 0);
    assert_eq!(app.count("SELECT count(*) FROM users"), 0);
    let (status, body) = admin(
        &app,
        Method::POST,
        "/admin/v1/metrics/events",
        Some(&json!(full)),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["accepted"], 1000);
    assert_eq!(app.total("ann", "lessons").await, 1000.0);
}
