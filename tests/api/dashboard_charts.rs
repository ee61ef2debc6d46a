//! The console's chart and view reads beside the overview: `/dashboard/api/engagement`
//! (DAU/WAU/MAU, control group against the rest), `/dashboard/api/streaks` (lengths and
//! retention), `/dashboard/api/deliveries` (outcomes per day), `/dashboard/api/channels`
//! (what trophy.toml configures) and `/dashboard/api/leaderboards/{key}/runs`. Exact counts
//! for seeded data.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::admin_support::admin_with;
use crate::helpers::{spawn_app, Config, TestApp, DAILY_STREAK, T0};
use crate::notifications::{complete, config as notifications_config, upsert};
use crate::receiver::Receiver;
use crate::smtp::{SinkOptions, SmtpSink};

fn config() -> Config {
    Config::new()
        .metric("lessons", "Lessons")
        .with(DAILY_STREAK)
        .with(DEFINITIONS)
}

const DEFINITIONS: &str = r#"
[[leaderboards]]
key = "weekly"
name = "Weekly"
rank_by = "metric"
metric = "lessons"
start = "2031-03-01"
run_unit = "day"
run_interval = 7

[[leaderboards]]
key = "later"
name = "Later"
rank_by = "metric"
metric = "lessons"
start = "2031-06-01"
status = "inactive"
"#;

async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    admin_with(app, Method::GET, path, None, None).await
}

