//! `POST /v1/users`, `GET/PUT/PATCH /v1/users/{id}`
//! (docs/behaviour/users-and-events.md#upsert-rules).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, assert_json_eq, is_iso_z, parts, spawn_app, TestApp, CONFIG, T0,
};

const USER_KEYS: [&str; 11] = [
    "id",
    "email",
    "name",
    "tz",
    "deviceTokens",
    "subscribeToEmails",
    "attributes",
    "control",
    "signUpDate",
    "created",
    "updated",
];

fn assert_user_shape(body: &Value) {
    let object = body.as_object().expect("user is an object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut wanted = USER_KEYS.to_vec();
    wanted.sort_unstable();
    assert_eq!(keys, wanted, "{body}");
    assert!(
        is_iso_z(body["created"].as_str().expect("created")),
        "{body}"
    );
    assert!(
        is_iso_z(body["updated"].as_str().expect("updated")),
        "{body}"
    );
}

async fn create_full_user(app: &TestApp, id: &str) -> Value {
    let (status, body) = parts(
        app.send_json(
            Method::POST,
            "/v1/users",
            &json!({
                "id": id,
                "email": "ann@example.com",
                "name": "Ann",
                "tz": "Europe/London",
                "deviceTokens": ["tok-1", "tok-2"],
                "subscribeToEmails": true,
                "attributes": {"plan": "free", "country": "uk"}
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

#[tokio::test]
async fn post_creates_a_user_with_every_field() {
    let app = spawn_app(CONFIG).await;
    app.set_clock_ok(T0).await;
    let body = create_full_user(&app, "u1").await;
    assert_user_shape(&body);
    assert_json_eq(
        &body,
        &json!({
            "id": "u1",
            "email": "ann@example.com",
            "name": "Ann",
            "tz": "Europe/London",
            "deviceTokens": ["tok-1", "tok-2"],
            "subscribeToEmails": true,
            "attributes": {"plan": "free", "country": "uk"},
            "control": false,
            "signUpDate": null,
            "created": T0,
            "updated": T0
        }),
    );
    assert_eq!(app.count("SELECT count(*) FROM users"), 1);
    let (status, got) = app.get_json("/v1/users/u1").await;
    assert_eq!(status, StatusCode::OK);
    assert_json_eq(&got, &body);
}

#[tokio::test]
async fn a_minimal_user_gets_the_defaults() {
    let app = spawn_app(CONFIG).await;
    let (status, body) = parts(
        app.send_json(Method::POST, "/v1/users", &json!({"id": "bare"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_user_shape(&body);
    assert_eq!(body["email"], Value::Null);
    assert_eq!(body["name"], Value::Null);
    assert_eq!(body["tz"], Value::Null);
    assert_eq!(body["deviceTokens"], Value::Null);
    assert_eq!(body["subscribeToEmails"], json!(true));
    assert_eq!(body["attributes"], json!({}));
    assert_eq!(body["control"], json!(false));
}

#[tokio::test]
async fn post_for_an_existing_id_upserts() {
    let app = spawn_app(CONFIG).await;
    app.set_clock_ok(T0).await;
    create_full_user(&app, "u1").await;
    app.set_clock_ok("2031-03-01T10:31:00Z").await;
    let (status, body) = parts(
        app.send_json(
            Method::POST,
            "/v1/users",
            &json!({"id": "u1", "name": "Annie", "attributes": {"plan": "pro"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_json_eq(
        &body,
        &json!({
            "id": "u1",
            "email": "ann@example.com",
            "name": "Annie",
            "tz": "Europe/London",
            "deviceTokens": ["tok-1", "tok-2"],
            "subscribeToEmails": true,
            "attributes": {"plan": "pro", "country": "uk"},
            "control": false,
            "signUpDate": null,
            "created": T0,
            "updated": "2031-03-01T10:31:00Z"
        }),
    );
    assert_eq!(app.count("SELECT count(*) FROM users"), 1);
}

#[tokio::test]
async fn get_of_an_unknown_user_is_404() {
    let app = spawn_app(CONFIG).await;
    assert_error(app.get("/v1/users/nobody").await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn put_creates_then_updates() {
    let app = spawn_app(CONFIG).await;
    let (status, body) = parts(
        app.send_json(
            Method::PUT,
            "/v1/users/p1",
            &json!({"name": "Pat", "tz": "Asia/Kolkata"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_user_shape(&body);
    assert_eq!(body["id"], json!("p1"));
    assert_eq!(body["name"], json!("Pat"));
    assert_eq!(body["tz"], json!("Asia/Kolkata"));
    assert_eq!(app.count("SELECT count(*) FROM users"), 1);

    let (status, body) = parts(
        app.send_json(
            Method::PUT,
            "/v1/users/p1",
            &json!({"email": "pat@example.com"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], json!("Pat"));
    assert_eq!(body["tz"], json!("Asia/Kolkata"));
    assert_eq!(body["email"], json!("pat@example.com"));
    assert_eq!(app.count("SELECT count(*) FROM users"), 1);
}

#[tokio::test]
async fn patch_of_a_missing_user_is_404_and_creates_nothing() {
    let app = spawn_app(CONFIG).await;
    assert_error(
        app.send_json(Method::PATCH, "/v1/users/ghost", &json!({"name": "G"}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM users"), 0);
}

#[tokio::test]
async fn patch_changes_only_the_fields_sent() {
    let app = spawn_app(CONFIG).await;
    app.set_clock_ok(T0).await;
    let before = create_full_user(&app, "u1").await;
    app.set_clock_ok("2031-03-02T00:00:00Z").await;
    let (status, body) = parts(
        app.send_json(Method::PATCH, "/v1/users/u1", &json!({"name": "Bea"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut expected = before.clone();
    expected["name"] = json!("Bea");
    expected["updated"] = json!("2031-03-02T00:00:00Z");
    assert_json_eq(&body, &expected);
    let (_, stored) = app.get_json("/v1/users/u1").await;
    assert_json_eq(&stored, &expected);
}

#[tokio::test]
async fn null_clears_tz_and_device_tokens() {
    let app = spawn_app(CONFIG).await;
    create_full_user(&app, "u1").await;
    let (status, body) = parts(
        app.send_json(
            Method::PATCH,
            "/v1/users/u1",
            &json!({"tz": null, "deviceTokens": null}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["tz"], Value::Null);
    assert_eq!(body["deviceTokens"], Value::Null);
    assert_eq!(body["name"], json!("Ann"));
    assert_eq!(body["email"], json!("ann@example.com"));
    let (tz, tokens): (Option<String>, Option<String>) = app
        .db()
        .query_row(
            "SELECT tz, device_tokens FROM users WHERE external_id = 'u1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("row");
    assert_eq!((tz, tokens), (None, None));
}

#[tokio::test]
async fn device_tokens_are_replaced_as_a_whole() {
    let app = spawn_app(CONFIG).await;
    create_full_user(&app, "u1").await;
    let (status, body) = parts(
        app.send_json(
            Method::PATCH,
            "/v1/users/u1",
            &json!({"deviceTokens": ["tok-3"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["deviceTokens"], json!(["tok-3"]));
}

#[tokio::test]
async fn attributes_merge_key_by_key() {
    let app = spawn_app(CONFIG).await;
    create_full_user(&app, "u1").await;
    let (status, body) = parts(
        app.send_json(
            Method::PATCH,
            "/v1/users/u1",
            &json!({"attributes": {"plan": "pro"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["attributes"], json!({"plan": "pro", "country": "uk"}));
    let (_, stored) = app.get_json("/v1/users/u1").await;
    assert_eq!(
        stored["attributes"],
        json!({"plan": "pro", "country": "uk"})
    );
}

#[tokio::test]
async fn subscribed_to_emails_spelling_is_accepted_and_never_emitted() {
    let app = spawn_app(CONFIG).await;
    let (status, body) = parts(
        app.send_json(
            Method::POST,
            "/v1/users",
            &json!({"id": "s1", "email": "s@example.com", "subscribedToEmails": false}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_user_shape(&body);
    assert_eq!(body["subscribeToEmails"], json!(false));
    // Unsubscribed users keep no address.
    assert_eq!(body["email"], Value::Null);

    let (status, body) = parts(
        app.send_json(
            Method::PATCH,
            "/v1/users/s1",
            &json!({"email": "s@example.com", "subscribedToEmails": true}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_user_shape(&body);
    assert_eq!(body["subscribeToEmails"], json!(true));
    assert_eq!(body["email"], json!("s@example.com"));
}

#[tokio::test]
async fn subscribing_without_an_email_is_422_and_changes_nothing() {
    let app = spawn_app(CONFIG).await;
    // A user who opted out, so has no email.
    let (status, _) = parts(
        app.send_json(
            Method::POST,
            "/v1/users",
            &json!({"id": "u1", "name": "Ann", "subscribeToEmails": false}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let before = app.user_row("u1").expect("row");
    for (method, path, body) in [
        (
            Method::PATCH,
            "/v1/users/u1",
            json!({"subscribeToEmails": true, "name": "Changed"}),
        ),
        (
            Method::PUT,
            "/v1/users/u1",
            json!({"subscribeToEmails": true, "name": "Changed"}),
        ),
        (
            Method::POST,
            "/v1/users",
            json!({"id": "u1", "subscribeToEmails": true, "name": "Changed"}),
        ),
    ] {
        assert_error(
            app.send_json(method, path, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(app.user_row("u1").expect("row"), before);
    }
    // A new user with no email cannot subscribe either, and is not created.
    assert_error(
        app.send_json(
            Method::POST,
            "/v1/users",
            &json!({"id": "u2", "subscribeToEmails": true}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM users"), 1);
}

#[tokio::test]
async fn unsubscribing_drops_the_email() {
    let app = spawn_app(CONFIG).await;
    create_full_user(&app, "u1").await;
    let (status, body) = parts(
        app.send_json(
            Method::PATCH,
            "/v1/users/u1",
            &json!({"subscribeToEmails": false}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["subscribeToEmails"], json!(false));
    assert_eq!(body["email"], Value::Null);
    let email: Option<String> = app
        .db()
        .query_row(
            "SELECT email FROM users WHERE external_id = 'u1'",
            [],
            |r| r.get(0),
        )
        .expect("row");
    assert_eq!(email, None);
}

#[tokio::test]
async fn an_invalid_time_zone_is_422_and_changes_nothing() {
    let app = spawn_app(CONFIG).await;
    create_full_user(&app, "u1").await;
    let before = app.user_row("u1").expect("row");
    for (method, path, body) in [
        (
            Method::PATCH,
            "/v1/users/u1",
            json!({"tz": "Mars/Olympus", "name": "X"}),
        ),
        (Method::PUT, "/v1/users/u1", json!({"tz": "EST+5"})),
        (
            Method::POST,
            "/v1/users",
            json!({"id": "u1", "tz": "Not/AZone"}),
        ),
    ] {
        assert_error(
            app.send_json(method, path, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(app.user_row("u1").expect("row"), before);
    }
    assert_error(
        app.send_json(
            Method::POST,
            "/v1/users",
            &json!({"id": "u2", "tz": "Nowhere"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM users"), 1);
}

#[tokio::test]
async fn unknown_attribute_keys_are_422_with_the_documented_message() {
    let app = spawn_app(CONFIG).await;
    create_full_user(&app, "u1").await;
    let before = app.user_row("u1").expect("row");
    let message = assert_error(
        app.send_json(
            Method::PATCH,
            "/v1/users/u1",
            &json!({"name": "X", "attributes": {"pln": "pro"}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        message,
        "Invalid attribute keys: pln. Please ensure all attribute keys match those set up at https://app.trophy.so/users/attributes."
    );
    assert_eq!(app.user_row("u1").expect("row"), before);

    // A valid key next to an unknown one: the whole request is refused.
    assert_error(
        app.send_json(
            Method::PUT,
            "/v1/users/u1",
            &json!({"attributes": {"plan": "pro", "pln": "x"}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(app.user_row("u1").expect("row"), before);

    // And on creation nothing is written.
    let message = assert_error(
        app.send_json(
            Method::POST,
            "/v1/users",
            &json!({"id": "u2", "attributes": {"pln": "pro"}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        message,
        "Invalid attribute keys: pln. Please ensure all attribute keys match those set up at https://app.trophy.so/users/attributes."
    );
    assert_eq!(app.count("SELECT count(*) FROM users"), 1);
}

#[tokio::test]
async fn an_event_attribute_key_is_not_a_user_attribute() {
    let app = spawn_app(CONFIG).await;
    let message = assert_error(
        app.send_json(
            Method::POST,
            "/v1/users",
            &json!({"id": "u1", "attributes": {"source": "mobile"}}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        message,
        "Invalid attribute keys: source. Please ensure all attribute keys match those set up at https://app.trophy.so/users/attributes."
    );
    assert_eq!(app.count("SELECT count(*) FROM users"), 0);
}

#[tokio::test]
async fn malformed_bodies_and_wrong_types_are_400_and_write_nothing() {
    let app = spawn_app(CONFIG).await;
    create_full_user(&app, "u1").await;
    let before = app.user_row("u1").expect("row");
    let cases: Vec<(Method, &str, &str)> = vec![
        (Method::POST, "/v1/users", "{"),
        (Method::POST, "/v1/users", "not json"),
        (Method::POST, "/v1/users", r#"{"name": "no id"}"#),
        (Method::POST, "/v1/users", r#"{"id": 5}"#),
        (Method::POST, "/v1/users", r#"{"id": ""}"#),
        (Method::POST, "/v1/users", r#"{"id": "u2", "name": 5}"#),
        (Method::POST, "/v1/users", r#"["u2"]"#),
        (Method::PATCH, "/v1/users/u1", r#"{"name": "#),
        (Method::PATCH, "/v1/users/u1", r#"{"name": 5}"#),
        (Method::PATCH, "/v1/users/u1", r#"{"email": false}"#),
        (Method::PATCH, "/v1/users/u1", r#"{"deviceTokens": "tok"}"#),
        (Method::PATCH, "/v1/users/u1", r#"{"deviceTokens": [1, 2]}"#),
        (
            Method::PATCH,
            "/v1/users/u1",
            r#"{"subscribeToEmails": "yes"}"#,
        ),
        (
            Method::PATCH,
            "/v1/users/u1",
            r#"{"attributes": {"plan": 1}}"#,
        ),
        (Method::PATCH, "/v1/users/u1", r#"{"attributes": ["plan"]}"#),
        (Method::PUT, "/v1/users/u1", r#"{"tz": 3}"#),
        (Method::PUT, "/v1/users/u3", "{"),
    ];
    for (method, path, raw) in cases {
        let resp = app.send_raw(method.clone(), path, raw).await;
        let status = resp.status();
        let (_, body) = parts(resp).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{method} {path} {raw}: {body}"
        );
        assert!(body["error"].is_string(), "{method} {path} {raw}: {body}");
        assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
        assert_eq!(app.user_row("u1").expect("row"), before, "{raw}");
        assert_eq!(app.count("SELECT count(*) FROM users"), 1, "{raw}");
    }
}

/// `updated` moves on every upsert, an event included
/// (docs/behaviour/users-and-events.md#upsert-rules), although an event that changes no
/// field no longer rewrites the user's row.
#[tokio::test]
async fn updated_moves_with_each_event_even_when_no_field_changes() {
    let app = spawn_app(CONFIG).await;
    app.set_clock_ok("2031-03-01T10:00:00Z").await;
    app.event_ok("lessons", "u1", 1.0).await;
    let row_written = |app: &TestApp| -> i64 {
        app.db()
            .query_row(
                "SELECT updated FROM users WHERE external_id = 'u1'",
                [],
                |r| r.get(0),
            )
            .expect("row")
    };
    let first = row_written(&app);
    app.set_clock_ok("2031-03-01T12:30:00Z").await;
    app.event_ok("lessons", "u1", 1.0).await;
    let (_, user) = app.get_json("/v1/users/u1").await;
    assert_eq!(user["updated"], "2031-03-01T12:30:00Z");
    assert_eq!(user["created"], "2031-03-01T10:00:00Z");
    assert_eq!(
        row_written(&app),
        first,
        "no field changed: the row was not rewritten"
    );
    // A changed field writes the row; the later of the two still wins.
    app.set_clock_ok("2031-03-01T13:00:00Z").await;
    let response = app
        .post_event(
            "lessons",
            &json!({"user": {"id": "u1", "name": "Ann"}, "value": 1.0}),
            None,
        )
        .await;
    assert_eq!(response.status(), 201);
    let (_, user) = app.get_json("/v1/users/u1").await;
    assert_eq!(user["name"], "Ann");
    assert_eq!(user["updated"], "2031-03-01T13:00:00Z");
    assert!(row_written(&app) > first);
}
