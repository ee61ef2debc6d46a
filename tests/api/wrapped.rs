//! `GET /users/{id}/wrapped`: a year of test-clock activity in +14 (Pacific/Kiritimati)
//! and −11 (Pacific/Pago_Pago), events a minute either side of local midnight landing on
//! the right local day, week and month; most active periods; totals and percent change;
//! percentiles against other users; achievements and the longest streak; 404 and 422.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, assert_json_eq, parts, spawn_app, Config, TestApp, XP_PER_LESSON,
};

fn config() -> Config {
    Config::base().with(
        "[[achievements]]\nkey = \"ten\"\nname = \"Ten lessons\"\ntrigger = \"metric\"\nmetric = \"lessons\"\nmetric_value = 10",
    )
}

async fn event(app: &TestApp, at: &str, user: Value, value: f64, source: Option<&str>) {
    app.set_clock_ok(at).await;
    let mut body = json!({ "user": user, "value": value });
    if let Some(s) = source {
        body["attributes"] = json!({ "source": s });
    }
    let (status, reply) = parts(app.post_event("lessons", &body, None).await).await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
}

fn kiri() -> Value {
    json!({"id": "kiri", "tz": "Pacific/Kiritimati"})
}

fn pago() -> Value {
    json!({"id": "pago", "tz": "Pacific/Pago_Pago"})
}

fn utc(id: &str) -> Value {
    json!({"id": id, "tz": "UTC"})
}

/// The whole year, in clock order.
async fn seed(app: &TestApp) {
    // 10:30Z on 1 March is 00:30 on 2 March in Kiritimati, 23:30 on 28 February in Pago Pago.
    event(app, "2031-03-01T10:30:00Z", kiri(), 1.0, Some("web")).await;
    event(app, "2031-03-01T10:30:00Z", pago(), 4.0, None).await;
    event(app, "2031-03-01T10:30:00Z", utc("a"), 20.0, Some("web")).await;
    event(app, "2031-03-01T10:30:00Z", utc("b"), 1.0, None).await;
    event(app, "2031-03-01T11:00:00Z", pago(), 1.0, None).await; // Pago Pago: 1 March 00:00
    event(app, "2031-03-02T09:59:00Z", kiri(), 2.0, Some("app")).await; // still 2 March
    event(app, "2031-03-02T10:00:00Z", kiri(), 3.0, Some("web")).await; // Monday 3 March
    for hour in ["10", "11", "12"] {
        // Tuesday 10 June, 00:00 to 02:00 local.
        event(app, &format!("2031-06-09T{hour}:00:00Z"), kiri(), 1.0, None).await;
    }
    event(app, "2031-06-09T12:00:00Z", utc("b"), 10.0, None).await;
    event(app, "2031-06-09T12:00:00Z", utc("c"), 50.0, None).await;
    event(app, "2031-12-31T09:59:00Z", kiri(), 5.0, None).await; // 31 December 23:59
    event(app, "2031-12-31T10:00:00Z", kiri(), 100.0, None).await; // 1 January 2032
    event(app, "2032-01-01T10:59:00Z", pago(), 2.0, None).await; // 31 December 23:59
    event(app, "2032-01-01T11:00:00Z", pago(), 7.0, None).await; // 1 January 2032
}

