//! `/_test/clock` (docs/interface.md#test-clock).

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{
    assert_error, is_iso_z, parts, spawn_app, spawn_app_without_test_clock, CONFIG, T0,
};

fn parse(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("RFC 3339").to_utc()
}

#[tokio::test]
async fn without_the_flag_the_route_is_404() {
    let app = spawn_app_without_test_clock(CONFIG).await;
    assert_error(
        app.admin_request(Method::GET, "/_test/clock")
            .send()
            .await
            .expect("request"),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_error(app.set_clock(T0).await, StatusCode::NOT_FOUND).await;
    // And events use the real time.
    let before = Utc::now();
    app.event_ok("lessons", "u1", 1.0).await;
    let (_, user) = app.get_json("/v1/users/u1").await;
    let created = parse(user["created"].as_str().expect("created"));
    assert!(
        (created - before).num_seconds().abs() <= 5,
        "{created} vs {before}"
    );
}

#[tokio::test]
async fn get_returns_now_starting_at_the_real_time() {
    let app = spawn_app(CONFIG).await;
    let now = app.clock_now().await;
    assert!(is_iso_z(&now), "{now}");
    assert!(
        (parse(&now) - Utc::now()).num_seconds().abs() <= 60,
        "{now}"
    );
    // It stands still.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(app.clock_now().await, now);
}

#[tokio::test]
async fn set_advance_and_refuse_the_past() {
    let app = spawn_app(CONFIG).await;
    let (status, body) = parts(app.set_clock(T0).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"now": T0}));
    assert_eq!(app.clock_now().await, T0);

    // Offsets are accepted and answered in UTC.
    let (status, body) = parts(app.set_clock("2031-03-01T12:30:00+01:00").await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"now": "2031-03-01T11:30:00Z"}));

    assert_error(
        app.set_clock("2031-03-01T11:29:59Z").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(app.clock_now().await, "2031-03-01T11:30:00Z");

    let (status, body) = parts(app.advance(86_400).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"now": "2031-03-02T11:30:00Z"}));
    assert_eq!(app.clock_now().await, "2031-03-02T11:30:00Z");

    // Setting the same time again is not a move backwards.
    let (status, _) = parts(app.set_clock("2031-03-02T11:30:00Z").await).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_clock_needs_the_admin_key() {
    let app = spawn_app(CONFIG).await;
    let before = app.clock_now().await;
    for key in [Some(app.app_key.as_str()), Some("wrong"), None] {
        let mut rb = app
            .client
            .post(app.url("/_test/clock"))
            .json(&json!({"now": T0}));
        if let Some(key) = key {
            rb = rb.header("X-API-KEY", key);
        }
        assert_error(rb.send().await.expect("request"), StatusCode::UNAUTHORIZED).await;
        let mut rb = app.client.get(app.url("/_test/clock"));
        if let Some(key) = key {
            rb = rb.header("X-API-KEY", key);
        }
        assert_error(rb.send().await.expect("request"), StatusCode::UNAUTHORIZED).await;
    }
    assert_eq!(app.clock_now().await, before);
}

#[tokio::test]
async fn events_take_their_time_from_the_clock() {
    let app = spawn_app(CONFIG).await;
    app.set_clock_ok(T0).await;
    app.event_ok("lessons", "u1", 1.0).await;
    assert_eq!(app.advance(90).await.status(), StatusCode::OK);
    app.event_ok("lessons", "u1", 1.0).await;
    let (_, user) = app.get_json("/v1/users/u1").await;
    assert_eq!(user["created"], json!(T0));
    assert_eq!(user["updated"], json!("2031-03-01T10:31:30Z"));
    let conn = app.db();
    let mut stmt = conn
        .prepare("SELECT at FROM events ORDER BY id")
        .expect("prepare");
    let times: Vec<i64> = stmt
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    let t0 = parse(T0).timestamp_millis();
    assert_eq!(times, vec![t0, t0 + 90_000]);
}

#[tokio::test]
async fn the_clock_survives_a_restart() {
    let app = spawn_app(CONFIG).await;
    app.set_clock_ok("2031-06-01T00:00:00Z").await;
    let app = app.restart().await;
    let now = app.clock_now().await;
    assert!(
        parse(&now) >= parse("2031-06-01T00:00:00Z"),
        "the clock went back to {now}"
    );
    assert_error(
        app.set_clock("2031-05-31T23:59:59Z").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}
