//! `/health`, `/openapi.json` and `/metrics` (docs/interface.md#url-layout).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{parts, sample, spawn_app, CONFIG};

#[tokio::test]
async fn health_is_ok_without_a_key() {
    let app = spawn_app(CONFIG).await;
    let (status, body) = parts(
        app.client
            .get(app.url("/health"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok"}));
}

#[tokio::test]
async fn openapi_is_a_json_document() {
    let app = spawn_app(CONFIG).await;
    let resp = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = resp.json().await.expect("JSON");
    assert!(body["openapi"].is_string(), "openapi");
    let paths = body["paths"].as_object().expect("paths");
    for path in [
        "/v1/metrics/{key}/event",
        "/admin/v1/metrics/events",
        "/health",
    ] {
        assert!(paths.contains_key(path), "{path} in {:?}", paths.keys());
    }
    // Relative, so tools send requests to the server that served the document.
    assert_eq!(body["servers"], json!([{"url": "/"}]));
}

#[tokio::test]
async fn unknown_routes_are_404_json() {
    let app = spawn_app(CONFIG).await;
    let (status, body) = parts(
        app.client
            .get(app.url("/no/such/route"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string(), "{body}");
}

#[tokio::test]
async fn prometheus_metrics_count_requests_and_events() {
    let app = spawn_app(CONFIG).await;
    let text = app.metrics_text().await;
    for name in [
        "trophyd_http_requests_total",
        "trophyd_writer_queue_depth",
        "trophyd_events_applied_total",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert_eq!(sample(&text, "trophyd_events_applied_total"), 0.0);

    for i in 0..3 {
        let resp = app
            .post_event(
                "lessons",
                &json!({"user": {"id": "u1"}, "value": 1}),
                Some(&format!("k{i}")),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    // A replay and a failure are not applied events.
    let resp = app
        .post_event(
            "lessons",
            &json!({"user": {"id": "u1"}, "value": 1}),
            Some("k0"),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let resp = app
        .post_event("pushups", &json!({"user": {"id": "u1"}, "value": 1}), None)
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let text = app.metrics_text().await;
    assert_eq!(sample(&text, "trophyd_events_applied_total"), 3.0);
    assert_eq!(sample(&text, "trophyd_writer_queue_depth"), 0.0);
    let created: f64 = text
        .lines()
        .filter(|l| {
            l.starts_with("trophyd_http_requests_total{")
                && l.contains("/metrics/{key}/event")
                && l.contains("status=\"201\"")
        })
        .map(|l| {
            l.rsplit(' ')
                .next()
                .expect("value")
                .parse::<f64>()
                .expect("number")
        })
        .sum();
    assert_eq!(created, 3.0, "{text}");
}
