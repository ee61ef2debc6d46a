//! Crash safety of the real binary: SIGKILL `trophyd` in the middle of a burst of events,
//! restart it on the same file, and check that every acknowledged event survived exactly
//! once, that re-sending every event with its idempotency key applies exactly the missing
//! ones, and that the database is intact. Done three times, killing at different points.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};

const EVENTS: usize = 2000;
const USERS: usize = 10;
const CONCURRENCY: usize = 32;
const APP_KEY: &str = "crash-app-key";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
const ROUND_DEADLINE: Duration = Duration::from_secs(180);

const CONFIG: &str = r#"
[server]
durability = "full"

[auth]
api_keys = ["crash-app-key"]
admin_keys = ["crash-admin-key"]

[[metrics]]
key = "lessons"
name = "Lessons completed"

[streaks]
frequency = "daily"
metrics = [{ metric = "lessons", threshold = 1 }]
"#;

#[path = "support/process.rs"]
mod process;

use process::Trophyd;

/// The server on `data` with `config`, its log appended to `log`.
fn start(config: &Path, data: &Path, log: &Path) -> Trophyd {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    Trophyd::start(|c| {
        c.arg("--config")
            .arg(config)
            .arg("--data")
            .arg(data)
            .stderr(Stdio::from(log));
    })
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(CONCURRENCY * 2)
        .build()
        .expect("client")
}

fn user_of(i: usize) -> String {
    format!("u{}", i % USERS)
}

fn key_of(i: usize) -> String {
    format!("crash-event-{i}")
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    i: usize,
) -> reqwest::Result<(StatusCode, Value)> {
    let resp = client
        .post(format!("{base}/v1/metrics/lessons/event"))
        .header("X-API-KEY", APP_KEY)
        .header("Idempotency-Key", key_of(i))
        .json(&json!({"user": {"id": user_of(i)}, "value": 1}))
        .send()
        .await?;
    let status = resp.status();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// Sends every index in `indices` from `CONCURRENCY` tasks and returns each answer.
async fn send_all(base: &str, indices: Vec<usize>) -> Vec<(usize, StatusCode, Value)> {
    let client = client();
    let queue = Arc::new(Mutex::new(indices));
    let results = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (client, base, queue, results) = (
            client.clone(),
            base.to_owned(),
            queue.clone(),
            results.clone(),
        );
        tasks.spawn(async move {
            loop {
                let Some(i) = queue.lock().expect("queue").pop() else {
                    break;
                };
                let (status, body) = send(&client, &base, i)
                    .await
                    .unwrap_or_else(|e| panic!("event {i} failed on a live server: {e}"));
                results.lock().expect("results").push((i, status, body));
            }
        });
    }
    let deadline = tokio::time::timeout(ROUND_DEADLINE, async {
        while let Some(joined) = tasks.join_next().await {
            joined.expect("sender task");
        }
    });
    deadline.await.expect("re-sending finished in time");
    let mut out = std::mem::take(&mut *results.lock().expect("results"));
    out.sort_by_key(|(i, _, _)| *i);
    out
}

/// Fires all events at the server and SIGKILLs it once `kill_after` have been
/// acknowledged. Returns the acknowledged events (index -> eventId).
async fn burst_and_kill(server: &mut Trophyd, kill_after: usize) -> HashMap<usize, String> {
    let client = client();
    let next = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<HashMap<usize, String>>> = Arc::default();
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let running = Arc::new(AtomicUsize::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (client, base) = (client.clone(), server.url.clone());
        let (next, killed, acked, failures, running) = (
            next.clone(),
            killed.clone(),
            acked.clone(),
            failures.clone(),
            running.clone(),
        );
        tasks.spawn(async move {
            while !killed.load(Ordering::SeqCst) {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= EVENTS {
                    break;
                }
                match send(&client, &base, i).await {
                    Ok((StatusCode::CREATED, body)) => {
                        let id = body["eventId"].as_str().unwrap_or_default().to_owned();
                        acked.lock().expect("acked").insert(i, id);
                    }
                    Ok((status, body)) => failures
                        .lock()
                        .expect("failures")
                        .push(format!("event {i}: {status} {body}")),
                    Err(e) => {
                        if !killed.load(Ordering::SeqCst) {
                            failures
                                .lock()
                                .expect("failures")
                                .push(format!("event {i} before the kill: {e}"));
                        }
                        break;
                    }
                }
            }
            running.fetch_sub(1, Ordering::SeqCst);
        });
    }
    let started = Instant::now();
    while acked.lock().expect("acked").len() < kill_after
        && running.load(Ordering::SeqCst) > 0
        && started.elapsed() < ROUND_DEADLINE
    {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    killed.store(true, Ordering::SeqCst);
    server.kill();
    let drained = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(joined) = tasks.join_next().await {
            joined.expect("burst task");
        }
    })
    .await;
    assert!(drained.is_ok(), "burst tasks did not stop after the kill");
    let failures = failures.lock().expect("failures").clone();
    assert!(
        failures.is_empty(),
        "failures before the kill: {failures:?}"
    );
    let acked = std::mem::take(&mut *acked.lock().expect("acked"));
    assert!(
        acked.len() >= kill_after.min(EVENTS),
        "only {} of {kill_after} acknowledged before the deadline",
        acked.len()
    );
    assert!(
        acked.len() < EVENTS,
        "the burst finished before the kill (kill point {kill_after})"
    );
    acked
}

