//! The Admin API for points (issue #6; docs/sdk-compat.md#admin-shapes): systems with
//! inline children, triggers, levels and boosts with the bulk shapes and issues, read-only
//! file definitions, 404s, and the boost webhooks on their schedule.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{admin, assert_error, parts, spawn_app, T0};
use crate::points::{app, config, lessons, total_of};
use crate::receiver::Receiver;

const FILE_SYSTEM: &str = r#"
[[points]]
key = "file-xp"
name = "File XP"

  [[points.triggers]]
  type = "metric"
  points = 1
  metric = "lessons"
  threshold = 1
  description = "A point a lesson"

  [[points.levels]]
  key = "start"
  name = "Start"
  points = 0
"#;

#[tokio::test]
async fn systems_are_created_with_their_children_listed_updated_and_archived() {
    let app = app(FILE_SYSTEM).await;
    let metric = app.definition_uuid("metric", "lessons");
    let plan = app.definition_uuid("attribute", "plan");
    let (status, body) = admin(
        &app,
        Method::POST,
        "/points",
        Some(json!([
            {
                "name": "Gems", "key": "gems", "description": "Shiny", "maxPoints": 1000,
                "badge": {"url": "https://example.com/gem.png"},
                "triggers": [{"type": "metric", "points": 3, "metricId": metric,
                              "metricThreshold": 2, "status": "active"}],
                "levels": [{"name": "Rough", "key": "rough", "points": 0},
                           {"name": "Cut", "key": "cut", "points": 6}],
                "boosts": [{"name": "Premium", "start": "2031-03-01", "multiplier": 2,
                            "userAttributes": [{"attributeId": plan, "attributeValue": "premium"}]}]
            },
            {"name": "Bad", "key": "bad key"},
            {"name": "", "key": "empty-name"},
            {"name": "Dup", "key": "file-xp"}
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created = &body["created"][0];
    assert_eq!(created["key"], "gems");
    assert_eq!(created["status"], "active");
    assert_eq!(created["maxPoints"], 1000);
    assert_eq!(created["badge"]["url"], "https://example.com/gem.png");
    assert_eq!(created["triggers"][0]["metricId"], metric);
    assert_eq!(created["triggers"][0]["metricThreshold"], 2);
    assert_eq!(created["triggers"][0]["blockIfOutOfPoints"], false);
    assert_eq!(created["levels"].as_array().map(Vec::len), Some(2));
    assert_eq!(created["boosts"][0]["rounding"], "down");
    assert_eq!(created["boosts"][0]["status"], "active");
    assert_eq!(created["boosts"][0]["userId"], Value::Null);
    assert_eq!(
        created["boosts"][0]["userAttributes"],
        json!([{"attributeId": plan, "attributeValue": "premium"}])
    );
    let indexes: Vec<Value> = body["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| {
            assert_eq!(i["severity"], "error");
            i["index"].clone()
        })
        .collect();
    assert_eq!(indexes, [json!(1), json!(2), json!(3)]);
    let id = created["id"].as_str().expect("id").to_owned();

    // The new system works at once: 5 lessons → 2 thresholds → 6 gems → level "cut".
    let body = lessons(&app, "ann", 5.0).await;
    assert_eq!(body["points"]["gems"]["added"], 6);
    assert_eq!(body["points"]["gems"]["level"]["key"], "cut");

    // Reads.
    let (status, list) = admin(&app, Method::GET, "/points?limit=10", None).await;
    assert_eq!(status, StatusCode::OK);
    let keys: Vec<Value> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["key"].clone())
        .collect();
    assert_eq!(keys, [json!("file-xp"), json!("gems")]);
    let (_, page) = admin(&app, Method::GET, "/points?limit=1&skip=1", None).await;
    assert_eq!(page[0]["key"], "gems");
    let (status, one) = admin(&app, Method::GET, &format!("/points/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["description"], "Shiny");
    assert!(one.get("triggers").is_none());

    // Update.
    let (status, body) = admin(
        &app,
        Method::PATCH,
        "/points",
        Some(json!([{"id": id, "name": "Gems!", "maxPoints": null},
                    {"id": "00000000-0000-0000-0000-000000000000", "name": "x"}])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["updated"][0]["name"], "Gems!");
    assert_eq!(body["updated"][0]["maxPoints"], Value::Null);
    assert_eq!(body["issues"][0]["index"], 1);
    let (_, system) = app.get_json("/v1/points/gems").await;
    assert_eq!(system["name"], "Gems!");

    // File-managed systems are read-only.
    let file = app.definition_uuid("points_system", "file-xp");
    let (status, body) = admin(
        &app,
        Method::PATCH,
        "/points",
        Some(json!([{"id": file, "name": "x"}])),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body, json!({"error": "managed by trophy.toml"}));
    let (status, _) = admin(&app, Method::DELETE, &format!("/points?ids={file}"), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Archive: gone from both APIs, history kept.
    let (status, body) = admin(&app, Method::DELETE, &format!("/points?ids={id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["deleted"], json!([{"id": id}]));
    assert_error(app.get("/v1/points/gems").await, StatusCode::NOT_FOUND).await;
    let (status, _) = admin(&app, Method::GET, &format!("/points/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT count(*) FROM points_awards"), 2);

    // Bulk limits.
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"name": "n", "key": format!("k{i}")}))
        .collect();
    let (status, _) = admin(&app, Method::POST, "/points", Some(Value::Array(many))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = admin(&app, Method::DELETE, "/points", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = admin(
        &app,
        Method::POST,
        "/points",
        Some(json!([{"name": "only bad"}])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "nothing created: 200");
    assert_eq!(body["created"], json!([]));
}

#[tokio::test]
async fn triggers_levels_and_boosts_have_bulk_crud_with_issues() {
    let app = app(FILE_SYSTEM).await;
    let metric = app.definition_uuid("metric", "lessons");
    let (_, body) = admin(
        &app,
        Method::POST,
        "/points",
        Some(json!([{"name": "Gems", "key": "gems"}])),
    )
    .await;
    let system = body["created"][0]["id"].as_str().expect("id").to_owned();
    let base = format!("/points/{system}");

    // Triggers: inactive by default; bad items become issues.
    let (status, body) = admin(
        &app,
        Method::POST,
        &format!("{base}/triggers"),
        Some(json!([
            {"type": "metric", "points": 4, "metricId": metric, "metricThreshold": 1},
            {"type": "metric", "points": 0, "metricId": metric, "metricThreshold": 1},
            {"type": "metric", "points": 1, "metricId": "nope", "metricThreshold": 1},
            {"type": "time", "points": 1, "timeUnit": "weeks", "timeInterval": 1},
            {"type": "streak", "points": 2, "streakLength": 3, "status": "active"},
            {"type": "user_creation", "points": 9, "status": "active", "blockIfOutOfPoints": true}
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created = body["created"].as_array().expect("created");
    assert_eq!(created.len(), 3);
    assert_eq!(created[0]["status"], "inactive");
    assert_eq!(created[1]["streakLength"], 3);
    assert_eq!(created[2]["blockIfOutOfPoints"], true);
    assert_eq!(body["issues"].as_array().map(Vec::len), Some(3));
    let metric_trigger = created[0]["id"].as_str().expect("id").to_owned();
    let streak_trigger = created[1]["id"].as_str().expect("id").to_owned();
    // Inactive triggers pay nothing and are not listed by the application API.
    let body = lessons(&app, "ann", 1.0).await;
    assert_eq!(
        body["points"]["gems"]["added"], 9,
        "the creation grant only: {body}"
    );
    let (_, view) = app.get_json("/v1/points/gems").await;
    assert_eq!(view["triggers"].as_array().map(Vec::len), Some(2));
    // Activate and change points; a type change needs the trigger inactive.
    let (status, body) = admin(
        &app,
        Method::PATCH,
        &format!("{base}/triggers"),
        Some(json!([
            {"id": metric_trigger, "status": "active", "points": 5},
            {"id": streak_trigger, "type": "time", "timeUnit": "days", "timeInterval": 1}
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["updated"][0]["points"], 5);
    assert_eq!(body["updated"][0]["status"], "active");
    assert_eq!(
        body["issues"][0]["message"],
        "The trigger type can only change while the trigger is inactive"
    );
    let (_, body) = admin(
        &app,
        Method::PATCH,
        &format!("{base}/triggers"),
        Some(
            json!([{"id": streak_trigger, "status": "inactive", "type": "time",
                     "timeUnit": "days", "timeInterval": 2}]),
        ),
    )
    .await;
    assert_eq!(body["updated"][0]["type"], "time");
    assert_eq!(body["updated"][0]["timeUnit"], "days");
    assert!(body["updated"][0].get("streakLength").is_none());
    let body = lessons(&app, "ann", 1.0).await;
    assert_eq!(body["points"]["gems"]["added"], 5);
    let (status, one) = admin(
        &app,
        Method::GET,
        &format!("{base}/triggers/{metric_trigger}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["metricId"], metric);
    let (status, list) = admin(&app, Method::GET, &format!("{base}/triggers"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(3));
    let (_, body) = admin(
        &app,
        Method::DELETE,
        &format!("{base}/triggers?ids={metric_trigger},nope"),
        None,
    )
    .await;
    assert_eq!(body["deleted"], json!([{"id": metric_trigger}]));
    assert_eq!(body["issues"][0]["id"], "nope");
    let body = lessons(&app, "ann", 1.0).await;
    assert!(body["points"].get("gems").is_none(), "{body}");

    // Levels: the key is fixed; level-summary follows the changes.
    let (status, body) = admin(
        &app,
        Method::POST,
        &format!("{base}/levels"),
        Some(json!([
            {"name": "One", "key": "one", "points": 0, "description": "First"},
            {"name": "Two", "key": "two", "points": 100},
            {"name": "Dup", "key": "one", "points": 5},
            {"name": "Neg", "key": "neg", "points": -1}
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["created"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["issues"].as_array().map(Vec::len), Some(2));
    let two = body["created"][1]["id"].as_str().expect("id").to_owned();
    let (_, summary) = app.get_json("/v1/points/gems/level-summary").await;
    assert_eq!(summary[0]["users"], 1);
    assert_eq!(summary[1]["users"], 0);
    let (_, body) = admin(
        &app,
        Method::PATCH,
        &format!("{base}/levels"),
        Some(json!([{"id": two, "points": 10}, {"id": two, "key": "renamed"}])),
    )
    .await;
    assert_eq!(body["updated"][0]["points"], 10);
    assert_eq!(
        body["issues"][0]["message"],
        "A level's key cannot be changed"
    );
    // ann has 14: now at level two.
    assert_eq!(total_of(&app, "ann", "gems"), 14);
    let (_, summary) = app.get_json("/v1/points/gems/level-summary").await;
    assert_eq!(summary[0]["users"], 0);
    assert_eq!(summary[1]["users"], 1);
    let (_, body) = admin(
        &app,
        Method::DELETE,
        &format!("{base}/levels?ids={two}"),
        None,
    )
    .await;
    assert_eq!(body["deleted"], json!([{"id": two}]));
    let (_, levels) = app.get_json("/v1/points/gems/levels").await;
    assert_eq!(levels.as_array().map(Vec::len), Some(1));

    // Boosts: for one user or for attributes, never both; multiplier limits.
    let plan = app.definition_uuid("attribute", "plan");
    let (status, body) = admin(
        &app,
        Method::POST,
        &format!("{base}/boosts"),
        Some(json!([
            {"name": "Ann's", "start": "2031-03-01", "end": "2031-03-01", "multiplier": 3, "userId": "ann", "rounding": "up"},
            {"name": "Both", "start": "2031-03-01", "multiplier": 2, "userId": "ann",
             "userAttributes": [{"attributeId": plan, "attributeValue": "x"}]},
            {"name": "One", "start": "2031-03-01", "multiplier": 1},
            {"name": "Later", "start": "2031-04-01", "multiplier": 1.5},
            {"name": "Inverted", "start": "2031-04-01", "end": "2031-03-01", "multiplier": 1.5}
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["created"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["created"][0]["userId"], "ann");
    assert_eq!(body["created"][1]["status"], "scheduled");
    assert_eq!(body["issues"].as_array().map(Vec::len), Some(3));
    assert_eq!(body["issues"][0]["userId"], "ann");
    let boost = body["created"][1]["id"].as_str().expect("id").to_owned();
    let (_, mine) = app.get_json("/v1/users/ann/points/gems/boosts").await;
    assert_eq!(mine.as_array().map(Vec::len), Some(1));
    assert_eq!(mine[0]["name"], "Ann's");
    let (_, global) = app.get_json("/v1/points/gems/boosts").await;
    assert_eq!(
        global.as_array().map(Vec::len),
        Some(1),
        "user boosts are not global"
    );
    let (_, body) = admin(
        &app,
        Method::PATCH,
        &format!("{base}/boosts"),
        Some(json!([{"id": boost, "start": "2031-03-01", "multiplier": 2.5}, {"id": "nope", "name": "x"}])),
    )
    .await;
    assert_eq!(body["updated"][0]["status"], "active");
    assert_eq!(body["updated"][0]["multiplier"], 2.5);
    assert_eq!(body["issues"][0]["boostId"], "nope");
    let (status, one) = admin(&app, Method::GET, &format!("{base}/boosts/{boost}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["name"], "Later");
    let (_, body) = admin(
        &app,
        Method::DELETE,
        &format!("{base}/boosts?ids={boost}"),
        None,
    )
    .await;
    assert_eq!(body["deleted"], json!([{"id": boost}]));
    let (status, _) = admin(&app, Method::GET, &format!("{base}/boosts/{boost}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Unknown systems and children.
    for path in [
        "/points/nope/triggers",
        "/points/nope/levels",
        "/points/nope/boosts",
        &format!("{base}/triggers/nope"),
        &format!("{base}/levels/nope"),
    ] {
        let (status, body) = admin(&app, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, _) = admin(
        &app,
        Method::POST,
        "/points/nope/levels",
        Some(json!([{"name": "a", "key": "a", "points": 1}])),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // File-managed children are read-only too.
    let file = app.definition_uuid("points_system", "file-xp");
    let file_trigger = app.definition_uuid("points_trigger", "file-xp/trigger/0");
    let (status, body) = admin(
        &app,
        Method::PATCH,
        &format!("/points/{file}/triggers"),
        Some(json!([{"id": file_trigger, "points": 2}])),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "managed by trophy.toml");
    let file_level = app.definition_uuid("points_level", "file-xp/level/start");
    let (status, _) = admin(
        &app,
        Method::DELETE,
        &format!("/points/{file}/levels?ids={file_level}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn trigger_items_are_typed_patches_that_name_what_does_not_fit() {
    let app = app(FILE_SYSTEM).await;
    let metric = app.definition_uuid("metric", "lessons");
    let plan = app.definition_uuid("attribute", "plan");
    let (_, body) = admin(
        &app,
        Method::POST,
        "/points",
        Some(json!([{"name": "Gems", "key": "gems"}])),
    )
    .await;
    let system = body["created"][0]["id"].as_str().expect("id").to_owned();
    let base = format!("/points/{system}");
    let (status, body) = admin(
        &app,
        Method::POST,
        &format!("{base}/triggers"),
        Some(json!([
            {"type": "metric", "points": 2, "metricId": metric, "metricThreshold": 1,
             "userAttributes": [{"attributeId": plan, "attributeValue": "pro"}],
             "description": "Two gems a lesson for pro users"},
            {"type": "metric", "points": 2, "metricId": metric, "metricThreshold": 1, "colour": "red"},
            {"type": "metric", "points": "ten", "metricId": metric, "metricThreshold": 1},
            {"type": "streak", "points": 2, "streakLength": 3, "metricId": metric},
            {"type": "metric", "points": 2, "metricId": metric, "metricThreshold": 0},
            {"type": "weekly", "points": 2}
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["created"].as_array().map(Vec::len), Some(1), "{body}");
    let messages: Vec<&str> = body["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .filter_map(|i| i["message"].as_str())
        .collect();
    assert_eq!(messages.len(), 5, "{body}");
    assert!(
        messages[0].contains("unknown field `colour`"),
        "{}",
        messages[0]
    );
    assert!(
        messages[1].starts_with("points: invalid type"),
        "{}",
        messages[1]
    );
    assert_eq!(messages[2], "metricId is only for metric triggers");
    assert!(
        messages[3].starts_with("metricThreshold must be at least 1"),
        "{}",
        messages[3]
    );
    assert!(
        messages[4].starts_with("type must be one of"),
        "{}",
        messages[4]
    );
    let trigger = body["created"][0]["id"].as_str().expect("id").to_owned();
    assert_eq!(
        body["created"][0]["userAttributes"][0]["attributeValue"],
        "pro"
    );

    // A patch changes only what it sends; null clears an attribute list.
    let (status, body) = admin(
        &app,
        Method::PATCH,
        &format!("{base}/triggers"),
        Some(json!([{"id": trigger, "points": 7, "userAttributes": null}])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let updated = &body["updated"][0];
    assert_eq!(updated["points"], 7);
    assert_eq!(updated["description"], "Two gems a lesson for pro users");
    assert_eq!(updated["metricThreshold"], 1);
    assert_eq!(updated["userAttributes"], json!([]), "{body}");
    // The stored body is the model's serialized form, read back the same at a restart.
    let stored: String = app
        .db()
        .query_row(
            "SELECT body FROM definitions WHERE uuid = ?1",
            [&trigger],
            |r| r.get(0),
        )
        .expect("stored trigger");
    let stored: Value = serde_json::from_str(&stored).expect("json body");
    assert_eq!(
        stored,
        json!({"system": "gems", "type": "metric", "metric": "lessons", "threshold": 1,
               "points": 7, "userAttributes": [], "eventAttributes": [],
               "blockIfOutOfPoints": false, "description": "Two gems a lesson for pro users"})
    );
    // null clears the description; trophy.toml declares one with `description`.
    let (_, body) = admin(
        &app,
        Method::PATCH,
        &format!("{base}/triggers"),
        Some(json!([{"id": trigger, "description": null}])),
    )
    .await;
    assert!(body["updated"][0].get("description").is_none(), "{body}");
    let file_system = app.definition_uuid("points_system", "file-xp");
    let (_, listed) = admin(
        &app,
        Method::GET,
        &format!("/points/{file_system}/triggers"),
        None,
    )
    .await;
    assert_eq!(listed[0]["description"], "A point a lesson", "{listed}");
}

#[tokio::test]
async fn system_level_and_boost_items_are_typed_patches_too() {
    let app = app(FILE_SYSTEM).await;
    let (status, body) = admin(
        &app,
        Method::POST,
        "/points",
        Some(json!([
            {"name": "Gems", "key": "gems", "maxPoints": 50,
             "levels": [{"key": "one", "name": "One", "points": 0}],
             "boosts": [{"name": "Launch", "start": "2031-03-01", "end": "2031-03-31", "multiplier": 2}]},
            {"name": "Bad", "key": "bad", "levels": [{"key": "x", "name": "X", "points": 0, "rank": 1}]}
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["created"].as_array().map(Vec::len), Some(1), "{body}");
    assert!(
        body["issues"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("unknown field `rank`")),
        "{body}"
    );
    let system = body["created"][0]["id"].as_str().expect("id").to_owned();
    let boost = body["created"][0]["boosts"][0]["id"]
        .as_str()
        .expect("boost")
        .to_owned();
    let level = body["created"][0]["levels"][0]["id"]
        .as_str()
        .expect("level")
        .to_owned();
    // null clears what may be absent: the cap, a boost's end, a level's description.
    let (_, body) = admin(
        &app,
        Method::PATCH,
        "/points",
        Some(json!([{"id": system, "maxPoints": null}])),
    )
    .await;
    assert_eq!(body["updated"][0]["maxPoints"], Value::Null, "{body}");
    let (_, body) = admin(
        &app,
        Method::PATCH,
        &format!("/points/{system}/boosts"),
        Some(json!([{"id": boost, "end": null}, {"id": boost, "multiplier": 1}])),
    )
    .await;
    assert_eq!(body["updated"][0]["end"], Value::Null, "{body}");
    assert_eq!(body["updated"][0]["start"], "2031-03-01", "{body}");
    assert_eq!(
        body["issues"][0]["message"],
        "multiplier must not be 1, which would change nothing"
    );
    let (_, body) = admin(
        &app,
        Method::PATCH,
        &format!("/points/{system}/levels"),
        Some(json!([{"id": level, "description": "First steps"}, {"id": level, "points": -1}])),
    )
    .await;
    assert_eq!(body["updated"][0]["description"], "First steps", "{body}");
    assert_eq!(body["updated"][0]["key"], "one");
    assert_eq!(body["issues"][0]["message"], "points must not be negative");
}

#[tokio::test]
async fn boost_webhooks_fire_the_day_before_and_after_globally_and_at_local_times_for_a_user() {
    let hooks = Receiver::start().await;
    let app = spawn_app(&config(&hooks.url, FILE_SYSTEM)).await;
    app.set_clock_ok(T0).await;
    let (status, _) = parts(
        app.send_json(
            Method::POST,
            "/v1/users",
            &json!({"id": "kiri", "tz": "Pacific/Kiritimati"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let system = app.definition_uuid("points_system", "file-xp");
    let (status, body) = admin(
        &app,
        Method::POST,
        &format!("/points/{system}/boosts"),
        Some(json!([
            {"name": "Weekend", "start": "2031-03-05", "end": "2031-03-06", "multiplier": 2},
            {"name": "Kiri day", "start": "2031-03-03", "end": "2031-03-03", "multiplier": 3, "userId": "kiri"}
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Kiritimati's 3 March starts at 2 March 10:00 UTC and ends 3 March 10:00 UTC.
    app.set_clock_ok("2031-03-02T09:59:00Z").await;
    assert!(hooks.of("points.boost_started").is_empty());
    app.set_clock_ok("2031-03-02T10:00:00Z").await;
    let started = hooks.wait_for("points.boost_started", 1).await;
    assert_eq!(started[0]["boost"]["name"], "Kiri day");
    assert_eq!(started[0]["boost"]["userId"], "kiri");
    assert_eq!(started[0]["boost"]["status"], "active");
    assert_eq!(started[0]["boost"]["pointsSystemKey"], "file-xp");
    assert_eq!(started[0]["timestamp"], "2031-03-02T10:00:00Z");
    app.set_clock_ok("2031-03-03T10:00:00Z").await;
    let finished = hooks.wait_for("points.boost_finished", 1).await;
    assert_eq!(finished[0]["boost"]["name"], "Kiri day");
    assert_eq!(finished[0]["boost"]["status"], "finished");
    // The global boost: 10:00 UTC the day before its start, 13:00 UTC the day after its end.
    app.set_clock_ok("2031-03-04T09:59:00Z").await;
    assert_eq!(hooks.of("points.boost_started").len(), 1);
    app.set_clock_ok("2031-03-04T10:00:00Z").await;
    let started = hooks.wait_for("points.boost_started", 2).await;
    assert_eq!(started[1]["boost"]["name"], "Weekend");
    assert_eq!(started[1]["boost"]["userId"], Value::Null);
    assert_eq!(started[1]["boost"]["start"], "2031-03-05");
    assert_eq!(started[1]["boost"]["end"], "2031-03-06");
    app.set_clock_ok("2031-03-07T12:59:00Z").await;
    assert_eq!(hooks.of("points.boost_finished").len(), 1);
    app.set_clock_ok("2031-03-07T13:00:00Z").await;
    let finished = hooks.wait_for("points.boost_finished", 2).await;
    assert_eq!(finished[1]["boost"]["name"], "Weekend");
    // Each is sent once.
    app.set_clock_ok("2031-03-20T00:00:00Z").await;
    assert_eq!(hooks.of("points.boost_started").len(), 2);
    assert_eq!(hooks.of("points.boost_finished").len(), 2);
}
