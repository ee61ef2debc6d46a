//! Points reach the features built on them (docs/behaviour/leaderboards.md#values,
//! docs/behaviour/wrapped.md): boards ranked by
//! points move on every path that awards points, and the year in review counts awards.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Config, TestApp};

fn config() -> Config {
    Config::new().metric("lessons", "Lessons").with(DEFINITIONS)
}

const DEFINITIONS: &str = r#"
[[achievements]]
key = "welcome"
name = "Welcome"
trigger = "api"

[[points]]
key = "xp"
name = "XP"
description = "Experience"

  [[points.triggers]]
  type = "metric"
  metric = "lessons"
  threshold = 1
  points = 10

  [[points.triggers]]
  type = "achievement"
  achievement = "welcome"
  points = 25

  [[points.triggers]]
  type = "user_creation"
  points = 5

[[leaderboards]]
key = "xp-board"
name = "XP board"
rank_by = "points"
points_system = "xp"
start = "2031-01-01"
"#;

async fn rankings(app: &TestApp) -> Vec<(String, f64)> {
    let (status, body) = app.get_json("/v1/leaderboards/xp-board").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["rankings"]
        .as_array()
        .expect("rankings")
        .iter()
        .map(|r| {
            (
                r["userId"].as_str().expect("userId").to_owned(),
                r["value"].as_f64().expect("value"),
            )
        })
        .collect()
}

#[tokio::test]
async fn points_from_every_path_move_the_points_board_and_the_event_response_shows_it() {
    let app = spawn_app(&config()).await;
    app.set_clock_ok("2031-03-01T10:00:00Z").await;

    // Created by an event: 5 for the creation and 2 × 10 for the lessons.
    let reply = app.event_ok("lessons", "ann", 2.0).await;
    assert_eq!(reply["points"]["xp"]["added"], json!(25), "{reply}");
    let entry = &reply["leaderboards"]["xp-board"];
    assert_eq!(entry["rank"], json!(1), "{reply}");

    // Created by identification alone: the creation award ranks the user too.
    let resp = app
        .send_json(Method::PUT, "/v1/users/bob", &json!({ "name": "Bob" }))
        .await;
    assert!(resp.status().is_success(), "{}", resp.status());
    assert_eq!(
        rankings(&app).await,
        vec![("ann".to_owned(), 25.0), ("bob".to_owned(), 5.0)]
    );

    // An achievement completed through the API pays 25 and overtakes.
    let resp = app
        .send_json(
            Method::POST,
            "/v1/achievements/welcome/complete",
            &json!({ "user": { "id": "bob" } }),
        )
        .await;
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["points"]["xp"]["added"], json!(25), "{body}");
    assert_eq!(
        rankings(&app).await,
        vec![("bob".to_owned(), 30.0), ("ann".to_owned(), 25.0)]
    );
}

#[tokio::test]
async fn the_year_in_review_counts_points_awarded() {
    let app = spawn_app(&config()).await;
    app.set_clock_ok("2031-03-01T10:00:00Z").await;
    app.event_ok("lessons", "ann", 3.0).await;
    app.set_clock_ok("2031-05-01T10:00:00Z").await;
    app.event_ok("lessons", "ann", 1.0).await;

    let (status, body) = app.get_json("/v1/users/ann/wrapped?year=2031").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let year = &body["activity"]["entireYear"]["points"]["xp"];
    assert_eq!(year["currentTotal"], json!(45), "{body}");
    assert_eq!(year["changeThisPeriod"], json!(45), "{body}");
    assert_eq!(year["name"], json!("XP"));
    // March and May have one event each; a tie goes to the earlier month.
    let month = &body["activity"]["mostActiveMonth"];
    assert_eq!(month["month"], json!(2), "{body}");
    assert_eq!(
        month["points"]["xp"]["changeThisPeriod"],
        json!(35),
        "{body}"
    );
    assert_eq!(month["points"]["xp"]["currentTotal"], json!(35), "{body}");

    // The best rank reached on the points board shows in the year's leaderboards.
    let board = &body["activity"]["entireYear"]["leaderboards"]["xp-board"];
    assert_eq!(board["rank"], json!(1), "{body}");
}
