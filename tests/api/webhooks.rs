//! Webhook delivery (issue #3; docs/interface.md#webhook-requests): signing, retries with
//! backoff under the test clock, restarts, subscriptions, rollback, coalescing, and the
//! admin delivery log.
//!
//! No feature emits events yet, so the tests emit through the writer, as features do:
//! a small `Command` calling `trophyd::webhooks::emit`, applied with `TestApp::writer`. The
//! receiver (`receiver.rs`) is a real HTTP server on 127.0.0.1 that records requests and
//! answers programmable statuses.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use trophyd::error::ApiError;
use trophyd::webhooks::{emit, emit_coalesced, merge_points_changed};
use trophyd::writer::{Command, WriteCtx};

use crate::helpers::{assert_error, is_iso_z, parts, spawn_app, spawn_with, Config, TestApp, T0};
use crate::receiver::{unused_port, Receiver};

const SECRET: &str = "whsec_test-secret";

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(T0).expect("T0").to_utc()
}

// ---------------------------------------------------------------------------------------
// The server under test

/// The keys, then an endpoint per `(url, extra lines)`.
fn config(endpoints: &[(&str, &str)]) -> Config {
    endpoints
        .iter()
        .fold(Config::new(), |config, (url, extra)| {
            config.webhook(url, SECRET, extra)
        })
}

/// A fresh database with the clock at T0.
async fn start_at_t0(config_toml: &str) -> TestApp {
    let server = spawn_app(config_toml).await;
    clock(&server, json!({ "now": T0 })).await;
    server
}

async fn clock(server: &TestApp, body: Value) -> DateTime<Utc> {
    let (status, body) = parts(
        server
            .admin_request(Method::POST, "/_test/clock")
            .json(&body)
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    DateTime::parse_from_rfc3339(body["now"].as_str().expect("now"))
        .expect("RFC 3339")
        .to_utc()
}

/// Moves the clock; every delivery due by then has been attempted when this returns.
async fn advance(server: &TestApp, seconds: i64) -> DateTime<Utc> {
    clock(server, json!({ "advanceSeconds": seconds })).await
}

async fn deliveries(server: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = parts(
        server
            .admin_request(
                Method::GET,
                &format!("/admin/v1/webhooks/deliveries{query}"),
            )
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().expect("an array").clone()
}

async fn emit_one(server: &TestApp, event_type: &str, body: Value) {
    server
        .writer()
        .execute(Emit {
            events: vec![(event_type.to_owned(), body)],
            then_fail: false,
        })
        .await
        .expect("committed");
}

/// Emits events as a feature would, optionally failing afterwards.
struct Emit {
    events: Vec<(String, Value)>,
    then_fail: bool,
}

impl Command for Emit {
    type Output = ();

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<(), ApiError> {
        for (event_type, body) in &self.events {
            emit(ctx, event_type, body)?;
        }
        if self.then_fail {
            return Err(ApiError::unprocessable("the command failed after emitting"));
        }
        Ok(())
    }
}

/// One `points.changed` through the coalescing path.
struct PointsChanged {
    window_seconds: u32,
    body: Value,
}

impl Command for PointsChanged {
    type Output = ();

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<(), ApiError> {
        emit_coalesced(
            ctx,
            "points.changed",
            "default/user-1/xp",
            self.window_seconds,
            self.body,
            merge_points_changed,
        )
    }
}

fn event(event_type: &str, n: u32) -> Value {
    json!({ "type": event_type, "user": { "id": "user-1" }, "n": n })
}

fn points(added: i64, total: i64, award: &str) -> Value {
    json!({
        "type": "points.changed",
        "user": { "id": "user-1" },
        "points": { "key": "xp", "added": added, "total": total, "awards": [{ "id": award }] }
    })
}

fn hmac_base64(message: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
    BASE64.encode(ring::hmac::sign(&key, message).as_ref())
}

// ---------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn deliveries_carry_the_body_and_both_verifiable_signatures() {
    let receiver = Receiver::start().await;
    let server = start_at_t0(&config(&[(&receiver.url, "")])).await;
    let body =
        json!({ "type": "streak.started", "user": { "id": "user-1" }, "streak": { "length": 1 } });
    emit_one(&server, "streak.started", body.clone()).await;

    let got = receiver.wait_for_requests(1).await.remove(0);
    assert_eq!(got.path, "/hooks");
    assert_eq!(got.json(), body);
    assert_eq!(got.header("content-type"), "application/json");
    // Trophy's signature: base64 HMAC-SHA256 of the raw body, keyed with the secret.
    assert_eq!(got.header("x-trophy-signature"), hmac_base64(&got.body));
    // Standard Webhooks: id, the clock's unix seconds, and a v1 signature over both.
    let id = got.header("webhook-id");
    assert!(id.starts_with("msg_"), "{id}");
    assert_eq!(got.header("x-trophy-event-id"), id);
    let timestamp = got.header("webhook-timestamp");
    assert_eq!(timestamp, t0().timestamp().to_string());
    let signed = [id.as_bytes(), b".", timestamp.as_bytes(), b".", &got.body].concat();
    assert_eq!(
        got.header("webhook-signature"),
        format!("v1,{}", hmac_base64(&signed))
    );

    advance(&server, 0).await;
    let log = deliveries(&server, "").await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["id"], id);
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(log[0]["lastStatus"], 200);
    server.stop().await;
}

