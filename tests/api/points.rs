//! Points systems (issue #6; docs/behaviour/points.md): the five trigger types with their filters,
//! the high-water mark, the cap, negative totals and blocked events, boosts across local
//! midnights, levels with webhooks, time triggers under the test clock, the summaries and
//! the application routes.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, parts, spawn_app, Config, TestApp, DAILY_STREAK, DEAD_HOOK, T0, XP_PER_LESSON,
};
use crate::receiver::Receiver;

/// Attributes `plan` (user) and `source` (event), metrics `lessons` and `energy-use`, a
/// daily streak on lessons, webhooks to `hook` (points.changed not coalesced), then `extra`.
pub fn config(hook: &str, extra: &str) -> Config {
    config_with_window(hook, 0, extra)
}

pub fn config_with_window(hook: &str, window_seconds: u32, extra: &str) -> Config {
    Config::new()
        .with(&format!(
            "[limits]\npoints_changed_window_seconds = {window_seconds}"
        ))
        .attribute("plan", "Plan", "user")
        .attribute("source", "Source", "event")
        .metric("lessons", "Lessons")
        .metric("energy-use", "Energy used")
        .with(DAILY_STREAK)
        .webhook(hook, "whsec_points", "")
        .with(extra)
}

pub async fn app(extra: &str) -> TestApp {
    let app = spawn_app(&config(DEAD_HOOK, extra)).await;
    app.set_clock_ok(T0).await;
    app
}

/// Posts an event for `user` (with optional extra body fields) and insists on 201.
pub async fn event(app: &TestApp, metric: &str, body: Value) -> Value {
    let (status, body) = parts(app.post_event(metric, &body, None).await).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

pub async fn lessons(app: &TestApp, user: &str, value: f64) -> Value {
    event(
        app,
        "lessons",
        json!({"user": {"id": user}, "value": value}),
    )
    .await
}

pub fn total_of(app: &TestApp, user: &str, system: &str) -> i64 {
    app.db()
        .query_row(
            "SELECT ifnull((SELECT t.total FROM points_totals t
                              JOIN users u ON u.id = t.user_id
                              JOIN definitions d ON d.id = t.system_id
                             WHERE u.external_id = ?1 AND d.key = ?2), 0)",
            [user, system],
            |r| r.get(0),
        )
        .expect("total")
}

pub fn award_count(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM points_awards")
}

/// The `added` of `system` in an event response, or None when it is not in `points`.
fn added(body: &Value, system: &str) -> Option<i64> {
    body["points"]
        .get(system)
        .map(|p| p["added"].as_i64().expect("added"))
}

// ---------------------------------------------------------------------------------------
// Metric triggers

const XP_EVERY_3: &str = r#"
[[points]]
key = "xp"
name = "XP"
description = "Experience"

  [[points.triggers]]
  type = "metric"
  points = 10
  metric = "lessons"
  threshold = 3
"#;

