//! Leaderboard read benchmark: 1M users ranked on one board (1000 breakdown groups of
//! 1000 participants, the most `max_participants` allows per group), seeded straight into
//! SQLite, then the real `trophyd` binary answers rank reads over keep-alive HTTP/1.1:
//!
//! * `top`: `GET /v1/leaderboards/{key}?userAttributes=group:gK&limit=10`
//! * `user`: `GET /v1/users/{id}/leaderboards/{key}?numEvents=1` (one user's rank)
//! * `around`: `GET /v1/leaderboards/{key}?userAttributes=group:gK&userId=..&offset=-5&limit=10`
//!
//! C closed-loop clients cycle through the three for S seconds; throughput and latency
//! percentiles are reported per kind. The same clients then hit `GET /health` for S
//! seconds: on a shared machine that baseline (no auth, no work) shows how much of the
//! limit is the machine rather than the rank reads. The rank index is also rebuilt in process from the
//! same database to report its memory per entry and its rebuild time.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const USAGE: &str = "\
usage: cargo bench --bench leaderboard_reads -- [options]
  --groups G     breakdown groups (default 1000)
  --per-group P  participants per group, at most 1000 (default 1000)
  --clients C    concurrent keep-alive connections (default 32)
  --seconds S    measured seconds (default 10)
  --bin PATH     trophyd binary (default $TROPHYD_BIN, else target/release/trophyd)