#[tokio::test]
async fn failures_are_retried_with_doubling_backoff_until_a_2xx_then_never_again() {
    let receiver = Receiver::start().await;
    receiver.behaviour().statuses = VecDeque::from([500, 500, 500]);
    let server = start_at_t0(&config(&[(&receiver.url, "")])).await;
    emit_one(&server, "streak.lost", event("streak.lost", 1)).await;
    receiver.wait_for_requests(1).await;
    advance(&server, 0).await; // the first outcome is recorded

    let pending = &deliveries(&server, "").await[0];
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["attempts"], 1);
    assert_eq!(pending["lastStatus"], 500);
    assert!(
        pending["lastError"]
            .as_str()
            .expect("lastError")
            .starts_with("HTTP 500"),
        "{pending}"
    );
    let next = DateTime::parse_from_rfc3339(pending["nextAttempt"].as_str().expect("next"))
        .expect("ISO")
        .to_utc();
    let wait = (next - t0()).num_seconds();
    assert!((60..=66).contains(&wait), "first retry after {wait} s");

    // Retries after 60, 120 and 240 s (each plus up to 10% jitter), never earlier.
    let mut expected_times = vec![t0()];
    for delay in [60, 120, 240] {
        advance(&server, delay - 1).await;
        assert_eq!(
            receiver.count(),
            expected_times.len(),
            "not before {delay} s"
        );
        let now = advance(&server, delay / 10 + 2).await;
        expected_times.push(now);
        assert_eq!(
            receiver.count(),
            expected_times.len(),
            "retried after {delay} s"
        );
    }
    advance(&server, 3 * 86_400).await;
    let received = receiver.received();
    assert_eq!(received.len(), 4, "nothing is sent after the 2xx");

    let id = received[0].header("webhook-id").to_owned();
    for (request, at) in received.iter().zip(&expected_times) {
        assert_eq!(request.header("webhook-id"), id, "stable across retries");
        assert_eq!(
            request.header("webhook-timestamp"),
            at.timestamp().to_string()
        );
        assert_eq!(request.body, received[0].body);
    }
    let done = &deliveries(&server, "").await[0];
    assert_eq!(done["status"], "delivered");
    assert_eq!(done["attempts"], 4);
    assert_eq!(done["lastStatus"], 200);
    assert_eq!(done["lastError"], Value::Null);
    assert_eq!(done["nextAttempt"], Value::Null);
    assert_eq!(
        done["finished"],
        expected_times[3].format("%Y-%m-%dT%H:%M:%SZ").to_string()
    );
    server.stop().await;
}

