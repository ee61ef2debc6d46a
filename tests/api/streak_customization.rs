//! Per-user streak conditions (issue #17 item 3;
//! docs/behaviour/streaks.md#personal-conditions, 1.21.1
//! `StreakPreferences`): turned on by `customizationEnabled` (trophy.toml or the Admin
//! API), set in `PATCH /users/{id}/preferences`, used by the user's next events.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, assert_json_eq, parts, spawn_app, TestApp};
use crate::streaks::{config, event_at, streak};

const CUSTOMIZABLE: &str = r#"
[streaks]
frequency = "daily"
metrics = [{ metric = "lessons", threshold = 1 }]
customization_enabled = true
"#;

async fn patch_prefs(app: &TestApp, user: &str, body: Value) -> (StatusCode, Value) {
    parts(
        app.send_json(
            Method::PATCH,
            &format!("/v1/users/{user}/preferences"),
            &body,
        )
        .await,
    )
    .await
}

fn stored_prefs(app: &TestApp, user: &str) -> String {
    app.db()
        .query_row(
            "SELECT preferences FROM users WHERE external_id = ?1",
            [user],
            |r| r.get(0),
        )
        .expect("user")
}

#[tokio::test]
async fn a_users_own_conditions_decide_their_streak() {
    let app = spawn_app(&config(CUSTOMIZABLE)).await;
    event_at(&app, "2031-03-01T09:00:00Z", json!("own"), "minutes", 5.0).await;
    event_at(&app, "2031-03-01T09:00:00Z", json!("plain"), "minutes", 5.0).await;
    let (status, body) = patch_prefs(
        &app,
        "own",
        json!({"streak": {"evaluationMode": "AND",
            "metrics": [{"key": "lessons", "threshold": 1}, {"key": "minutes", "threshold": 20}]}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_json_eq(
        &body,
        &json!({"notifications": {}, "streak": {"evaluationMode": "AND",
            "metrics": [{"key": "lessons", "threshold": 1.0}, {"key": "minutes", "threshold": 20.0}]}}),
    );
    let (_, read) = app.get_json("/v1/users/own/preferences").await;
    assert_json_eq(&read, &body);

    // A lesson is enough for everyone else; "own" also needs 20 minutes in the day.
    let plain = event_at(&app, "2031-03-01T10:00:00Z", json!("plain"), "lessons", 1.0).await;
    assert_eq!(plain["currentStreak"]["length"], 1);
    let own = event_at(&app, "2031-03-01T10:00:00Z", json!("own"), "lessons", 1.0).await;
    assert_json_eq(
        &json!([
            own["currentStreak"]["length"],
            own["currentStreak"]["extended"]
        ]),
        &json!([0, false]),
    );
    // 15 minutes now plus 5 sent before the conditions were set would be 20, but minutes
    // were not tracked for this user then: the sum starts at the change.
    let own = event_at(&app, "2031-03-01T11:00:00Z", json!("own"), "minutes", 15.0).await;
    assert_eq!(own["currentStreak"]["extended"], false);
    let own = event_at(&app, "2031-03-01T11:30:00Z", json!("own"), "minutes", 5.0).await;
    assert_json_eq(
        &json!([
            own["currentStreak"]["length"],
            own["currentStreak"]["extended"]
        ]),
        &json!([1, true]),
    );
    assert_eq!(streak(&app, "own").await["length"], 1);

    // OR: either condition on its own.
    let (status, _) = patch_prefs(&app, "own", json!({"streak": {"evaluationMode": "OR"}})).await;
    assert_eq!(status, StatusCode::OK);
    let own = event_at(&app, "2031-03-02T10:00:00Z", json!("own"), "minutes", 20.0).await;
    assert_eq!(own["currentStreak"]["length"], 2);

    // null clears them: back to the organisation's single lesson condition.
    let (status, body) = patch_prefs(
        &app,
        "own",
        json!({"streak": {"evaluationMode": null, "metrics": null, "enabled": true}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["streak"], json!({"enabled": true}));
    let own = event_at(&app, "2031-03-03T10:00:00Z", json!("own"), "minutes", 100.0).await;
    assert_eq!(own["currentStreak"]["extended"], false);
    let own = event_at(&app, "2031-03-03T10:00:00Z", json!("own"), "lessons", 1.0).await;
    assert_json_eq(
        &json!([
            own["currentStreak"]["length"],
            own["currentStreak"]["extended"]
        ]),
        &json!([3, true]),
    );
}

#[tokio::test]
async fn bad_conditions_are_refused_and_change_nothing() {
    let app = spawn_app(&config(CUSTOMIZABLE)).await;
    event_at(&app, "2031-03-01T09:00:00Z", json!("u1"), "minutes", 5.0).await;
    let before = stored_prefs(&app, "u1");
    for (bad, status) in [
        (
            json!({"evaluationMode": "XOR"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"metrics": []}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"metrics": [{"key": "nope", "threshold": 1}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"metrics": [{"key": "lessons", "threshold": 0}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"metrics": [{"key": "lessons", "threshold": 1}, {"key": "lessons", "threshold": 2}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"metrics": "lessons"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let resp = app
            .request(Method::PATCH, "/v1/users/u1/preferences")
            .json(&json!({ "streak": bad }))
            .send()
            .await
            .expect("request");
        assert_error(resp, status).await;
        assert_eq!(stored_prefs(&app, "u1"), before, "{bad}");
    }
    let (status, _) =
        patch_prefs(&app, "ghost", json!({"streak": {"evaluationMode": "AND"}})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn customization_is_off_until_the_settings_turn_it_on() {
    // No [streaks] in the file: the Admin API owns the settings.
    let app = spawn_app(&config("")).await;
    event_at(&app, "2031-03-01T09:00:00Z", json!("u1"), "minutes", 5.0).await;
    let resp = app
        .request(Method::PATCH, "/v1/users/u1/preferences")
        .json(&json!({"streak": {"evaluationMode": "AND"}}))
        .send()
        .await
        .expect("request");
    let message = assert_error(resp, StatusCode::FORBIDDEN).await;
    assert_eq!(
        message,
        "Streak customization is not enabled for this organisation"
    );
    let (status, body) = parts(
        app.admin_request(Method::PATCH, "/admin/v1/streaks/settings")
            .json(&json!({"metrics": [{"key": "lessons", "threshold": 1}], "customizationEnabled": true}))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["customizationEnabled"], true);
    let (status, body) = patch_prefs(
        &app,
        "u1",
        json!({"streak": {"metrics": [{"key": "minutes", "threshold": 10}]}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s = event_at(&app, "2031-03-01T10:00:00Z", json!("u1"), "lessons", 1.0).await;
    assert_eq!(
        s["currentStreak"]["extended"], false,
        "lessons do not count for u1"
    );
    let s = event_at(&app, "2031-03-01T10:05:00Z", json!("u1"), "minutes", 10.0).await;
    assert_eq!(s["currentStreak"]["length"], 1);

    // Turned off again: the stored conditions stay but the organisation's apply.
    let (status, body) = parts(
        app.admin_request(Method::PATCH, "/admin/v1/streaks/settings")
            .json(&json!({"customizationEnabled": false}))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s = event_at(&app, "2031-03-02T10:00:00Z", json!("u1"), "minutes", 50.0).await;
    assert_eq!(s["currentStreak"]["extended"], false);
    let s = event_at(&app, "2031-03-02T10:05:00Z", json!("u1"), "lessons", 1.0).await;
    assert_json_eq(
        &json!([s["currentStreak"]["length"], s["currentStreak"]["extended"]]),
        &json!([2, true]),
    );
}
