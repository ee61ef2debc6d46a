//! The raw-SQLite reference: what one thread writing straight to SQLite reaches with the
//! writes a minimal gamification engine must make per event, so trophyd's fan-out can be
//! reported as a share of it, measured on the same machine in the same invocation.
//!
//! Per event, for a random one of `users` users with text ids: look the user up, claim
//! the idempotency key, insert the event row (indexed by user), upsert the metric total,
//! upsert the daily streak, upsert the points total and insert the award (indexed by
//! user), upsert the leaderboard value (indexed by score), insert an achievement row when
//! the total reaches a threshold, and insert a webhook outbox row. WAL,
//! `synchronous=FULL`, 100 events a commit, checkpoints deferred to the end (the fastest
//! raw SQLite gets; trophyd checkpoints from another thread). Prepared statements cached.
//!
//! Used by `benches/sqlite_ceiling.rs` (alone) and `benches/load.rs` (beside trophyd).

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{params, Connection};

pub const EVENTS_PER_COMMIT: u64 = 100;
const THRESHOLDS: [f64; 6] = [1.0, 5.0, 10.0, 50.0, 100.0, 500.0];

const SCHEMA: &str = "
CREATE TABLE users (id INTEGER PRIMARY KEY, external_id TEXT NOT NULL UNIQUE, created INTEGER NOT NULL);
CREATE TABLE idempotency (user_id INTEGER NOT NULL, key TEXT NOT NULL, event_id INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)) WITHOUT ROWID;
CREATE TABLE events (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, metric_id INTEGER NOT NULL,
    value REAL NOT NULL, at INTEGER NOT NULL);
CREATE INDEX events_by_user ON events (user_id, metric_id, at);
CREATE TABLE totals (user_id INTEGER NOT NULL, metric_id INTEGER NOT NULL, total REAL NOT NULL,
    PRIMARY KEY (user_id, metric_id)) WITHOUT ROWID;
CREATE TABLE streaks (user_id INTEGER PRIMARY KEY, length INTEGER NOT NULL, last_day INTEGER NOT NULL);
CREATE TABLE points_totals (user_id INTEGER NOT NULL, system_id INTEGER NOT NULL, total INTEGER NOT NULL,
    PRIMARY KEY (user_id, system_id)) WITHOUT ROWID;
CREATE TABLE points_awards (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, system_id INTEGER NOT NULL,
    awarded INTEGER NOT NULL, at INTEGER NOT NULL);
CREATE INDEX points_awards_by_user ON points_awards (user_id, system_id, at);
CREATE TABLE leaderboard (board_id INTEGER NOT NULL, run TEXT NOT NULL, user_id INTEGER NOT NULL,
    value REAL NOT NULL, PRIMARY KEY (board_id, run, user_id)) WITHOUT ROWID;
CREATE INDEX leaderboard_by_value ON leaderboard (board_id, run, value DESC);
CREATE TABLE achievements (user_id INTEGER NOT NULL, achievement_id INTEGER NOT NULL, at INTEGER NOT NULL,
    PRIMARY KEY (user_id, achievement_id)) WITHOUT ROWID;
CREATE TABLE outbox (id INTEGER PRIMARY KEY, event_type TEXT NOT NULL, body TEXT NOT NULL,
    status TEXT NOT NULL, next_attempt INTEGER NOT NULL);
CREATE INDEX outbox_due ON outbox (status, next_attempt);
";

pub struct Ceiling {
    pub events: u64,
    pub elapsed: Duration,
}

