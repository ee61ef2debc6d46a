//! Webhook delivery benchmark: the library's `Application` in-process, a raw-TCP receiver
//! that answers every request 200 at once, and a temporary database.
//!
//! Phase 1 (delivery): N events are emitted through writer commands in batches (as a
//! feature would emit them), and the time until the receiver has all of them and every
//! outbox row is recorded as delivered gives deliveries/s.
//!
//! Phase 2 (ingestion, unless `--seconds 0`): C closed-loop clients post
//! `POST /v1/metrics/lessons/event` for new users for S seconds, once without a webhook
//! endpoint and once with one subscribed to everything, so the cost of emitting and
//! delivering webhooks alongside ingestion shows. (What an event emits depends on the
//! features configured; the config has a daily streak, so a new user's first event
//! emits `streak.started` where streaks are implemented.)
//!
//!   cargo bench --bench webhooks -- [--events 20000] [--batch 500] [--concurrency 4]
//!                                    [--clients 32] [--seconds 5] [--durability full]

#[path = "receiver/mod.rs"]
mod receiver;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use trophyd::error::ApiError;
use trophyd::writer::{Command, WriteCtx};
use trophyd::{Application, ConfigSource, RuntimeSettings};

struct Options {
    events: u64,
    batch: u64,
    concurrency: u32,
    clients: usize,
    seconds: f64,
    durability: String,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        events: 20_000,
        batch: 500,
        concurrency: 4,
        clients: 32,
        seconds: 5.0,
        durability: "full".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let bad = |v: &str| format!("{flag}: bad value {v:?}");
        match flag.as_str() {
            "--events" => {
                let v = value()?;
                o.events = v.parse().map_err(|_| bad(&v))?;
            }
            "--batch" => {
                let v = value()?;
                o.batch = v.parse().map_err(|_| bad(&v))?;
            }
            "--concurrency" => {
                let v = value()?;
                o.concurrency = v.parse().map_err(|_| bad(&v))?;
            }
            "--clients" => {
                let v = value()?;
                o.clients = v.parse().map_err(|_| bad(&v))?;
            }
            "--seconds" => {
                let v = value()?;
                o.seconds = v.parse().map_err(|_| bad(&v))?;
            }
            "--durability" => o.durability = value()?,
            _ => {} // --bench and whatever else cargo passes along
        }
    }
    if o.batch == 0 || o.events == 0 || o.concurrency == 0 || o.clients == 0 {
        return Err("--events, --batch, --concurrency and --clients must be positive".into());
    }
    Ok(o)
}

fn config(webhook: Option<(&str, u32)>, durability: &str) -> String {
    let mut toml = format!(
        r#"
[server]
durability = "{durability}"

[auth]
api_keys = ["bench-key"]
admin_keys = ["bench-admin"]

[[metrics]]
key = "lessons"
name = "Lessons"

[streaks]
frequency = "daily"
metrics = [{{ metric = "lessons", threshold = 1 }}]
"#
    );
    if let Some((url, concurrency)) = webhook {
        toml.push_str(&format!(
            "\n[[webhooks]]\nurl = \"{url}\"\nsecret = \"whsec_bench\"\nmax_concurrency = {concurrency}\n"
        ));
    }
    toml
}

async fn start(toml: &str, dir: &Path) -> Application {
    let config = trophyd::config::parse(toml).expect("valid bench config");
    let mut settings = RuntimeSettings::new(config, ConfigSource::Demo);
    settings.listen = "127.0.0.1:0".into();
    settings.data = dir.join("trophy.db");
    Application::build(settings).await.expect("the app builds")
}

/// `count` webhook events of one type, emitted in one transaction.
struct EmitBatch {
    first: u64,
    count: u64,
}

impl Command for EmitBatch {
    type Output = ();

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<(), ApiError> {
        for n in self.first..self.first + self.count {
            let body = json!({
                "type": "streak.extended",
                "user": { "id": format!("user-{n}"), "name": "Bench user" },
                "streak": { "length": n % 100 + 1, "frequency": "daily" }
            });
            trophyd::webhooks::emit(ctx, "streak.extended", &body)?;
        }
        Ok(())
    }
}

