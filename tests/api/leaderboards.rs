//! Leaderboards (docs/behaviour/leaderboards.md): metric and streak boards through events,
//! runs across boundaries and time zones, past runs, capacity, breakdown groups, ties,
//! paging, history, validation, and ranks rebuilt after a restart. Points boards are tested
//! in process (`src/leaderboards/tests.rs`); webhooks and the Admin API in
//! `leaderboard_webhooks.rs` and `leaderboard_admin.rs`.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, assert_json_eq, parts, spawn_app, Config, TestApp, DAILY_STREAK,
};

pub fn config() -> Config {
    Config::new()
        .attribute("country", "Country", "user")
        .attribute("plan", "Plan", "user")
        .metric("lessons", "Lessons")
        .metric("minutes", "Minutes")
        .with(DAILY_STREAK)
        .with(DEFINITIONS)
}

const DEFINITIONS: &str = r#"
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
    list.iter()
        .map(|(u, r, v)| (u.to_string(), *r, *v))
        .collect()
}

#[tokio::test]
async fn metric_boards_rank_by_value_and_the_event_response_lists_them() {
    let app = spawn_app(&config()).await;
    let first = event(
        &app,
        "2031-03-01T10:30:00Z",
        json!({"id": "ann", "name": "Ann"}),
        "lessons",
        2.0,
    )
    .await;
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
            "startTime": null,
            "endTime": null,
            "maxParticipants": 1000,
            "runUnit": null,
            "runInterval": null,
            "rank": 1,
            "previousRank": null,
            "threshold": 0,
        }),
    );
    // The weekly board starts on the 3rd, the next-year board later: neither is touched.
    let touched: Vec<&String> = first["leaderboards"]
        .as_object()
        .expect("map")
        .keys()
        .collect();
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
    assert!(
        minutes["leaderboards"].get("all-time").is_none(),
        "{minutes}"
    );

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

    // Ann passes both. Her history has each change of her rank or value, oldest first,
    // also those others caused: bob and cat passing her (docs/behaviour/leaderboards.md#history).
    event(&app, "2031-03-01T13:00:00Z", json!("ann"), "lessons", 1.0).await;
    let (status, mine) = app.get_json("/v1/users/ann/leaderboards/all-time").await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["rank"], 1);
    assert_eq!(mine["value"].to_string(), "3.5");
    assert_json_eq(
        &mine["history"],
        &json!([
            {"timestamp": "2031-03-01T10:30:00Z", "date": "2031-03-01", "previousRank": null, "rank": 1, "previousValue": null, "value": 2},
            {"timestamp": "2031-03-01T11:00:00Z", "date": "2031-03-01", "previousRank": 1, "rank": 2, "previousValue": 2, "value": 2},
            {"timestamp": "2031-03-01T11:30:00Z", "date": "2031-03-01", "previousRank": 2, "rank": 3, "previousValue": 2, "value": 2},
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

#[tokio::test]
async fn weekly_runs_follow_each_users_local_date() {
    let app = spawn_app(&config()).await;
    let at = "2031-03-09T10:30:00Z"; // Sunday in UTC
    let kiri = json!({"id": "kiri", "tz": "Pacific/Kiritimati"}); // already Monday the 10th
    let pago = json!({"id": "pago", "tz": "Pacific/Pago_Pago"}); // still Saturday the 8th
    let kol = json!({"id": "kol", "tz": "Asia/Kolkata"});
    let k = event(&app, at, kiri.clone(), "lessons", 4.0).await;
    assert_eq!(k["leaderboards"]["weekly"]["start"], "2031-03-10");
    assert_eq!(k["leaderboards"]["weekly"]["end"], "2031-03-16");
    assert_eq!(k["leaderboards"]["weekly"]["runUnit"], "day");
    assert_eq!(k["leaderboards"]["weekly"]["runInterval"], 7);
    let p = event(&app, at, pago.clone(), "lessons", 1.0).await;
    assert_eq!(p["leaderboards"]["weekly"]["start"], "2031-03-03");
    assert_eq!(p["leaderboards"]["weekly"]["end"], "2031-03-09");
    event(&app, at, kol, "lessons", 2.0).await;

    // The current run is picked by the UTC date (the 9th): the first week.
    let current = board(&app, "weekly").await;
    assert_eq!(current["start"], "2031-03-03", "the board's own dates");
    assert_eq!(
        ranks(&current),
        expect(&[("kol", 1, 2.0), ("pago", 2, 1.0)])
    );
    let next = board(&app, "weekly?run=2031-03-12").await;
    assert_eq!(
        next["start"], "2031-03-03",
        "the board's own dates, not the run's"
    );
    assert_eq!(ranks(&next), expect(&[("kiri", 1, 4.0)]));

    // A day later in UTC, Pago Pago is still in its Sunday the 9th: first week again.
    let p = event(&app, "2031-03-10T10:30:00Z", pago, "lessons", 5.0).await;
    assert_eq!(p["leaderboards"]["weekly"]["start"], "2031-03-03");
    assert_eq!(p["leaderboards"]["weekly"]["rank"], 1);
    event(&app, "2031-03-10T10:31:00Z", kiri, "lessons", 1.0).await;
    assert_eq!(
        ranks(&board(&app, "weekly").await),
        expect(&[("kiri", 1, 5.0)])
    );
    let past = board(&app, "weekly?run=2031-03-03").await;
    assert_eq!(ranks(&past), expect(&[("pago", 1, 6.0), ("kol", 2, 2.0)]));
    let (status, mine) = app
        .get_json("/v1/users/pago/leaderboards/weekly?run=2031-03-09")
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(
        (mine["rank"].clone(), mine["value"].clone()),
        (json!(1), json!(6))
    );
    let (_, none_yet) = app.get_json("/v1/users/pago/leaderboards/weekly").await;
    assert_eq!(
        (none_yet["rank"].clone(), none_yet["value"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(none_yet["history"], json!([]));

    let message = assert_error(
        app.get("/v1/leaderboards/weekly?run=2031-03-02").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(message, "Leaderboard run not found");
    for path in [
        "/v1/leaderboards/weekly?run=March",
        "/v1/users/pago/leaderboards/weekly?run=March",
    ] {
        let message = assert_error(app.get(path).await, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(message, "run must be a date (YYYY-MM-DD)");
    }
}

#[tokio::test]
async fn monthly_runs_are_clamped_to_month_ends_and_past_runs_stay_readable() {
    let app = spawn_app(&config()).await;
    // Started on 31 January: the second run starts on 28 February, the third on 31 March.
    let first = event(&app, "2031-03-01T10:30:00Z", json!("ann"), "minutes", 30.0).await;
    assert_eq!(first["leaderboards"]["monthly"]["start"], "2031-02-28");
    assert_eq!(first["leaderboards"]["monthly"]["end"], "2031-03-30");
    let late = json!({"id": "bob", "tz": "Pacific/Pago_Pago"});
    // 31 March 05:00 UTC is still the 30th in Pago Pago.
    let b = event(&app, "2031-03-31T05:00:00Z", late.clone(), "minutes", 10.0).await;
    assert_eq!(b["leaderboards"]["monthly"]["start"], "2031-02-28");
    assert_eq!(b["leaderboards"]["monthly"]["rank"], 2);
    let b = event(&app, "2031-03-31T12:00:00Z", late, "minutes", 5.0).await;
    assert_eq!(b["leaderboards"]["monthly"]["start"], "2031-03-31");
    assert_eq!(b["leaderboards"]["monthly"]["end"], "2031-04-29");
    assert_eq!(b["leaderboards"]["monthly"]["previousRank"], Value::Null);
    assert_eq!(
        ranks(&board(&app, "monthly").await),
        expect(&[("bob", 1, 5.0)])
    );
    assert_eq!(
        ranks(&board(&app, "monthly?run=2031-03-15").await),
        expect(&[("ann", 1, 30.0), ("bob", 2, 10.0)])
    );
    let (_, bobs) = app
        .get_json("/v1/users/bob/leaderboards/monthly?run=2031-02-28")
        .await;
    assert_eq!(bobs["history"].as_array().map(Vec::len), Some(1));
    assert_eq!(bobs["history"][0]["date"], "2031-03-31");
}

#[tokio::test]
async fn a_full_board_admits_only_newcomers_who_surpass_the_lowest() {
    let app = spawn_app(&config()).await;
    let at = "2031-03-01T10:30:00Z";
    for (user, value) in [("a", 5.0), ("b", 4.0), ("c", 3.0)] {
        event(&app, at, json!(user), "minutes", value).await;
    }
    let d = event(&app, at, json!("d"), "minutes", 3.0).await;
    let entry = &d["leaderboards"]["top3"];
    assert_eq!(
        (
            entry["rank"].clone(),
            entry["previousRank"].clone(),
            entry["threshold"].clone()
        ),
        (Value::Null, Value::Null, json!(3)),
        "equalling the lowest is not enough"
    );
    let d = event(&app, "2031-03-01T10:31:00Z", json!("d"), "minutes", 1.0).await;
    assert_eq!(
        d["leaderboards"]["top3"]["rank"], 3,
        "4 ties b, who got there first"
    );
    assert_eq!(d["leaderboards"]["top3"]["threshold"], 4);
    assert_eq!(
        ranks(&board(&app, "top3").await),
        expect(&[("a", 1, 5.0), ("b", 2, 4.0), ("d", 3, 4.0)])
    );
    let (_, c) = app.get_json("/v1/users/c/leaderboards/top3").await;
    assert_eq!(
        (c["rank"].clone(), c["value"].clone()),
        (Value::Null, Value::Null)
    );
    assert_json_eq(
        &c["history"],
        &json!([
            {"timestamp": "2031-03-01T10:30:00Z", "date": "2031-03-01", "previousRank": null, "rank": 3, "previousValue": null, "value": 3},
            {"timestamp": "2031-03-01T10:31:00Z", "date": "2031-03-01", "previousRank": 3, "rank": null, "previousValue": 3, "value": null},
        ]),
    );
    // c comes back by passing the lowest (d, who reached 4 after b).
    let c = event(&app, "2031-03-01T10:32:00Z", json!("c"), "minutes", 0.5).await;
    assert_eq!(c["leaderboards"]["top3"]["rank"], Value::Null);
    let c = event(&app, "2031-03-01T10:33:00Z", json!("c"), "minutes", 1.0).await;
    assert_eq!(c["leaderboards"]["top3"]["rank"], 2);
    assert_eq!(
        ranks(&board(&app, "top3").await),
        expect(&[("a", 1, 5.0), ("c", 2, 4.5), ("b", 3, 4.0)])
    );
    assert_eq!(
        app.count("SELECT count(*) FROM leaderboard_values v JOIN definitions d ON d.id = v.leaderboard_id WHERE d.key = 'top3' AND v.ranked = 1"),
        3
    );
}

#[tokio::test]
async fn breakdown_groups_have_their_own_capacity_and_need_user_attributes() {
    let app = spawn_app(&config()).await;
    let at = "2031-03-01T10:30:00Z";
    let user = |id: &str, country: &str| json!({"id": id, "attributes": {"country": country}});
    let us1 = event(&app, at, user("us1", "US"), "minutes", 3.0).await;
    let entry = &us1["leaderboards"]["by-country"];
    assert_eq!(
        entry["breakdownAttributeValues"],
        json!([{"key": "country", "value": "US"}])
    );
    assert_eq!(entry["breakdownAttributeValue"], "US");
    assert_eq!(entry["breakdownAttribute"], "country");
    event(&app, at, user("us2", "US"), "minutes", 2.0).await;
    event(&app, at, user("de1", "DE"), "minutes", 1.0).await;
    let none = event(&app, at, json!("nobody"), "minutes", 9.0).await;
    assert!(
        none["leaderboards"].get("by-country").is_none(),
        "no country, no group"
    );

    let message = assert_error(
        app.get("/v1/leaderboards/by-country").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(message.contains("userAttributes"), "{message}");
    assert_error(
        app.get("/v1/leaderboards/all-time?userAttributes=country:US")
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_error(
        app.get("/v1/leaderboards/by-country?userAttributes=plan:pro")
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let us = board(&app, "by-country?userAttributes=country:US").await;
    assert_eq!(ranks(&us), expect(&[("us1", 1, 3.0), ("us2", 2, 2.0)]));
    assert_eq!(
        us["userAttributes"],
        json!([{"key": "country", "value": "US"}])
    );
    let de = board(&app, "by-country?userAttributes=country:DE").await;
    assert_eq!(ranks(&de), expect(&[("de1", 1, 1.0)]));

    // The US group is full: 2.5 beats us2 there, whatever DE holds.
    let us3 = event(&app, at, user("us3", "US"), "minutes", 2.5).await;
    assert_eq!(us3["leaderboards"]["by-country"]["rank"], 2);
    assert_eq!(us3["leaderboards"]["by-country"]["threshold"], json!(2.5));
    // de1 moves to the US: from then on they compete there.
    let moved = event(
        &app,
        "2031-03-01T10:40:00Z",
        user("de1", "US"),
        "minutes",
        4.0,
    )
    .await;
    assert_eq!(moved["leaderboards"]["by-country"]["previousRank"], 1);
    assert_eq!(moved["leaderboards"]["by-country"]["rank"], 1);
    assert_eq!(
        ranks(&board(&app, "by-country?userAttributes=country:US").await),
        expect(&[("de1", 1, 5.0), ("us1", 2, 3.0)])
    );
    assert_eq!(
        ranks(&board(&app, "by-country?userAttributes=country:DE").await),
        expect(&[])
    );
}

#[tokio::test]
async fn paging_relative_to_a_user() {
    let app = spawn_app(&config()).await;
    for (i, user) in ["u1", "u2", "u3", "u4", "u5", "u6"].iter().enumerate() {
        event(
            &app,
            "2031-03-01T10:30:00Z",
            json!(user),
            "lessons",
            6.0 - i as f64,
        )
        .await;
    }
    let around = board(&app, "all-time?userId=u4&offset=-1&limit=3").await;
    assert_eq!(
        ranks(&around),
        expect(&[("u3", 3, 4.0), ("u4", 4, 3.0), ("u5", 5, 2.0)])
    );
    let after = board(&app, "all-time?userId=u5&offset=1&limit=5").await;
    assert_eq!(ranks(&after), expect(&[("u6", 6, 1.0)]));
    let top = board(&app, "all-time?userId=u2&offset=-5&limit=2").await;
    assert_eq!(ranks(&top), expect(&[("u1", 1, 6.0), ("u2", 2, 5.0)]));
    assert_eq!(
        board(&app, "all-time?userId=stranger").await["rankings"],
        json!([])
    );
    assert_eq!(
        board(&app, "all-time?offset=10").await["rankings"],
        json!([])
    );
}

#[tokio::test]
async fn streak_boards_follow_extensions_losses_and_resets() {
    let app = spawn_app(&config()).await;
    for day in ["01", "02"] {
        let at = |hour: &str| format!("2031-03-{day}T{hour}:00:00Z");
        event(&app, &at("10"), json!("ann"), "lessons", 1.0).await;
        event(&app, &at("11"), json!("bob"), "lessons", 1.0).await;
    }
    let bob = event(&app, "2031-03-02T12:00:00Z", json!("bob"), "lessons", 1.0).await;
    assert!(
        bob["leaderboards"].get("streaks").is_none(),
        "same day, same length"
    );
    event(&app, "2031-03-03T10:00:00Z", json!("ann"), "lessons", 1.0).await;
    let bob = event(&app, "2031-03-03T11:00:00Z", json!("bob"), "lessons", 1.0).await;
    assert_eq!(
        bob["leaderboards"]["streaks"]["rank"], 2,
        "ann reached 3 first"
    );
    assert_eq!(bob["leaderboards"]["streaks"]["rankBy"], "streak");
    event(&app, "2031-03-04T09:00:00Z", json!("bob"), "lessons", 1.0).await;
    assert_eq!(
        ranks(&board(&app, "streaks").await),
        expect(&[("bob", 1, 4.0), ("ann", 2, 3.0)])
    );
    // Ann misses the 4th: her streak is lost when the 4th ends (the scheduler job).
    app.set_clock_ok("2031-03-05T00:00:01Z").await;
    assert_eq!(
        ranks(&board(&app, "streaks").await),
        expect(&[("bob", 1, 4.0)])
    );
    let (_, ann) = app.get_json("/v1/users/ann/leaderboards/streaks").await;
    assert_eq!(ann["rank"], Value::Null);
    let last = ann["history"]
        .as_array()
        .and_then(|h| h.last())
        .cloned()
        .expect("history");
    assert_eq!(
        (last["previousRank"].clone(), last["rank"].clone()),
        (json!(2), Value::Null)
    );
    assert_eq!(last["timestamp"], "2031-03-05T00:00:01Z");
    // An admin reset ends bob's streak too.
    let (status, body) = parts(
        app.admin_request(reqwest::Method::POST, "/admin/v1/streaks/reset")
            .json(&json!({"users": [{"id": "bob"}]}))
            .send()
            .await
            .expect("reset"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(board(&app, "streaks").await["rankings"], json!([]));
}

#[tokio::test]
async fn ranks_are_rebuilt_from_sqlite_after_a_restart() {
    let app = spawn_app(&config()).await;
    for (user, value) in [("a", 3.0), ("b", 5.0), ("c", 1.0)] {
        event(&app, "2031-03-01T10:30:00Z", json!(user), "lessons", value).await;
    }
    let before = board(&app, "all-time").await;
    let app = app.restart().await;
    assert_eq!(board(&app, "all-time").await, before);
    let d = event(&app, "2031-03-01T11:00:00Z", json!("d"), "lessons", 4.0).await;
    assert_eq!(d["leaderboards"]["all-time"]["rank"], 2);
    assert_eq!(
        ranks(&board(&app, "all-time").await),
        expect(&[("b", 1, 5.0), ("d", 2, 4.0), ("a", 3, 3.0), ("c", 4, 1.0)])
    );
}

#[tokio::test]
async fn listing_statuses_and_bad_requests() {
    let app = spawn_app(&config()).await;
    app.set_clock_ok("2031-03-01T10:30:00Z").await;
    let (status, list) = app.get_json("/v1/leaderboards").await;
    assert_eq!(status, StatusCode::OK);
    let summary = |list: &Value| -> Vec<(String, String)> {
        list.as_array()
            .expect("list")
            .iter()
            .map(|b| {
                (
                    b["key"].as_str().expect("key").to_owned(),
                    b["status"].as_str().expect("status").to_owned(),
                )
            })
            .collect()
    };
    let active = |k: &str, s: &str| (k.to_owned(), s.to_owned());
    let mut expected = vec![
        active("all-time", "active"),
        active("weekly", "scheduled"),
        active("monthly", "active"),
        active("top3", "active"),
        active("by-country", "active"),
        active("streaks", "active"),
        active("next-year", "scheduled"),
    ];
    assert_eq!(summary(&list), expected);
    let (_, all) = app.get_json("/v1/leaderboards?includeFinished=true").await;
    expected.push(active("february", "finished"));
    assert_eq!(summary(&all), expected);
    let scheduled = board(&app, "weekly").await;
    assert_eq!(
        (scheduled["status"].clone(), scheduled["rankings"].clone()),
        (json!("scheduled"), json!([]))
    );
    let finished = board(&app, "february").await;
    assert_eq!(finished["status"], "finished");

    for (path, status) in [
        ("/v1/leaderboards/nope", StatusCode::NOT_FOUND),
        ("/v1/leaderboards/hidden", StatusCode::NOT_FOUND),
        (
            "/v1/leaderboards/top3?limit=4",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/leaderboards/all-time?limit=-1",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/leaderboards/all-time?offset=-1",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/leaderboards/all-time?run=2030-12-31",
            StatusCode::NOT_FOUND,
        ),
        (
            "/v1/users/ghost/leaderboards/all-time",
            StatusCode::NOT_FOUND,
        ),
    ] {
        assert_error(app.get(path).await, status).await;
    }
    event(&app, "2031-03-01T10:30:00Z", json!("ann"), "lessons", 1.0).await;
    for (path, status) in [
        ("/v1/users/ann/leaderboards/nope", StatusCode::NOT_FOUND),
        ("/v1/users/ann/leaderboards/hidden", StatusCode::NOT_FOUND),
        (
            "/v1/users/ann/leaderboards/all-time?numEvents=0",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/users/ann/leaderboards/all-time?numEvents=101",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "/v1/users/ann/leaderboards/all-time?run=2031-02-01",
            StatusCode::NOT_FOUND,
        ),
    ] {
        assert_error(app.get(path).await, status).await;
    }
    let (status, ok) = app.get_json("/v1/leaderboards/top3?limit=3").await;
    assert_eq!(status, StatusCode::OK, "{ok}");
}

#[tokio::test]
async fn each_tenant_has_its_own_rankings_on_a_shared_board() {
    let config = config().server("multi_tenant = true");
    let mut app = spawn_app(&config).await;
    for customer_id in ["acme", "globex"] {
        let (status, body) = parts(
            app.admin_request(reqwest::Method::POST, "/admin/v1/tenants")
                .json(&json!([{ "customerId": customer_id, "name": customer_id }]))
                .send()
                .await
                .expect("create tenant"),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    app.tenant = Some("acme".into());
    event(&app, "2031-03-01T10:30:00Z", json!("u1"), "lessons", 5.0).await;
    app.tenant = Some("globex".into());
    let g = event(&app, "2031-03-01T10:31:00Z", json!("u1"), "lessons", 3.0).await;
    assert_eq!(
        g["leaderboards"]["all-time"]["rank"], 1,
        "acme's 5 is not in globex"
    );
    event(&app, "2031-03-01T10:32:00Z", json!("g2"), "lessons", 1.0).await;
    assert_eq!(
        ranks(&board(&app, "all-time").await),
        expect(&[("u1", 1, 3.0), ("g2", 2, 1.0)])
    );
    app.tenant = Some("acme".into());
    assert_eq!(
        ranks(&board(&app, "all-time").await),
        expect(&[("u1", 1, 5.0)])
    );
    let (_, mine) = app.get_json("/v1/users/u1/leaderboards/all-time").await;
    assert_eq!(
        (mine["rank"].clone(), mine["value"].clone()),
        (json!(1), json!(5))
    );
}

#[tokio::test]
async fn a_finalised_run_keeps_its_board_and_drops_the_values_of_users_outside_it() {
    let config = config().with(
        "[[leaderboards]]
key = \"weekly-top2\"
name = \"Weekly top two\"
rank_by = \"metric\"
metric = \"minutes\"
start = \"2031-03-03\"
run_unit = \"day\"
run_interval = 7
max_participants = 2
",
    );
    let app = spawn_app(&config).await;
    let at = "2031-03-04T10:00:00Z";
    for (user, value) in [("a", 5.0), ("b", 4.0), ("c", 3.0)] {
        event(&app, at, json!(user), "minutes", value).await;
    }
    // The next run has an outsider too; it is not finalised yet.
    for (user, value) in [("a", 2.0), ("b", 2.0), ("c", 1.0)] {
        event(&app, "2031-03-10T10:00:00Z", json!(user), "minutes", value).await;
    }
    let outside = |run: &str| {
        format!(
            "SELECT count(*) FROM leaderboard_values v JOIN definitions d ON d.id = v.leaderboard_id
              WHERE d.key = 'weekly-top2' AND v.run_start = '{run}' AND v.ranked = 0"
        )
    };
    assert_eq!(app.count(&outside("2031-03-03")), 1);
    // Finalised at 13:00 UTC the day after the run's last date (UTC-12 has left it).
    app.set_clock_ok("2031-03-10T12:59:00Z").await;
    assert_eq!(app.count(&outside("2031-03-03")), 1);
    app.set_clock_ok("2031-03-10T13:00:00Z").await;
    assert_eq!(app.count(&outside("2031-03-03")), 0);
    assert_eq!(app.count(&outside("2031-03-10")), 1);
    assert_eq!(
        ranks(&board(&app, "weekly-top2?run=2031-03-05").await),
        expect(&[("a", 1, 5.0), ("b", 2, 4.0)])
    );
    let (status, c) = app
        .get_json("/v1/users/c/leaderboards/weekly-top2?run=2031-03-03")
        .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    assert_eq!(
        (c["rank"].clone(), c["value"].clone()),
        (Value::Null, Value::Null)
    );
    // Pruned once: a later pass finds nothing to delete and the next run is untouched.
    app.set_clock_ok("2031-03-11T13:00:00Z").await;
    assert_eq!(app.count(&outside("2031-03-10")), 1);
}

#[tokio::test]
async fn competition_ranking_shares_numbers_between_ties_in_every_read() {
    let config = config().with(
        "[[leaderboards]]
key = \"tied\"
name = \"Tied\"
rank_by = \"metric\"
metric = \"minutes\"
start = \"2031-03-01\"
max_participants = 4
ranking = \"competition\"
",
    );
    let app = spawn_app(&config).await;
    let at = "2031-03-02T10:00:00Z";
    for (user, value) in [("a", 5.0), ("b", 3.0), ("d", 1.0)] {
        event(&app, at, json!(user), "minutes", value).await;
    }
    let c = event(&app, "2031-03-02T10:01:00Z", json!("c"), "minutes", 3.0).await;
    assert_eq!(c["leaderboards"]["tied"]["rank"], 2);
    assert_eq!(
        ranks(&board(&app, "tied").await),
        expect(&[("a", 1, 5.0), ("b", 2, 3.0), ("c", 2, 3.0), ("d", 4, 1.0)])
    );
    // A page that starts inside the tie, and one around a tied user.
    assert_eq!(
        ranks(&board(&app, "tied?offset=2&limit=2").await),
        expect(&[("c", 2, 3.0), ("d", 4, 1.0)])
    );
    assert_eq!(
        ranks(&board(&app, "tied?userId=c&offset=-1&limit=2").await),
        expect(&[("b", 2, 3.0), ("c", 2, 3.0)])
    );
    let (_, mine) = app.get_json("/v1/users/c/leaderboards/tied").await;
    assert_eq!(mine["rank"], 2);
    // The full board drops d (rank 4) for e, who surpasses it.
    let e = event(&app, "2031-03-02T10:02:00Z", json!("e"), "minutes", 2.0).await;
    assert_eq!(e["leaderboards"]["tied"]["rank"], 4);
    let (_, d) = app.get_json("/v1/users/d/leaderboards/tied").await;
    assert_eq!(d["rank"], Value::Null);
    // c's tie with b passed d (3 → 4) before e dropped d.
    assert_eq!(
        (
            d["history"][1]["previousRank"].clone(),
            d["history"][1]["rank"].clone()
        ),
        (json!(3), json!(4))
    );
    assert_eq!(d["history"][2]["previousRank"], 4);
    // b catches up with a: a tie at the top, ordered by who got there first.
    let b = event(&app, "2031-03-02T10:03:00Z", json!("b"), "minutes", 2.0).await;
    assert_eq!(
        (
            b["leaderboards"]["tied"]["rank"].clone(),
            b["leaderboards"]["tied"]["previousRank"].clone()
        ),
        (json!(1), json!(2))
    );
    assert_eq!(
        ranks(&board(&app, "tied").await),
        expect(&[("a", 1, 5.0), ("b", 1, 5.0), ("c", 3, 3.0), ("e", 4, 2.0)])
    );
    // A default board over the same events numbers the same ties uniquely.
    assert_eq!(
        ranks(&board(&app, "top3").await),
        expect(&[("a", 1, 5.0), ("b", 2, 5.0), ("c", 3, 3.0)])
    );
}