impl Ceiling {
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

fn sql(e: rusqlite::Error) -> String {
    format!("sqlite: {e}")
}

/// Creates `dir/ceiling.db` with `users` users and writes events for `seconds`.
pub fn run(dir: &Path, users: u64, seconds: f64) -> Result<Ceiling, String> {
    let path = dir.join("ceiling.db");
    let _ = std::fs::remove_file(&path);
    let conn = Connection::open(&path).map_err(sql)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA cache_size = -262144;",
    )
    .map_err(sql)?;
    conn.execute_batch(SCHEMA).map_err(sql)?;
    conn.execute_batch("BEGIN").map_err(sql)?;
    {
        let mut insert = conn
            .prepare("INSERT INTO users (id, external_id, created) VALUES (?1, ?2, 0)")
            .map_err(sql)?;
        let mut id = String::new();
        for i in 0..users {
            id.clear();
            let _ = write!(id, "user-{i}");
            insert.execute(params![i as i64 + 1, id]).map_err(sql)?;
        }
    }
    conn.execute_batch("COMMIT; PRAGMA wal_checkpoint(TRUNCATE);")
        .map_err(sql)?;
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0; PRAGMA cache_size = -65536;",
    )
    .map_err(sql)?;
    conn.set_prepared_statement_cache_capacity(64);

    let mut rng = 0x9e37_79b9_7f4a_7c15_u64 ^ users;
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut events = 0u64;
    let mut external = String::new();
    while Instant::now() < deadline {
        conn.execute_batch("BEGIN IMMEDIATE").map_err(sql)?;
        for _ in 0..EVENTS_PER_COMMIT {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            external.clear();
            let _ = write!(external, "user-{}", rng % users.max(1));
            one_event(&conn, &external, events).map_err(sql)?;
            events += 1;
        }
        conn.execute_batch("COMMIT").map_err(sql)?;
    }
    let elapsed = started.elapsed();
    drop(conn);
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(path.with_extension("db-wal"));
    let _ = std::fs::remove_file(path.with_extension("db-shm"));
    Ok(Ceiling { events, elapsed })
}

fn one_event(conn: &Connection, external_id: &str, n: u64) -> rusqlite::Result<()> {
    let now = 1_800_000_000_000_i64 + n as i64;
    let day = now / 86_400_000;
    let user: i64 = conn
        .prepare_cached("SELECT id FROM users WHERE external_id = ?1")?
        .query_row([external_id], |r| r.get(0))?;
    let event_id: i64 = conn
        .prepare_cached(
            "INSERT INTO events (user_id, metric_id, value, at) VALUES (?1, 1, 1.0, ?2) RETURNING id",
        )?
        .query_row(params![user, now], |r| r.get(0))?;
    conn.prepare_cached(
        "INSERT INTO idempotency (user_id, key, event_id) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![user, format!("key-{n}"), event_id])?;
    let total: f64 = conn
        .prepare_cached(
            "INSERT INTO totals (user_id, metric_id, total) VALUES (?1, 1, 1.0)
             ON CONFLICT DO UPDATE SET total = total + 1.0 RETURNING total",
        )?
        .query_row([user], |r| r.get(0))?;
    conn.prepare_cached(
        "INSERT INTO streaks (user_id, length, last_day) VALUES (?1, 1, ?2)
         ON CONFLICT DO UPDATE SET
           length = CASE WHEN last_day = ?2 THEN length WHEN last_day = ?2 - 1 THEN length + 1 ELSE 1 END,
           last_day = ?2",
    )?
    .execute(params![user, day])?;
    conn.prepare_cached(
        "INSERT INTO points_totals (user_id, system_id, total) VALUES (?1, 1, 10)
         ON CONFLICT DO UPDATE SET total = total + 10 RETURNING total",
    )?
    .query_row([user], |r| r.get::<_, i64>(0))?;
    conn.prepare_cached(
        "INSERT INTO points_awards (user_id, system_id, awarded, at) VALUES (?1, 1, 10, ?2)",
    )?
    .execute(params![user, now])?;
    conn.prepare_cached(
        "INSERT INTO leaderboard (board_id, run, user_id, value) VALUES (1, '2031-01-01', ?1, ?2)
         ON CONFLICT DO UPDATE SET value = excluded.value",
    )?
    .execute(params![user, total])?;
    if let Some(at) = THRESHOLDS.iter().position(|&t| t == total) {
        conn.prepare_cached(
            "INSERT INTO achievements (user_id, achievement_id, at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![user, at as i64, now])?;
    }
    conn.prepare_cached(
        "INSERT INTO outbox (event_type, body, status, next_attempt)
         VALUES ('event', ?1, 'pending', ?2)",
    )?
    .execute(params![
        format!("{{\"user\":\"{external_id}\",\"total\":{total}}}"),
        now
    ])?;
    Ok(())
}
