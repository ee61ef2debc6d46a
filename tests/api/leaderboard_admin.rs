//! `/admin/v1/leaderboards`: bulk create, read, update with status transitions, archive,
//! and the read-only boards from trophy.toml.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{admin, assert_error, spawn_app};
use crate::leaderboards::{board, config, event, ranks};

#[tokio::test]
async fn create_read_update_and_archive_leaderboards() {
    let app = spawn_app(&config()).await;
    app.set_clock_ok("2031-03-01T10:30:00Z").await;
    let metric = app.definition_uuid("metric", "minutes");
    let country = app.definition_uuid("attribute", "country");
    let (status, body) = admin(
        &app,
        Method::POST,
        "/leaderboards",
        Some(json!([
            {"name": "Minutes", "key": "api-minutes", "rankBy": "metric", "metricId": metric,
             "maxParticipants": 50, "start": "2031-03-01", "runUnit": "month", "runInterval": 1,
             "breakdownAttributes": [country]},
            {"name": "Bad streak", "key": "bad", "rankBy": "streak", "runUnit": "day", "runInterval": 7},
            {"name": "Taken", "key": "all-time", "rankBy": "streak"},
            {"name": "No metric", "key": "nm", "rankBy": "metric"},
            {"name": "Future", "key": "future", "rankBy": "streak", "start": "2031-04-01", "status": "active"},
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created = &body["created"][0];
    assert_eq!(
        created,
        &json!({
            "id": created["id"], "name": "Minutes", "key": "api-minutes",
            "status": "inactive", "rankBy": "metric", "metricId": metric, "maxParticipants": 50,
            "start": "2031-03-01", "breakdownAttributes": [country],
            "runUnit": "month", "runInterval": 1, "userAttributes": [],
        })
    );
    let issues: Vec<(i64, String)> = body["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| {
            (
                i["index"].as_i64().expect("index"),
                i["message"].as_str().expect("message").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        issues.iter().map(|i| i.0).collect::<Vec<_>>(),
        [1, 2, 3, 4],
        "{issues:?}"
    );
    assert!(issues[0].1.contains("perpetual"));
    assert!(issues[3].1.contains("scheduled"));
    let id = created["id"].as_str().expect("id").to_owned();

    // Inactive boards are invisible to the Application API.
    assert_error(
        app.get("/v1/leaderboards/api-minutes").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let (status, got) = admin(&app, Method::GET, &format!("/leaderboards/{id}"), None).await;
    assert_eq!((status, &got), (StatusCode::OK, created));
    let (_, list) = admin(&app, Method::GET, "/leaderboards?limit=100", None).await;
    let keys: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|b| b["key"].as_str().expect("key"))
        .collect();
    assert!(
        keys.contains(&"api-minutes") && keys.contains(&"all-time"),
        "{keys:?}"
    );
    assert_eq!(
        admin(&app, Method::GET, "/leaderboards?limit=0", None)
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Activate; then the key and rankBy are fixed.
    let (status, body) = admin(
        &app,
        Method::PATCH,
        "/leaderboards",
        Some(json!([
            {"id": id, "status": "active", "name": "Minutes this month", "key": "minutes-monthly"},
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["updated"][0]["status"], "active");
    assert_eq!(body["updated"][0]["key"], "minutes-monthly");
    let us = json!({"id": "ann", "attributes": {"country": "US"}});
    let e = event(&app, "2031-03-01T11:00:00Z", us, "minutes", 3.0).await;
    assert_eq!(e["leaderboards"]["minutes-monthly"]["rank"], 1);
    assert_eq!(e["leaderboards"]["minutes-monthly"]["end"], "2031-03-31");
    assert_eq!(
        ranks(&board(&app, "minutes-monthly?userAttributes=country:US").await),
        [("ann".to_owned(), 1, 3.0)]
    );
    let (_, body) = admin(
        &app,
        Method::PATCH,
        "/leaderboards",
        Some(json!([
            {"id": id, "key": "renamed"},
            {"id": id, "rankBy": "streak"},
            {"id": id, "status": "inactive"},
            {"id": id, "maxParticipants": 1001},
            {"id": "00000000-0000-0000-0000-000000000000", "name": "x"},
        ])),
    )
    .await;
    assert_eq!(body["updated"], json!([]));
    assert_eq!(body["issues"].as_array().map(Vec::len), Some(5), "{body}");
    assert_eq!(body["issues"][4]["message"], "Leaderboard not found by ID");

    // Finish by hand: no longer tracked, listed only with includeFinished, not reopened.
    let (_, body) = admin(
        &app,
        Method::PATCH,
        "/leaderboards",
        Some(json!([{"id": id, "status": "finished"}])),
    )
    .await;
    assert_eq!(body["updated"][0]["status"], "finished");
    let e = event(&app, "2031-03-01T12:00:00Z", json!("ann"), "minutes", 3.0).await;
    assert!(e["leaderboards"].get("minutes-monthly").is_none());
    assert_eq!(
        board(&app, "minutes-monthly?userAttributes=country:US").await["status"],
        "finished"
    );
    let (_, body) = admin(
        &app,
        Method::PATCH,
        "/leaderboards",
        Some(json!([{"id": id, "status": "active"}])),
    )
    .await;
    assert!(body["issues"][0]["message"]
        .as_str()
        .expect("message")
        .contains("finished"));

    // Scheduling needs a future start.
    let (_, body) = admin(&app, Method::POST, "/leaderboards", Some(json!([
        {"name": "Later", "key": "later", "rankBy": "streak", "start": "2031-04-01", "status": "scheduled"},
    ]))).await;
    assert_eq!(body["created"][0]["status"], "scheduled");
    assert_eq!(board(&app, "later").await["status"], "scheduled");

    let (status, body) = admin(
        &app,
        Method::DELETE,
        &format!("/leaderboards?ids={id},00000000-0000-0000-0000-000000000000"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["deleted"], json!([{"id": id}]));
    assert_eq!(body["issues"].as_array().map(Vec::len), Some(1));
    assert_error(
        app.admin_request(Method::GET, &format!("/admin/v1/leaderboards/{id}"))
            .send()
            .await
            .expect("get"),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(
        app.count("SELECT count(*) FROM definitions WHERE kind = 'leaderboard' AND key = 'minutes-monthly' AND status = 'archived'"),
        1
    );
}

#[tokio::test]
async fn boards_from_trophy_toml_are_read_only() {
    let app = spawn_app(&config()).await;
    let id = app.definition_uuid("leaderboard", "weekly");
    let (status, got) = admin(&app, Method::GET, &format!("/leaderboards/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (got["runUnit"].clone(), got["runInterval"].clone()),
        (json!("day"), json!(7))
    );
    for (method, path, body) in [
        (
            Method::PATCH,
            "/admin/v1/leaderboards".to_owned(),
            Some(json!([{"id": id, "name": "x"}])),
        ),
        (
            Method::DELETE,
            format!("/admin/v1/leaderboards?ids={id}"),
            None,
        ),
    ] {
        let mut rb = app.admin_request(method, &path);
        if let Some(body) = body {
            rb = rb.json(&body);
        }
        let message = assert_error(
            rb.send().await.expect("request"),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(message, "managed by trophy.toml");
    }
    assert_eq!(
        admin(&app, Method::POST, "/leaderboards", Some(json!([])))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}
