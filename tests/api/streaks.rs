//! Streaks (docs/behaviour/streaks.md): evaluation on events, settlement at the user's local period
//! boundaries, freezes, days off, time zones, the reads, and the streak webhooks (read from
//! the `webhook_outbox` table). Every test drives time with the test clock.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, assert_json_eq, parts, spawn_app, Config, TestApp, DAILY_STREAK, DEAD_HOOK,
    NO_RETRY,
};

/// `lessons` and `minutes` and the given `[streaks]` section (may be empty).
fn without_webhooks(streaks: &str) -> Config {
    Config::new()
        .metric("lessons", "Lessons")
        .metric("minutes", "Minutes")
        .with(streaks)
}

/// A config with `lessons` and `minutes`, the given `[streaks]` section (may be empty) and
/// a webhook endpoint subscribed to everything.
pub fn config(streaks: &str) -> Config {
    without_webhooks(streaks).webhook(DEAD_HOOK, "whsec_test", NO_RETRY)
}

pub const DAILY: &str = DAILY_STREAK;

/// Moves the clock to `at` and posts `value` on `metric` for `user` (a JSON user object
/// or a plain id); returns the 201 body.
pub async fn event_at(app: &TestApp, at: &str, user: Value, metric: &str, value: f64) -> Value {
    app.set_clock_ok(at).await;
    let user = match user {
        Value::String(id) => json!({ "id": id }),
        other => other,
    };
    let (status, body) = parts(
        app.post_event(metric, &json!({"user": user, "value": value}), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// One lesson for `user` at `at`; returns `currentStreak`.
pub async fn lesson(app: &TestApp, at: &str, user: &str) -> Value {
    event_at(app, at, json!(user), "lessons", 1.0).await["currentStreak"].clone()
}

pub async fn streak(app: &TestApp, user: &str) -> Value {
    let (status, body) = app.get_json(&format!("/v1/users/{user}/streak")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The streak webhooks queued so far, oldest first.
pub fn hooks(app: &TestApp) -> Vec<Value> {
    let conn = app.db();
    let mut stmt = conn
        .prepare(
            "SELECT event_type, body FROM webhook_outbox
              WHERE event_type LIKE 'streak.%' ORDER BY id",
        )
        .expect("prepare");
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .expect("query");
    rows.map(|r| {
        let (kind, body) = r.expect("row");
        let body: Value = serde_json::from_str(&body).expect("body is JSON");
        assert_eq!(body["type"], kind, "the body carries its type");
        body
    })
    .collect()
}

/// `(type, user id, the detail that matters)` of each streak webhook.
pub fn hook_summary(app: &TestApp) -> Vec<(String, String, Value)> {
    hooks(app)
        .into_iter()
        .map(|h| {
            let kind = h["type"].as_str().expect("type").to_owned();
            let detail = match kind.as_str() {
                "streak.started" | "streak.extended" => h["streak"]["length"].clone(),
                "streak.lost" => h["length"].clone(),
                "streak.freeze_consumed" => json!([h["consumed"], h["freezes"]]),
                "streak.freeze_earned" => json!([h["earned"], h["freezes"]]),
                other => panic!("unexpected {other}"),
            };
            let user = h["user"]["id"].as_str().expect("user id").to_owned();
            (kind, user, detail)
        })
        .collect()
}

fn summary(items: &[(&str, &str, Value)]) -> Vec<(String, String, Value)> {
    items
        .iter()
        .map(|(k, u, d)| (k.to_string(), u.to_string(), d.clone()))
        .collect()
}

/// Lengths of the history items, oldest first.
fn history_lengths(streak: &Value) -> Vec<i64> {
    streak["streakHistory"]
        .as_array()
        .expect("streakHistory")
        .iter()
        .map(|h| h["length"].as_i64().expect("length"))
        .collect()
}

#[tokio::test]
async fn a_daily_streak_starts_extends_and_is_lost_at_local_midnight() {
    let app = spawn_app(&config(DAILY)).await;
    let s = lesson(&app, "2031-03-01T10:30:00Z", "u1").await;
    assert_json_eq(
        &s,
        &json!({
            "length": 1, "frequency": "daily", "started": "2031-03-01",
            "periodStart": "2031-03-01", "periodEnd": "2031-03-01",
            "expires": "2031-03-02", "extended": true
        }),
    );
    // The webhook carries the full user as it was then, and a BaseStreakResponse.
    let (_, user) = app.get_json("/v1/users/u1").await;
    let started = hooks(&app);
    assert_eq!(started.len(), 1);
    assert_json_eq(
        &started[0],
        &json!({
            "type": "streak.started",
            "user": user,
            "streak": {
                "length": 1, "frequency": "daily", "started": "2031-03-01",
                "periodStart": "2031-03-01", "periodEnd": "2031-03-01", "expires": "2031-03-02"
            }
        }),
    );

    // Same day: nothing more. Another metric: the streak object, never extended.
    let s = lesson(&app, "2031-03-01T11:00:00Z", "u1").await;
    assert_eq!(
        (s["length"].clone(), s["extended"].clone()),
        (json!(1), json!(false))
    );
    let s = event_at(&app, "2031-03-01T12:00:00Z", json!("u1"), "minutes", 5.0).await;
    assert_eq!(s["currentStreak"]["length"], 1);
    assert_eq!(s["currentStreak"]["extended"], false);

    // The last second of the next day extends.
    let s = lesson(&app, "2031-03-02T23:59:59Z", "u1").await;
    assert_json_eq(
        &s,
        &json!({
            "length": 2, "frequency": "daily", "started": "2031-03-01",
            "periodStart": "2031-03-02", "periodEnd": "2031-03-02",
            "expires": "2031-03-03", "extended": true
        }),
    );
    let (_, user) = app.get_json("/v1/users/u1").await;
    assert_json_eq(
        &hooks(&app)[1],
        &json!({
            "type": "streak.extended",
            "user": user,
            "streak": {
                "length": 2, "frequency": "daily", "started": "2031-03-01",
                "periodStart": "2031-03-02", "periodEnd": "2031-03-02", "expires": "2031-03-03"
            }
        }),
    );

    let body = streak(&app, "u1").await;
    assert_eq!(body["length"], 2);
    assert_eq!(body["rank"], 1);
    assert_eq!(body["pauses"], json!([]));
    assert_eq!(history_lengths(&body), vec![0, 0, 0, 0, 0, 1, 2]);
    assert_json_eq(
        &body["streakHistory"][6],
        &json!({"periodStart": "2031-03-02", "periodEnd": "2031-03-02", "length": 2, "usedPause": false}),
    );

    // 03-03 may still be used up to its last second...
    app.set_clock_ok("2031-03-03T23:59:59Z").await;
    let body = streak(&app, "u1").await;
    assert_eq!(
        (body["length"].clone(), body["expires"].clone()),
        (json!(2), json!("2031-03-03"))
    );
    assert_eq!(hooks(&app).len(), 2);
    // ...and at midnight the streak is lost, once.
    app.set_clock_ok("2031-03-04T00:00:00Z").await;
    let (_, user) = app.get_json("/v1/users/u1").await;
    let all = hooks(&app);
    assert_eq!(all.len(), 3);
    assert_json_eq(
        &all[2],
        &json!({"type": "streak.lost", "user": user, "length": 2}),
    );
    let body = streak(&app, "u1").await;
    assert_json_eq(
        &json!([
            body["length"],
            body["started"],
            body["expires"],
            body["rank"]
        ]),
        &json!([0, null, null, null]),
    );
    assert_eq!(history_lengths(&body), vec![0, 0, 0, 1, 2, 0, 0]);
    app.set_clock_ok("2031-03-05T00:00:00Z").await;
    streak(&app, "u1").await;
    assert_eq!(hooks(&app).len(), 3, "lost only once");

    // A new streak starts from 1.
    let s = lesson(&app, "2031-03-05T08:00:00Z", "u1").await;
    assert_eq!(
        (s["length"].clone(), s["started"].clone()),
        (json!(1), json!("2031-03-05"))
    );
    assert_eq!(
        hook_summary(&app),
        summary(&[
            ("streak.started", "u1", json!(1)),
            ("streak.extended", "u1", json!(2)),
            ("streak.lost", "u1", json!(2)),
            ("streak.started", "u1", json!(1)),
        ])
    );
}

#[tokio::test]
async fn extended_is_true_only_on_the_event_that_raised_the_length_and_replays_say_false() {
    let app = spawn_app(&config(DAILY)).await;
    app.set_clock_ok("2031-03-01T10:00:00Z").await;
    let send = |key: &'static str| {
        let app = &app;
        async move {
            parts(
                app.post_event(
                    "lessons",
                    &json!({"user": {"id": "u1"}, "value": 1}),
                    Some(key),
                )
                .await,
            )
            .await
        }
    };
    let (status, first) = send("k1").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(first["currentStreak"]["extended"], true);
    // The replay the same day: the current streak, extended false, nothing changed.
    let (status, replay) = send("k1").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_json_eq(
        &replay["currentStreak"],
        &json!({
            "length": 1, "frequency": "daily", "started": "2031-03-01",
            "periodStart": "2031-03-01", "periodEnd": "2031-03-01",
            "expires": "2031-03-02", "extended": false
        }),
    );
    // The replay the next day does not extend either: 03-02 is still to be met.
    app.set_clock_ok("2031-03-02T10:00:00Z").await;
    let (status, replay) = send("k1").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_json_eq(
        &replay["currentStreak"],
        &json!({
            "length": 1, "frequency": "daily", "started": "2031-03-01",
            "periodStart": "2031-03-02", "periodEnd": "2031-03-02",
            "expires": "2031-03-02", "extended": false
        }),
    );
    let (status, next) = send("k2").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(next["currentStreak"]["length"], 2);
    assert_eq!(next["currentStreak"]["extended"], true);
    let (_, again) = send("k3").await;
    assert_eq!(again["currentStreak"]["extended"], false);
    assert_eq!(hooks(&app).len(), 2);
}

#[tokio::test]
async fn a_threshold_above_one_is_reached_by_several_events() {
    let app = spawn_app(&config(
        "[streaks]\nmetrics = [{ metric = \"lessons\", threshold = 3 }]\n",
    ))
    .await;
    let s = lesson(&app, "2031-03-01T08:00:00Z", "u1").await;
    assert_json_eq(
        &json!([s["length"], s["extended"], s["expires"], s["started"]]),
        &json!([0, false, null, null]),
    );
    let s = lesson(&app, "2031-03-01T09:00:00Z", "u1").await;
    assert_eq!(s["length"], 0);
    let s = event_at(&app, "2031-03-01T10:00:00Z", json!("u1"), "lessons", 1.5).await;
    assert_eq!(s["currentStreak"]["length"], 1);
    assert_eq!(s["currentStreak"]["extended"], true);
    // Met stays met, even after a negative event.
    let s = event_at(&app, "2031-03-01T11:00:00Z", json!("u1"), "lessons", -5.0).await;
    assert_eq!(s["currentStreak"]["length"], 1);
    assert_eq!(s["currentStreak"]["extended"], false);
    // The sums are per period: yesterday's surplus does not count today.
    let s = event_at(&app, "2031-03-02T08:00:00Z", json!("u1"), "lessons", 2.0).await;
    assert_eq!(s["currentStreak"]["length"], 1);
    assert_eq!(s["currentStreak"]["extended"], false);
    let s = event_at(&app, "2031-03-02T09:00:00Z", json!("u1"), "lessons", 1.0).await;
    assert_eq!(s["currentStreak"]["length"], 2);
    assert_eq!(s["currentStreak"]["extended"], true);
}

#[tokio::test]
async fn or_conditions_need_one_metric_and_and_conditions_need_all() {
    let conditions = r#"metrics = [
    { metric = "lessons", threshold = 2 },
    { metric = "minutes", threshold = 30 },
]"#;
    let or = spawn_app(&config(&format!(
        "[streaks]\nevaluation_mode = \"OR\"\n{conditions}\n"
    )))
    .await;
    let s = event_at(&or, "2031-03-01T08:00:00Z", json!("a"), "minutes", 30.0).await;
    assert_eq!(s["currentStreak"]["length"], 1);
    let s = event_at(&or, "2031-03-01T08:01:00Z", json!("b"), "lessons", 1.0).await;
    assert_eq!(s["currentStreak"]["length"], 0);
    let s = event_at(&or, "2031-03-01T08:02:00Z", json!("b"), "minutes", 29.0).await;
    assert_eq!(s["currentStreak"]["length"], 0);
    let s = event_at(&or, "2031-03-01T08:03:00Z", json!("b"), "lessons", 1.0).await;
    assert_eq!(s["currentStreak"]["length"], 1);
    assert_eq!(s["currentStreak"]["extended"], true);

    let and = spawn_app(&config(&format!(
        "[streaks]\nevaluation_mode = \"AND\"\n{conditions}\n"
    )))
    .await;
    let s = event_at(&and, "2031-03-01T08:00:00Z", json!("a"), "minutes", 45.0).await;
    assert_eq!(s["currentStreak"]["length"], 0);
    let s = event_at(&and, "2031-03-01T08:01:00Z", json!("a"), "lessons", 1.0).await;
    assert_eq!(s["currentStreak"]["length"], 0);
    let s = event_at(&and, "2031-03-01T08:02:00Z", json!("a"), "lessons", 1.0).await;
    assert_eq!(s["currentStreak"]["length"], 1);
    assert_eq!(s["currentStreak"]["extended"], true);
    assert_eq!(
        hook_summary(&and),
        summary(&[("streak.started", "a", json!(1))])
    );
}

#[tokio::test]
async fn weekly_streaks_with_sunday_weeks() {
    let app = spawn_app(&config(
        "[streaks]\nfrequency = \"weekly\"\nmetrics = [{ metric = \"lessons\" }]\n",
    ))
    .await;
    // 2031-03-05 is a Wednesday; its week runs Sunday 03-02 to Saturday 03-08.
    let s = lesson(&app, "2031-03-05T12:00:00Z", "u1").await;
    assert_json_eq(
        &s,
        &json!({
            "length": 1, "frequency": "weekly", "started": "2031-03-05",
            "periodStart": "2031-03-02", "periodEnd": "2031-03-08",
            "expires": "2031-03-15", "extended": true
        }),
    );
    let s = lesson(&app, "2031-03-08T23:00:00Z", "u1").await;
    assert_eq!(s["extended"], false);
    // Sunday starts the next week.
    let s = lesson(&app, "2031-03-09T00:30:00Z", "u1").await;
    assert_json_eq(
        &json!([
            s["length"],
            s["periodStart"],
            s["periodEnd"],
            s["expires"],
            s["extended"]
        ]),
        &json!([2, "2031-03-09", "2031-03-15", "2031-03-22", true]),
    );
    // The week of 03-16 is missed: lost when it ends, at Sunday 03-23 00:00.
    app.set_clock_ok("2031-03-22T23:59:59Z").await;
    assert_eq!(streak(&app, "u1").await["length"], 2);
    app.set_clock_ok("2031-03-23T00:00:00Z").await;
    let body = streak(&app, "u1").await;
    assert_eq!(body["length"], 0);
    let history = body["streakHistory"].as_array().expect("history");
    assert_eq!(history.len(), 7);
    assert_json_eq(
        &history[4],
        &json!({"periodStart": "2031-03-09", "periodEnd": "2031-03-15", "length": 2, "usedPause": false}),
    );
    assert_eq!(history_lengths(&body), vec![0, 0, 0, 1, 2, 0, 0]);
    assert_eq!(
        hook_summary(&app),
        summary(&[
            ("streak.started", "u1", json!(1)),
            ("streak.extended", "u1", json!(2)),
            ("streak.lost", "u1", json!(2)),
        ])
    );
}

#[tokio::test]
async fn weekly_streaks_with_monday_weeks() {
    let app = spawn_app(&config(
        "[streaks]\nfrequency = \"weekly\"\nweek_start = \"monday\"\nmetrics = [{ metric = \"lessons\" }]\n",
    ))
    .await;
    // Sunday 2031-03-02 ends the Monday week that began 02-24...
    let s = lesson(&app, "2031-03-02T12:00:00Z", "u1").await;
    assert_json_eq(
        &json!([s["periodStart"], s["periodEnd"], s["expires"]]),
        &json!(["2031-02-24", "2031-03-02", "2031-03-09"]),
    );
    // ...so Monday extends.
    let s = lesson(&app, "2031-03-03T12:00:00Z", "u1").await;
    assert_json_eq(
        &json!([s["length"], s["periodStart"], s["periodEnd"], s["extended"]]),
        &json!([2, "2031-03-03", "2031-03-09", true]),
    );
}

#[tokio::test]
async fn monthly_streaks() {
    let app = spawn_app(&config(
        "[streaks]\nfrequency = \"monthly\"\nmetrics = [{ metric = \"lessons\" }]\n",
    ))
    .await;
    let s = lesson(&app, "2031-01-31T12:00:00Z", "u1").await;
    assert_json_eq(
        &s,
        &json!({
            "length": 1, "frequency": "monthly", "started": "2031-01-31",
            "periodStart": "2031-01-01", "periodEnd": "2031-01-31",
            "expires": "2031-02-28", "extended": true
        }),
    );
    let s = lesson(&app, "2031-02-01T00:00:00Z", "u1").await;
    assert_json_eq(
        &json!([s["length"], s["periodStart"], s["periodEnd"], s["expires"]]),
        &json!([2, "2031-02-01", "2031-02-28", "2031-03-31"]),
    );
    app.set_clock_ok("2031-03-31T23:59:59Z").await;
    assert_eq!(streak(&app, "u1").await["length"], 2);
    app.set_clock_ok("2031-04-01T00:00:00Z").await;
    assert_eq!(streak(&app, "u1").await["length"], 0);
    assert_eq!(
        hook_summary(&app).last().map(|h| h.0.clone()).as_deref(),
        Some("streak.lost")
    );
}

/// Posts one lesson per `(utc instant, user, zone)`; returns each `currentStreak`.
async fn lessons_in_zones(app: &TestApp, events: &[(&str, &str, &str)]) -> Vec<Value> {
    let mut out = Vec::new();
    for (at, user, tz) in events {
        let body = event_at(app, at, json!({"id": user, "tz": tz}), "lessons", 1.0).await;
        out.push(body["currentStreak"].clone());
    }
    out
}

#[tokio::test]
async fn periods_follow_each_users_zone_around_local_midnight_and_spring_dst() {
    let app = spawn_app(&config(DAILY)).await;
    // One minute before and after local midnight (and across the short DST days).
    let got = lessons_in_zones(
        &app,
        &[
            ("2031-03-01T09:59:00Z", "kiri", "Pacific/Kiritimati"), // 03-01 23:59
            ("2031-03-01T10:01:00Z", "kiri", "Pacific/Kiritimati"), // 03-02 00:01
            ("2031-03-01T18:29:00Z", "kol", "Asia/Kolkata"),        // 03-01 23:59
            ("2031-03-01T18:31:00Z", "kol", "Asia/Kolkata"),        // 03-02 00:01
            ("2031-03-02T10:59:00Z", "pago", "Pacific/Pago_Pago"),  // 03-01 23:59
            ("2031-03-02T11:01:00Z", "pago", "Pacific/Pago_Pago"),  // 03-02 00:01
            ("2031-03-09T04:59:00Z", "ny", "America/New_York"),     // 03-08 23:59 EST
            ("2031-03-09T05:01:00Z", "ny", "America/New_York"),     // 03-09 00:01 EST
            ("2031-03-10T03:59:00Z", "ny", "America/New_York"),     // 03-09 23:59 EDT
            ("2031-03-10T04:01:00Z", "ny", "America/New_York"),     // 03-10 00:01 EDT
        ],
    )
    .await;
    let expected = [
        (1, "2031-03-01", "2031-03-01", "2031-03-02"),
        (2, "2031-03-01", "2031-03-02", "2031-03-03"),
        (1, "2031-03-01", "2031-03-01", "2031-03-02"),
        (2, "2031-03-01", "2031-03-02", "2031-03-03"),
        (1, "2031-03-01", "2031-03-01", "2031-03-02"),
        (2, "2031-03-01", "2031-03-02", "2031-03-03"),
        (1, "2031-03-08", "2031-03-08", "2031-03-09"),
        (2, "2031-03-08", "2031-03-09", "2031-03-10"),
        (2, "2031-03-08", "2031-03-09", "2031-03-10"),
        (3, "2031-03-08", "2031-03-10", "2031-03-11"),
    ];
    for (s, (length, started, period, expires)) in got.iter().zip(expected) {
        assert_json_eq(
            &json!([s["length"], s["started"], s["periodStart"], s["expires"]]),
            &json!([length, started, period, expires]),
        );
    }
    // 03-09 23:59 EDT and 03-10 00:01 EDT: the second is a new day, the third of the streak.
    assert_eq!(got[8]["extended"], false, "still 03-09 in New York");
    assert_eq!(got[9]["extended"], true);
    // New York's 03-11 ends at 03-12 04:00Z (EDT); the streak is kept until then.
    app.set_clock_ok("2031-03-12T03:59:59Z").await;
    assert_eq!(streak(&app, "ny").await["length"], 3);
    app.set_clock_ok("2031-03-12T04:00:00Z").await;
    assert_eq!(streak(&app, "ny").await["length"], 0);

    // London's 03-30 is 23 hours long (GMT to BST).
    let got = lessons_in_zones(
        &app,
        &[
            ("2031-03-29T23:59:00Z", "lon", "Europe/London"), // 03-29 23:59 GMT
            ("2031-03-30T00:01:00Z", "lon", "Europe/London"), // 03-30 00:01 GMT
            ("2031-03-30T22:59:00Z", "lon", "Europe/London"), // 03-30 23:59 BST
            ("2031-03-30T23:01:00Z", "lon", "Europe/London"), // 03-31 00:01 BST
        ],
    )
    .await;
    let lengths: Vec<_> = got.iter().map(|s| s["length"].clone()).collect();
    assert_eq!(lengths, vec![json!(1), json!(2), json!(2), json!(3)]);
    assert_eq!(got[3]["periodStart"], "2031-03-31");
    // Due next: 04-01, which ends at 04-01 23:00Z (BST).
    app.set_clock_ok("2031-04-01T22:59:59Z").await;
    assert_eq!(streak(&app, "lon").await["length"], 3);
    app.set_clock_ok("2031-04-01T23:00:00Z").await;
    assert_eq!(streak(&app, "lon").await["length"], 0);

    // Every user lost their streak exactly once, at their own midnight.
    let lost: Vec<_> = hook_summary(&app)
        .into_iter()
        .filter(|h| h.0 == "streak.lost")
        .map(|h| (h.1, h.2))
        .collect();
    assert_eq!(lost.len(), 5, "{lost:?}");
    for user in ["kiri", "kol", "pago", "ny", "lon"] {
        assert_eq!(lost.iter().filter(|l| l.0 == user).count(), 1, "{user}");
    }
}

#[tokio::test]
async fn autumn_dst_days_are_25_hours_long() {
    let app = spawn_app(&config(DAILY)).await;
    let got = lessons_in_zones(
        &app,
        &[
            ("2031-10-25T22:59:00Z", "lon", "Europe/London"), // 10-25 23:59 BST
            ("2031-10-25T23:01:00Z", "lon", "Europe/London"), // 10-26 00:01 BST
            ("2031-10-26T23:59:00Z", "lon", "Europe/London"), // 10-26 23:59 GMT
            ("2031-10-27T00:01:00Z", "lon", "Europe/London"), // 10-27 00:01 GMT
            ("2031-11-02T03:59:00Z", "ny", "America/New_York"), // 11-01 23:59 EDT
            ("2031-11-02T04:01:00Z", "ny", "America/New_York"), // 11-02 00:01 EDT
            ("2031-11-03T04:59:00Z", "ny", "America/New_York"), // 11-02 23:59 EST
            ("2031-11-03T05:01:00Z", "ny", "America/New_York"), // 11-03 00:01 EST
        ],
    )
    .await;
    let lengths: Vec<_> = got.iter().map(|s| s["length"].clone()).collect();
    assert_eq!(lengths, [1, 2, 2, 3, 1, 2, 2, 3].map(|n| json!(n)).to_vec());
    let extended: Vec<_> = got.iter().map(|s| s["extended"].clone()).collect();
    assert_eq!(
        extended,
        [true, true, false, true, true, true, false, true]
            .map(|b| json!(b))
            .to_vec()
    );
    // London lost its streak at 10-29 00:00 GMT, after 10-28 was missed (on 11-02).
    let lost: Vec<_> = hook_summary(&app)
        .into_iter()
        .filter(|h| h.0 == "streak.lost")
        .collect();
    assert_eq!(lost, summary(&[("streak.lost", "lon", json!(3))]));
    // New York's 11-04 ends at 11-05 05:00Z (EST).
    app.set_clock_ok("2031-11-05T04:59:59Z").await;
    assert_eq!(streak(&app, "ny").await["length"], 3);
    app.set_clock_ok("2031-11-05T05:00:00Z").await;
    assert_eq!(streak(&app, "ny").await["length"], 0);
}

#[tokio::test]
async fn days_off_keep_a_daily_streak_without_adding_or_using_freezes() {
    let app = spawn_app(&config(
        r#"
[streaks]
metrics = [{ metric = "lessons" }]
days_off = [0, 6]
[streaks.freezes]
start_count = 1
max_count = 1
"#,
    ))
    .await;
    // Friday 2031-03-07, then nothing over the weekend.
    lesson(&app, "2031-03-07T12:00:00Z", "u1").await;
    app.set_clock_ok("2031-03-10T09:00:00Z").await;
    let body = streak(&app, "u1").await;
    assert_eq!(
        (body["length"].clone(), body["freezes"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(history_lengths(&body), vec![0, 0, 0, 1, 1, 1, 1]);
    assert_eq!(body["streakHistory"][5]["usedFreeze"], false);
    // Monday extends.
    let s = lesson(&app, "2031-03-10T10:00:00Z", "u1").await;
    assert_eq!(
        (s["length"].clone(), s["extended"].clone()),
        (json!(2), json!(true))
    );
    // Tuesday missed: the freeze; Wednesday missed: lost.
    app.set_clock_ok("2031-03-13T00:00:00Z").await;
    assert_eq!(
        hook_summary(&app),
        summary(&[
            ("streak.started", "u1", json!(1)),
            ("streak.extended", "u1", json!(2)),
            ("streak.freeze_consumed", "u1", json!([1, 0])),
            ("streak.lost", "u1", json!(2)),
        ])
    );
}

#[tokio::test]
async fn freezes_cover_missed_days_one_or_several_at_a_time() {
    let app = spawn_app(&config(
        r#"
[streaks]
metrics = [{ metric = "lessons" }]
[streaks.freezes]
start_count = 3
max_count = 3
"#,
    ))
    .await;
    let s = lesson(&app, "2031-03-01T12:00:00Z", "u1").await;
    assert_json_eq(
        &json!([
            s["freezes"],
            s["maxFreezes"],
            s.get("freezeAutoEarnInterval")
        ]),
        &json!([3, 3, null]),
    );
    // 03-02 missed: one freeze at 03-03 00:00.
    app.set_clock_ok("2031-03-03T00:00:00Z").await;
    let (_, user) = app.get_json("/v1/users/u1").await;
    assert_json_eq(
        &hooks(&app)[1],
        &json!({"type": "streak.freeze_consumed", "user": user, "consumed": 1, "freezes": 2}),
    );
    let s = lesson(&app, "2031-03-03T12:00:00Z", "u1").await;
    assert_json_eq(
        &json!([s["length"], s["extended"], s["freezes"]]),
        &json!([2, true, 2]),
    );
    // 03-04 and 03-05 missed, settled in one move of the clock: one webhook for both.
    app.set_clock_ok("2031-03-06T00:00:00Z").await;
    let body = streak(&app, "u1").await;
    assert_eq!(
        (body["length"].clone(), body["freezes"].clone()),
        (json!(2), json!(0))
    );
    let used: Vec<_> = body["streakHistory"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| {
            (
                h["periodStart"].clone(),
                h["length"].clone(),
                h["usedFreeze"].clone(),
            )
        })
        .collect();
    assert_eq!(
        used,
        vec![
            (json!("2031-02-28"), json!(0), json!(false)),
            (json!("2031-03-01"), json!(1), json!(false)),
            (json!("2031-03-02"), json!(1), json!(true)),
            (json!("2031-03-03"), json!(2), json!(false)),
            (json!("2031-03-04"), json!(2), json!(true)),
            (json!("2031-03-05"), json!(2), json!(true)),
            (json!("2031-03-06"), json!(2), json!(false)),
        ]
    );
    // 03-06 missed with no freeze left: lost.
    app.set_clock_ok("2031-03-07T00:00:00Z").await;
    assert_eq!(
        hook_summary(&app),
        summary(&[
            ("streak.started", "u1", json!(1)),
            ("streak.freeze_consumed", "u1", json!([1, 2])),
            ("streak.extended", "u1", json!(2)),
            ("streak.freeze_consumed", "u1", json!([2, 0])),
            ("streak.lost", "u1", json!(2)),
        ])
    );
}

#[tokio::test]
async fn running_out_of_freezes_in_one_settlement_consumes_then_loses() {
    let app = spawn_app(&config(
        "[streaks]\nmetrics = [{ metric = \"lessons\" }]\n[streaks.freezes]\nstart_count = 1\nmax_count = 2\n",
    ))
    .await;
    lesson(&app, "2031-03-01T12:00:00Z", "u1").await;
    app.set_clock_ok("2031-03-04T00:00:00Z").await;
    assert_eq!(
        hook_summary(&app),
        summary(&[
            ("streak.started", "u1", json!(1)),
            ("streak.freeze_consumed", "u1", json!([1, 0])),
            ("streak.lost", "u1", json!(1)),
        ])
    );
    assert_eq!(streak(&app, "u1").await["freezes"], 0);
}

#[tokio::test]
async fn freezes_are_auto_earned_at_local_midnight_up_to_the_maximum() {
    let app = spawn_app(&config(
        r#"
[streaks]
metrics = [{ metric = "lessons" }]
[streaks.freezes]
start_count = 0
max_count = 2
auto_earn_interval_days = 2
auto_earn_amount = 1
"#,
    ))
    .await;
    // Created on 03-01 (local, Kolkata): grants at local midnight on 03-03, 03-05, ...
    event_at(
        &app,
        "2031-03-01T10:30:00Z",
        json!({"id": "u1", "tz": "Asia/Kolkata"}),
        "minutes",
        1.0,
    )
    .await;
    let body = streak(&app, "u1").await;
    assert_json_eq(
        &json!([
            body["freezes"],
            body["maxFreezes"],
            body["freezeAutoEarnInterval"],
            body["freezeAutoEarnAmount"]
        ]),
        &json!([0, 2, 2, 1]),
    );
    app.set_clock_ok("2031-03-02T18:29:59Z").await;
    assert!(hooks(&app).is_empty());
    app.set_clock_ok("2031-03-02T18:30:00Z").await; // 03-03 00:00 IST
    let (_, user) = app.get_json("/v1/users/u1").await;
    assert_json_eq(
        &hooks(&app)[0],
        &json!({"type": "streak.freeze_earned", "user": user, "earned": 1, "freezes": 1}),
    );
    // Two more anchors pass; only one grant fits under the maximum.
    app.set_clock_ok("2031-03-07T00:00:00Z").await;
    assert_eq!(streak(&app, "u1").await["freezes"], 2);
    // A freeze used at midnight is earned back at the next anchor (03-09 00:00 IST).
    lesson(&app, "2031-03-07T06:00:00Z", "u1").await; // 03-07 IST
    app.set_clock_ok("2031-03-08T18:30:00Z").await; // 03-09 00:00 IST: 03-08 missed
    assert_eq!(
        hook_summary(&app),
        summary(&[
            ("streak.freeze_earned", "u1", json!([1, 1])),
            ("streak.freeze_earned", "u1", json!([1, 2])),
            ("streak.started", "u1", json!(1)),
            ("streak.freeze_consumed", "u1", json!([1, 1])),
            ("streak.freeze_earned", "u1", json!([1, 2])),
        ])
    );
    assert_eq!(streak(&app, "u1").await["length"], 1);
}

#[tokio::test]
async fn a_time_zone_change_never_extends_twice_and_never_loses_the_streak() {
    let app = spawn_app(&config(DAILY)).await;
    let mover = |tz: &str| json!({"id": "mover", "tz": tz});
    // Pago Pago (UTC-11) 03-01 22:00.
    let s = event_at(
        &app,
        "2031-03-02T09:00:00Z",
        mover("Pacific/Pago_Pago"),
        "lessons",
        1.0,
    )
    .await;
    assert_eq!(s["currentStreak"]["length"], 1);
    // Moving to Kiritimati (UTC+14): it is 03-02 23:00 there, the next day.
    let (status, _) = parts(
        app.send_json(
            Method::PATCH,
            "/v1/users/mover",
            &json!({"tz": "Pacific/Kiritimati"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let s = lesson(&app, "2031-03-02T09:30:00Z", "mover").await;
    assert_json_eq(
        &json!([s["length"], s["extended"], s["periodStart"]]),
        &json!([2, true, "2031-03-02"]),
    );
    // Back to Pago Pago, where it is 03-01 again: nothing extends.
    let s = event_at(
        &app,
        "2031-03-02T10:00:00Z",
        mover("Pacific/Pago_Pago"),
        "lessons",
        1.0,
    )
    .await;
    assert_json_eq(
        &json!([
            s["currentStreak"]["length"],
            s["currentStreak"]["extended"],
            s["currentStreak"]["periodStart"]
        ]),
        &json!([2, false, "2031-03-01"]),
    );
    // Pago Pago's 03-02 was already met in Kiritimati: still nothing.
    let s = lesson(&app, "2031-03-02T11:30:00Z", "mover").await;
    assert_json_eq(&json!([s["length"], s["extended"]]), &json!([2, false]));
    // 03-03 extends.
    let s = lesson(&app, "2031-03-03T11:30:00Z", "mover").await;
    assert_json_eq(&json!([s["length"], s["extended"]]), &json!([3, true]));
    // Pago Pago 03-03 23:30 is Kiritimati 03-05 00:30: 03-04 is jumped over, not missed.
    app.set_clock_ok("2031-03-04T10:30:00Z").await;
    let (status, _) = parts(
        app.send_json(
            Method::PATCH,
            "/v1/users/mover",
            &json!({"tz": "Pacific/Kiritimati"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let s = lesson(&app, "2031-03-04T10:40:00Z", "mover").await;
    assert_json_eq(
        &json!([s["length"], s["extended"], s["periodStart"], s["started"]]),
        &json!([4, true, "2031-03-05", "2031-03-01"]),
    );
    let body = streak(&app, "mover").await;
    assert_eq!(history_lengths(&body), vec![0, 0, 1, 2, 3, 3, 4]);
    assert_eq!(
        hook_summary(&app),
        summary(&[
            ("streak.started", "mover", json!(1)),
            ("streak.extended", "mover", json!(2)),
            ("streak.extended", "mover", json!(3)),
            ("streak.extended", "mover", json!(4)),
        ])
    );
}

#[tokio::test]
async fn turning_streaks_off_in_preferences_silences_the_webhooks() {
    let app = spawn_app(&config(DAILY)).await;
    lesson(&app, "2031-03-01T08:00:00Z", "quiet").await;
    let (status, _) = parts(
        app.send_json(
            Method::PATCH,
            "/v1/users/quiet/preferences",
            &json!({"streak": {"enabled": false}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let s = lesson(&app, "2031-03-02T08:00:00Z", "quiet").await;
    assert_eq!(s["length"], 2);
    app.set_clock_ok("2031-03-04T00:00:00Z").await;
    assert_eq!(
        hook_summary(&app),
        summary(&[("streak.started", "quiet", json!(1))])
    );
}

#[tokio::test]
async fn the_streak_read_validates_and_clamps_history() {
    let app = spawn_app(&config(DAILY)).await;
    app.set_clock_ok("2031-03-01T08:00:00Z").await;
    assert_error(
        app.get("/v1/users/ghost/streak").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    lesson(&app, "2031-03-01T08:00:00Z", "u1").await;
    for (query, len) in [
        ("", 7),
        ("?historyPeriods=3", 3),
        ("?historyPeriods=0", 1),
        ("?historyPeriods=1000", 365),
    ] {
        let (status, body) = app.get_json(&format!("/v1/users/u1/streak{query}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let history = body["streakHistory"].as_array().expect("history");
        assert_eq!(history.len(), len, "{query}");
        assert_eq!(
            history.last().expect("current")["periodStart"],
            "2031-03-01"
        );
        assert_eq!(history.last().expect("current")["length"], 1);
    }
    assert_error(
        app.get("/v1/users/u1/streak?historyPeriods=many").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    // Without freezes configured, neither the freeze keys nor usedFreeze appear.
    let body = streak(&app, "u1").await;
    for key in [
        "freezes",
        "maxFreezes",
        "freezeAutoEarnInterval",
        "freezeAutoEarnAmount",
    ] {
        assert!(body.get(key).is_none(), "{key}: {body}");
    }
    assert!(body["streakHistory"][0].get("usedFreeze").is_none());
}

#[tokio::test]
async fn bulk_lengths_and_rankings() {
    let app = spawn_app(&config(DAILY)).await;
    for (at, user) in [
        ("2031-03-01T08:00:00Z", "a"),
        ("2031-03-01T08:00:00Z", "b"),
        ("2031-03-01T08:00:00Z", "c"),
        ("2031-03-02T09:00:00Z", "b"),
        ("2031-03-02T10:00:00Z", "a"),
        ("2031-03-02T10:30:00Z", "c"),
        ("2031-03-02T11:00:00Z", "d"),
    ] {
        lesson(&app, at, user).await;
    }
    // 03-03 is missed by everyone: a, b and c lose 2-day streaks, d a 1-day one.
    app.set_clock_ok("2031-03-04T00:00:00Z").await;
    lesson(&app, "2031-03-04T08:00:00Z", "c").await;
    lesson(&app, "2031-03-04T08:00:00Z", "a").await;
    lesson(&app, "2031-03-04T09:00:00Z", "b").await;
    // Now a and b reach 2 again (b first), c stays at 1, d at 0.
    lesson(&app, "2031-03-05T07:00:00Z", "b").await;
    lesson(&app, "2031-03-05T08:00:00Z", "a").await;

    let (status, body) = app
        .get_json("/v1/streaks?userIds=c,a&userIds=ghost&userIds=b,d")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_json_eq(
        &body,
        &json!([
            {"userId": "b", "streakLength": 2, "extended": "2031-03-05T07:00:00Z"},
            {"userId": "a", "streakLength": 2, "extended": "2031-03-05T08:00:00Z"},
            {"userId": "c", "streakLength": 1, "extended": "2031-03-04T08:00:00Z"},
            {"userId": "d", "streakLength": 0, "extended": null},
            {"userId": "ghost", "streakLength": 0, "extended": null},
        ]),
    );
    assert_error(
        app.get("/v1/streaks").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let many: Vec<String> = (0..101).map(|i| format!("u{i}")).collect();
    assert_error(
        app.get(&format!("/v1/streaks?userIds={}", many.join(",")))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;

    // Competition ranks by active length.
    assert_eq!(streak(&app, "a").await["rank"], 1);
    assert_eq!(streak(&app, "b").await["rank"], 1);
    assert_eq!(streak(&app, "c").await["rank"], 3);
    assert_eq!(streak(&app, "d").await["rank"], Value::Null);

    let (status, body) = app.get_json("/v1/streaks/rankings").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_json_eq(
        &body,
        &json!([
            {"userId": "b", "name": null, "streakLength": 2},
            {"userId": "a", "name": null, "streakLength": 2},
            {"userId": "c", "name": null, "streakLength": 1},
        ]),
    );
    let (_, body) = app
        .get_json("/v1/streaks/rankings?type=active&limit=1")
        .await;
    assert_eq!(
        body,
        json!([{"userId": "b", "name": null, "streakLength": 2}])
    );
    // Longest: everyone reached 2; who reached it first ranks first.
    let (_, body) = app
        .get_json("/v1/streaks/rankings?type=longest&limit=100")
        .await;
    let order: Vec<_> = body
        .as_array()
        .expect("array")
        .iter()
        .map(|r| (r["userId"].clone(), r["streakLength"].clone()))
        .collect();
    assert_eq!(
        order,
        vec![
            (json!("b"), json!(2)),
            (json!("a"), json!(2)),
            (json!("c"), json!(2)),
            (json!("d"), json!(1)),
        ]
    );
    for bad in ["?limit=0", "?limit=101", "?type=best"] {
        assert_error(
            app.get(&format!("/v1/streaks/rankings{bad}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
}

#[tokio::test]
async fn a_server_without_streaks_answers_length_zero() {
    let app = spawn_app(&config("")).await;
    let s = lesson(&app, "2031-03-01T08:00:00Z", "u1").await;
    assert_json_eq(
        &s,
        &json!({
            "length": 0, "frequency": "daily", "started": null,
            "periodStart": "2031-03-01", "periodEnd": "2031-03-01",
            "expires": null, "extended": false
        }),
    );
    let body = streak(&app, "u1").await;
    assert_eq!(body["length"], 0);
    assert_eq!(history_lengths(&body), vec![0; 7]);
    assert_eq!(body["pauses"], json!([]));
    let (_, body) = app.get_json("/v1/streaks/rankings").await;
    assert_eq!(body, json!([]));
    assert!(hooks(&app).is_empty());
}

/// Not run by default: `cargo test --release --test api -- --ignored settle_100k --nocapture`.
/// Inserts 100,000 live streaks due at the same midnight straight into the database and
/// times the clock move that settles them all (one job run).
#[tokio::test]
#[ignore]
async fn settle_100k_streaks_at_one_boundary() {
    // The job logs its own duration (the clock move also waits for webhook deliveries).
    let _ = env_logger::builder()
        .is_test(true)
        .parse_filters("trophyd::streaks=info")
        .try_init();
    let without_webhooks = without_webhooks(DAILY);
    for (freezes, toml) in [
        (0, config(DAILY)),
        (1, config(DAILY)),
        (0, without_webhooks.clone()),
        (1, without_webhooks),
    ] {
        let app = spawn_app(&toml).await;
        // A real streak, so the job knows the boundary (the event hints the scheduler).
        lesson(&app, "2031-03-01T08:00:00Z", "real").await;
        let deadline: i64 = app
            .db()
            .query_row("SELECT next_settle_at FROM streaks", [], |r| r.get(0))
            .expect("deadline");
        let (alive_through, started): (i64, String) = app
            .db()
            .query_row("SELECT alive_through, started FROM streaks", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("row");
        {
            let mut conn = rusqlite::Connection::open(&app.db_path).expect("open");
            conn.busy_timeout(std::time::Duration::from_secs(30))
                .expect("busy");
            let tx = conn.transaction().expect("tx");
            {
                let mut user = tx
                    .prepare(
                        "INSERT INTO users (tenant_id, external_id, subscribe_to_emails, attributes,
                             control, preferences, created, updated)
                         VALUES (1, ?1, 1, '{}', 0, '{}', 0, 0)",
                    )
                    .expect("prepare");
                let mut streak = tx
                    .prepare(
                        "INSERT INTO streaks (user_id, tenant_id, length, started, last_met,
                             alive_through, freezes, longest, extended_at, tz, next_settle_at)
                         VALUES (?1, 1, 5, ?2, ?3, ?3, ?4, 5, 0, 'UTC', ?5)",
                    )
                    .expect("prepare");
                for i in 0..100_000 {
                    user.execute([format!("bulk-{i}")]).expect("user");
                    let id = tx.last_insert_rowid();
                    streak
                        .execute(rusqlite::params![
                            id,
                            started,
                            alive_through,
                            freezes,
                            deadline
                        ])
                        .expect("streak");
                }
            }
            tx.commit().expect("commit");
        }
        let started_at = std::time::Instant::now();
        app.set_clock_ok("2031-03-03T00:00:00Z").await;
        let elapsed = started_at.elapsed();
        let settled = app.count(&format!(
            "SELECT count(*) FROM streaks WHERE next_settle_at > {deadline} OR next_settle_at IS NULL"
        ));
        let queued = app.count("SELECT count(*) FROM webhook_outbox");
        println!(
            "settled {settled} streaks (freezes {freezes}) in one job run: {:.2} s, {queued} webhooks queued",
            elapsed.as_secs_f64()
        );
        assert_eq!(settled, 100_001);
    }
}

#[tokio::test]
async fn the_streak_read_says_when_the_streak_was_last_extended() {
    let app = spawn_app(&config(DAILY)).await;
    app.set_clock_ok("2031-03-01T07:00:00Z").await;
    let (status, _) = parts(
        app.send_json(Method::POST, "/v1/users", &json!({"id": "u1"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // No streak yet: the key is there, null.
    let s = streak(&app, "u1").await;
    assert_eq!(s.get("extended"), Some(&Value::Null), "{s}");

    lesson(&app, "2031-03-01T08:00:00Z", "u1").await;
    assert_eq!(streak(&app, "u1").await["extended"], "2031-03-01T08:00:00Z");
    // A second lesson the same day does not extend it again.
    lesson(&app, "2031-03-01T09:30:00Z", "u1").await;
    assert_eq!(streak(&app, "u1").await["extended"], "2031-03-01T08:00:00Z");
    lesson(&app, "2031-03-02T07:15:00Z", "u1").await;
    let s = streak(&app, "u1").await;
    assert_json_eq(
        &json!([s["length"], s["extended"]]),
        &json!([2, "2031-03-02T07:15:00Z"]),
    );
    // Still active the next day before acting: the last extension stands.
    app.set_clock_ok("2031-03-03T12:00:00Z").await;
    assert_eq!(streak(&app, "u1").await["extended"], "2031-03-02T07:15:00Z");
    // 03-03 missed: the streak is lost and no longer has an extension.
    app.set_clock_ok("2031-03-04T00:30:00Z").await;
    let s = streak(&app, "u1").await;
    assert_json_eq(&json!([s["length"], s["extended"]]), &json!([0, null]));
}