fn read_only(path: &Path) -> Connection {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the database read-only");
    conn.busy_timeout(Duration::from_secs(10)).expect("busy");
    conn
}

fn count(path: &Path, sql: &str) -> i64 {
    read_only(path)
        .query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn totals(base: &str) -> Vec<f64> {
    let client = client();
    let mut out = Vec::new();
    for u in 0..USERS {
        let resp = client
            .get(format!("{base}/v1/users/u{u}/metrics/lessons"))
            .header("X-API-KEY", APP_KEY)
            .send()
            .await
            .expect("request");
        match resp.status() {
            StatusCode::OK => {
                let body: Value = resp.json().await.expect("json");
                out.push(body["current"].as_f64().expect("current"));
            }
            // A user whose every event was lost (never acknowledged) does not exist.
            StatusCode::NOT_FOUND => out.push(0.0),
            other => panic!("GET total of u{u}: {other}"),
        }
    }
    out
}

async fn crash_round(kill_after: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("trophy.toml");
    std::fs::write(&config, CONFIG).expect("write config");
    let data: PathBuf = dir.path().join("trophy.db");
    let log = dir.path().join("trophyd.log");

    let mut server = start(&config, &data, &log);
    let acked = burst_and_kill(&mut server, kill_after).await;
    drop(server);

    let server = start(&config, &data, &log);
    let stored = count(&data, "SELECT count(*) FROM events");
    assert!(
        stored as usize >= acked.len(),
        "kill at {kill_after}: {stored} events stored but {} acknowledged",
        acked.len()
    );
    eprintln!(
        "kill point {kill_after}: {} acknowledged, {stored} stored after restart",
        acked.len()
    );
    let before: f64 = totals(&server.url).await.iter().sum();
    assert_eq!(before, stored as f64, "totals agree with the stored events");

    // Every acknowledged event is there, exactly once: its key replays.
    let mut acked_indices: Vec<usize> = acked.keys().copied().collect();
    acked_indices.sort_unstable();
    for (i, status, body) in send_all(&server.url, acked_indices).await {
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "acknowledged event {i}: {body}"
        );
        assert_eq!(body["idempotentReplayed"], json!(true), "{body}");
        assert_eq!(
            body["eventId"].as_str(),
            Some(acked[&i].as_str()),
            "event {i}"
        );
    }
    let after_replays: f64 = totals(&server.url).await.iter().sum();
    assert_eq!(after_replays, before, "replays changed totals");
    assert_eq!(count(&data, "SELECT count(*) FROM events"), stored);

    // Re-send everything: exactly the missing events apply.
    let results = send_all(&server.url, (0..EVENTS).collect()).await;
    let mut created = 0;
    for (i, status, body) in &results {
        match *status {
            StatusCode::CREATED => {
                assert!(
                    !acked.contains_key(i),
                    "acknowledged event {i} applied twice"
                );
                created += 1;
            }
            StatusCode::ACCEPTED => {}
            other => panic!("re-sending event {i}: {other} {body}"),
        }
    }
    assert_eq!(results.len(), EVENTS);
    assert_eq!(created as i64, EVENTS as i64 - stored);

    let per_user = totals(&server.url).await;
    assert_eq!(per_user, vec![(EVENTS / USERS) as f64; USERS]);
    assert_eq!(per_user.iter().sum::<f64>(), EVENTS as f64);
    assert_eq!(count(&data, "SELECT count(*) FROM events"), EVENTS as i64);
    assert_eq!(
        count(&data, "SELECT count(DISTINCT uuid) FROM events"),
        EVENTS as i64
    );
    assert_eq!(
        count(&data, "SELECT count(*) FROM idempotency_keys"),
        EVENTS as i64
    );
    assert_eq!(
        count(
            &data,
            "SELECT CAST(sum(total) AS INTEGER) FROM metric_totals"
        ),
        EVENTS as i64
    );
    let integrity: String = read_only(&data)
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(integrity, "ok");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_events_survive_sigkill() {
    // Early, middle and late in the burst.
    for kill_after in [150, EVENTS / 2, EVENTS * 9 / 10] {
        crash_round(kill_after).await;
    }
}