async fn get_ok(app: &TestApp, path: &str) -> Value {
    let (status, body) = get(app, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// An event of each user on each of their days of March 2031, at 10:30 UTC, in time order.
async fn active_on(app: &TestApp, users: &[(&str, &[u32])]) {
    for day in 1..=31 {
        let today: Vec<&str> = users
            .iter()
            .filter(|(_, days)| days.contains(&day))
            .map(|(user, _)| *user)
            .collect();
        if today.is_empty() {
            continue;
        }
        app.set_clock_ok(&format!("2031-03-{day:02}T10:30:00Z"))
            .await;
        for user in today {
            app.event_ok("lessons", user, 1.0).await;
        }
    }
}

fn column(body: &Value, field: &str) -> Vec<i64> {
    body["days"]
        .as_array()
        .expect("days")
        .iter()
        .map(|d| d[field].as_i64().expect(field))
        .collect()
}

#[tokio::test]
async fn engagement_counts_distinct_users_per_day_week_and_month_and_the_control_group() {
    let app = spawn_app(&config()).await;
    app.set_clock_ok(T0).await;
    // ann and bob outside the control group; cy, created with a ratio of 100%, in it.
    app.event_ok("lessons", "ann", 1.0).await;
    app.event_ok("lessons", "bob", 1.0).await;
    let (status, body) = admin_with(
        &app,
        Method::PATCH,
        "/admin/v1/settings",
        Some(&json!({"experimentation": {"controlRatio": 100}})),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    active_on(&app, &[("ann", &[2, 9]), ("cy", &[5])]).await;
    app.set_clock_ok("2031-03-10T12:00:00Z").await;

    let body = get_ok(&app, "/dashboard/api/engagement?days=10").await;
    let dates: Vec<&str> = body["days"]
        .as_array()
        .expect("days")
        .iter()
        .map(|d| d["date"].as_str().expect("date"))
        .collect();
    assert_eq!(dates.first(), Some(&"2031-03-01"));
    assert_eq!(dates.last(), Some(&"2031-03-10"));
    assert_eq!(column(&body, "activeUsers"), [2, 1, 0, 0, 1, 0, 0, 0, 1, 0]);
    // Mar 7: ann, bob, cy in Mar 1–7; Mar 8: ann, cy in Mar 2–8; Mar 10: cy (5), ann (9).
    assert_eq!(
        column(&body, "weeklyActive"),
        [2, 2, 2, 2, 3, 3, 3, 2, 2, 2]
    );
    assert_eq!(
        column(&body, "monthlyActive"),
        [2, 2, 2, 2, 3, 3, 3, 3, 3, 3]
    );
    assert_eq!(
        body["groups"],
        json!([
            { "group": "control", "users": 1, "active7": 1, "active30": 1 },
            { "group": "rest", "users": 2, "active7": 1, "active30": 2 },
        ])
    );
    // The same days as the activity chart's active users.
    let activity = get_ok(&app, "/dashboard/api/activity?days=10").await;
    assert_eq!(
        column(&activity, "activeUsers"),
        column(&body, "activeUsers")
    );
    for bad in ["days=0", "days=367", "days=x"] {
        let (status, body) = get(&app, &format!("/dashboard/api/engagement?{bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn streaks_count_lengths_and_who_kept_one_past_1_7_and_30_days() {
    let app = spawn_app(&config()).await;
    active_on(
        &app,
        &[
            ("ann", &[1, 2, 3]),
            ("bob", &[1]),
            ("dee", &[8, 9]),
            ("cy", &[1, 2, 3, 4, 5, 6, 7, 8, 9]),
        ],
    )
    .await;
    // Mar 9: ann's and bob's streaks were lost; cy's is 9, dee's 2.
    let body = get_ok(&app, "/dashboard/api/streaks").await;
    let range =
        |from: i64, to: Option<i64>, users: i64| json!({ "from": from, "to": to, "users": users });
    assert_eq!(
        body["lengths"],
        json!([
            range(1, Some(1), 0),
            range(2, Some(3), 1),
            range(4, Some(6), 0),
            range(7, Some(13), 1),
            range(14, Some(29), 0),
            range(30, Some(59), 0),
            range(60, Some(99), 0),
            range(100, None, 0),
        ])
    );
    assert_eq!(body["frequency"], "daily");
    assert_eq!(body["started"], 4);
    assert_eq!(
        body["retention"],
        json!([
            { "after": 1, "reached": 3, "current": 2 },
            { "after": 7, "reached": 1, "current": 1 },
            { "after": 30, "reached": 0, "current": 0 },
        ])
    );
}

/// Polls `path` until `done` holds: deliveries are made and recorded by workers.
async fn until(app: &TestApp, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = get_ok(app, path).await;
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{path} never got there: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn deliveries_count_what_was_delivered_and_what_failed_per_day() {
    let sink = SmtpSink::start(SinkOptions {
        reject_rcpt: vec!["eve@x.test".into()],
        ..SinkOptions::default()
    })
    .await
    .expect("smtp sink");
    let hooks = Receiver::start().await;
    let app = spawn_app(&notifications_config(
        &sink.url(),
        &hooks,
        "[emails.achievement]",
        "",
    ))
    .await;
    app.set_clock_ok(T0).await;
    let path = "/dashboard/api/deliveries?days=2";
    let empty = get_ok(&app, path).await;
    assert_eq!(
        empty["pending"],
        json!({ "webhooks": 0, "notifications": 0 })
    );
    for user in ["ada", "eve"] {
        upsert(
            &app,
            json!({"id": user, "email": format!("{user}@x.test"), "subscribeToEmails": true}),
        )
        .await;
        complete(&app, "welcome", user).await;
    }
    // The test clock's move attempts the emails due before it answers: ada's is sent,
    // eve's refused for good (550).
    assert_eq!(app.advance(1).await.status(), StatusCode::OK);
    hooks.wait_for("emails.achievement_due", 2).await;
    let body = until(&app, path, |b| b["days"][1]["webhooksDelivered"] == 2).await;
    assert_eq!(
        body["days"],
        json!([
            { "date": "2031-02-28", "webhooksDelivered": 0, "webhooksFailed": 0, "notificationsSent": 0, "notificationsFailed": 0 },
            { "date": "2031-03-01", "webhooksDelivered": 2, "webhooksFailed": 0, "notificationsSent": 1, "notificationsFailed": 1 },
        ])
    );
    assert_eq!(
        body["pending"],
        json!({ "webhooks": 0, "notifications": 0 })
    );
    let (status, _) = get(&app, "/dashboard/api/deliveries?days=400").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The channels behind them, without the SMTP credentials or the webhook secret.
    let channels = get_ok(&app, "/dashboard/api/channels").await;
    assert_eq!(
        channels["email"]["smtp"],
        json!({ "server": sink.url(), "credentials": false, "from": "Acme <streaks@acme.test>", "ratePerSecond": 10 })
    );
    assert_eq!(
        channels["email"]["messages"],
        json!([{ "type": "achievement", "when": "an achievement is completed" }])
    );
    assert_eq!(channels["email"]["publicUrl"], "https://gamify.acme.test");
    assert_eq!(
        channels["push"],
        json!([
            { "provider": "expo", "configured": false, "url": null },
            { "provider": "fcm", "configured": false, "url": null },
            { "provider": "apns", "configured": false, "url": null },
        ])
    );
    assert_eq!(channels["webhooks"].as_array().map(Vec::len), Some(1));
    assert_eq!(channels["webhooks"][0]["url"], hooks.url.as_str());
    assert_eq!(
        channels["webhooks"][0]["events"][0],
        "emails.achievement_due"
    );
    assert!(!channels.to_string().contains("whsec_"), "{channels}");
}

#[tokio::test]
async fn channels_never_show_credentials() {
    let hooks = Receiver::start().await;
    let toml = notifications_config(
        "smtps://mailer:s3cret@mail.test:2465",
        &hooks,
        "[emails.reactivation]\nafter_days = [3, 7]",
        "[push.expo]\naccess_token = \"expo-token\"\nurl = \"http://127.0.0.1:9/push\"",
    );
    let app = spawn_app(&toml).await;
    let body = get_ok(&app, "/dashboard/api/channels").await;
    assert_eq!(body["email"]["smtp"]["server"], "smtps://mail.test:2465");
    assert_eq!(body["email"]["smtp"]["credentials"], true);
    assert_eq!(
        body["email"]["messages"],
        json!([{ "type": "reactivation", "when": "after 3, 7 days without activity" }])
    );
    assert_eq!(
        body["push"][0],
        json!({ "provider": "expo", "configured": true, "url": "http://127.0.0.1:9/push" })
    );
    let text = body.to_string();
    for secret in ["s3cret", "mailer", "expo-token", "whsec_"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // Admin key only.
    let resp = app.get("/dashboard/api/channels").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn runs_are_listed_newest_first_a_page_at_a_time() {
    let app = spawn_app(&config()).await;
    app.set_clock_ok("2031-03-20T10:00:00Z").await;
    let run = |start: &str, end: &str, current: bool| json!({ "start": start, "end": end, "current": current });
    let body = get_ok(&app, "/dashboard/api/leaderboards/weekly/runs").await;
    assert_eq!(
        body,
        json!({
            "runs": [
                run("2031-03-15", "2031-03-21", true),
                run("2031-03-08", "2031-03-14", false),
                run("2031-03-01", "2031-03-07", false),
            ],
            "next": null,
        })
    );
    let first = get_ok(&app, "/dashboard/api/leaderboards/weekly/runs?limit=2").await;
    assert_eq!(first["runs"].as_array().map(Vec::len), Some(2));
    assert_eq!(first["next"], "2031-03-08");
    let rest = get_ok(
        &app,
        "/dashboard/api/leaderboards/weekly/runs?limit=2&before=2031-03-08",
    )
    .await;
    assert_eq!(
        rest,
        json!({ "runs": [run("2031-03-01", "2031-03-07", false)], "next": null })
    );

    for (bad, status) in [
        ("weekly/runs?limit=0", StatusCode::UNPROCESSABLE_ENTITY),
        ("weekly/runs?limit=101", StatusCode::UNPROCESSABLE_ENTITY),
        ("weekly/runs?before=March", StatusCode::UNPROCESSABLE_ENTITY),
        ("weekly/runs?page=2", StatusCode::UNPROCESSABLE_ENTITY),
        ("later/runs", StatusCode::NOT_FOUND),
        ("nope/runs", StatusCode::NOT_FOUND),
    ] {
        let (got, body) = get(&app, &format!("/dashboard/api/leaderboards/{bad}")).await;
        assert_eq!(got, status, "{bad}: {body}");
        assert!(body["error"].is_string(), "{bad}: {body}");
    }
}