async fn wrapped(app: &TestApp, user: &str, year: i32) -> Value {
    let (status, body) = app
        .get_json(&format!("/v1/users/{user}/wrapped?year={year}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The entry of a metric without events in the period; `total` is its total at the end.
fn quiet(name: &str, units: &str, total: i64) -> Value {
    json!({"name": name, "units": units, "currentTotal": total, "changeThisPeriod": 0,
           "percentChange": 0, "byAttribute": {}})
}

fn quiet_lessons(total: i64) -> Value {
    quiet("Lessons completed", "lessons", total)
}

fn quiet_minutes(total: i64) -> Value {
    quiet("Minutes practised", "minutes", total)
}

fn keys(map: &Value) -> Vec<String> {
    map.as_object().expect("map").keys().cloned().collect()
}

#[tokio::test]
async fn a_year_in_kiritimati_and_pago_pago() {
    let app = spawn_app(&config()).await;
    seed(&app).await;

    let body = wrapped(&app, "kiri", 2031).await;
    assert_eq!(body["user"]["id"], "kiri");
    assert_eq!(body["user"]["tz"], "Pacific/Kiritimati");
    let a = &body["activity"];
    assert_eq!(a["daysActive"], 4); // 2 Mar, 3 Mar, 10 Jun, 31 Dec
    assert_eq!(a["weeksActive"], 4); // weeks of 24 Feb, 3 Mar, 9 Jun, 29 Dec
    assert_eq!(a["monthsActive"], 3);

    let day = &a["mostActiveDay"];
    assert_eq!(day["date"], "2031-06-10");
    assert_json_eq(
        &day["metrics"]["lessons"],
        &json!({"name": "Lessons completed", "units": "lessons", "currentTotal": 9,
                "changeThisPeriod": 3, "percentChange": 50, "byAttribute": {}}),
    );

    let week = &a["mostActiveWeek"];
    assert_eq!(week["start"], "2031-06-09");
    assert_eq!(week["end"], "2031-06-15");
    // This week: kiri 3, b 10, c 50.
    assert_eq!(week["metrics"]["lessons"]["percentileThisPeriod"], 33);

    // March and June tie on three events: the earlier wins.
    let month = &a["mostActiveMonth"];
    assert_eq!(month["month"], 2);
    let lessons = &month["metrics"]["lessons"];
    assert_eq!(lessons["changeThisPeriod"], 6);
    assert_eq!(lessons["currentTotal"], 6);
    assert_eq!(lessons["percentChange"], 100);
    // March: kiri 6, a 20, b 1, pago 1.
    assert_eq!(lessons["percentileThisPeriod"], 75);
    let web = &lessons["byAttribute"]["source"]["web"];
    assert_eq!(web["changeThisPeriod"], 4);
    assert_eq!(web["percentileThisPeriod"], 50); // web in March: kiri 4, a 20
    assert_eq!(
        lessons["byAttribute"]["source"]["app"]["changeThisPeriod"],
        2
    );
    assert_eq!(month["achievements"], json!([]));

    let year = &a["entireYear"];
    let lessons = &year["metrics"]["lessons"];
    assert_eq!(lessons["changeThisPeriod"], 14);
    assert_eq!(lessons["currentTotal"], 14);
    // The year: kiri 14, a 20, b 11, c 50 (pago counts too: 7).
    assert_eq!(lessons["percentileThisPeriod"], 60);
    // Every active metric is listed; minutes saw no event all year.
    assert_eq!(keys(&year["metrics"]), vec!["lessons", "minutes"]);
    assert_json_eq(&year["metrics"]["minutes"], &quiet_minutes(0));
    assert_eq!(year["points"], json!({}));
    assert_eq!(year["leaderboards"], json!({}));
    let achievements = year["achievements"].as_array().expect("list");
    assert_eq!(achievements.len(), 1);
    assert_eq!(achievements[0]["key"], "ten");
    assert_eq!(achievements[0]["achievedAt"], "2031-12-31T09:59:00Z");
    assert_eq!(achievements[0]["completions"], 5); // everyone reached 10 by the end
    assert_json_eq(
        &year["longestStreak"],
        &json!({"length": 2, "frequency": "daily", "periodStart": "2031-03-02",
                "periodEnd": "2031-03-03", "started": "2031-03-02"}),
    );

    // The event a minute after local midnight on 31 December belongs to 2032.
    let next = wrapped(&app, "kiri", 2032).await;
    let lessons = &next["activity"]["entireYear"]["metrics"]["lessons"];
    assert_eq!(lessons["changeThisPeriod"], 100);
    assert_eq!(lessons["currentTotal"], 114);
    assert_eq!(lessons["percentChange"], 714.2);
    assert_eq!(next["activity"]["mostActiveDay"]["date"], "2032-01-01");

    let body = wrapped(&app, "pago", 2031).await;
    let a = &body["activity"];
    assert_eq!(a["daysActive"], 3); // 28 Feb, 1 Mar, 31 Dec
    assert_eq!(a["weeksActive"], 2);
    assert_eq!(a["monthsActive"], 3);
    assert_eq!(a["mostActiveDay"]["date"], "2031-02-28");
    assert_eq!(a["mostActiveWeek"]["start"], "2031-02-24");
    assert_eq!(a["mostActiveWeek"]["end"], "2031-03-02");
    assert_eq!(
        a["mostActiveWeek"]["metrics"]["lessons"]["changeThisPeriod"],
        5
    );
    assert_eq!(a["mostActiveMonth"]["month"], 1);
    assert_eq!(
        a["mostActiveMonth"]["metrics"]["lessons"]["changeThisPeriod"],
        4
    );
    assert_eq!(a["entireYear"]["metrics"]["lessons"]["changeThisPeriod"], 7);
    let next = wrapped(&app, "pago", 2032).await;
    let lessons = &next["activity"]["entireYear"]["metrics"]["lessons"];
    assert_eq!(lessons["changeThisPeriod"], 7);
    assert_eq!(lessons["currentTotal"], 14);
    assert_eq!(lessons["percentChange"], 100);
}

#[tokio::test]
async fn a_quiet_year_and_bad_requests() {
    let app = spawn_app(&config()).await;
    event(&app, "2031-03-01T10:30:00Z", utc("a"), 1.0, None).await;
    let body = wrapped(&app, "a", 2030).await;
    let a = &body["activity"];
    assert_eq!(a["daysActive"], 0);
    assert_eq!(a["mostActiveDay"]["date"], "2030-01-01");
    assert_eq!(a["mostActiveWeek"]["start"], "2029-12-31");
    assert_eq!(a["mostActiveMonth"]["month"], 0);
    assert_json_eq(
        &a["entireYear"]["metrics"],
        &json!({"lessons": quiet_lessons(0), "minutes": quiet_minutes(0)}),
    );
    assert_json_eq(
        &a["entireYear"]["longestStreak"],
        &json!({"length": 0, "frequency": "daily", "periodStart": null, "periodEnd": null,
                "started": null}),
    );
    // The first year there is.
    let first = wrapped(&app, "a", 1).await;
    assert_eq!(first["activity"]["mostActiveDay"]["date"], "0001-01-01");
    assert_json_eq(
        &first["activity"]["mostActiveDay"]["metrics"],
        &json!({"lessons": quiet_lessons(0), "minutes": quiet_minutes(0)}),
    );
    // No year: the current one.
    let (status, body) = app.get_json("/v1/users/a/wrapped").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["activity"]["daysActive"], 1);

    for year in ["0", "2032", "-1", "abc", "2031.5"] {
        assert_error(
            app.get(&format!("/v1/users/a/wrapped?year={year}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    assert_error(
        app.get("/v1/users/nobody/wrapped?year=2031").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn events_stored_before_the_aggregates_are_backfilled() {
    let app = spawn_app(&config()).await;
    event(&app, "2031-03-01T10:30:00Z", kiri(), 2.0, Some("web")).await;
    event(&app, "2031-03-02T10:00:00Z", kiri(), 3.0, None).await;
    let before = wrapped(&app, "kiri", 2031).await;
    // Forget the aggregates, as a database from before migration 0008 would be.
    {
        let conn = rusqlite::Connection::open(&app.db_path).expect("open");
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .expect("busy timeout");
        conn.execute_batch(
            "DELETE FROM wrapped_days; DELETE FROM wrapped_periods; DELETE FROM wrapped_period_users;
             DELETE FROM wrapped_period_values;
             INSERT INTO meta (key, value) VALUES ('wrapped_backfill', 'pending');",
        )
        .expect("reset");
    }
    let app = app.restart().await;
    let after = wrapped(&app, "kiri", 2031).await;
    assert_eq!(after, before);
    assert_eq!(after["activity"]["daysActive"], 2);
    assert_eq!(
        app.count("SELECT count(*) FROM meta WHERE key = 'wrapped_backfill'"),
        0
    );
}

#[tokio::test]
async fn a_metric_quiet_in_the_period_keeps_its_total_with_no_change() {
    let app = spawn_app(&config()).await;
    app.set_clock_ok("2031-03-01T10:30:00Z").await;
    let body = json!({"user": utc("a"), "value": 25, "attributes": {"source": "web"}});
    let (status, reply) = parts(app.post_event("minutes", &body, None).await).await;
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    // June is the busiest: three lessons on one day, no minutes.
    for hour in ["10", "11", "12"] {
        event(
            &app,
            &format!("2031-06-09T{hour}:00:00Z"),
            utc("a"),
            1.0,
            None,
        )
        .await;
    }
    let a = wrapped(&app, "a", 2031).await["activity"].clone();
    assert_eq!(a["mostActiveDay"]["date"], "2031-06-09");
    for period in ["mostActiveDay", "mostActiveWeek", "mostActiveMonth"] {
        assert_json_eq(&a[period]["metrics"]["minutes"], &quiet_minutes(25));
        assert_eq!(
            a[period]["metrics"]["lessons"]["changeThisPeriod"], 3,
            "{period}"
        );
    }
    let minutes = &a["entireYear"]["metrics"]["minutes"];
    assert_eq!(minutes["changeThisPeriod"], 25);
    assert_eq!(
        minutes["byAttribute"]["source"]["web"]["changeThisPeriod"],
        25
    );
}

/// A metric board, a points board and a streak board, all running since 1 January.
fn boards_config() -> Config {
    Config::base().with(XP_PER_LESSON).with(
        r#"
[[leaderboards]]
key = "lessons-board"
name = "Lessons board"
rank_by = "metric"
metric = "lessons"
start = "2031-01-01"

[[leaderboards]]
key = "xp-board"
name = "XP board"
rank_by = "points"
points_system = "xp"
start = "2031-01-01"

[[leaderboards]]
key = "streak-board"
name = "Streak board"
rank_by = "streak"
start = "2031-01-01"
"#,
    )
}

#[tokio::test]
async fn leaderboards_are_described_as_the_leaderboard_reads_describe_them() {
    let app = spawn_app(&boards_config()).await;
    event(&app, "2031-03-01T10:30:00Z", utc("a"), 2.0, None).await;
    event(&app, "2031-03-01T11:30:00Z", utc("b"), 5.0, None).await;
    let year = wrapped(&app, "a", 2031).await["activity"]["entireYear"].clone();
    let boards = &year["leaderboards"];
    assert_eq!(
        keys(boards),
        vec!["lessons-board", "streak-board", "xp-board"]
    );

    let lessons = &boards["lessons-board"];
    assert_eq!(lessons["metricKey"], "lessons");
    assert_eq!(lessons["metricName"], "Lessons completed");
    assert_eq!(lessons["rankBy"], "metric");
    // a was first before b passed her; the best rank of the year counts.
    assert_eq!(lessons["rank"], 1);
    assert_eq!(lessons["value"], 2);
    let xp = &boards["xp-board"];
    assert_eq!(xp["pointsSystemKey"], "xp");
    assert_eq!(xp["pointsSystemName"], "XP");
    let streak = &boards["streak-board"];
    assert_eq!(streak["rankBy"], "streak");
    // Keys that do not apply to a board's kind are left out, never null.
    for (board, absent) in [
        (lessons, ["pointsSystemKey", "pointsSystemName"]),
        (xp, ["metricKey", "metricName"]),
        (streak, ["metricKey", "pointsSystemKey"]),
    ] {
        for key in absent {
            assert!(board.get(key).is_none(), "{key}: {board}");
        }
    }
    // The rest matches GET /users/{id}/leaderboards/{key}, bar the rank and history.
    let (status, read) = app.get_json("/v1/users/a/leaderboards/xp-board").await;
    assert_eq!(status, StatusCode::OK, "{read}");
    for key in [
        "id",
        "name",
        "key",
        "status",
        "description",
        "breakdownAttribute",
        "breakdownAttributes",
        "userAttributes",
        "start",
        "end",
        "maxParticipants",
        "runUnit",
        "runInterval",
        "pointsSystemKey",
        "pointsSystemName",
    ] {
        assert_eq!(xp[key], read[key], "{key}");
    }
}
