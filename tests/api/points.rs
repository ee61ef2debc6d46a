//! Points systems (issue #6; behaviour.md §6): the five trigger types with their filters,
//! the high-water mark, the cap, negative totals and blocked events, boosts across local
//! midnights, levels with webhooks, time triggers under the test clock, the summaries and
//! the application routes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{assert_error, parts, spawn_app, TestApp, T0};

/// Attributes `plan` (user) and `source` (event), metrics `lessons` and `energy-use`, a
/// daily streak on lessons, webhooks to `hook`, then `extra`.
pub fn config(hook: &str, extra: &str) -> String {
    format!(
        r#"
[server]
default_timezone = "UTC"

[auth]
api_keys = ["app-key"]
admin_keys = ["admin-key"]

[limits]
points_changed_window_seconds = 0

[[attributes]]
key = "plan"
name = "Plan"
type = "user"

[[attributes]]
key = "source"
name = "Source"
type = "event"

[[metrics]]
key = "lessons"
name = "Lessons"

[[metrics]]
key = "energy-use"
name = "Energy used"

[streaks]
frequency = "daily"
metrics = [{{ metric = "lessons", threshold = 1 }}]

[[webhooks]]
url = "{hook}"
secret = "whsec_points"

{extra}
"#
    )
}

/// An endpoint nobody listens on: outbox rows stay and are what some tests read.
const DEAD_HOOK: &str = "http://127.0.0.1:9/hooks";

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
// A recording webhook receiver (always 200)

type Log = Arc<Mutex<Vec<Value>>>;

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    received: Log,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let shared = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hooks"),
            received,
        }
    }

    /// Bodies received so far of `event_type`.
    pub fn of(&self, event_type: &str) -> Vec<Value> {
        self.received
            .lock()
            .expect("receiver")
            .iter()
            .filter(|b| b["type"] == event_type)
            .cloned()
            .collect()
    }

    /// Waits until `n` bodies of `event_type` arrived; returns them.
    pub async fn wait_for(&self, event_type: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.of(event_type);
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} {event_type} webhooks, got {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn serve(stream: TcpStream, log: Log) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        if let Ok(json) = serde_json::from_slice(&body) {
            log.lock().expect("receiver").push(json);
        }
        let response = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok";
        if write.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
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