fn delivered(db: &Path) -> u64 {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the database");
    conn.busy_timeout(Duration::from_secs(5))
        .expect("busy timeout");
    conn.query_row(
        "SELECT COUNT(*) FROM webhook_outbox WHERE status = 'delivered'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .expect("count") as u64
}

async fn delivery_phase(o: &Options) {
    let (url, received) = receiver::start().expect("start the receiver");
    let dir = tempfile::tempdir().expect("tempdir");
    let app = start(
        &config(Some((&url, o.concurrency)), &o.durability),
        dir.path(),
    )
    .await;
    let writer = app.writer();
    let handle = app.server_handle();
    let server = tokio::spawn(app.run_until_stopped());
    let db = dir.path().join("trophy.db");

    let started = Instant::now();
    let mut first = 0;
    while first < o.events {
        let count = o.batch.min(o.events - first);
        writer
            .execute(EmitBatch { first, count })
            .await
            .expect("emitted");
        first += count;
    }
    let emitted = started.elapsed();
    let deadline = started + Duration::from_secs(600);
    while received.load(Ordering::Relaxed) < o.events && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let all_received = started.elapsed();
    while delivered(&db) < o.events && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let all_recorded = started.elapsed();
    let got = received.load(Ordering::Relaxed);
    println!(
        "delivery: {} events in batches of {}, endpoint max_concurrency {}, durability {}",
        o.events, o.batch, o.concurrency, o.durability
    );
    println!(
        "  emitted (committed to the outbox) in {:.2} s = {:.0} events/s",
        emitted.as_secs_f64(),
        o.events as f64 / emitted.as_secs_f64()
    );
    println!(
        "  all {} received after {:.2} s, all recorded delivered after {:.2} s",
        got,
        all_received.as_secs_f64(),
        all_recorded.as_secs_f64()
    );
    println!(
        "  => {:.0} deliveries/s (emit start to last outcome recorded)",
        o.events as f64 / all_recorded.as_secs_f64()
    );
    if got != o.events {
        println!(
            "  !! the receiver got {got} requests, expected {}",
            o.events
        );
    }
    handle.stop(true).await;
    let _ = server.await;
}

/// Closed-loop ingestion for `seconds`: events/s, and what the endpoint received meanwhile.
async fn ingestion_run(o: &Options, webhook: bool) {
    let (url, received) = receiver::start().expect("start the receiver");
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = config(
        webhook.then_some((url.as_str(), o.concurrency)),
        &o.durability,
    );
    let app = start(&toml, dir.path()).await;
    let base = format!("http://{}", app.address());
    let handle = app.server_handle();
    let server = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.clients)
        .build()
        .expect("client");
    let stop_at = Instant::now() + Duration::from_secs_f64(o.seconds);
    let ok = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let started = Instant::now();
    for c in 0..o.clients {
        let (client, base, ok, errors) = (client.clone(), base.clone(), ok.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            while Instant::now() < stop_at {
                let body: Value = json!({ "user": { "id": format!("c{c}-u{i}") }, "value": 1 });
                i += 1;
                let resp = client
                    .post(format!("{base}/v1/metrics/lessons/event"))
                    .header("X-API-KEY", "bench-key")
                    .json(&body)
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status().as_u16() == 201 => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let events = ok.load(Ordering::Relaxed);
    let during = received.load(Ordering::Relaxed);
    // Let the backlog drain (bounded), to report it.
    let drain_started = Instant::now();
    let mut last = during;
    if webhook {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = received.load(Ordering::Relaxed);
            if now == last || drain_started.elapsed() > Duration::from_secs(60) {
                break;
            }
            last = now;
        }
    }
    println!(
        "ingestion {} webhook endpoint: {} events in {:.1} s = {:.0} events/s ({} errors), {} clients",
        if webhook { "with a" } else { "without a" },
        events,
        elapsed,
        events as f64 / elapsed,
        errors.load(Ordering::Relaxed),
        o.clients
    );
    if webhook {
        println!(
            "  webhooks received during the run: {during}; {last} once the backlog drained ({:.1} s later)",
            drain_started.elapsed().as_secs_f64()
        );
    }
    handle.stop(true).await;
    let _ = server.await;
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        println!(
            "== trophyd webhook bench ({} CPUs)",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        delivery_phase(&o).await;
        if o.seconds > 0.0 {
            ingestion_run(&o, false).await;
            ingestion_run(&o, true).await;
        }
    });
}
