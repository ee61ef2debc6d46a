//! Leaderboard time windows (`startTime`/`endTime`,
//! docs/behaviour/leaderboards.md#time-windows): only activity at
//! or after the start and before the end of the user's local day counts, on metric and
//! points boards, from trophy.toml and from the Admin API; every `LeaderboardResponse`
//! carries both keys. Also the `AdminLeaderboard` shape (no nulls where the admin schema
//! has none) and `userAttributes` on boards without breakdowns.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{admin, assert_error, spawn_app, Config};
use crate::leaderboards::{board, event, ranks};

fn config() -> Config {
    Config::new()
        .attribute("country", "Country", "user")
        .metric("minutes", "Minutes")
        .with(DEFINITIONS)
}

const DEFINITIONS: &str = r#"
[[points]]
key = "xp"
name = "XP"

  [[points.triggers]]
  type = "metric"
  points = 10
  metric = "minutes"
  threshold = 1

[[leaderboards]]
key = "work-hours"
name = "Work hours"
rank_by = "metric"
metric = "minutes"
start = "2031-03-01"
start_time = "09:00"
end_time = "17:00"

[[leaderboards]]
key = "evenings"
name = "Evenings"
rank_by = "metric"
metric = "minutes"
start = "2031-03-01"
start_time = "18:00"

[[leaderboards]]
key = "xp-window"
name = "XP in work hours"
rank_by = "points"
points_system = "xp"
start = "2031-03-01"
start_time = "09:00:00"
end_time = "17:00:00"

[[leaderboards]]
key = "all-day"
name = "All day"
description = "Every minute counts"
rank_by = "metric"
metric = "minutes"
start = "2031-03-01"

[[leaderboards]]
key = "by-country"
name = "By country"
rank_by = "metric"
metric = "minutes"
start = "2031-03-01"
breakdown_attributes = ["country"]
"#;

fn kol() -> Value {
    json!({"id": "kol", "tz": "Asia/Kolkata"}) // +05:30
}

fn kiri() -> Value {
    json!({"id": "kiri", "tz": "Pacific/Kiritimati"}) // +14:00
}

