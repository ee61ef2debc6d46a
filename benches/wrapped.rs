//! Wrapped latency: `GET /v1/users/{id}/wrapped?year=2031` for a user with 10,000 events in
//! a tenant of 100,000 users (each with a few events in the same year, so every percentile
//! is counted among tens of thousands of rows).
//!
//! The users and events are written straight into the SQLite file and the wrapped
//! aggregates are left to the start-up backfill (timed too); then the real server answers
//! sequential keep-alive requests and p50/p99 are reported.
//!
//! usage: cargo bench --bench wrapped -- [--users N] [--events N] [--requests N]

use std::time::{Duration, Instant};

use rusqlite::params;
use trophyd::{Application, ConfigSource, RuntimeSettings};

const CONFIG: &str = r#"
[server]
default_timezone = "UTC"

[auth]
api_keys = ["bench-key"]
admin_keys = ["bench-admin"]

[[attributes]]
key = "source"
name = "Source"
type = "event"

[[metrics]]
key = "lessons"
name = "Lessons"

[[metrics]]
key = "minutes"
name = "Minutes"

[streaks]
frequency = "daily"
metrics = [{ metric = "lessons", threshold = 1 }]
"#;

const SOURCES: [&str; 3] = ["web", "ios", "android"];

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xorshift64: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// 2031-01-01T00:00:00Z in ms.
const YEAR_START_MS: i64 = 1_924_992_000_000;
const YEAR_MS: u64 = 365 * 86_400_000;

fn seed(path: &std::path::Path, users: u64, target_events: u64) {
    let config = trophyd::config::parse(CONFIG).expect("bench config");
    let mut conn = rusqlite::Connection::open(path).expect("open");
    trophyd::db::migrate(&mut conn).expect("migrate");
    trophyd::store::tenants::ensure_default(&conn, 0).expect("tenant");
    trophyd::catalog::sync_definitions(&mut conn, &config, 0).expect("definitions");
    let metric = |key: &str| -> i64 {
        conn.query_row(
            "SELECT id FROM definitions WHERE kind = 'metric' AND key = ?1",
            [key],
            |r| r.get(0),
        )
        .expect("metric")
    };
    let (lessons, minutes) = (metric("lessons"), metric("minutes"));
    let tx = conn.transaction().expect("tx");
    {
        let mut user = tx
            .prepare(
                "INSERT INTO users (id, tenant_id, external_id, tz, subscribe_to_emails, attributes,
                     control, preferences, created, updated)
                 VALUES (?1, 1, ?2, ?3, 0, '{}', 0, '{}', 0, 0)",
            )
            .expect("prepare");
        let mut event = tx
            .prepare(
                "INSERT INTO events (uuid, user_id, metric_id, value, attributes, at, tz)
                 VALUES ('', ?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .expect("prepare");
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for id in 1..=users {
            let target = id == 1;
            let tz = if target { "Asia/Kolkata" } else { "UTC" };
            user.execute(params![id, format!("user-{id}"), tz])
                .expect("user");
            let n = if target {
                target_events
            } else {
                1 + rng.below(5)
            };
            for _ in 0..n {
                let at = YEAR_START_MS + rng.below(YEAR_MS) as i64;
                let m = if rng.below(4) == 0 { minutes } else { lessons };
                let value = 1 + rng.below(30);
                let source = SOURCES[rng.below(3) as usize];
                event
                    .execute(params![
                        id,
                        m,
                        value as f64,
                        format!("{{\"source\":\"{source}\"}}"),
                        at,
                        tz
                    ])
                    .expect("event");
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO tenant_user_counts (tenant_id, users) VALUES (1, ?1)",
            [users as i64],
        )
        .expect("count");
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('wrapped_backfill', 'pending')",
            [],
        )
        .expect("pending");
    }
    tx.commit().expect("commit");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let users = arg("--users", 100_000);
    let target_events = arg("--events", 10_000);
    let requests = arg("--requests", 300) as usize;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("trophy.db");

    let started = Instant::now();
    seed(&db, users, target_events);
    println!(
        "seeded {users} users, {target_events} events for the reviewed user, in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let config = trophyd::config::parse(CONFIG).expect("bench config");
        let mut settings = RuntimeSettings::new(config, ConfigSource::Demo);
        settings.listen = "127.0.0.1:0".into();
        settings.data = db.clone();
        settings.test_clock = true;
        let started = Instant::now();
        let app = Application::build(settings).await.expect("server");
        println!(
            "start-up with the aggregate backfill: {:.1}s",
            started.elapsed().as_secs_f64()
        );
        let base = format!("http://127.0.0.1:{}", app.port());
        let server = tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::new();
        let clock = client
            .post(format!("{base}/_test/clock"))
            .header("X-API-KEY", "bench-admin")
            .json(&serde_json::json!({ "now": "2032-01-15T00:00:00Z" }))
            .send()
            .await
            .expect("clock");
        assert!(clock.status().is_success(), "clock: {}", clock.status());

        let url = format!("{base}/v1/users/user-1/wrapped?year=2031");
        let mut times = Vec::with_capacity(requests);
        for i in 0..requests + 20 {
            let t = Instant::now();
            let resp = client
                .get(&url)
                .header("X-API-KEY", "bench-key")
                .send()
                .await
                .expect("request");
            let status = resp.status();
            let body = resp.bytes().await.expect("body");
            assert!(status.is_success(), "{status}: {body:?}");
            if i == 0 {
                let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
                println!(
                    "daysActive {} · year lessons {} (percentile {})",
                    v["activity"]["daysActive"],
                    v["activity"]["entireYear"]["metrics"]["lessons"]["changeThisPeriod"],
                    v["activity"]["entireYear"]["metrics"]["lessons"]["percentileThisPeriod"],
                );
            }
            // The first 20 warm the reader pool's statement caches.
            if i >= 20 {
                times.push(t.elapsed());
            }
        }
        times.sort();
        println!(
            "wrapped over {requests} sequential requests: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3,
            times.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        );
        server.abort();
    });
}
