//! `trophyd import events` against the live API: the same history sent live (the test
//! clock moved to each event's time) and imported from a file must read the same through
//! every per-user and per-board route. Every feature is on (the fan-out bench config),
//! users live in +14, -11, +5:30 and the two DST zones, and the history crosses both DST
//! changes of March 2031, with gaps that break streaks and spend freezes.

use std::collections::BTreeMap;
use std::process::Command;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{parts, spawn_with, Config, TestApp};

fn config() -> String {
    let fanout = include_str!("../../benches/configs/fanout.toml");
    // The import queues no webhooks; the live server needs no endpoint for the comparison.
    let fanout = fanout
        .split("# --- one webhook endpoint")
        .next()
        .unwrap_or(fanout);
    Config::new()
        .attribute("source", "Source", "event")
        .metric("lessons", "Lessons")
        .with(fanout)
        .to_string()
}

const ZONES: [&str; 6] = [
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Asia/Kolkata",
    "Europe/London",
    "America/New_York",
    "UTC",
];

/// A history of a few hundred events, made from a fixed seed so a failure repeats.
fn history() -> Vec<Value> {
    let mut seed: u64 = 0x5eed_1234_abcd;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let start = chrono::DateTime::parse_from_rfc3339("2031-03-03T00:00:00Z")
        .expect("start")
        .to_utc();
    let mut events = Vec::new();
    for u in 0..12u64 {
        let tz = ZONES[(u % 6) as usize];
        // Days 0..40 from 3 March: both DST changes (9 and 30 March 2031) are inside.
        let mut day = next(3);
        while day < 40 {
            for _ in 0..=next(3) {
                let at = start
                    + chrono::Duration::days(day as i64)
                    + chrono::Duration::minutes(next(24 * 60) as i64);
                let mut event = json!({
                    "user": { "id": format!("user-{u}"), "tz": tz },
                    "metric": "lessons",
                    "value": 1 + next(3),
                    "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                });
                if next(4) == 0 {
                    let source = ["web", "ios"][next(2) as usize];
                    event["attributes"] = json!({ "source": source });
                }
                events.push(event);
            }
            // Mostly daily, sometimes a gap of 2 to 4 days.
            day += if next(5) == 0 { 2 + next(3) } else { 1 };
        }
    }
    events.sort_by(|a, b| a["timestamp"].as_str().cmp(&b["timestamp"].as_str()));
    events
}

async fn send_live(app: &TestApp, events: &[Value]) {
    for e in events {
        app.set_clock_ok(e["timestamp"].as_str().expect("timestamp"))
            .await;
        let mut body = json!({ "user": e["user"], "value": e["value"] });
        if let Some(attributes) = e.get("attributes") {
            body["attributes"] = attributes.clone();
        }
        let (status, reply) = parts(app.post_event("lessons", &body, None).await).await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
    }
}

/// What legitimately differs between the two databases: UUIDs of rows created separately
/// (events, awards), and when trophy.toml's definitions were first synced, which is the
/// server's start for the live one and the first event's time for the import (a points
/// trigger's `created`/`updated`; the streak board's `start`, its creation day).
fn without_uuids(v: &Value) -> Value {
    match v {
        Value::String(s) if uuid::Uuid::parse_str(s).is_ok() => json!("<uuid>"),
        Value::Array(items) => Value::Array(items.iter().map(without_uuids).collect()),
        Value::Object(map) => {
            let trigger = map.contains_key("points") && map.contains_key("type");
            let streak_board = map.get("rankBy") == Some(&json!("streak"));
            Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let synced = (trigger && (k == "created" || k == "updated"))
                            || (streak_board && k == "start");
                        let v = if synced {
                            json!("<synced>")
                        } else {
                            without_uuids(v)
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

/// Where `a` and `b` differ, as `json.path: a != b` lines.
fn diff(at: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let null = Value::Null;
                diff(
                    &format!("{at}.{key}"),
                    x.get(key).unwrap_or(&null),
                    y.get(key).unwrap_or(&null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                diff(&format!("{at}[{i}]"), p, q, out);
            }
        }
        _ if a != b => out.push(format!("{at}: live {a} != imported {b}")),
        _ => {}
    }
}

/// Every application read route that depends on the history, answered by `app`.
async fn readings(app: &TestApp, users: &[String]) -> BTreeMap<String, Value> {
    let range = "startDate=2031-03-01&endDate=2031-04-20";
    let mut paths = vec![
        "/v1/achievements".to_string(),
        "/v1/leaderboards".to_string(),
        "/v1/leaderboards/xp-all-time".to_string(),
        "/v1/leaderboards/longest-streak".to_string(),
        "/v1/leaderboards/daily-lessons".to_string(),
        "/v1/leaderboards/daily-lessons?run=2031-03-20".to_string(),
        "/v1/leaderboards/daily-lessons?run=2031-04-01".to_string(),
        "/v1/streaks/rankings".to_string(),
        "/v1/points/xp/summary".to_string(),
        "/v1/points/xp/level-summary".to_string(),
        "/v1/points/coins/summary".to_string(),
        format!("/v1/streaks?userIds={}", users.join(",")),
    ];
    for user in users {
        for route in [
            String::new(),
            "/metrics".into(),
            "/metrics/lessons".into(),
            format!("/metrics/lessons/event-summary?aggregation=daily&{range}"),
            "/streak?historyPeriods=45".into(),
            "/achievements?includeIncomplete=true".into(),
            "/points/xp".into(),
            "/points/coins".into(),
            format!("/points/xp/event-summary?aggregation=weekly&{range}"),
            "/leaderboards/xp-all-time".into(),
            "/leaderboards/longest-streak".into(),
            "/leaderboards/daily-lessons".into(),
            "/wrapped?year=2031".into(),
            "/preferences".into(),
        ] {
            paths.push(format!("/v1/users/{user}{route}"));
        }
    }
    let mut out = BTreeMap::new();
    for path in paths {
        let (status, body) = app.get_json(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        out.insert(path, without_uuids(&body));
    }
    out
}

#[tokio::test]
async fn imported_history_reads_the_same_as_history_sent_live() {
    let config = config();
    let events = history();
    assert!(events.len() > 300, "{} events", events.len());
    let users: Vec<String> = (0..12).map(|u| format!("user-{u}")).collect();

    let live = spawn_with(&config, true, None).await;
    send_live(&live, &events).await;
    let expected = readings(&live, &users).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join("trophy.toml");
    std::fs::write(&config_path, &config).expect("config");
    let file = dir.path().join("history.jsonl");
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    // Out of order on purpose: the import sorts by time.
    let shuffled: Vec<&String> = lines.iter().rev().collect();
    std::fs::write(
        &file,
        shuffled
            .iter()
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .expect("history");
    let data = dir.path().join("trophy.db");
    let import = |path: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_trophyd"))
            .arg("--config")
            .arg(&config_path)
            .args(["import", "events", "--quiet", "--data"])
            .arg(&data)
            .arg(path)
            .env("RUST_LOG", "warn")
            .output()
            .expect("trophyd import runs")
    };
    let out = import(&file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("imported {} events", events.len())),
        "{stdout}"
    );

    // The same history again in another file (sorted this time): every event is known by
    // the idempotency key derived from it, so nothing is applied twice.
    let again = dir.path().join("again.jsonl");
    std::fs::write(&again, lines.join("\n")).expect("again");
    let out = import(&again);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("imported 0 events from {} records", events.len())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{} already there", events.len())),
        "{stdout}"
    );

    let imported = spawn_with(&config, true, Some(dir)).await;
    assert_eq!(imported.clock_now().await, live.clock_now().await);
    let actual = readings(&imported, &users).await;
    let mut differences = Vec::new();
    for (path, want) in &expected {
        let got = actual.get(path).unwrap_or(&Value::Null);
        let mut found = Vec::new();
        diff("", want, got, &mut found);
        for d in found.into_iter().take(5) {
            differences.push(format!("{path} {d}"));
        }
    }
    assert!(
        differences.is_empty(),
        "{} of {} readings differ:\n{}",
        differences.len(),
        expected.len(),
        differences.join("\n")
    );
    // The import queued no webhook and stored the same number of events.
    assert_eq!(imported.count("SELECT count(*) FROM webhook_outbox"), 0);
    assert_eq!(
        imported.count("SELECT count(*) FROM events"),
        live.count("SELECT count(*) FROM events")
    );
}

fn run_import(
    config: &std::path::Path,
    data: &std::path::Path,
    what: &str,
    file: &std::path::Path,
) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trophyd"))
        .arg("--config")
        .arg(config)
        .args(["import", what, "--quiet", "--data"])
        .arg(data)
        .arg(file)
        .env("RUST_LOG", "warn")
        .output()
        .expect("trophyd import runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test]
async fn bad_lines_are_listed_the_rest_applied_and_history_before_the_present_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = dir.path().join("trophy.toml");
    std::fs::write(&config_path, config()).expect("config");
    let data = dir.path().join("trophy.db");

    let users = dir.path().join("users.csv");
    std::fs::write(
        &users,
        "id,name,tz,sign_up_date\nada,Ada,Asia/Kolkata,2025-01-15\nbob,Bob,Mars/Olympus,\n",
    )
    .expect("users");
    let (ok, out) = run_import(&config_path, &data, "users", &users);
    assert!(!ok, "a refused line fails the command: {out}");
    assert!(out.contains("imported 1 users from 2 records"), "{out}");
    assert!(out.contains("line 3: Invalid time zone"), "{out}");

    let events = dir.path().join("events.csv");
    std::fs::write(
        &events,
        "user_id,metric,value,timestamp,attributes.source\n\
         ada,lessons,2,2031-03-05T10:00:00Z,web\n\
         ada,nope,1,2031-03-05T11:00:00Z,\n\
         ada,lessons,1e999,2031-03-05T12:00:00Z,\n\
         ada,lessons,1,2031-03-05 13:00,\n\
         ada,lessons,3,2031-03-06T10:00:00Z,ios\n",
    )
    .expect("events");
    let (ok, out) = run_import(&config_path, &data, "events", &events);
    assert!(!ok, "{out}");
    assert!(out.contains("imported 2 events from 5 records"), "{out}");
    for line in [
        "line 3: Metric not found",
        "line 4: value must be",
        "line 5: timestamp must be",
    ] {
        assert!(out.contains(line), "{line} in {out}");
    }

    // The import applies its runs without the read routes' per-user indexes and builds them
    // at its end; one it never got to build (an import killed midway) is built by the
    // server's next start (below).
    let indexes = |data: &std::path::Path| -> Vec<String> {
        let conn = rusqlite::Connection::open(data).expect("db");
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND name IN ('points_awards_by_user', 'leaderboard_history_by_user', 'leaderboard_history_by_group') ORDER BY name")
            .expect("prepare");
        let names = stmt.query_map([], |r| r.get(0)).expect("query");
        names.collect::<Result<_, _>>().expect("names")
    };
    let all = [
        "leaderboard_history_by_group",
        "leaderboard_history_by_user",
        "points_awards_by_user",
    ];
    assert_eq!(indexes(&data), all);

    // The same file again: nothing is applied twice, the bad lines are refused again.
    let (_, out) = run_import(&config_path, &data, "events", &events);
    assert!(out.contains("imported 0 events"), "{out}");
    assert_eq!(indexes(&data), all);

    // History from before what the database already holds is refused, and changes nothing.
    let earlier = dir.path().join("earlier.jsonl");
    std::fs::write(
        &earlier,
        r#"{"user":"ada","metric":"lessons","value":5,"timestamp":"2031-03-04T10:00:00Z"}"#,
    )
    .expect("earlier");
    let (ok, out) = run_import(&config_path, &data, "events", &earlier);
    assert!(!ok, "{out}");
    assert!(
        out.contains(
            "line 1: the event is from before the database's present (2031-03-06T10:00:00Z)"
        ),
        "{out}"
    );

    rusqlite::Connection::open(&data)
        .and_then(|c| c.execute_batch("DROP INDEX points_awards_by_user"))
        .expect("drop an index");
    let app = spawn_with(&config(), true, Some(dir)).await;
    assert_eq!(indexes(&data), all);
    assert_eq!(app.total("ada", "lessons").await, 5.0);
    let (_, user) = app.get_json("/v1/users/ada").await;
    assert_eq!(user["tz"], "Asia/Kolkata", "{user}");
    assert_eq!(user["name"], "Ada", "{user}");
    let (_, streak) = app.get_json("/v1/users/ada/streak").await;
    assert_eq!(streak["length"], 2, "{streak}");
}
