//! `Idempotency-Key` on events (docs/behaviour/users-and-events.md#idempotency): scoped per
//! user and metric, replays answer 202 and change nothing, failed requests do not consume
//! the key.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, assert_json_eq, parts, spawn_app, CONFIG, T0};

fn event(user: &str, value: f64) -> Value {
    json!({"user": {"id": user}, "value": value})
}

#[tokio::test]
async fn first_use_is_201_and_a_replay_is_202_with_the_same_event() {
    let app = spawn_app(CONFIG).await;
    app.set_clock_ok(T0).await;
    let (status, first) = parts(
        app.post_event("minutes", &event("u1", 3.0), Some("k-1"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["idempotencyKey"], json!("k-1"));
    assert_eq!(first["idempotentReplayed"], json!(false));
    assert_eq!(first["total"].as_f64(), Some(3.0));

    app.set_clock_ok("2031-03-01T12:00:00Z").await;
    let (status, replay) = parts(
        app.post_event("minutes", &event("u1", 3.0), Some("k-1"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{replay}");
    assert_json_eq(
        &replay,
        &json!({
            "eventId": first["eventId"],
            "metricId": first["metricId"],
            "total": 3.0,
            "achievements": [],
            "currentStreak": {
                "length": 0, "frequency": "daily", "started": null,
                "periodStart": "2031-03-01", "periodEnd": "2031-03-01",
                "expires": null, "extended": false
            },
            "points": {},
            "leaderboards": {},
            "idempotencyKey": "k-1",
            "idempotentReplayed": true
        }),
    );
    // A replay with a different value is still a replay.
    let (status, again) = parts(
        app.post_event("minutes", &event("u1", 50.0), Some("k-1"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    assert_eq!(again["eventId"], first["eventId"]);
    assert_eq!(again["total"].as_f64(), Some(3.0));

    assert_eq!(app.count("SELECT count(*) FROM events"), 1);
    assert_eq!(app.count("SELECT count(*) FROM idempotency_keys"), 1);
    assert_eq!(app.total("u1", "minutes").await, 3.0);
}

#[tokio::test]
async fn a_replay_reports_the_current_total() {
    let app = spawn_app(CONFIG).await;
    app.post_event("lessons", &event("u1", 1.0), Some("a"))
        .await;
    app.event_ok("lessons", "u1", 4.0).await;
    let (status, replay) = parts(
        app.post_event("lessons", &event("u1", 1.0), Some("a"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(replay["total"].as_f64(), Some(5.0));
    assert_eq!(app.count("SELECT count(*) FROM events"), 2);
}

#[tokio::test]
async fn the_same_key_on_another_metric_or_user_is_a_new_event() {
    let app = spawn_app(CONFIG).await;
    let (status, a) = parts(
        app.post_event("lessons", &event("u1", 1.0), Some("k"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, b) = parts(
        app.post_event("minutes", &event("u1", 1.0), Some("k"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    assert_eq!(b["idempotentReplayed"], json!(false));
    let (status, c) = parts(
        app.post_event("lessons", &event("u2", 1.0), Some("k"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{c}");
    assert_eq!(c["idempotentReplayed"], json!(false));
    assert_ne!(a["eventId"], b["eventId"]);
    assert_ne!(a["eventId"], c["eventId"]);
    assert_ne!(b["eventId"], c["eventId"]);
    assert_eq!(app.count("SELECT count(*) FROM events"), 3);
    // Each of them replays on its own scope.
    for (metric, user, original) in [
        ("lessons", "u1", &a),
        ("minutes", "u1", &b),
        ("lessons", "u2", &c),
    ] {
        let (status, replay) =
            parts(app.post_event(metric, &event(user, 1.0), Some("k")).await).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{metric} {user}");
        assert_eq!(replay["eventId"], original["eventId"]);
    }
    assert_eq!(app.count("SELECT count(*) FROM events"), 3);
}

#[tokio::test]
async fn a_replay_does_not_update_the_user() {
    let app = spawn_app(CONFIG).await;
    let (status, _) = parts(
        app.post_event(
            "lessons",
            &json!({"user": {"id": "u1", "name": "Ann", "tz": "Europe/London"}, "value": 1}),
            Some("k"),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let before = app.user_row("u1").expect("row");
    assert_eq!(app.advance(3600).await.status(), StatusCode::OK);
    let (status, _) = parts(
        app.post_event(
            "lessons",
            &json!({"user": {"id": "u1", "name": "Bob", "tz": "Asia/Tokyo",
                             "attributes": {"plan": "pro"}}, "value": 1}),
            Some("k"),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(app.user_row("u1").expect("row"), before);
    let (_, user) = app.get_json("/v1/users/u1").await;
    assert_eq!(user["name"], json!("Ann"));
    assert_eq!(user["tz"], json!("Europe/London"));
}

#[tokio::test]
async fn a_failed_request_does_not_consume_the_key() {
    let app = spawn_app(CONFIG).await;
    assert_error(
        app.post_event(
            "lessons",
            &json!({"user": {"id": "u1"}, "value": 1, "attributes": {"device": "ios"}}),
            Some("k"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_error(
        app.post_event(
            "lessons",
            &json!({"user": {"id": "u1", "tz": "Nowhere/Land"}, "value": 1}),
            Some("k"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM idempotency_keys"), 0);
    let (status, body) = parts(
        app.post_event("lessons", &event("u1", 2.0), Some("k"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["idempotentReplayed"], json!(false));
    assert_eq!(body["total"].as_f64(), Some(2.0));

    // A failure on a user that already exists does not consume a fresh key either.
    assert_error(
        app.post_event(
            "lessons",
            &json!({"user": {"id": "u1", "subscribeToEmails": true}, "value": 1}),
            Some("k2"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let (status, body) = parts(
        app.post_event("lessons", &event("u1", 1.0), Some("k2"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["total"].as_f64(), Some(3.0));
    assert_eq!(app.count("SELECT count(*) FROM events"), 2);
}

#[tokio::test]
async fn without_the_header_neither_field_appears_and_nothing_deduplicates() {
    let app = spawn_app(CONFIG).await;
    for expected_total in [1.0, 2.0] {
        let (status, body) = parts(app.post_event("lessons", &event("u1", 1.0), None).await).await;
        assert_eq!(status, StatusCode::CREATED);
        let object = body.as_object().expect("object");
        assert!(!object.contains_key("idempotencyKey"), "{body}");
        assert!(!object.contains_key("idempotentReplayed"), "{body}");
        assert_eq!(body["total"].as_f64(), Some(expected_total));
    }
    assert_eq!(app.count("SELECT count(*) FROM events"), 2);
    assert_eq!(app.count("SELECT count(*) FROM idempotency_keys"), 0);
}
