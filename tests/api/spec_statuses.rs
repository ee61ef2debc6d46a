//! A body the server cannot read answers a status the 1.21.1 spec documents for the
//! operation: 400 where the spec lists it (docs/behaviour/api.md#errors), else the 422 every
//! operation lists for invalid input.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, spawn_app, Config, TestApp, CONFIG};

fn config() -> Config {
    Config::base()
        .with("[[achievements]]\nkey = \"onboarded\"\nname = \"Onboarded\"\ntrigger = \"api\"")
}

async fn admin_status(app: &TestApp, method: Method, path: &str, body: &Value) -> StatusCode {
    app.admin_request(method, path)
        .json(body)
        .send()
        .await
        .expect("request")
        .status()
}

#[tokio::test]
async fn admin_operations_without_a_documented_400_answer_422() {
    let app = spawn_app(CONFIG).await;
    let not_a_list = json!({"name": "x"});
    for (method, path) in [
        (Method::POST, "/admin/v1/metrics"),
        (Method::PATCH, "/admin/v1/attributes"),
        (Method::POST, "/admin/v1/points"),
        (Method::POST, "/admin/v1/leaderboards"),
        (Method::PATCH, "/admin/v1/tenants"),
        (Method::POST, "/admin/v1/application-api-keys"),
    ] {
        assert_eq!(
            admin_status(&app, method.clone(), path, &not_a_list).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{method} {path}"
        );
    }
    // These three list 400 for a bad body.
    assert_eq!(
        admin_status(&app, Method::POST, "/admin/v1/metrics/events", &not_a_list).await,
        StatusCode::BAD_REQUEST
    );
    for path in ["/admin/v1/streaks/freezes", "/admin/v1/streaks/restore"] {
        assert_eq!(
            admin_status(&app, Method::POST, path, &json!({"users": 5, "freezes": 5})).await,
            StatusCode::BAD_REQUEST,
            "{path}"
        );
    }
}

#[tokio::test]
async fn application_operations_without_a_documented_400_answer_422() {
    let app = spawn_app(&config()).await;
    app.event_ok("lessons", "u1", 1.0).await;
    // POST /achievements/{key}/complete lists 201, 401, 404 and 422.
    let message = assert_error(
        app.send_json(
            Method::POST,
            "/v1/achievements/onboarded/complete",
            &json!({}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(message.contains("user"), "{message}");
    // PATCH /users/{id}/preferences lists 200, 401, 403, 404 and 422.
    for body in [
        json!({"notifications": {"recap": "email"}}),
        json!({"notifications": {"recap": [1]}}),
        json!({"notifications": "email"}),
        json!({"streak": {"enabled": "yes"}}),
        json!(["not", "an", "object"]),
    ] {
        assert_error(
            app.send_json(Method::PATCH, "/v1/users/u1/preferences", &body)
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    // Where the spec lists 400, a wrong type stays 400.
    assert_error(
        app.send_json(Method::POST, "/v1/users", &json!({"id": "u2", "name": 5}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_error(
        app.send_json(
            Method::POST,
            "/v1/metrics/lessons/event",
            &json!({"user": {"id": "u1"}}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
}
