//! `POST /v1/metrics/{key}/event` (docs/behaviour/users-and-events.md#recording-an-event).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, assert_json_eq, parts, spawn_app, CONFIG, T0};

/// uuid, value, attributes, at, tz.
type EventRow = (String, f64, Option<String>, i64, String);

const EVENT_ATTRIBUTE_MESSAGE: &str = "Invalid attribute keys: device. Please ensure all attribute keys match those set up at https://app.trophy.so/metrics.";

/// The streak of a user who never met the streak condition (on `lessons`). Events on
/// `minutes`, which plays no part in the streak, must carry exactly this.
fn streak_zero(local_date: &str) -> Value {
    json!({
        "length": 0,
        "frequency": "daily",
        "started": null,
        "periodStart": local_date,
        "periodEnd": local_date,
        "expires": null,
        "extended": false
    })
}

#[tokio::test]
async fn an_event_answers_201_with_the_event_response() {
    let app = spawn_app(CONFIG).await;
    app.set_clock_ok(T0).await;
    let (status, body) = parts(
        app.post_event(
            "minutes",
            &json!({"user": {"id": "u1"}, "value": 1, "attributes": {"source": "mobile"}}),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let event_id = body["eventId"].as_str().expect("eventId").to_owned();
    uuid::Uuid::parse_str(&event_id).expect("eventId is a uuid");
    let metric_id = app.definition_uuid("metric", "minutes");
    uuid::Uuid::parse_str(&metric_id).expect("metricId is a uuid");
    assert_json_eq(
        &body,
        &json!({
            "eventId": event_id,
            "metricId": metric_id,
            "total": 1.0,
            "achievements": [],
            "currentStreak": streak_zero("2031-03-01"),
            "points": {},
            "leaderboards": {}
        }),
    );
    // Stored: the event with its attributes, time and zone, and the total.
    let (uuid, value, attributes, at, tz): EventRow = app
        .db()
        .query_row(
            "SELECT uuid, value, attributes, at, tz FROM events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .expect("one event");
    assert_eq!(uuid, event_id);
    assert_eq!(value, 1.0);
    let attributes: Value =
        serde_json::from_str(&attributes.expect("attributes stored")).expect("attributes are JSON");
    assert_eq!(attributes, json!({"source": "mobile"}));
    assert_eq!(
        at,
        chrono::DateTime::parse_from_rfc3339(T0)
            .expect("T0")
            .timestamp_millis()
    );
    assert_eq!(tz, "UTC");
    assert_eq!(app.count("SELECT count(*) FROM events"), 1);
    assert_eq!(
        app.count("SELECT count(*) FROM metric_totals WHERE total = 1.0"),
        1
    );
}

#[tokio::test]
async fn the_streak_period_is_the_users_local_date() {
    let app = spawn_app(CONFIG).await;
    app.set_clock_ok(T0).await;
    for (user, tz, local) in [
        ("kiri", "Pacific/Kiritimati", "2031-03-02"),
        ("pago", "Pacific/Pago_Pago", "2031-02-28"),
        ("utc", "UTC", "2031-03-01"),
    ] {
        let (status, body) = parts(
            app.post_event(
                "minutes",
                &json!({"user": {"id": user, "tz": tz}, "value": 1}),
                None,
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_json_eq(&body["currentStreak"], &streak_zero(local));
        let stored_tz: String = app
            .db()
            .query_row(
                "SELECT e.tz FROM events e JOIN users u ON u.id = e.user_id
                  WHERE u.external_id = ?1",
                [user],
                |r| r.get(0),
            )
            .expect("event");
        assert_eq!(stored_tz, tz);
    }
}

#[tokio::test]
async fn the_metric_id_is_stable_across_a_restart() {
    let app = spawn_app(CONFIG).await;
    let first = app.event_ok("lessons", "u1", 1.0).await;
    let minutes = app.event_ok("minutes", "u1", 1.0).await;
    assert_ne!(first["metricId"], minutes["metricId"]);
    let app = app.restart().await;
    let second = app.event_ok("lessons", "u1", 1.0).await;
    assert_eq!(second["metricId"], first["metricId"]);
    assert_eq!(second["total"].as_f64(), Some(2.0));
    let minutes_again = app.event_ok("minutes", "u1", 1.0).await;
    assert_eq!(minutes_again["metricId"], minutes["metricId"]);
    assert_eq!(
        first["metricId"].as_str(),
        Some(app.definition_uuid("metric", "lessons").as_str())
    );
}

#[tokio::test]
async fn totals_accumulate_may_go_negative_and_keep_decimals() {
    let app = spawn_app(CONFIG).await;
    let mut ids = Vec::new();
    for (value, total) in [
        (1.0, 1.0),
        (2.5, 3.5),
        (-10.0, -6.5),
        (0.25, -6.25),
        (0.0, -6.25),
    ] {
        let body = app.event_ok("lessons", "u1", value).await;
        assert_eq!(body["total"].as_f64(), Some(total), "{body}");
        ids.push(body["eventId"].as_str().expect("id").to_owned());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "every event has its own id");
    // Other metrics and users have their own totals.
    let body = app.event_ok("minutes", "u1", 30.0).await;
    assert_eq!(body["total"].as_f64(), Some(30.0));
    let body = app.event_ok("lessons", "u2", 2.0).await;
    assert_eq!(body["total"].as_f64(), Some(2.0));
    assert_eq!(app.total("u1", "lessons").await, -6.25);
    assert_eq!(app.count("SELECT count(*) FROM events"), 7);
}

#[tokio::test]
async fn bad_values_and_users_are_400_and_write_nothing() {
    let app = spawn_app(CONFIG).await;
    let cases = [
        r#"{"user": {"id": "u1"}, "value": "1"}"#,
        r#"{"user": {"id": "u1"}}"#,
        r#"{"user": {"id": "u1"}, "value": null}"#,
        r#"{"user": {"id": "u1"}, "value": 1e400}"#,
        r#"{"user": {"id": "u1"}, "value": -1e400}"#,
        r#"{"user": {"id": "u1"}, "value": NaN}"#,
        r#"{"user": {"id": "u1"}, "value": "NaN"}"#,
        r#"{"user": {"id": "u1"}, "value": "Infinity"}"#,
        r#"{"value": 1}"#,
        r#"{"user": null, "value": 1}"#,
        r#"{"user": "u1", "value": 1}"#,
        r#"{"user": {}, "value": 1}"#,
        r#"{"user": {"id": ""}, "value": 1}"#,
        r#"{"user": {"id": "   "}, "value": 1}"#,
        r#"{"user": {"id": 7}, "value": 1}"#,
        r#"{"user": {"id": "u1", "name": 3}, "value": 1}"#,
        r#"{"user": {"id": "u1"}, "value": 1, "attributes": {"source": 1}}"#,
        r#"{"user": {"id": "u1"}, "value": 1"#,
        "",
    ];
    for raw in cases {
        let resp = app
            .send_raw(Method::POST, "/v1/metrics/lessons/event", raw)
            .await;
        let status = resp.status();
        let (_, body) = parts(resp).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{raw}: {body}");
        assert!(body["error"].is_string(), "{raw}: {body}");
        assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
    }
    assert_eq!(app.count("SELECT count(*) FROM events"), 0);
    assert_eq!(app.count("SELECT count(*) FROM users"), 0);
    assert_eq!(app.count("SELECT count(*) FROM metric_totals"), 0);
}

#[tokio::test]
async fn an_unknown_metric_is_404_and_writes_nothing() {
    let app = spawn_app(CONFIG).await;
    assert_error(
        app.post_event(
            "pushups",
            &json!({"user": {"id": "u1", "name": "Ann"}, "value": 1}),
            Some("k1"),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM events"), 0);
    assert_eq!(app.count("SELECT count(*) FROM users"), 0);
    assert_eq!(app.count("SELECT count(*) FROM idempotency_keys"), 0);
}

#[tokio::test]
async fn an_unknown_event_attribute_is_422_and_writes_nothing() {
    let app = spawn_app(CONFIG).await;
    let message = assert_error(
        app.post_event(
            "lessons",
            &json!({"user": {"id": "new-user", "tz": "Europe/Paris"}, "value": 1,
                    "attributes": {"device": "ios"}}),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(message, EVENT_ATTRIBUTE_MESSAGE);
    // The rejected event does not create its user.
    assert_eq!(app.count("SELECT count(*) FROM users"), 0);
    assert_eq!(app.count("SELECT count(*) FROM events"), 0);

    // For an existing user: no event, no total change, no user change.
    app.event_ok("lessons", "u1", 2.0).await;
    let before = app.user_row("u1").expect("row");
    let message = assert_error(
        app.post_event(
            "lessons",
            &json!({"user": {"id": "u1", "name": "Changed"}, "value": 1,
                    "attributes": {"source": "web", "device": "ios"}}),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(message, EVENT_ATTRIBUTE_MESSAGE);
    assert_eq!(app.user_row("u1").expect("row"), before);
    assert_eq!(app.count("SELECT count(*) FROM events"), 1);
    assert_eq!(app.total("u1", "lessons").await, 2.0);

    // A user attribute key is not an event attribute.
    let message = assert_error(
        app.post_event(
            "lessons",
            &json!({"user": {"id": "u1"}, "value": 1, "attributes": {"plan": "pro"}}),
            None,
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        message,
        "Invalid attribute keys: plan. Please ensure all attribute keys match those set up at https://app.trophy.so/metrics."
    );
    assert_eq!(app.count("SELECT count(*) FROM events"), 1);
}

#[tokio::test]
async fn invalid_user_fields_on_an_event_are_422_and_write_nothing() {
    let app = spawn_app(CONFIG).await;
    let cases = [
        (
            json!({"user": {"id": "u1", "attributes": {"pln": "x"}}, "value": 1}),
            Some("Invalid attribute keys: pln. Please ensure all attribute keys match those set up at https://app.trophy.so/users/attributes."),
        ),
        (
            json!({"user": {"id": "u1", "attributes": {"source": "x"}}, "value": 1}),
            Some("Invalid attribute keys: source. Please ensure all attribute keys match those set up at https://app.trophy.so/users/attributes."),
        ),
        (json!({"user": {"id": "u1", "tz": "Mars/Olympus"}, "value": 1}), None),
        (
            json!({"user": {"id": "u1", "subscribeToEmails": true}, "value": 1}),
            None,
        ),
    ];
    for (body, message) in cases {
        let got = assert_error(
            app.post_event("lessons", &body, None).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        if let Some(message) = message {
            assert_eq!(got, message);
        }
        assert_eq!(app.count("SELECT count(*) FROM users"), 0, "{body}");
        assert_eq!(app.count("SELECT count(*) FROM events"), 0, "{body}");
        assert_eq!(app.count("SELECT count(*) FROM metric_totals"), 0, "{body}");
    }
}

#[tokio::test]
async fn an_event_upserts_its_user() {
    let app = spawn_app(CONFIG).await;
    app.set_clock_ok(T0).await;
    let (status, body) = parts(
        app.post_event(
            "lessons",
            &json!({"user": {"id": "u1", "name": "Ann", "email": "ann@example.com",
                             "tz": "Asia/Kolkata", "attributes": {"plan": "free"}},
                    "value": 1}),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, user) = app.get_json("/v1/users/u1").await;
    assert_eq!(status, StatusCode::OK);
    assert_json_eq(
        &user,
        &json!({
            "id": "u1",
            "email": "ann@example.com",
            "name": "Ann",
            "tz": "Asia/Kolkata",
            "deviceTokens": null,
            "subscribeToEmails": true,
            "attributes": {"plan": "free"},
            "control": false,
            "signUpDate": null,
            "created": T0,
            "updated": T0
        }),
    );

    app.set_clock_ok("2031-03-01T11:00:00Z").await;
    let (status, body) = parts(
        app.post_event(
            "minutes",
            &json!({"user": {"id": "u1", "name": "Annie", "attributes": {"country": "in"}},
                    "value": 5}),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, user) = app.get_json("/v1/users/u1").await;
    assert_eq!(user["name"], json!("Annie"));
    assert_eq!(user["tz"], json!("Asia/Kolkata"));
    assert_eq!(user["email"], json!("ann@example.com"));
    assert_eq!(user["attributes"], json!({"plan": "free", "country": "in"}));
    assert_eq!(user["created"], json!(T0));
    assert_eq!(user["updated"], json!("2031-03-01T11:00:00Z"));
    assert_eq!(app.count("SELECT count(*) FROM users"), 1);
}