#[tokio::test]
async fn a_pending_delivery_survives_a_restart() {
    // An endpoint that is down: nothing listens on the port.
    let port = unused_port();
    let url = format!("http://127.0.0.1:{port}/hooks");
    let toml = config(&[(&url, "")]);
    let server = spawn_app(&toml).await;
    clock(&server, json!({ "now": T0 })).await;
    emit_one(&server, "streak.lost", event("streak.lost", 1)).await;
    advance(&server, 0).await;
    let row = &deliveries(&server, "").await[0];
    assert_eq!(row["status"], "pending");
    assert_eq!(row["attempts"], 1);
    assert_eq!(row["lastStatus"], Value::Null);
    let error = row["lastError"].as_str().expect("a network error");
    assert!(error.to_lowercase().contains("connect"), "{error}");
    let dir = server.stop().await;

    // The endpoint comes up on the same address; a new process on the same database
    // delivers the row when its retry falls due.
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("rebind");
    let receiver = Receiver::on(listener).await;
    let server = spawn_with(&toml, true, Some(dir)).await;
    advance(&server, 0).await;
    assert_eq!(receiver.count(), 0, "not due yet");
    advance(&server, 67).await;
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].json(), event("streak.lost", 1));
    let row = &deliveries(&server, "").await[0];
    assert_eq!(row["status"], "delivered");
    assert_eq!(row["attempts"], 2);
    server.stop().await;
}