Unknown arguments (such as cargo's --bench) are ignored.";

const API_KEY: &str = "bench-key";
const BOARD: &str = "bench";

struct Options {
    groups: u64,
    per_group: u64,
    clients: usize,
    seconds: f64,
    bin: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        groups: 1000,
        per_group: 1000,
        clients: 32,
        seconds: 10.0,
        bin: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        let number = || {
            value
                .parse::<f64>()
                .map_err(|_| format!("bad value for {}", args[i]))
        };
        match args[i].as_str() {
            "--groups" => o.groups = number()? as u64,
            "--per-group" => o.per_group = (number()? as u64).min(1000),
            "--clients" => o.clients = number()? as usize,
            "--seconds" => o.seconds = number()?,
            "--bin" => o.bin = Some(PathBuf::from(&value)),
            "--help" | "-h" => return Err(USAGE.to_owned()),
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    Ok(o)
}

fn main() -> ExitCode {
    match options().and_then(|o| run(&o)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn config() -> String {
    format!(
        "[server]\ndurability = \"normal\"\n\n[auth]\napi_keys = [\"{API_KEY}\"]\nadmin_keys = [\"bench-admin\"]\n\n\
         [[attributes]]\nkey = \"group\"\nname = \"Group\"\ntype = \"user\"\n\n\
         [[metrics]]\nkey = \"lessons\"\nname = \"Lessons\"\n\n\
         [[leaderboards]]\nkey = \"{BOARD}\"\nname = \"Bench\"\nrank_by = \"metric\"\nmetric = \"lessons\"\n\
         start = \"2020-01-01\"\nmax_participants = 1000\nbreakdown_attributes = [\"group\"]\n"
    )
}

fn binary(o: &Options) -> PathBuf {
    o.bin
        .clone()
        .or_else(|| std::env::var_os("TROPHYD_BIN").map(PathBuf::from))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/trophyd"))
}

struct Server(Child, SocketAddr);

impl Server {
    fn start(bin: &Path, dir: &Path) -> Result<Server, String> {
        let log = std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?;
        let mut child = Command::new(bin)
            .arg("--config")
            .arg(dir.join("trophy.toml"))
            .args(["--listen", "127.0.0.1:0", "--data"])
            .arg(dir.join("trophy.db"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let mut out = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut first = String::new();
        out.read_line(&mut first).map_err(|e| e.to_string())?;
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = out.read_to_end(&mut sink);
        });
        let addr = first
            .trim()
            .strip_prefix("trophyd listening on http://")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("unexpected first line {first:?}"))?;
        Ok(Server(child, addr))
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn sql(e: rusqlite::Error) -> String {
    format!("sqlite: {e}")
}

/// Users `user-G-I` in group `gG` with value `I + 1`, all on the board.
fn seed(db: &Path, o: &Options) -> Result<Duration, String> {
    let started = Instant::now();
    let mut conn = rusqlite::Connection::open(db).map_err(sql)?;
    conn.pragma_update(None, "synchronous", "OFF")
        .map_err(sql)?;
    let board: i64 = conn
        .query_row(
            "SELECT id FROM definitions WHERE kind = 'leaderboard' AND key = ?1",
            [BOARD],
            |r| r.get(0),
        )
        .map_err(sql)?;
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let tx = conn.transaction().map_err(sql)?;
    {
        let mut user = tx
            .prepare(
                "INSERT INTO users (tenant_id, external_id, name, subscribe_to_emails, attributes,
                     control, preferences, created, updated)
                 VALUES (1, ?1, ?1, 1, ?2, 0, '{}', ?3, ?3)",
            )
            .map_err(sql)?;
        let mut value = tx
            .prepare(
                "INSERT INTO leaderboard_values
                   (leaderboard_id, run_start, user_id, grp, value, reached_at, ranked)
                 VALUES (?1, '2020-01-01', ?2, ?3, ?4, ?5, 1)",
            )
            .map_err(sql)?;
        let (mut id, mut attrs, mut group) = (String::new(), String::new(), String::new());
        for g in 0..o.groups {
            group.clear();
            let _ = write!(group, "g{g}");
            attrs.clear();
            let _ = write!(attrs, "{{\"group\":\"g{g}\"}}");
            for i in 0..o.per_group {
                id.clear();
                let _ = write!(id, "user-{g}-{i}");
                user.execute(rusqlite::params![id, attrs, now_ms])
                    .map_err(sql)?;
                let row = tx.last_insert_rowid();
                value
                    .execute(rusqlite::params![board, row, group, (i + 1) as f64, now_ms])
                    .map_err(sql)?;
            }
        }
    }
    tx.commit().map_err(sql)?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .map_err(sql)?;
    Ok(started.elapsed())
}

/// One keep-alive connection; returns the status of each exchange.
struct Conn(BufReader<TcpStream>, Vec<u8>);

impl Conn {
    fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        Ok(Conn(BufReader::new(s), Vec::new()))
    }

    fn get(&mut self, path: &str) -> std::io::Result<u16> {
        let req = format!("GET {path} HTTP/1.1\r\nHost: bench\r\nX-API-KEY: {API_KEY}\r\n\r\n");
        self.0.get_mut().write_all(req.as_bytes())?;
        let mut line = String::new();
        self.0.read_line(&mut line)?;
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0;
        loop {
            line.clear();
            self.0.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        self.1.resize(length, 0);
        self.0.read_exact(&mut self.1)?;
        Ok(status)
    }
}

const KINDS: [&str; 4] = ["top", "user", "around", "health"];

fn path(kind: usize, rng: &mut u64, o: &Options) -> String {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    let g = *rng % o.groups;
    let i = (*rng >> 20) % o.per_group;
    match kind {
        0 => format!("/v1/leaderboards/{BOARD}?userAttributes=group:g{g}&limit=10"),
        1 => format!("/v1/users/user-{g}-{i}/leaderboards/{BOARD}?numEvents=1"),
        3 => "/health".to_owned(),
        _ => format!(
            "/v1/leaderboards/{BOARD}?userAttributes=group:g{g}&userId=user-{g}-{i}&offset=-5&limit=10"
        ),
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[at]) / 1000.0
}

fn run(o: &Options) -> Result<(), String> {
    let bin = binary(o);
    let dir = std::env::temp_dir().join(format!("trophyd-lb-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("trophy.toml"), config()).map_err(|e| e.to_string())?;
    // A first start creates the schema and the board's definition.
    Server::start(&bin, &dir)?.stop();
    let db = dir.join("trophy.db");
    let seeded = seed(&db, o)?;
    let entries = o.groups * o.per_group;
    println!(
        "seeded {entries} ranked users in {} groups in {:.1} s",
        o.groups,
        seeded.as_secs_f64()
    );

    let conn = rusqlite::Connection::open(&db).map_err(sql)?;
    let index = trophyd::leaderboards::RankIndex::default();
    let t = Instant::now();
    let loaded = index.rebuild(&conn).map_err(|e| e.to_string())?;
    println!(
        "rank index: {loaded} entries rebuilt in {:.2} s, {:.1} bytes per entry",
        t.elapsed().as_secs_f64(),
        index.bytes_per_entry()
    );
    drop(index);
    drop(conn);

    let t = Instant::now();
    let server = Server::start(&bin, &dir)?;
    println!(
        "server started (index rebuilt) in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let addr = server.1;
    let mut check = Conn::open(addr).map_err(|e| e.to_string())?;
    for kind in 0..3 {
        let mut rng = 0x9E37_79B9_7F4A_7C15;
        let p = path(kind, &mut rng, o);
        let status = check.get(&p).map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(format!("{p} answered {status}"));
        }
    }

    let (elapsed, mut all) = drive(addr, o, &[0, 1, 2])?;
    let (health_elapsed, health) = drive(addr, o, &[3])?;
    server.stop();
    let total: usize = all.iter().map(Vec::len).sum();
    println!(
        "{} clients, {:.1} s: {total} reads, {:.0} reads/s",
        o.clients,
        elapsed,
        total as f64 / elapsed
    );
    let mut merged: Vec<u32> = all.iter().take(3).flatten().copied().collect();
    merged.sort_unstable();
    for (k, lat) in all.iter_mut().enumerate().take(3) {
        lat.sort_unstable();
        println!(
            "  {:<7} {:>8} reads {:>7.0}/s  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
            KINDS[k],
            lat.len(),
            lat.len() as f64 / elapsed,
            percentile(lat, 0.5),
            percentile(lat, 0.99),
            percentile(lat, 1.0)
        );
    }
    println!(
        "  all     p50 {:.2} ms  p99 {:.2} ms",
        percentile(&merged, 0.5),
        percentile(&merged, 0.99)
    );
    let mut base = health[3].clone();
    base.sort_unstable();
    let base_rate = base.len() as f64 / health_elapsed;
    println!(
        "baseline GET /health: {base_rate:.0}/s  p50 {:.2} ms  p99 {:.2} ms; rank reads reach {:.0}% of it",
        percentile(&base, 0.5),
        percentile(&base, 0.99),
        100.0 * total as f64 / elapsed / base_rate
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// C closed-loop clients cycling through `kinds` for S seconds: seconds taken and the
/// latencies (µs) per kind.
fn drive(addr: SocketAddr, o: &Options, kinds: &[usize]) -> Result<(f64, [Vec<u32>; 4]), String> {
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..o.clients)
        .map(|c| {
            let stop = stop.clone();
            let o = Options { bin: None, ..*o };
            let kinds = kinds.to_vec();
            std::thread::spawn(move || -> Result<[Vec<u32>; 4], String> {
                let mut conn = Conn::open(addr).map_err(|e| e.to_string())?;
                let mut lat: [Vec<u32>; 4] = Default::default();
                let mut rng = 0x2545_F491_4F6C_DD1D ^ ((c as u64 + 1) << 32);
                let mut n = c;
                while !stop.load(Ordering::Relaxed) {
                    let kind = kinds[n % kinds.len()];
                    n += 1;
                    let p = path(kind, &mut rng, &o);
                    let t = Instant::now();
                    let status = conn.get(&p).map_err(|e| e.to_string())?;
                    if status != 200 {
                        return Err(format!("{p} answered {status}"));
                    }
                    lat[kind].push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                }
                Ok(lat)
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(o.seconds));
    stop.store(true, Ordering::Relaxed);
    let mut all: [Vec<u32>; 4] = Default::default();
    for h in handles {
        let lat = h.join().map_err(|_| "a client panicked")??;
        for (k, l) in lat.iter().enumerate() {
            all[k].extend_from_slice(l);
        }
    }
    Ok((started.elapsed().as_secs_f64(), all))
}
