//! Leaderboards (behaviour.md §7): metric and streak boards through events, runs across
//! boundaries and time zones, past runs, capacity, breakdown groups, ties, paging,
//! history, validation, and ranks rebuilt after a restart. Points boards are tested in
//! process (`src/leaderboards/tests.rs`); webhooks and the Admin API in
//! `leaderboard_webhooks.rs` and `leaderboard_admin.rs`.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, assert_json_eq, parts, spawn_app, TestApp};

pub const CONFIG: &str = r#"
[server]
default_timezone = "UTC"

[auth]
api_keys = ["app-key"]
admin_keys = ["admin-key"]

[[attributes]]
key = "country"
name = "Country"
type = "user"

[[attributes]]
key = "plan"
name = "Plan"
type = "user"

[[metrics]]
key = "lessons"
name = "Lessons"

[[metrics]]
key = "minutes"
name = "Minutes"

[streaks]
frequency = "daily"
metrics = [{ metric = "lessons", threshold = 1 }]

[[leaderboards]]
key = "all-time"
name = "All time"
description = "Every lesson counts"
rank_by = "metric"
metric = "lessons"
start = "2031-03-01"

[[leaderboards]]
key = "weekly"
name = "Weekly lessons"
rank_by = "metric"
metric = "lessons"
start = "2031-03-03"
run_unit = "day"
run_interval = 7

[[leaderboards]]
key = "monthly"
name = "Monthly minutes"
rank_by = "metric"
metric = "minutes"
start = "2031-01-31"
run_unit = "month"
run_interval = 1

[[leaderboards]]
key = "top3"
name = "Top three"
rank_by = "metric"
metric = "minutes"
start = "2031-03-01"
max_participants = 3

[[leaderboards]]
key = "by-country"
name = "By country"
rank_by = "metric"
metric = "minutes"
start = "2031-03-01"
max_participants = 2
breakdown_attributes = ["country"]

[[leaderboards]]
key = "streaks"
name = "Longest streaks"
rank_by = "streak"
start = "2031-03-01"

[[leaderboards]]
key = "next-year"
name = "Next year"
rank_by = "metric"
metric = "lessons"
start = "2032-01-01"

[[leaderboards]]
key = "february"
name = "February only"
rank_by = "metric"
metric = "lessons"
start = "2031-02-01"
end = "2031-02-28"

[[leaderboards]]
key = "hidden"
name = "Not yet"
rank_by = "metric"
metric = "lessons"
start = "2031-03-01"
status = "inactive"
"#;