fn touched(response: &Value) -> Vec<String> {
    let mut keys: Vec<String> = response["leaderboards"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

fn window(body: &Value) -> (Value, Value) {
    (body["startTime"].clone(), body["endTime"].clone())
}

#[tokio::test]
async fn only_activity_inside_the_users_local_window_counts() {
    let app = spawn_app(&config()).await;
    // 02:59 UTC: 16:59 in Kiritimati (inside 09–17), 08:29 in Kolkata (before it).
    let k = event(&app, "2031-03-01T02:59:00Z", kiri(), "minutes", 5.0).await;
    assert_eq!(
        touched(&k),
        ["all-day", "work-hours", "xp-window"],
        "16:59 is before the evening window"
    );
    let entry = &k["leaderboards"]["work-hours"];
    assert_eq!(
        (entry["rank"].clone(), window(entry)),
        (json!(1), (json!("09:00"), json!("17:00")))
    );
    assert_eq!(
        window(&k["leaderboards"]["xp-window"]),
        (json!("09:00"), json!("17:00"))
    );
    assert_eq!(
        window(&k["leaderboards"]["all-day"]),
        (Value::Null, Value::Null)
    );
    let before = event(&app, "2031-03-01T02:59:00Z", kol(), "minutes", 7.0).await;
    assert_eq!(touched(&before), ["all-day"]);
    assert_eq!(
        before["points"]["xp"]["total"], 70,
        "points are awarded all day"
    );

    // 03:30 UTC: 09:00 in Kolkata (the start counts), 17:30 in Kiritimati (after the end).
    let k = event(&app, "2031-03-01T03:30:00Z", kol(), "minutes", 2.0).await;
    assert_eq!(touched(&k), ["all-day", "work-hours", "xp-window"]);
    assert_eq!(k["leaderboards"]["work-hours"]["rank"], 2);
    let after = event(&app, "2031-03-01T03:30:00Z", kiri(), "minutes", 100.0).await;
    assert_eq!(touched(&after), ["all-day"]);
    // 04:00 UTC is 18:00 in Kiritimati: the evening board's start, which has no end.
    let evening = event(&app, "2031-03-01T04:00:00Z", kiri(), "minutes", 1.0).await;
    assert_eq!(touched(&evening), ["all-day", "evenings"]);
    assert_eq!(
        window(&evening["leaderboards"]["evenings"]),
        (json!("18:00"), Value::Null)
    );

    // A user without a time zone is on UTC; the end is exclusive to the second.
    assert!(
        !touched(&event(&app, "2031-03-01T08:59:59Z", json!("utc"), "minutes", 1.0).await)
            .contains(&"work-hours".to_owned())
    );
    assert!(
        touched(&event(&app, "2031-03-01T09:00:00Z", json!("utc"), "minutes", 1.0).await)
            .contains(&"work-hours".to_owned())
    );
    let last_second = event(&app, "2031-03-01T11:29:59Z", kol(), "minutes", 3.0).await;
    assert!(touched(&last_second).contains(&"work-hours".to_owned()));
    let at_the_end = event(&app, "2031-03-01T11:30:00Z", kol(), "minutes", 50.0).await;
    assert!(!touched(&at_the_end).contains(&"work-hours".to_owned()));

    let s = |v: &[(&str, i64, f64)]| -> Vec<(String, i64, f64)> {
        v.iter()
            .map(|(u, r, x)| ((*u).to_owned(), *r, *x))
            .collect()
    };
    // kiri reached 5 before kol did.
    assert_eq!(
        ranks(&board(&app, "work-hours").await),
        s(&[("kiri", 1, 5.0), ("kol", 2, 5.0), ("utc", 3, 1.0)])
    );
    assert_eq!(
        ranks(&board(&app, "xp-window").await),
        s(&[("kiri", 1, 50.0), ("kol", 2, 50.0), ("utc", 3, 10.0)])
    );
    assert_eq!(
        ranks(&board(&app, "evenings").await),
        s(&[("kiri", 1, 1.0)])
    );
    assert_eq!(
        ranks(&board(&app, "all-day").await),
        s(&[("kiri", 1, 106.0), ("kol", 2, 62.0), ("utc", 3, 2.0)])
    );

    // Every LeaderboardResponse carries both keys.
    let (status, list) = app.get_json("/v1/leaderboards").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let windows: Vec<(String, (Value, Value))> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|b| (b["key"].as_str().unwrap_or("").to_owned(), window(b)))
        .collect();
    assert_eq!(
        windows,
        [
            ("work-hours".to_owned(), (json!("09:00"), json!("17:00"))),
            ("evenings".to_owned(), (json!("18:00"), Value::Null)),
            ("xp-window".to_owned(), (json!("09:00"), json!("17:00"))),
            ("all-day".to_owned(), (Value::Null, Value::Null)),
            ("by-country".to_owned(), (Value::Null, Value::Null)),
        ]
    );
    for b in list.as_array().expect("list") {
        let o = b.as_object().expect("object");
        assert!(
            o.contains_key("startTime") && o.contains_key("endTime"),
            "{b}"
        );
    }
    let one = board(&app, "work-hours").await;
    assert_eq!(window(&one), (json!("09:00"), json!("17:00")));
    let (status, mine) = app.get_json("/v1/users/kol/leaderboards/work-hours").await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(window(&mine), (json!("09:00"), json!("17:00")));
    assert_eq!(
        (mine["rank"].clone(), mine["value"].clone()),
        (json!(2), json!(5))
    );
    let (_, all_day) = app.get_json("/v1/users/kol/leaderboards/all-day").await;
    let o = all_day.as_object().expect("object");
    assert_eq!(
        (o.get("startTime"), o.get("endTime")),
        (Some(&Value::Null), Some(&Value::Null))
    );

    // The window survives a restart (it is part of the stored definition).
    let app = app.restart().await;
    assert_eq!(
        window(&board(&app, "evenings").await),
        (json!("18:00"), Value::Null)
    );
}

#[tokio::test]
async fn the_admin_api_sets_changes_and_clears_windows() {
    let app = spawn_app(&config()).await;
    app.set_clock_ok("2031-03-01T00:00:00Z").await;
    let metric = app.definition_uuid("metric", "minutes");
    let (status, body) = admin(
        &app,
        Method::POST,
        "/leaderboards",
        Some(json!([
            {"name": "Mornings", "key": "mornings", "rankBy": "metric", "metricId": metric,
             "start": "2031-03-01", "startTime": "06:00:00", "endTime": "12:00", "status": "active"},
            {"name": "Bad start", "key": "bad-start", "rankBy": "metric", "metricId": metric, "startTime": "9am"},
            {"name": "Bad end", "key": "bad-end", "rankBy": "metric", "metricId": metric, "endTime": "24:00"},
            {"name": "Wraps", "key": "wraps", "rankBy": "metric", "metricId": metric,
             "startTime": "22:00", "endTime": "06:00"},
            {"name": "Empty", "key": "empty", "rankBy": "metric", "metricId": metric, "endTime": "00:00"},
            {"name": "Streak", "key": "streak-window", "rankBy": "streak", "startTime": "09:00"},
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created = &body["created"][0];
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(
        created,
        &json!({
            "id": id, "name": "Mornings", "key": "mornings", "status": "active",
            "rankBy": "metric", "metricId": metric, "maxParticipants": 1000,
            "start": "2031-03-01", "startTime": "06:00", "endTime": "12:00",
            "breakdownAttributes": [], "userAttributes": [],
        })
    );
    let messages: Vec<(i64, String)> = body["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| {
            (
                i["index"].as_i64().unwrap_or(-1),
                i["message"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        messages,
        [
            (1, "startTime must be a time of day written HH:mm or HH:mm:ss (00:00 to 23:59:59)".to_owned()),
            (2, "endTime must be a time of day written HH:mm or HH:mm:ss (00:00 to 23:59:59)".to_owned()),
            (3, "endTime must be after startTime (a time window cannot wrap past midnight, and endTime 00:00 alone would count nothing)".to_owned()),
            (4, "endTime must be after startTime (a time window cannot wrap past midnight, and endTime 00:00 alone would count nothing)".to_owned()),
            (5, "startTime is not for streak leaderboards: they rank the current streak length, not activity at a time of day".to_owned()),
        ]
    );
    assert_eq!(
        app.count("SELECT count(*) FROM definitions WHERE kind = 'leaderboard' AND key IN ('bad-start', 'bad-end', 'wraps', 'empty', 'streak-window')"),
        0
    );
    // A bound of the wrong JSON type is an issue naming the field: nothing is created.
    let (status, body) = admin(
        &app,
        Method::POST,
        "/leaderboards",
        Some(json!([{"name": "N", "key": "numeric", "rankBy": "metric", "metricId": metric, "startTime": 900}])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["issues"][0]["message"], "startTime: invalid type: integer `900`, expected a string",
        "{body}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM definitions WHERE key = 'numeric'"),
        0
    );

    // 01:00 UTC is 06:30 in Kolkata and 15:00 in Kiritimati.
    let k = event(&app, "2031-03-01T01:00:00Z", kol(), "minutes", 4.0).await;
    assert_eq!(k["leaderboards"]["mornings"]["rank"], 1);
    assert_eq!(
        window(&k["leaderboards"]["mornings"]),
        (json!("06:00"), json!("12:00"))
    );
    let k = event(&app, "2031-03-01T01:00:00Z", kiri(), "minutes", 9.0).await;
    assert!(k["leaderboards"].get("mornings").is_none(), "{k}");

    // An update that makes the end not after the start is refused and changes nothing.
    let (status, body) = admin(
        &app,
        Method::PATCH,
        "/leaderboards",
        Some(json!([{"id": id, "endTime": "05:59"}])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["updated"], json!([]));
    assert!(
        body["issues"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("endTime must be after startTime")),
        "{body}"
    );
    let (_, got) = admin(&app, Method::GET, &format!("/leaderboards/{id}"), None).await;
    assert_eq!(window(&got), (json!("06:00"), json!("12:00")));
    // Clearing the end keeps the start: the window now runs to midnight.
    let (_, body) = admin(
        &app,
        Method::PATCH,
        "/leaderboards",
        Some(json!([{"id": id, "endTime": null}])),
    )
    .await;
    let updated = body["updated"][0].as_object().expect("updated");
    assert_eq!(updated.get("startTime"), Some(&json!("06:00")));
    assert!(!updated.contains_key("endTime"), "{body}");
    assert_eq!(
        window(&board(&app, "mornings").await),
        (json!("06:00"), Value::Null)
    );
    // Now 15:00 in Kiritimati counts.
    let k = event(&app, "2031-03-01T01:00:00Z", kiri(), "minutes", 1.0).await;
    assert_eq!(k["leaderboards"]["mornings"]["rank"], 2);
    // Clearing both: no keys in the admin view, nulls in the application's.
    let (_, body) = admin(
        &app,
        Method::PATCH,
        "/leaderboards",
        Some(json!([{"id": id, "startTime": null}])),
    )
    .await;
    assert!(!body["updated"][0]
        .as_object()
        .expect("updated")
        .contains_key("startTime"));
    assert_eq!(
        window(&board(&app, "mornings").await),
        (Value::Null, Value::Null)
    );
    // A board turned into a streak board while inactive cannot keep its window.
    let (_, body) = admin(
        &app,
        Method::POST,
        "/leaderboards",
        Some(json!([{"name": "Later", "key": "later", "rankBy": "metric", "metricId": metric, "startTime": "09:00"}])),
    )
    .await;
    let later = body["created"][0]["id"].as_str().expect("id").to_owned();
    let (_, body) = admin(
        &app,
        Method::PATCH,
        "/leaderboards",
        Some(json!([{"id": later, "rankBy": "streak"}])),
    )
    .await;
    assert!(
        body["issues"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("is not for streak leaderboards")),
        "{body}"
    );
    let (_, body) = admin(
        &app,
        Method::PATCH,
        "/leaderboards",
        Some(json!([{"id": later, "rankBy": "streak", "startTime": null}])),
    )
    .await;
    assert_eq!(body["updated"][0]["rankBy"], "streak", "{body}");
}

#[tokio::test]
async fn admin_leaderboards_leave_out_fields_without_a_value() {
    let app = spawn_app(&config()).await;
    app.set_clock_ok("2031-03-01T00:00:00Z").await;
    let metric = app.definition_uuid("metric", "minutes");
    let xp = app.definition_uuid("points_system", "xp");
    let (status, body) = admin(
        &app,
        Method::POST,
        "/leaderboards",
        Some(json!([
            {"name": "Bare", "key": "bare", "rankBy": "streak"},
            {"name": "Full", "key": "full", "rankBy": "points", "pointsSystemId": xp,
             "description": "All of it", "start": "2031-03-02", "end": "2031-12-31",
             "runUnit": "day", "runInterval": 7, "maxParticipants": 10,
             "startTime": "08:00", "endTime": "20:00:30"},
            {"name": "Empty description", "key": "empty-description", "rankBy": "metric",
             "metricId": metric, "description": ""},
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["issues"], json!([]));
    let bare = &body["created"][0];
    assert_eq!(
        bare,
        &json!({
            "id": bare["id"], "name": "Bare", "key": "bare", "status": "inactive",
            "rankBy": "streak", "maxParticipants": 1000, "start": "2031-03-01",
            "breakdownAttributes": [], "userAttributes": [],
        })
    );
    let full = &body["created"][1];
    assert_eq!(
        full,
        &json!({
            "id": full["id"], "name": "Full", "key": "full", "description": "All of it",
            "status": "inactive", "rankBy": "points", "pointsSystemId": xp,
            "maxParticipants": 10, "start": "2031-03-02", "end": "2031-12-31",
            "startTime": "08:00", "endTime": "20:00:30", "breakdownAttributes": [],
            "runUnit": "day", "runInterval": 7, "userAttributes": [],
        })
    );
    assert_eq!(body["created"][2]["description"], "");
    // Clearing `end` and the run removes the keys again.
    let (_, body) = admin(
        &app,
        Method::PATCH,
        "/leaderboards",
        Some(json!([{"id": full["id"], "end": null, "runUnit": null, "runInterval": null}])),
    )
    .await;
    let updated = body["updated"][0].as_object().expect("updated");
    for key in ["end", "runUnit", "runInterval"] {
        assert!(!updated.contains_key(key), "{key} in {body}");
    }
    // Boards from trophy.toml and the list use the same shape: no key holds null.
    let (_, list) = admin(&app, Method::GET, "/leaderboards?limit=100", None).await;
    let list = list.as_array().expect("list");
    assert_eq!(list.len(), 8);
    for b in list {
        let o = b.as_object().expect("object");
        for (key, value) in o {
            assert!(
                !value.is_null() || key == "maxParticipants",
                "{key} is null in {b}"
            );
        }
    }
    let all_day = list
        .iter()
        .find(|b| b["key"] == "all-day")
        .expect("all-day");
    assert_eq!(all_day["description"], "Every minute counts");
    assert!(all_day.get("end").is_none() && all_day.get("runUnit").is_none());
    let evenings = list
        .iter()
        .find(|b| b["key"] == "evenings")
        .expect("evenings");
    assert_eq!(window(evenings), (json!("18:00"), Value::Null));
    assert!(evenings
        .as_object()
        .is_some_and(|o| !o.contains_key("endTime")));
}

#[tokio::test]
async fn user_attributes_are_refused_on_boards_without_breakdowns() {
    let app = spawn_app(&config()).await;
    event(
        &app,
        "2031-03-01T10:00:00Z",
        json!({"id": "ann", "attributes": {"country": "US"}}),
        "minutes",
        1.0,
    )
    .await;
    for query in [
        "all-day?userAttributes=country:US",
        "all-day?userAttributes=country:US,plan:pro",
        "all-day?userAttributes=",
        "all-day?userAttributes=country:US&limit=5&userId=ann",
    ] {
        let message = assert_error(
            app.get(&format!("/v1/leaderboards/{query}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(
            message, "userAttributes is only valid for leaderboards with breakdown attributes",
            "{query}"
        );
    }
    // The same filter is what a board with breakdowns needs.
    assert_eq!(
        ranks(&board(&app, "by-country?userAttributes=country:US").await),
        [("ann".to_owned(), 1, 1.0)]
    );
    assert_eq!(
        ranks(&board(&app, "all-day").await),
        [("ann".to_owned(), 1, 1.0)]
    );
}