#[tokio::test]
async fn metric_triggers_pay_per_threshold_once_per_event_and_never_twice() {
    let app = app(XP_EVERY_3).await;
    // +2: below the threshold; no entry in `points`.
    let body = lessons(&app, "ann", 2.0).await;
    assert_eq!(body["points"], json!({}));
    // +2 → 4: one threshold.
    let body = lessons(&app, "ann", 2.0).await;
    let xp = &body["points"]["xp"];
    assert_eq!(xp["added"], 10);
    assert_eq!(xp["total"], 10);
    assert_eq!(xp["key"], "xp");
    assert_eq!(xp["name"], "XP");
    assert_eq!(xp["description"], "Experience");
    assert_eq!(xp["maxPoints"], Value::Null);
    assert!(xp.get("level").is_none(), "no levels, no level key: {xp}");
    let award = &xp["awards"][0];
    assert_eq!(award["awarded"], 10);
    assert_eq!(award["total"], 10);
    assert_eq!(award["boosts"], json!([]));
    assert_eq!(award["trigger"]["type"], "metric");
    assert_eq!(award["trigger"]["metricThreshold"], 3);
    assert_eq!(award["trigger"]["metricName"], "Lessons");
    assert_eq!(award["trigger"]["status"], "active");
    assert_eq!(award["trigger"]["userAttributes"], json!([]));
    assert_eq!(award["trigger"]["eventAttributes"], json!([]));
    // +5 → 9: two thresholds in one event, one award of 20.
    let body = lessons(&app, "ann", 5.0).await;
    assert_eq!(body["points"]["xp"]["added"], 20);
    assert_eq!(
        body["points"]["xp"]["awards"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(body["points"]["xp"]["awards"][0]["awarded"], 20);
    assert_eq!(body["points"]["xp"]["total"], 30);
    // Down to 3 and back up to 9: ground already paid for.
    assert_eq!(added(&lessons(&app, "ann", -6.0).await, "xp"), None);
    assert_eq!(added(&lessons(&app, "ann", 6.0).await, "xp"), None);
    assert_eq!(total_of(&app, "ann", "xp"), 30);
    // Beyond the best: pays again.
    assert_eq!(added(&lessons(&app, "ann", 3.0).await, "xp"), Some(10));
    assert_eq!(total_of(&app, "ann", "xp"), 40);
    assert_eq!(award_count(&app), 3);
    // Each user counts for themselves.
    assert_eq!(added(&lessons(&app, "bob", 3.0).await, "xp"), Some(10));
}

const FILTERED_AND_CAPPED: &str = r#"
[[points]]
key = "xp"
name = "XP"
max_points = 25

  [[points.triggers]]
  type = "metric"
  points = 5
  metric = "lessons"
  threshold = 1
  event_attributes = { source = "mobile" }

  [[points.triggers]]
  type = "metric"
  points = 1
  metric = "lessons"
  threshold = 2
  user_attributes = { plan = "premium" }
"#;

#[tokio::test]
async fn trigger_filters_select_events_and_users_and_the_cap_stops_gains() {
    let app = app(FILTERED_AND_CAPPED).await;
    let send = |user: Value, value: f64, source: &str| json!({"user": user, "value": value, "attributes": {"source": source}});
    // Web lessons from a user without a plan: neither trigger.
    let body = event(&app, "lessons", send(json!({"id": "ann"}), 2.0, "web")).await;
    assert_eq!(body["points"], json!({}));
    // A mobile lesson counts for the event-filtered trigger only (its own running sum).
    let body = event(&app, "lessons", send(json!({"id": "ann"}), 1.0, "mobile")).await;
    assert_eq!(body["points"]["xp"]["added"], 5);
    let trigger = &body["points"]["xp"]["awards"][0]["trigger"];
    assert_eq!(
        trigger["eventAttributes"],
        json!([{"key": "source", "value": "mobile"}])
    );
    assert_eq!(
        trigger["eventAttribute"],
        json!({"key": "source", "value": "mobile"})
    );
    // Premium from now on: the user filter is checked when the trigger fires; the lessons
    // before (3) were already counted by the best-ever mark, so 3 → 5 crosses 4 only.
    let body = event(
        &app,
        "lessons",
        send(
            json!({"id": "ann", "attributes": {"plan": "premium"}}),
            2.0,
            "web",
        ),
    )
    .await;
    assert_eq!(body["points"]["xp"]["added"], 1);
    assert_eq!(
        body["points"]["xp"]["awards"][0]["trigger"]["userAttributes"],
        json!([{"key": "plan", "value": "premium"}])
    );
    assert_eq!(total_of(&app, "ann", "xp"), 6);
    // 10 mobile lessons would pay 50 + 5: the cap (25) leaves 19.
    let body = event(&app, "lessons", send(json!({"id": "ann"}), 10.0, "mobile")).await;
    assert_eq!(body["points"]["xp"]["total"], 25);
    assert_eq!(body["points"]["xp"]["added"], 19);
    assert_eq!(body["points"]["xp"]["maxPoints"], 25);
    // At the cap nothing more is awarded, and no award row is written.
    let before = award_count(&app);
    let body = event(&app, "lessons", send(json!({"id": "ann"}), 4.0, "mobile")).await;
    assert_eq!(body["points"], json!({}));
    assert_eq!(award_count(&app), before);
    assert_eq!(total_of(&app, "ann", "xp"), 25);
}

const ENERGY: &str = r#"
[[points]]
key = "energy"
name = "Energy"
max_points = 5

  [[points.triggers]]
  type = "user_creation"
  points = 3

  [[points.triggers]]
  type = "metric"
  points = -1
  metric = "energy-use"
  threshold = 1
  block_if_out_of_points = true

[[points]]
key = "karma"
name = "Karma"

  [[points.triggers]]
  type = "metric"
  points = -2
  metric = "energy-use"
  threshold = 1
"#;

/// Rows that must not change when an event is refused.
fn snapshot(app: &TestApp) -> Vec<i64> {
    [
        "SELECT count(*) FROM events",
        "SELECT count(*) FROM users",
        "SELECT count(*) FROM points_awards",
        "SELECT ifnull(sum(total), 0) FROM points_totals",
        "SELECT CAST(ifnull(sum(total), 0) * 1000 AS INTEGER) FROM metric_totals",
        "SELECT count(*) FROM webhook_outbox",
        "SELECT ifnull(max(updated), 0) FROM users",
    ]
    .iter()
    .map(|sql| app.count(sql))
    .collect()
}

#[tokio::test]
async fn deductions_go_negative_unless_a_blocking_trigger_refuses_the_event() {
    let app = app(ENERGY).await;
    // A new user gets 3 energy on creation, in this response, then spends 2.
    let body = event(
        &app,
        "energy-use",
        json!({"user": {"id": "eve"}, "value": 2}),
    )
    .await;
    let energy = &body["points"]["energy"];
    assert_eq!(energy["added"], 1);
    assert_eq!(energy["total"], 1);
    let awards = energy["awards"].as_array().expect("awards");
    assert_eq!(awards.len(), 2);
    assert_eq!(awards[0]["trigger"]["type"], "user_creation");
    assert_eq!(awards[0]["awarded"], 3);
    assert_eq!(awards[1]["awarded"], -2);
    assert_eq!(awards[1]["total"], 1);
    // Karma has no floor.
    assert_eq!(body["points"]["karma"]["total"], -4);

    // 2 more would take energy to -1: refused whole, nothing written.
    let before = snapshot(&app);
    let resp = app
        .post_event(
            "energy-use",
            &json!({"user": {"id": "eve", "name": "Eve"}, "value": 2}),
            None,
        )
        .await;
    let message = assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(message, "Insufficient points in points system 'energy'");
    assert_eq!(snapshot(&app), before);
    assert_eq!(app.total("eve", "energy-use").await, 2.0);

    // Spending exactly what is left is fine; the cost is never boosted or capped.
    let body = event(
        &app,
        "energy-use",
        json!({"user": {"id": "eve"}, "value": 1}),
    )
    .await;
    assert_eq!(body["points"]["energy"]["total"], 0);
    assert_eq!(body["points"]["karma"]["total"], -6);
    // A new user spending more than the creation grant is refused and not created.
    let before = snapshot(&app);
    let resp = app
        .post_event(
            "energy-use",
            &json!({"user": {"id": "fred"}, "value": 4}),
            None,
        )
        .await;
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(snapshot(&app), before);
    let (status, _) = app.get_json("/v1/users/fred").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

const BOOSTED: &str = r#"
[[points]]
key = "coins"
name = "Coins"

  [[points.triggers]]
  type = "metric"
  points = 7
  metric = "lessons"
  threshold = 1

  [[points.boosts]]
  name = "Double"
  start = "2031-03-02"
  end = "2031-03-02"
  multiplier = 2.0
  rounding = "up"

  [[points.boosts]]
  name = "Quarter more"
  start = "2031-03-02"
  end = "2031-03-03"
  multiplier = 1.25
  rounding = "nearest"

  [[points.boosts]]
  name = "Premium"
  start = "2031-03-01"
  multiplier = 1.15
  rounding = "up"
  user_attributes = { plan = "premium" }

  [[points.boosts]]
  name = "Just kiri"
  start = "2031-03-03"
  end = "2031-03-03"
  multiplier = 1.5
  user = "kiri"
"#;

async fn coins(app: &TestApp, user: &str) -> (i64, Vec<String>) {
    let body = lessons(app, user, 1.0).await;
    let award = &body["points"]["coins"]["awards"][0];
    let names = award["boosts"]
        .as_array()
        .expect("boosts")
        .iter()
        .map(|b| b["name"].as_str().expect("name").to_owned())
        .collect();
    (award["awarded"].as_i64().expect("awarded"), names)
}

#[tokio::test]
async fn boosts_stack_on_the_users_local_date_and_round_conservatively() {
    let app = app(BOOSTED).await;
    for (id, tz, plan) in [
        ("kiri", "Pacific/Kiritimati", None),
        ("pago", "Pacific/Pago_Pago", None),
        ("prem", "Pacific/Pago_Pago", Some("premium")),
        ("utc", "UTC", Some("premium")),
    ] {
        let mut user = json!({"id": id, "tz": tz});
        if let Some(plan) = plan {
            user["attributes"] = json!({"plan": plan});
        }
        let (status, body) = parts(app.send_json(Method::POST, "/v1/users", &user).await).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // T0 = 1 March 10:30 UTC: Kiritimati is already on 2 March, Pago Pago on 28 February.
    // 7 × 2 (up) × 1.25 (nearest) = 17.5 → nearest, the more conservative mode → 18.
    assert_eq!(
        coins(&app, "kiri").await,
        (18, vec!["Double".into(), "Quarter more".into()])
    );
    assert_eq!(coins(&app, "pago").await, (7, vec![]));
    assert_eq!(coins(&app, "prem").await, (7, vec![]));
    // Premium alone, rounding up: 7 × 1.15 = 8.05 → 9.
    assert_eq!(coins(&app, "utc").await, (9, vec!["Premium".into()]));

    // 2 March 11:30 UTC: Pago Pago just passed midnight into 2 March, Kiritimati is on
    // 3 March: Quarter more (nearest) × Just kiri (down) = 13.125 → down → 13.
    app.set_clock_ok("2031-03-02T11:30:00Z").await;
    assert_eq!(coins(&app, "pago").await.0, 18);
    assert_eq!(
        coins(&app, "kiri").await,
        (13, vec!["Quarter more".into(), "Just kiri".into()])
    );
    // Three boosts: 7 × 2 × 1.25 × 1.15 = 20.125 → nearest → 20.
    assert_eq!(coins(&app, "prem").await.0, 20);
    let (status, mine) = app.get_json("/v1/users/kiri/points/coins/boosts").await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = mine
        .as_array()
        .expect("list")
        .iter()
        .map(|b| b["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Quarter more", "Just kiri"]);
    assert_eq!(mine[1]["status"], "active");
    assert_eq!(mine[1]["rounding"], "down");

    // 3 March 10:59 UTC: still 2 March (23:59) in Pago Pago, 4 March in Kiritimati.
    app.set_clock_ok("2031-03-03T10:59:00Z").await;
    assert_eq!(coins(&app, "pago").await.0, 18);
    assert_eq!(coins(&app, "kiri").await, (7, vec![]));
    // An hour later Pago Pago is on 3 March: Quarter more × Premium = 10.0625 → 10.
    app.set_clock_ok("2031-03-03T12:00:00Z").await;
    assert_eq!(coins(&app, "prem").await.0, 10);

    // The global list: finished boosts only on request; user boosts never.
    let (_, list) = app.get_json("/v1/points/coins/boosts").await;
    let names: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|b| b["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Quarter more", "Premium"]);
    let (_, list) = app
        .get_json("/v1/points/coins/boosts?includeFinished=true")
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(3));
    assert_eq!(list[0]["status"], "finished");
    assert_eq!(list[0]["end"], "2031-03-02");
    assert_eq!(list[2]["end"], Value::Null);
}

/// `XP_PER_LESSON` with a negative trigger, a user-creation trigger and levels.
fn levels() -> String {
    format!("{XP_PER_LESSON}{LEVELS}")
}

const LEVELS: &str = r#"
  [[points.triggers]]
  type = "metric"
  points = -10
  metric = "energy-use"
  threshold = 1

  [[points.triggers]]
  type = "user_creation"
  points = 5
  user_attributes = { plan = "premium" }

  [[points.levels]]
  key = "bronze"
  name = "Bronze"
  points = 0

  [[points.levels]]
  key = "silver"
  name = "Silver"
  points = 50
  description = "Half way"

  [[points.levels]]
  key = "gold"
  name = "Gold"
  points = 100
  badge_url = "https://example.com/gold.png"
"#;

fn level_key(v: &Value) -> Value {
    v.get("key").cloned().unwrap_or(Value::Null)
}

#[tokio::test]
async fn levels_go_up_and_down_with_webhooks_and_feed_the_level_summary() {
    let hooks = Receiver::start().await;
    let app = spawn_app(&config(&hooks.url, &levels())).await;
    app.set_clock_ok(T0).await;
    // 0 → 50: Bronze → Silver, in the response and as a webhook.
    let body = lessons(&app, "lev", 5.0).await;
    let xp = &body["points"]["xp"];
    assert_eq!(xp["total"], 50);
    assert_eq!(xp["level"]["key"], "silver");
    assert_eq!(xp["level"]["description"], "Half way");
    assert_eq!(xp["level"]["points"], 50);
    let changed = hooks.wait_for("points.level_changed", 1).await;
    assert_eq!(changed[0]["user"]["id"], "lev");
    assert_eq!(changed[0]["points"]["key"], "xp");
    assert_eq!(changed[0]["points"]["total"], 50);
    assert_eq!(level_key(&changed[0]["previousLevel"]), "bronze");
    assert_eq!(level_key(&changed[0]["newLevel"]), "silver");
    let points_changed = hooks.wait_for("points.changed", 1).await;
    assert_eq!(points_changed[0]["points"]["added"], 50);
    assert_eq!(points_changed[0]["points"]["total"], 50);
    assert_eq!(points_changed[0]["points"]["awards"][0]["awarded"], 50);
    // No change of level: no `level` key.
    let body = lessons(&app, "lev", 1.0).await;
    assert!(body["points"]["xp"].get("level").is_none(), "{body}");
    // 60 → 40: back to Bronze.
    let body = event(
        &app,
        "energy-use",
        json!({"user": {"id": "lev"}, "value": 2}),
    )
    .await;
    assert_eq!(body["points"]["xp"]["total"], 40);
    assert_eq!(body["points"]["xp"]["level"]["key"], "bronze");
    // 40 → 110: straight to Gold.
    let body = lessons(&app, "lev", 7.0).await;
    assert_eq!(body["points"]["xp"]["level"]["key"], "gold");
    assert_eq!(
        body["points"]["xp"]["level"]["badgeUrl"],
        "https://example.com/gold.png"
    );
    let changed = hooks.wait_for("points.level_changed", 3).await;
    assert_eq!(level_key(&changed[1]["newLevel"]), "bronze");
    assert_eq!(level_key(&changed[2]["previousLevel"]), "bronze");
    assert_eq!(level_key(&changed[2]["newLevel"]), "gold");
    hooks.wait_for("points.changed", 4).await;

    // A user created without points sits at Bronze (0); a premium user gets 5 on creation,
    // which sends no points.changed.
    for user in [
        json!({"id": "zero"}),
        json!({"id": "prem", "attributes": {"plan": "premium"}}),
    ] {
        let (status, _) = parts(app.send_json(Method::POST, "/v1/users", &user).await).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    assert_eq!(total_of(&app, "prem", "xp"), 5);
    lessons(&app, "mid", 3.0).await;
    let (status, summary) = app.get_json("/v1/points/xp/level-summary").await;
    assert_eq!(status, StatusCode::OK);
    let counts: Vec<(Value, Value)> = summary
        .as_array()
        .expect("list")
        .iter()
        .map(|e| (e["level"]["key"].clone(), e["users"].clone()))
        .collect();
    assert_eq!(
        counts,
        vec![
            (json!("bronze"), json!(3)),
            (json!("silver"), json!(0)),
            (json!("gold"), json!(1))
        ]
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let announced: Vec<Value> = hooks
        .of("points.changed")
        .iter()
        .map(|b| b["user"]["id"].clone())
        .collect();
    assert!(!announced.contains(&json!("prem")), "{announced:?}");

    // The user's points: total, level and the newest awards first.
    let (status, mine) = app.get_json("/v1/users/lev/points/xp?awards=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["total"], 110);
    assert_eq!(mine["level"]["key"], "gold");
    let awards = mine["awards"].as_array().expect("awards");
    assert_eq!(awards.len(), 2);
    assert_eq!(awards[0]["awarded"], 70);
    assert_eq!(awards[0]["total"], 110);
    assert_eq!(awards[1]["awarded"], -20);
    let (_, zero) = app.get_json("/v1/users/zero/points/xp").await;
    assert_eq!(zero["total"], 0);
    assert_eq!(zero["level"]["key"], "bronze");
    assert_eq!(zero["awards"], json!([]));
    let (_, levels) = app.get_json("/v1/points/xp/levels").await;
    let keys: Vec<Value> = levels
        .as_array()
        .expect("levels")
        .iter()
        .map(level_key)
        .collect();
    assert_eq!(keys, [json!("bronze"), json!("silver"), json!("gold")]);
}

#[tokio::test]
async fn the_summary_has_eleven_ranges_up_to_a_power_of_ten() {
    let app = app(&levels()).await;
    // Totals: lev 110, mid 30 (premium), low 10, zero 0, neg -10.
    lessons(&app, "lev", 11.0).await;
    event(
        &app,
        "lessons",
        json!({"user": {"id": "mid", "attributes": {"plan": "premium"}}, "value": 3}),
    )
    .await;
    lessons(&app, "low", 1.0).await;
    let (status, _) = parts(
        app.send_json(Method::POST, "/v1/users", &json!({"id": "zero"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    event(
        &app,
        "energy-use",
        json!({"user": {"id": "neg"}, "value": 1}),
    )
    .await;
    let (status, ranges) = app.get_json("/v1/points/xp/summary").await;
    assert_eq!(status, StatusCode::OK);
    let ranges = ranges.as_array().expect("ranges");
    assert_eq!(ranges.len(), 11);
    assert_eq!(ranges[0], json!({"from": 0, "to": 0, "users": 2}));
    assert_eq!(ranges[1], json!({"from": 1, "to": 100, "users": 2}));
    assert_eq!(ranges[2], json!({"from": 101, "to": 200, "users": 1}));
    assert_eq!(ranges[10], json!({"from": 901, "to": 1000, "users": 0}));
    // Only premium users: mid (35: 30 plus the creation grant) → ranges of 10 up to 100.
    let (status, ranges) = app
        .get_json("/v1/points/xp/summary?userAttributes=plan:premium")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ranges[0], json!({"from": 0, "to": 0, "users": 0}));
    assert_eq!(ranges[4], json!({"from": 31, "to": 40, "users": 1}));
    assert_eq!(ranges[10], json!({"from": 91, "to": 100, "users": 0}));
    let (status, ranges) = app
        .get_json("/v1/points/xp/summary?userAttributes=plan:none")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ranges[0]["users"], 0);
    assert_eq!(ranges[10], json!({"from": 10, "to": 10, "users": 0}));
    // low moves from 10 to 1010: the bound becomes 10000.
    lessons(&app, "low", 100.0).await;
    let (_, ranges) = app.get_json("/v1/points/xp/summary").await;
    assert_eq!(ranges[1], json!({"from": 1, "to": 1000, "users": 2}));
    assert_eq!(ranges[2], json!({"from": 1001, "to": 2000, "users": 1}));
    assert_eq!(ranges[0]["users"], 2);
}

const ACHIEVEMENTS_AND_STREAKS: &str = r#"
[[achievements]]
key = "first"
name = "First"
trigger = "metric"
metric = "lessons"
metric_value = 1

[[achievements]]
key = "api-one"
name = "API one"
trigger = "api"

[[achievements]]
key = "both"
name = "Both"
trigger = "achievement"
prerequisites = ["first", "api-one"]

[[points]]
key = "xp"
name = "XP"

  [[points.triggers]]
  type = "achievement"
  points = 100
  achievement = "first"

  [[points.triggers]]
  type = "achievement"
  points = 20
  achievement = "api-one"

  [[points.triggers]]
  type = "achievement"
  points = 300
  achievement = "both"

  [[points.triggers]]
  type = "streak"
  points = 7
  streak_length = 2
"#;

#[tokio::test]
async fn achievement_and_streak_triggers_pay_on_completion_and_every_l_periods() {
    let app = app(ACHIEVEMENTS_AND_STREAKS).await;
    // Day 1: "first" completes (100); the streak is 1.
    let body = lessons(&app, "ann", 1.0).await;
    assert_eq!(body["points"]["xp"]["added"], 100);
    let trigger = &body["points"]["xp"]["awards"][0]["trigger"];
    assert_eq!(trigger["type"], "achievement");
    assert_eq!(trigger["achievementName"], "First");
    assert!(trigger.get("eventAttributes").is_none(), "{trigger}");
    // The API completion and the composite it unlocks, in the completion response.
    let (status, body) = parts(
        app.send_json(
            Method::POST,
            "/v1/achievements/api-one/complete",
            &json!({"user": {"id": "ann"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let xp = &body["points"]["xp"];
    assert_eq!(xp["added"], 320);
    assert_eq!(xp["total"], 420);
    let paid: Vec<i64> = xp["awards"]
        .as_array()
        .expect("awards")
        .iter()
        .map(|a| a["awarded"].as_i64().expect("awarded"))
        .collect();
    assert_eq!(paid, [20, 300]);
    // Completing again pays nothing.
    let (_, again) = parts(
        app.send_json(
            Method::POST,
            "/v1/achievements/api-one/complete",
            &json!({"user": {"id": "ann"}}),
        )
        .await,
    )
    .await;
    assert_eq!(again["points"], json!({}));
    // Streak 2, 3, 4, 5: pays at 2 and 4.
    let mut paid = Vec::new();
    for day in 1..=4 {
        app.set_clock_ok(&format!("2031-03-0{}T10:30:00Z", day + 1))
            .await;
        let body = lessons(&app, "ann", 1.0).await;
        assert_eq!(body["currentStreak"]["length"], day + 1);
        paid.push(added(&body, "xp"));
        if day % 2 == 1 {
            assert_eq!(
                body["points"]["xp"]["awards"][0]["trigger"]["streakLengthThreshold"],
                2
            );
        }
    }
    assert_eq!(paid, [Some(7), None, Some(7), None]);
    // A second event on the same day does not extend the streak: nothing more.
    assert_eq!(added(&lessons(&app, "ann", 1.0).await, "xp"), None);
    assert_eq!(total_of(&app, "ann", "xp"), 434);
}

const BACKDATE: &str = r#"
[[points]]
key = "xp"
name = "XP"
"#;

#[tokio::test]
async fn backdated_completions_pay_their_achievement_triggers() {
    let app = app(BACKDATE).await;
    lessons(&app, "ann", 3.0).await;
    let metric = app.definition_uuid("metric", "lessons");
    let (status, body) = parts(
        app.admin_request(Method::POST, "/admin/v1/achievements")
            .json(
                &json!([{"name": "Three", "key": "three", "trigger": "metric",
                           "metricId": metric, "metricValue": 3, "status": "inactive"}]),
            )
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let achievement = body["created"][0]["id"].as_str().expect("id").to_owned();
    let system = app.definition_uuid("points_system", "xp");
    let (status, body) = parts(
        app.admin_request(Method::POST, &format!("/admin/v1/points/{system}/triggers"))
            .json(
                &json!([{"type": "achievement", "points": 50, "achievementId": achievement,
                           "status": "active"}]),
            )
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = parts(
        app.admin_request(Method::PATCH, "/admin/v1/achievements")
            .json(&json!([{"id": achievement, "status": "active"}]))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Moving the clock returns once pending backdates have run.
    let (status, _) = parts(app.advance(1).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(total_of(&app, "ann", "xp"), 50);
    let (_, mine) = app.get_json("/v1/users/ann/points/xp").await;
    assert_eq!(mine["awards"][0]["trigger"]["achievementName"], "Three");
}

const TIMED: &str = r#"
[[points]]
key = "energy"
name = "Energy"
max_points = 10

  [[points.triggers]]
  type = "time"
  points = 1
  time_unit = "hours"
  time_interval = 6

[[points]]
key = "daily"
name = "Daily"

  [[points.triggers]]
  type = "time"
  points = 5
  time_unit = "days"
  time_interval = 1
"#;

fn award_dates(body: &Value) -> Vec<String> {
    body["awards"]
        .as_array()
        .expect("awards")
        .iter()
        .map(|a| a["date"].as_str().expect("date").to_owned())
        .collect()
}

#[tokio::test]
async fn time_triggers_tick_from_creation_in_local_time_and_catch_up_at_most_24() {
    let app = app(TIMED).await;
    for (id, tz) in [
        ("kiri", "Pacific/Kiritimati"),
        ("pago", "Pacific/Pago_Pago"),
    ] {
        let (status, _) = parts(
            app.send_json(Method::POST, "/v1/users", &json!({"id": id, "tz": tz}))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    // Six hours after creation: one energy each. Pago Pago reached its local midnight
    // (11:00 UTC) already; Kiritimati's next midnight is 2 March 10:00 UTC.
    app.set_clock_ok("2031-03-01T16:30:00Z").await;
    assert_eq!(total_of(&app, "kiri", "energy"), 1);
    assert_eq!(total_of(&app, "pago", "energy"), 1);
    assert_eq!(total_of(&app, "kiri", "daily"), 0);
    assert_eq!(total_of(&app, "pago", "daily"), 5);
    let (_, pago) = app.get_json("/v1/users/pago/points/daily").await;
    assert_eq!(award_dates(&pago), ["2031-03-01T11:00:00Z"]);
    app.set_clock_ok("2031-03-02T10:00:00Z").await;
    let (_, kiri) = app.get_json("/v1/users/kiri/points/daily").await;
    assert_eq!(award_dates(&kiri), ["2031-03-02T10:00:00Z"]);
    assert_eq!(total_of(&app, "kiri", "energy"), 3);
    // Two more days: energy stops at its cap of 10.
    app.set_clock_ok("2031-03-04T10:00:00Z").await;
    assert_eq!(total_of(&app, "kiri", "energy"), 10);
    assert_eq!(total_of(&app, "kiri", "daily"), 15);
    let (_, summary) = app
        .get_json("/v1/users/kiri/points/daily/event-summary?aggregation=daily&startDate=2031-03-02&endDate=2031-03-05")
        .await;
    assert_eq!(
        summary,
        json!([
            {"date": "2031-03-02", "total": 0, "change": 0},
            {"date": "2031-03-03", "total": 5, "change": 5},
            {"date": "2031-03-04", "total": 10, "change": 5},
            {"date": "2031-03-05", "total": 15, "change": 5},
        ])
    );
    // Down for 30 days: on restart only the latest 24 missed ticks are paid.
    let app = app.restart().await;
    let before = total_of(&app, "pago", "daily");
    app.set_clock_ok("2031-04-03T12:00:00Z").await;
    assert_eq!(total_of(&app, "pago", "daily"), before + 24 * 5);
    let (_, pago) = app.get_json("/v1/users/pago/points/daily?awards=1").await;
    assert_eq!(award_dates(&pago), ["2031-04-03T11:00:00Z"]);
    // And it carries on daily afterwards.
    app.set_clock_ok("2031-04-04T11:00:00Z").await;
    assert_eq!(total_of(&app, "pago", "daily"), before + 25 * 5);
}

#[tokio::test]
async fn points_routes_answer_404_and_422_for_unknown_or_bad_input() {
    let app = app(&format!("{XP_EVERY_3}{TIMED}")).await;
    lessons(&app, "ann", 1.0).await;
    for path in [
        "/v1/points/nope",
        "/v1/points/nope/boosts",
        "/v1/points/nope/levels",
        "/v1/points/nope/level-summary",
        "/v1/points/nope/summary",
        "/v1/users/ann/points/nope",
        "/v1/users/nobody/points/xp",
        "/v1/users/nobody/points/xp/boosts",
        "/v1/users/nobody/points/xp/event-summary?aggregation=daily&startDate=2031-03-01&endDate=2031-03-02",
    ] {
        assert_error(app.get(path).await, StatusCode::NOT_FOUND).await;
    }
    let message = assert_error(
        app.get("/v1/points/xp/level-summary").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(message, "No levels configured on the points system");
    for path in [
        "/v1/users/ann/points/xp?awards=0",
        "/v1/users/ann/points/xp?awards=101",
        "/v1/users/ann/points/xp?awards=x",
        "/v1/points/xp/boosts?includeFinished=maybe",
        "/v1/points/xp/summary?userAttributes=plan",
        "/v1/users/ann/points/xp/event-summary?aggregation=hourly&startDate=2031-03-01&endDate=2031-03-02",
    ] {
        assert_error(app.get(path).await, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    // The system: active triggers only, in the application API's names.
    let (status, system) = app.get_json("/v1/points/daily").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(system["name"], "Daily");
    assert_eq!(system["maxPoints"], Value::Null);
    assert_eq!(system["triggers"][0]["timeUnit"], "day");
    assert_eq!(system["triggers"][0]["timeInterval"], 1);
    assert!(system["triggers"][0].get("eventAttributes").is_none());
    let (_, energy) = app.get_json("/v1/points/energy").await;
    assert_eq!(energy["triggers"][0]["timeUnit"], "hour");
    assert_eq!(energy["maxPoints"], 10);
}

#[tokio::test]
async fn points_changed_is_sent_at_once_then_coalesced_per_user_and_system() {
    let hooks = Receiver::start().await;
    let app = spawn_app(&config_with_window(&hooks.url, 60, &levels())).await;
    app.set_clock_ok(T0).await;
    lessons(&app, "ann", 1.0).await;
    let first = hooks.wait_for("points.changed", 1).await;
    assert_eq!(first[0]["points"]["added"], 10);
    // Two more changes inside the window are merged into one webhook at its end.
    app.set_clock_ok("2031-03-01T10:30:20Z").await;
    lessons(&app, "ann", 2.0).await;
    event(
        &app,
        "energy-use",
        json!({"user": {"id": "ann"}, "value": 1}),
    )
    .await;
    // Another user has a window of their own.
    lessons(&app, "bob", 1.0).await;
    hooks.wait_for("points.changed", 2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        hooks.of("points.changed").len(),
        2,
        "ann's changes wait for the window"
    );
    app.set_clock_ok("2031-03-01T10:31:00Z").await;
    let all = hooks.wait_for("points.changed", 3).await;
    let merged = &all[2];
    assert_eq!(merged["user"]["id"], "ann");
    assert_eq!(merged["points"]["added"], 10);
    assert_eq!(merged["points"]["total"], 20);
    let awarded: Vec<&Value> = merged["points"]["awards"]
        .as_array()
        .expect("awards")
        .iter()
        .map(|a| &a["awarded"])
        .collect();
    assert_eq!(awarded, [&json!(20), &json!(-10)]);
}
