//! `/admin/v1/metrics` and `/admin/v1/attributes`: bulk create/update/archive with issues,
//! paging, bad ids, file-managed definitions read-only, archived metrics refusing events,
//! and definitions made here taking effect at once and surviving a restart.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::admin_support::{admin, issue_messages};
use crate::helpers::{assert_error, assert_json_eq, spawn_app, start_refused, CONFIG};

async fn create_metrics(app: &crate::helpers::TestApp, items: Value) -> (StatusCode, Value) {
    admin(app, Method::POST, "/admin/v1/metrics", Some(&items)).await
}

#[tokio::test]
async fn created_metric_takes_effect_at_once_and_survives_a_restart() {
    let app = spawn_app(CONFIG).await;
    let (status, body) = create_metrics(
        &app,
        json!([
            {"name": "Words", "key": "words", "unitType": "number", "units": "words"},
            {"name": "Spend", "key": "spend", "unitType": "currency"},
            {"name": "Dup", "key": "lessons"},
            {"name": "Bad", "key": "no spaces"},
            {"name": "", "key": "empty-name"},
            {"name": "Odd", "key": "odd", "unitType": "furlongs"}
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created = body["created"].as_array().expect("created");
    assert_eq!(created.len(), 2);
    let words_id = created[0]["id"].as_str().expect("id").to_owned();
    assert_json_eq(
        &created[0],
        &json!({"id": words_id, "name": "Words", "key": "words", "unitType": "number", "units": "words"}),
    );
    assert_eq!(created[1]["unitType"], "currency");
    assert_eq!(created[1]["units"], "");
    let messages = issue_messages(&body);
    assert_eq!(messages.len(), 4, "{body}");
    assert_eq!(messages[0], "Key already in use by another metric");
    let indexes: Vec<i64> = body["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| i["index"].as_i64().expect("index"))
        .collect();
    assert_eq!(indexes, vec![2, 3, 4, 5]);

    // The next event uses it without a restart.
    let event = app.event_ok("words", "ann", 120.0).await;
    assert_eq!(event["metricId"], words_id.as_str());
    assert_eq!(event["total"], 120.0);

    // Renamed through PATCH; the key never changes.
    let (status, body) = admin(
        &app,
        Method::PATCH,
        "/admin/v1/metrics",
        Some(
            &json!([{"id": words_id, "name": "Words written", "units": "w"},
                     {"id": "5b0f6f0e-0000-4000-8000-000000000000", "name": "x"},
                     {"id": "not-a-uuid", "name": "x"},
                     // Refused items change nothing, not even their valid fields.
                     {"id": words_id, "units": "z", "unitType": "euros"},
                     {"id": words_id, "units": "z", "name": "  "}]),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["updated"][0]["name"], "Words written");
    assert_eq!(body["updated"][0]["key"], "words");
    assert_eq!(
        issue_messages(&body),
        vec![
            "Metric not found by ID",
            "id must be a valid UUID",
            "unitType must be \"number\" or \"currency\"",
            "name must be a non-empty string"
        ]
    );
    assert_eq!(body["updated"].as_array().map(Vec::len), Some(1));
    let (_, metric) = app.get_json("/v1/users/ann/metrics/words").await;
    assert_eq!(metric["name"], "Words written");

    let app = app.restart().await;
    let (status, got) = admin(
        &app,
        Method::GET,
        &format!("/admin/v1/metrics/{words_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["name"], "Words written");
    assert_eq!(
        (got["units"].clone(), got["unitType"].clone()),
        (json!("w"), json!("number"))
    );
    let event = app.event_ok("words", "ann", 5.0).await;
    assert_eq!(event["total"], 125.0);
}

#[tokio::test]
async fn archived_metric_refuses_events_and_leaves_the_application_api() {
    let app = spawn_app(CONFIG).await;
    let (_, body) = create_metrics(&app, json!([{"name": "Words", "key": "words"}])).await;
    let id = body["created"][0]["id"].as_str().expect("id").to_owned();
    app.event_ok("words", "ann", 3.0).await;
    let (status, body) = admin(
        &app,
        Method::DELETE,
        &format!("/admin/v1/metrics?ids={id}&ids=5b0f6f0e-0000-4000-8000-000000000000"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["deleted"], json!([{"id": id}]));
    assert_eq!(issue_messages(&body), vec!["Metric not found by ID"]);
    let before = app.count("SELECT count(*) FROM events");
    let resp = app
        .post_event("words", &json!({"user": {"id": "ann"}, "value": 1}), None)
        .await;
    assert_error(resp, StatusCode::NOT_FOUND).await;
    assert_eq!(app.count("SELECT count(*) FROM events"), before);
    let (_, metrics) = app.get_json("/v1/users/ann/metrics").await;
    assert!(metrics
        .as_array()
        .expect("list")
        .iter()
        .all(|m| m["key"] != "words"));
    let (status, _) = admin(&app, Method::GET, &format!("/admin/v1/metrics/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The archived key stays taken.
    let (status, body) = create_metrics(&app, json!([{"name": "Words", "key": "words"}])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        issue_messages(&body),
        vec!["Key already in use by another metric"]
    );
    // Archived stays archived after a restart (the file never declared it).
    let app = app.restart().await;
    let resp = app
        .post_event("words", &json!({"user": {"id": "ann"}, "value": 1}), None)
        .await;
    assert_error(resp, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn file_metrics_are_read_only_and_lists_page() {
    let app = spawn_app(CONFIG).await;
    let lessons = app.definition_uuid("metric", "lessons");
    let (status, body) = admin(&app, Method::GET, "/admin/v1/metrics?limit=1&skip=1", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().expect("list").len(), 1);
    assert_eq!(body[0]["key"], "minutes");
    let (_, all) = admin(&app, Method::GET, "/admin/v1/metrics", None).await;
    assert_eq!(all[0]["id"], lessons.as_str());
    assert_eq!(all[0]["units"], "lessons");
    for (method, path, body) in [
        (
            Method::PATCH,
            "/admin/v1/metrics".to_owned(),
            Some(json!([{"id": lessons, "name": "x"}])),
        ),
        (
            Method::DELETE,
            format!("/admin/v1/metrics?ids={lessons}"),
            None,
        ),
    ] {
        let (status, body) = admin(&app, method, &path, body.as_ref()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body, json!({"error": "managed by trophy.toml"}));
    }
    let (_, again) = admin(
        &app,
        Method::GET,
        &format!("/admin/v1/metrics/{lessons}"),
        None,
    )
    .await;
    assert_eq!(again["name"], "Lessons completed");
    for query in ["limit=0", "limit=101", "skip=-1"] {
        let (status, _) = admin(
            &app,
            Method::GET,
            &format!("/admin/v1/metrics?{query}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
    }
    let (status, _) = admin(&app, Method::GET, "/admin/v1/metrics/not-a-uuid", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = admin(&app, Method::DELETE, "/admin/v1/metrics", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn bulk_limits_change_nothing() {
    let app = spawn_app(CONFIG).await;
    let before = app.count("SELECT count(*) FROM definitions");
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"name": format!("M{i}"), "key": format!("m{i}")}))
        .collect();
    for (path, body) in [
        ("/admin/v1/metrics", json!(many)),
        ("/admin/v1/metrics", json!([])),
        ("/admin/v1/attributes", json!(many)),
    ] {
        let (status, reply) = admin(&app, Method::POST, path, Some(&body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    }
    let ids: Vec<String> = (0..101)
        .map(|_| "5b0f6f0e-0000-4000-8000-000000000000".to_owned())
        .collect();
    let (status, _) = admin(
        &app,
        Method::DELETE,
        &format!("/admin/v1/attributes?ids={}", ids.join(",")),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = admin(
        &app,
        Method::POST,
        "/admin/v1/metrics",
        Some(&json!({"name": "x"})),
    )
    .await;
    // Not the documented array: 422, the status the 1.21.1 spec lists for this operation.
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("SELECT count(*) FROM definitions"), before);
}

#[tokio::test]
async fn attributes_gate_event_and_user_keys_as_they_change() {
    let app = spawn_app(CONFIG).await;
    let resp = app
        .post_event(
            "lessons",
            &json!({"user": {"id": "ann"}, "value": 1, "attributes": {"device": "ios"}}),
            None,
        )
        .await;
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
    let (status, body) = admin(
        &app,
        Method::POST,
        "/admin/v1/attributes",
        Some(&json!([
            {"name": "Device", "key": "device", "type": "event"},
            {"name": "Tier", "key": "tier", "type": "user"},
            {"name": "Again", "key": "source", "type": "event"},
            {"name": "Other", "key": "plan", "type": "event"},
            {"name": "Bad", "key": "x", "type": "both"}
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["created"].as_array().expect("created").len(), 2);
    let device = body["created"][0].clone();
    assert_eq!(device["type"], "event");
    assert_eq!(device["name"], "Device");
    assert_eq!(
        issue_messages(&body),
        vec![
            "Key already in use by another attribute of this type",
            "Key already in use by another attribute",
            "type must be \"user\" or \"event\""
        ]
    );
    let ok = app
        .post_event(
            "lessons",
            &json!({"user": {"id": "ann", "attributes": {"tier": "gold"}}, "value": 1,
                    "attributes": {"device": "ios"}}),
            None,
        )
        .await;
    assert_eq!(ok.status(), StatusCode::CREATED);
    let (_, user) = app.get_json("/v1/users/ann").await;
    assert_eq!(user["attributes"]["tier"], "gold");

    let id = device["id"].as_str().expect("id");
    let (status, body) = admin(
        &app,
        Method::PATCH,
        "/admin/v1/attributes",
        Some(&json!([{"id": id, "name": "Device type"}])),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_json_eq(
        &body["updated"][0],
        &json!({"id": id, "key": "device", "name": "Device type", "type": "event"}),
    );
    let (_, got) = admin(
        &app,
        Method::GET,
        &format!("/admin/v1/attributes/{id}"),
        None,
    )
    .await;
    assert_eq!(got["name"], "Device type");
    let source = app.definition_uuid("attribute", "source");
    let (status, _) = admin(
        &app,
        Method::PATCH,
        "/admin/v1/attributes",
        Some(&json!([{"id": source, "name": "x"}])),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, body) = admin(
        &app,
        Method::DELETE,
        &format!("/admin/v1/attributes?ids={id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let resp = app
        .post_event(
            "lessons",
            &json!({"user": {"id": "ann"}, "value": 1, "attributes": {"device": "ios"}}),
            None,
        )
        .await;
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
    let (_, list) = admin(&app, Method::GET, "/admin/v1/attributes?limit=100", None).await;
    let keys: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys, vec!["plan", "country", "source", "tier"]);
}

#[tokio::test]
async fn a_damaged_definition_row_stops_the_start_naming_the_row() {
    let app = spawn_app(CONFIG).await;
    let (status, body) = create_metrics(&app, json!([{"name": "Words", "key": "words"}])).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let dir = app.kill().await;
    let conn = rusqlite::Connection::open(dir.path().join("trophy.db")).expect("db");
    let id: i64 = conn
        .query_row(
            "SELECT id FROM definitions WHERE kind = 'metric' AND key = 'words'",
            [],
            |r| r.get(0),
        )
        .expect("row");
    conn.execute(
        "UPDATE definitions SET body = '{\"name\": ' WHERE id = ?1",
        [id],
    )
    .expect("damage");
    drop(conn);
    let message = start_refused(CONFIG, dir.path()).await;
    assert!(
        message.contains(&format!("definition row {id} (metric \"words\")")),
        "{message}"
    );
    assert!(message.contains("the body is not JSON"), "{message}");
}