#[tokio::test]
async fn deliveries_to_an_endpoint_removed_from_the_config_fail() {
    let port = unused_port();
    let gone = format!("http://127.0.0.1:{port}/hooks");
    let server = spawn_app(&config(&[(&gone, "")])).await;
    emit_one(&server, "streak.lost", event("streak.lost", 1)).await;
    advance(&server, 0).await;

    let receiver = Receiver::start().await;
    let server = server.restart_with(&config(&[(&receiver.url, "")])).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let row = loop {
        let row = deliveries(&server, "").await.remove(0);
        if row["status"] != "pending" || Instant::now() > deadline {
            break row;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(row["status"], "failed");
    assert_eq!(row["lastError"], "endpoint removed from configuration");
    assert!(is_iso_z(row["finished"].as_str().expect("finished")));
    // Re-queuing it cannot help: it fails again at once, for the same reason.
    let id = row["id"].as_str().expect("id");
    let (status, body) = parts(
        server
            .admin_request(
                Method::POST,
                &format!("/admin/v1/webhooks/deliveries/{id}/retry"),
            )
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "failed");
    advance(&server, 100).await;
    assert_eq!(receiver.count(), 0);
    server.stop().await;
}

#[tokio::test]
async fn only_subscribed_event_types_are_sent() {
    let picky = Receiver::start().await;
    let everything = Receiver::start().await;
    let server = start_at_t0(&config(&[
        (&picky.url, "events = [\"streak.started\"]"),
        (&everything.url, ""),
    ]))
    .await;
    server
        .writer()
        .execute(Emit {
            events: vec![
                (
                    "achievement.completed".into(),
                    event("achievement.completed", 1),
                ),
                ("streak.started".into(), event("streak.started", 2)),
            ],
            then_fail: false,
        })
        .await
        .expect("committed");
    everything.wait_for_requests(2).await;
    picky.wait_for_requests(1).await;
    advance(&server, 0).await;
    let types = |r: &Receiver| -> Vec<String> {
        let mut types: Vec<String> = r
            .received()
            .iter()
            .map(|q| q.json()["type"].as_str().expect("type").to_owned())
            .collect();
        types.sort();
        types
    };
    assert_eq!(types(&picky), ["streak.started"]);
    assert_eq!(
        types(&everything),
        ["achievement.completed", "streak.started"]
    );
    assert_eq!(
        deliveries(&server, "").await.len(),
        3,
        "no row for the unsubscribed one"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_command_that_fails_after_emitting_sends_nothing() {
    let receiver = Receiver::start().await;
    let server = start_at_t0(&config(&[(&receiver.url, "")])).await;
    let failed = server
        .writer()
        .execute(Emit {
            events: vec![("streak.lost".into(), event("streak.lost", 1))],
            then_fail: true,
        })
        .await;
    assert!(failed.is_err());
    emit_one(&server, "streak.lost", event("streak.lost", 2)).await;
    receiver.wait_for_requests(1).await;
    advance(&server, 3600).await;
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].json()["n"], 2);
    assert_eq!(deliveries(&server, "").await.len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn changes_inside_a_window_are_coalesced_into_one_trailing_webhook() {
    let receiver = Receiver::start().await;
    let server = start_at_t0(&config(&[(&receiver.url, "")])).await;
    let change = |window_seconds, body| PointsChanged {
        window_seconds,
        body,
    };
    // The first change fires at once and opens a 60 s window.
    server
        .writer()
        .execute(change(60, points(10, 10, "a1")))
        .await
        .unwrap();
    receiver.wait_for_requests(1).await;
    advance(&server, 10).await;
    server
        .writer()
        .execute(change(60, points(5, 15, "a2")))
        .await
        .unwrap();
    advance(&server, 10).await;
    server
        .writer()
        .execute(change(60, points(7, 22, "a3")))
        .await
        .unwrap();
    advance(&server, 39).await; // T0 + 59 s
    assert_eq!(receiver.count(), 1, "held until the window ends");

    advance(&server, 2).await; // T0 + 61 s
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].json(), points(10, 10, "a1"));
    assert_eq!(
        received[1].json(),
        json!({
            "type": "points.changed",
            "user": { "id": "user-1" },
            "points": { "key": "xp", "added": 12, "total": 22, "awards": [{ "id": "a2" }, { "id": "a3" }] }
        })
    );

    // That webhook opened the next window (T0 + 60 s .. + 120 s): a change now waits.
    server
        .writer()
        .execute(change(60, points(1, 23, "a4")))
        .await
        .unwrap();
    advance(&server, 0).await;
    assert_eq!(receiver.count(), 2);
    advance(&server, 58).await; // T0 + 119 s
    assert_eq!(receiver.count(), 2);
    advance(&server, 2).await; // T0 + 121 s
    assert_eq!(
        receiver.wait_for_requests(3).await[2].json(),
        points(1, 23, "a4")
    );

    // After a quiet window the next change fires at once again.
    advance(&server, 300).await;
    server
        .writer()
        .execute(change(60, points(2, 25, "a5")))
        .await
        .unwrap();
    assert_eq!(
        receiver.wait_for_requests(4).await[3].json(),
        points(2, 25, "a5")
    );
    // A window of 0 sends every change.
    server
        .writer()
        .execute(change(0, points(3, 28, "a6")))
        .await
        .unwrap();
    server
        .writer()
        .execute(change(0, points(4, 32, "a7")))
        .await
        .unwrap();
    receiver.wait_for_requests(6).await;
    advance(&server, 0).await;
    assert_eq!(receiver.count(), 6);
    server.stop().await;
}

#[tokio::test]
async fn a_slow_endpoint_is_bounded_by_its_concurrency_and_does_not_delay_others() {
    let slow = Receiver::start().await;
    slow.behaviour().delay = Duration::from_millis(700);
    let fast = Receiver::start().await;
    let server = start_at_t0(&config(&[
        (&slow.url, "max_concurrency = 1\nevents = [\"streak.lost\"]"),
        (&fast.url, "events = [\"streak.started\"]"),
    ]))
    .await;
    for n in 0..3 {
        emit_one(&server, "streak.lost", event("streak.lost", n)).await;
    }
    let started = Instant::now();
    for n in 0..3 {
        emit_one(&server, "streak.started", event("streak.started", n)).await;
    }
    fast.wait_for_requests(3).await;
    assert!(
        started.elapsed() < Duration::from_millis(600),
        "the fast endpoint waited for the slow one: {:?}",
        started.elapsed()
    );
    slow.wait_for_requests(3).await;
    assert_eq!(slow.behaviour().max_active, 1, "max_concurrency = 1");
    server.stop().await;
}

/// At T0 a `streak.started` delivery arrives; then a `streak.lost` per `failing` fails for
/// the whole retry period (1 h: 1, 2, 4, … min, then 60). The server and its receiver,
/// with every delivery attempted.
async fn one_delivered_then_failing(failing: &[u32]) -> (TestApp, Receiver) {
    let receiver = Receiver::start().await;
    let server = start_at_t0(&config(&[(&receiver.url, "retry_for_hours = 1")])).await;
    emit_one(&server, "streak.started", event("streak.started", 1)).await;
    receiver.wait_for_requests(1).await;
    advance(&server, 0).await;
    receiver.behaviour().default_status = 503;
    for n in failing {
        emit_one(&server, "streak.lost", event("streak.lost", *n)).await;
    }
    receiver.wait_for_requests(1 + failing.len()).await;
    for _ in 0..14 {
        advance(&server, 300).await;
    }
    (server, receiver)
}

#[tokio::test]
async fn the_admin_api_lists_retries_and_expires_deliveries() {
    let (server, receiver) = one_delivered_then_failing(&[2]).await;
    assert_eq!(receiver.count(), 1 + 7);

    let all = deliveries(&server, "").await;
    assert_eq!(all.len(), 2);
    let (failed, delivered) = (&all[0], &all[1]);
    assert_eq!(failed["type"], "streak.lost", "newest first");
    assert_eq!(failed["endpoint"], receiver.url);
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["attempts"], 7);
    assert_eq!(failed["lastStatus"], 503);
    assert!(failed["lastError"]
        .as_str()
        .unwrap()
        .starts_with("HTTP 503"));
    assert_eq!(failed["nextAttempt"], Value::Null);
    assert_eq!(failed["created"], T0);
    assert_eq!(
        failed["finished"], "2031-03-01T11:30:00Z",
        "at the 1 h deadline"
    );
    assert_eq!(delivered["type"], "streak.started");
    assert_eq!(delivered["status"], "delivered");
    assert!(is_iso_z(delivered["finished"].as_str().unwrap()));
    let mut keys: Vec<_> = failed.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "attempts",
            "created",
            "endpoint",
            "finished",
            "id",
            "lastError",
            "lastStatus",
            "nextAttempt",
            "status",
            "type"
        ]
    );

    assert_eq!(
        deliveries(&server, "?status=failed").await,
        vec![failed.clone()]
    );
    assert_eq!(
        deliveries(&server, "?status=delivered").await,
        vec![delivered.clone()]
    );
    assert!(deliveries(&server, "?status=pending").await.is_empty());
    assert_eq!(deliveries(&server, "?limit=1").await, vec![failed.clone()]);
    for bad in ["?limit=0", "?limit=101", "?status=lost"] {
        let resp = server
            .admin_request(Method::GET, &format!("/admin/v1/webhooks/deliveries{bad}"))
            .send()
            .await
            .expect("request");
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
    }

    // Retry: pending again now, attempts kept, and delivered with the same webhook-id.
    receiver.behaviour().default_status = 200;
    let id = failed["id"].as_str().unwrap();
    let (status, row) = parts(
        server
            .admin_request(
                Method::POST,
                &format!("/admin/v1/webhooks/deliveries/{id}/retry"),
            )
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{row}");
    assert_eq!(row["status"], "pending");
    assert_eq!(row["attempts"], 7);
    assert_eq!(row["nextAttempt"], "2031-03-01T11:40:00Z");
    assert_eq!(row["finished"], Value::Null);
    advance(&server, 0).await;
    let last = receiver.received().pop().unwrap();
    assert_eq!(last.header("webhook-id"), id);
    let row = &deliveries(&server, "?status=delivered&limit=1").await[0];
    assert_eq!(row["id"], id);
    assert_eq!(row["attempts"], 8);

    // Delivered now: a retry is refused and sends nothing.
    let received = receiver.received().len();
    let again = server
        .admin_request(
            Method::POST,
            &format!("/admin/v1/webhooks/deliveries/{id}/retry"),
        )
        .send()
        .await
        .expect("request");
    assert_error(again, StatusCode::CONFLICT).await;
    advance(&server, 0).await;
    assert_eq!(receiver.received().len(), received);
    let row = &deliveries(&server, "?status=delivered&limit=1").await[0];
    assert_eq!((&row["id"], &row["attempts"]), (&json!(id), &json!(8)));

    let unknown = server
        .admin_request(
            Method::POST,
            "/admin/v1/webhooks/deliveries/msg_unknown/retry",
        )
        .send()
        .await
        .expect("request");
    assert_error(unknown, StatusCode::NOT_FOUND).await;

    // Finished rows are kept 7 days, then deleted.
    advance(&server, 6 * 86_400).await;
    assert_eq!(deliveries(&server, "").await.len(), 2);
    advance(&server, 86_400).await;
    assert!(deliveries(&server, "").await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn deliveries_page_filter_show_their_payload_and_retry_failed_in_bulk() {
    let (server, receiver) = one_delivered_then_failing(&[2, 3]).await;
    let all = deliveries(&server, "").await;
    let statuses: Vec<&str> = all.iter().map(|d| d["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["failed", "failed", "delivered"]);

    // Pages: `before` is the last id of the page before.
    let first = deliveries(&server, "?limit=2").await;
    assert_eq!(first, all[..2]);
    let last_id = first[1]["id"].as_str().unwrap();
    assert_eq!(
        deliveries(&server, &format!("?limit=2&before={last_id}")).await,
        all[2..]
    );
    assert!(deliveries(&server, "?before=msg_unknown").await.is_empty());

    // Filters, alone and together.
    assert_eq!(deliveries(&server, "?type=streak.lost").await, all[..2]);
    assert_eq!(
        deliveries(&server, "?type=streak.lost&status=failed&limit=1").await,
        all[..1]
    );
    let endpoint =
        percent_encoding::utf8_percent_encode(&receiver.url, percent_encoding::NON_ALPHANUMERIC);
    assert_eq!(
        deliveries(&server, &format!("?endpoint={endpoint}")).await,
        all
    );
    assert!(deliveries(&server, "?endpoint=http%3A%2F%2Felsewhere")
        .await
        .is_empty());
    let long = "x".repeat(2049);
    let resp = server
        .admin_request(
            Method::GET,
            &format!("/admin/v1/webhooks/deliveries?type={long}"),
        )
        .send()
        .await
        .expect("request");
    assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY).await;

    // One delivery: the row and the exact payload.
    let newest = all[0]["id"].as_str().unwrap();
    let (status, one) = parts(
        server
            .admin_request(
                Method::GET,
                &format!("/admin/v1/webhooks/deliveries/{newest}"),
            )
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["payload"]["n"], 3, "{one}");
    assert_eq!(one["payload"]["type"], "streak.lost");
    assert_eq!(one["status"], "failed");
    let (status, _) = parts(
        server
            .admin_request(Method::GET, "/admin/v1/webhooks/deliveries/msg_unknown")
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Every failed one again, in one call; the delivered one is left alone.
    receiver.behaviour().default_status = 200;
    let before = receiver.count();
    let (status, out) = parts(
        server
            .admin_request(Method::POST, "/admin/v1/webhooks/deliveries/retry-failed")
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(
        out,
        json!({ "retried": 2, "endpointRemoved": 0, "more": false })
    );
    advance(&server, 0).await;
    assert_eq!(receiver.count(), before + 2);
    assert!(deliveries(&server, "?status=failed").await.is_empty());
    assert_eq!(deliveries(&server, "?status=delivered").await.len(), 3);
    server.stop().await;
}