/// Moves the clock to `at` and posts an event; returns the 201 body.
pub async fn event(app: &TestApp, at: &str, user: Value, metric: &str, value: f64) -> Value {
    app.set_clock_ok(at).await;
    let user = match user {
        Value::String(id) => json!({ "id": id }),
        other => other,
    };
    let (status, body) = parts(
        app.post_event(metric, &json!({ "user": user, "value": value }), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

pub async fn board(app: &TestApp, query: &str) -> Value {
    let (status, body) = app.get_json(&format!("/v1/leaderboards/{query}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// `(userId, rank, value)` of each ranking.
pub fn ranks(board: &Value) -> Vec<(String, i64, f64)> {
    board["rankings"]
        .as_array()
        .unwrap_or_else(|| panic!("rankings in {board}"))
        .iter()
        .map(|r| {
            (
                r["userId"].as_str().expect("userId").to_owned(),
                r["rank"].as_i64().expect("rank"),
                r["value"].as_f64().expect("value"),
            )
        })
        .collect()
}

fn expect(list: &[(&str, i64, f64)]) -> Vec<(String, i64, f64)> {
    list.iter().map(|(u, r, v)| (u.to_string(), *r, *v)).collect()
}

#[tokio::test]
async fn metric_boards_rank_by_value_and_the_event_response_lists_them() {
    let app = spawn_app(CONFIG).await;
    let first = event(&app, "2031-03-01T10:30:00Z", json!({"id": "ann", "name": "Ann"}), "lessons", 2.0).await;
    assert_json_eq(
        &first["leaderboards"]["all-time"],
        &json!({
            "id": app.definition_uuid("leaderboard", "all-time"),
            "key": "all-time",
            "name": "All time",
            "description": "Every lesson counts",
            "status": "active",
            "rankBy": "metric",
            "metricKey": "lessons",
            "metricName": "Lessons",
            "breakdownAttribute": null,
            "breakdownAttributes": [],
            "userAttributes": [],
            "start": "2031-03-01",
            "end": null,
            "maxParticipants": 1000,
            "runUnit": null,
            "runInterval": null,
            "rank": 1,
            "previousRank": null,
            "threshold": 0,
        }),
    );
    // The weekly board starts on the 3rd, the next-year board later: neither is touched.
    let touched: Vec<&String> = first["leaderboards"].as_object().expect("map").keys().collect();
    assert_eq!(touched, ["all-time", "streaks"]);
    assert_eq!(first["leaderboards"]["streaks"]["rank"], 1);

    let bob = event(&app, "2031-03-01T11:00:00Z", json!("bob"), "lessons", 3.0).await;
    assert_eq!(bob["leaderboards"]["all-time"]["rank"], 1);
    // A tie: cat reaches 3 after bob, so bob stays first.
    event(&app, "2031-03-01T11:30:00Z", json!("cat"), "lessons", 3.0).await;
    let again = event(&app, "2031-03-01T12:00:00Z", json!("ann"), "lessons", 0.5).await;
    assert_eq!(again["leaderboards"]["all-time"]["previousRank"], 3);
    assert_eq!(again["leaderboards"]["all-time"]["rank"], 3);
    let minutes = event(&app, "2031-03-01T12:10:00Z", json!("ann"), "minutes", 1.0).await;
    assert!(minutes["leaderboards"].get("all-time").is_none(), "{minutes}");

    let all = board(&app, "all-time").await;
    assert_eq!(all["status"], "active");
    assert_eq!(
        ranks(&all),
        expect(&[("bob", 1, 3.0), ("cat", 2, 3.0), ("ann", 3, 2.5)])
    );
    assert_eq!(all["rankings"][2]["userName"], "Ann");
    assert_eq!(all["rankings"][0]["userName"], Value::Null);
    assert_eq!(all["rankings"][2]["value"].to_string(), "2.5");

    let page = board(&app, "all-time?offset=1&limit=1").await;
    assert_eq!(ranks(&page), expect(&[("cat", 2, 3.0)]));

    // Ann passes both. Her history has each change of her own value, oldest first; being
    // passed by others shows in the rankings and in her next row's previousRank.
    event(&app, "2031-03-01T13:00:00Z", json!("ann"), "lessons", 1.0).await;
    let (status, mine) = app.get_json("/v1/users/ann/leaderboards/all-time").await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["rank"], 1);
    assert_eq!(mine["value"].to_string(), "3.5");
    assert_json_eq(
        &mine["history"],
        &json!([
            {"timestamp": "2031-03-01T10:30:00Z", "date": "2031-03-01", "previousRank": null, "rank": 1, "previousValue": null, "value": 2},
            {"timestamp": "2031-03-01T12:00:00Z", "date": "2031-03-01", "previousRank": 3, "rank": 3, "previousValue": 2, "value": 2.5},
            {"timestamp": "2031-03-01T13:00:00Z", "date": "2031-03-01", "previousRank": 3, "rank": 1, "previousValue": 2.5, "value": 3.5},
        ]),
    );
    let (_, last_two) = app
        .get_json("/v1/users/ann/leaderboards/all-time?numEvents=2")
        .await;
    assert_eq!(last_two["history"].as_array().map(Vec::len), Some(2));
    assert_eq!(last_two["history"][1]["rank"], 1);
    // The rows the wrapped year-in-review reads.
    assert_eq!(
        app.count(
            "SELECT count(*) FROM leaderboard_history h JOIN definitions d ON d.id = h.leaderboard_id
              WHERE d.key = 'all-time' AND h.run_start = '2031-03-01' AND h.run_end IS NULL"
        ),
        5
    );
}
