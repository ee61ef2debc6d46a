//! `GET/PATCH /v1/users/{id}/preferences` (docs/behaviour/users-and-events.md#preferences).

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{assert_error, parts, spawn_app, TestApp, CONFIG};

async fn new_user(app: &TestApp, id: &str) {
    let (status, body) = parts(
        app.send_json(Method::POST, "/v1/users", &json!({"id": id}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn a_new_user_has_no_preferences_set() {
    let app = spawn_app(CONFIG).await;
    new_user(&app, "u1").await;
    let (status, body) = app.get_json("/v1/users/u1/preferences").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"notifications": {}}));
}

#[tokio::test]
async fn patch_replaces_the_types_sent_and_keeps_the_others() {
    let app = spawn_app(CONFIG).await;
    new_user(&app, "u1").await;
    let (status, body) = parts(
        app.send_json(
            Method::PATCH,
            "/v1/users/u1/preferences",
            &json!({"notifications": {
                "recap": ["email"],
                "achievement_completed": ["email", "push"]
            }}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"notifications": {
            "recap": ["email"],
            "achievement_completed": ["email", "push"]
        }})
    );

    let (status, body) = parts(
        app.send_json(
            Method::PATCH,
            "/v1/users/u1/preferences",
            &json!({"notifications": {"recap": [], "streak_reminder": ["push"]}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let expected = json!({"notifications": {
        "recap": [],
        "achievement_completed": ["email", "push"],
        "streak_reminder": ["push"]
    }});
    assert_eq!(body, expected);
    let (status, stored) = app.get_json("/v1/users/u1/preferences").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stored, expected);
}

#[tokio::test]
async fn unknown_types_and_channels_are_422_and_change_nothing() {
    let app = spawn_app(CONFIG).await;
    new_user(&app, "u1").await;
    let (status, _) = parts(
        app.send_json(
            Method::PATCH,
            "/v1/users/u1/preferences",
            &json!({"notifications": {"recap": ["push"]}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for body in [
        json!({"notifications": {"sms_blast": ["email"]}}),
        json!({"notifications": {"recap": ["sms"]}}),
        json!({"notifications": {"recap": ["email"], "reactivation": ["carrier-pigeon"]}}),
    ] {
        assert_error(
            app.send_json(Method::PATCH, "/v1/users/u1/preferences", &body)
                .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        let (_, stored) = app.get_json("/v1/users/u1/preferences").await;
        assert_eq!(
            stored,
            json!({"notifications": {"recap": ["push"]}}),
            "{body}"
        );
    }
}

#[tokio::test]
async fn an_unknown_user_is_404() {
    let app = spawn_app(CONFIG).await;
    assert_error(
        app.get("/v1/users/ghost/preferences").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_error(
        app.send_json(
            Method::PATCH,
            "/v1/users/ghost/preferences",
            &json!({"notifications": {"recap": ["email"]}}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM users"), 0);
}
