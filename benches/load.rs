//! Load benchmark: starts the real `trophyd` binary on a temporary database holding N
//! pre-populated users and measures `POST /v1/metrics/{key}/event` over keep-alive HTTP/1.1.
//!
//! Phase 1 (throughput): C closed-loop clients send events as fast as the server answers.
//! Phase 2 (latency): an open-loop run at a fixed rate; latency is measured from each
//! request's *scheduled* send time, so a slow server cannot hide its queueing delay
//! (no coordinated omission).
//!
//! The users are bulk-inserted straight into the SQLite file (server stopped), so the
//! per-event cost can be compared between 10k and 1M users without creating 1M users over
//! HTTP. At the end the server is stopped and the database is checked: every 201 must be
//! a stored event and no new user may have appeared.
//!
//! Plain std threads and raw TCP: no HTTP client or async runtime in the measured path.

#[path = "ceiling/mod.rs"]
mod ceiling;
#[path = "receiver/mod.rs"]
mod receiver;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const USAGE: &str = "\
usage: cargo bench --bench load -- [options]
  --users N             users pre-populated in the database (default 10000)
  --clients C           concurrent keep-alive connections (default 64)
  --seconds S           length of each measured phase (default 10)
  --warmup S            unmeasured warm-up before phase 1 (default 2)
  --settle S            idle pause between the phases, so work the server does once idle
                        (such as a WAL checkpoint after phase 1) is not charged to phase 2
                        (default 2; 0 = back to back)
  --rate R              events/s of the paced phase 2; 0 skips it (default 1000)
  --durability D        full | normal (default full)
  --dir PATH            parent of the temporary data dir (default the system temp dir)
  --bin PATH            trophyd binary (default $TROPHYD_BIN, else target/release/trophyd)
  --build               run `cargo build --release --bin trophyd` even if the binary exists
  --keep                keep the data dir (database, config, server log) afterwards
  --history             before the server starts, give every user one event of the benchmark
                        metric at the present, through `trophyd import events` (the same
                        engine), so the measured events find the streak, totals, points and
                        wrapped rows a returning user has; without it, at 1M users nearly
                        every measured event is a user's first (the `mix:` line says how many)
  --append-config FILE  append FILE to the generated trophy.toml (e.g. benches/configs/*.toml
                        for streaks or 50 achievements on the benchmark metric `lessons`);
                        may be given more than once, appended in order
  --litestream PATH     run `litestream replicate` (binary PATH, e.g. tests/sdk/.venv/bin/litestream)
                        beside trophyd with deploy/litestream.yml's settings and a file replica in
                        the data dir, and trophyd with checkpoints = \"external\"; at the end the
                        replica is restored and must hold every stored event
Unknown arguments (such as cargo's --bench) are ignored.";

const API_KEY: &str = "bench-key";
const ADMIN_KEY: &str = "bench-admin";
const METRIC: &str = "lessons";
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Written in an appended config where a webhook endpoint's URL goes: the bench serves it.
const WEBHOOK_PLACEHOLDER: &str = "BENCH_WEBHOOK_URL";

// ---------------------------------------------------------------------------------------
// Options

#[derive(Debug, Clone)]
struct Options {
    users: u64,
    clients: usize,
    seconds: f64,
    warmup: f64,
    settle: f64,
    rate: f64,
    durability: String,
    dir: Option<PathBuf>,
    bin: Option<PathBuf>,
    build: bool,
    keep: bool,
    history: bool,
    append_config: Vec<PathBuf>,
    litestream: Option<PathBuf>,
}

impl Options {
    fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut o = Options {
            users: 10_000,
            clients: 64,
            seconds: 10.0,
            warmup: 2.0,
            settle: 2.0,
            rate: 1000.0,
            durability: "full".to_owned(),
            dir: None,
            bin: None,
            build: false,
            keep: false,
            history: false,
            append_config: Vec::new(),
            litestream: None,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
                _ => (arg.clone(), None),
            };
            let takes_value = matches!(
                flag.as_str(),
                "--users"
                    | "--clients"
                    | "--seconds"
                    | "--warmup"
                    | "--settle"
                    | "--rate"
                    | "--durability"
                    | "--dir"
                    | "--append-config"
                    | "--bin"
                    | "--litestream"
            );
            let value = if takes_value {
                match inline {
                    Some(v) => v,
                    None => args
                        .next()
                        .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?,
                }
            } else {
                String::new()
            };
            let bad = |what: &str| format!("{flag}: {what}, found {value:?}\n{USAGE}");
            match flag.as_str() {
                "--users" => {
                    o.users = value.parse().map_err(|_| bad("expected an integer"))?;
                }
                "--clients" => {
                    o.clients = value.parse().map_err(|_| bad("expected an integer"))?;
                }
                "--seconds" => {
                    o.seconds = parse_secs(&value).ok_or_else(|| bad("expected seconds"))?
                }
                "--warmup" => {
                    o.warmup = parse_secs(&value).ok_or_else(|| bad("expected seconds"))?
                }
                "--settle" => {
                    o.settle = parse_secs(&value).ok_or_else(|| bad("expected seconds"))?
                }
                "--rate" => o.rate = parse_secs(&value).ok_or_else(|| bad("expected a rate"))?,
                "--durability" => {
                    if value != "full" && value != "normal" {
                        return Err(bad("expected full or normal"));
                    }
                    o.durability = value;
                }
                "--dir" => o.dir = Some(PathBuf::from(value)),
                "--append-config" => o.append_config.push(PathBuf::from(value)),
                "--bin" => o.bin = Some(PathBuf::from(value)),
                "--litestream" => o.litestream = Some(PathBuf::from(value)),
                "--build" => o.build = true,
                "--keep" => o.keep = true,
                "--history" => o.history = true,
                "--help" | "-h" => return Err(USAGE.to_owned()),
                _ => {} // --bench and anything else cargo or the user passes along
            }
        }
        if o.users == 0 {
            return Err(format!("--users must be at least 1\n{USAGE}"));
        }
        if o.clients == 0 {
            return Err(format!("--clients must be at least 1\n{USAGE}"));
        }
        if o.seconds <= 0.0 {
            return Err(format!("--seconds must be positive\n{USAGE}"));
        }
        Ok(o)
    }
}

/// A non-negative finite number.
fn parse_secs(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)
}

// ---------------------------------------------------------------------------------------
// Entry point

fn main() -> ExitCode {
    let opts = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::FAILURE;
        }
    };
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("load bench failed: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(opts: &Options) -> Result<(), String> {
    let bin = locate_binary(opts)?;
    let parent = opts.dir.clone().unwrap_or_else(std::env::temp_dir);
    let dir = TempDir::new(&parent, opts.keep)?;
    let cfg = dir.path.join("trophy.toml");
    let db = dir.path.join("trophy.db");
    let log = dir.path.join("trophyd.log");
    let checkpoints = if opts.litestream.is_some() {
        "external"
    } else {
        "self"
    };
    let mut text = config_text(&opts.durability, checkpoints);
    let mut hooks_url = None;
    for extra in &opts.append_config {
        let appended = std::fs::read_to_string(extra)
            .map_err(|e| format!("reading {}: {e}", extra.display()))?;
        text.push('\n');
        if appended.contains(WEBHOOK_PLACEHOLDER) {
            if hooks_url.is_none() {
                hooks_url = Some(receiver::start()?.0);
            }
            let url = hooks_url.as_deref().unwrap_or_default();
            text.push_str(&appended.replace(WEBHOOK_PLACEHOLDER, url));
        } else {
            text.push_str(&appended);
        }
    }
    std::fs::write(&cfg, text).map_err(|e| format!("writing {}: {e}", cfg.display()))?;

    let machine = Machine::detect(&dir.path);
    println!("== trophyd load bench");
    println!(
        "machine: nproc={} cpu=\"{}\" loadavg {}; data dir {} on {}",
        machine.nproc,
        machine.cpu,
        machine.loadavg,
        dir.path.display(),
        machine.fs
    );
    println!(
        "options: users={} clients={} seconds={} warmup={} settle={} rate={} durability={}",
        opts.users,
        opts.clients,
        opts.seconds,
        opts.warmup,
        opts.settle,
        opts.rate,
        opts.durability
    );
    println!("binary:  {}", bin.display());
    if let Some(litestream) = &opts.litestream {
        println!(
            "replication: litestream {} ({}), deploy/litestream.yml's settings, file replica; \
             checkpoints = \"external\"",
            Litestream::version(litestream)?,
            litestream.display()
        );
    } else {
        println!("replication: none; checkpoints = \"self\"");
    }

    // 0. The raw-SQLite reference on the same disk, before the server starts.
    let reference = ceiling::run(&dir.path, opts.users, opts.seconds)?;
    println!(
        "ceiling: raw SQLite, same users, {} events/commit, synchronous=FULL: {:.0} events/s",
        ceiling::EVENTS_PER_COMMIT,
        reference.rate()
    );

    // 1. Create the schema, then stop and bulk-load users straight into the file.
    let started = Instant::now();
    let server = Server::start(&bin, &cfg, &db, &log)?;
    server.stop()?;
    let schema_time = started.elapsed();
    let loaded = populate(&db, opts.users)?;
    println!(
        "setup:   schema {:.1} s, bulk insert of {} users {:.1} s ({} on disk)",
        schema_time.as_secs_f64(),
        opts.users,
        loaded.as_secs_f64(),
        human_bytes(file_size(&db))
    );

    let history = if opts.history {
        let (events, took) = import_history(&bin, &cfg, &db, &dir.path, opts.users)?;
        println!(
            "history: one event per user imported through `trophyd import events`: {events} \
             events in {:.1} s ({:.0} events/s)",
            took.as_secs_f64(),
            events as f64 / took.as_secs_f64().max(1e-9)
        );
        events
    } else {
        0
    };

    // 2. Litestream, if asked, then the server on the populated file; check it sees the users.
    let litestream = match &opts.litestream {
        Some(path) => {
            let started = Instant::now();
            let litestream = Litestream::start(path, &dir.path, &db)?;
            println!(
                "litestream: pid {}, first snapshot in the replica after {:.1} s",
                litestream.pid,
                started.elapsed().as_secs_f64()
            );
            Some(litestream)
        }
        None => None,
    };
    let wal = WalWatch::start(&db);
    let started = Instant::now();
    let server = Server::start(&bin, &cfg, &db, &log)?;
    println!(
        "server:  pid {} listening on {} (start {:.2} s)",
        server.pid,
        server.addr,
        started.elapsed().as_secs_f64()
    );
    let last_user = format!("user-{}", opts.users - 1);
    let (status, body) = http_get(
        server.addr,
        &format!("/v1/users/{last_user}"),
        &[("X-API-KEY", API_KEY)],
    )?;
    if status != 200 {
        return Err(format!(
            "GET /v1/users/{last_user} answered {status} (expected 200): {}",
            String::from_utf8_lossy(&body)
        ));
    }

    // 3. The two load phases, with /metrics and CPU snapshots around each.
    let m0 = WriterCounters::fetch(server.addr)?;
    wal.take();
    let load = run_closed_loop(&server, opts);
    let wal_load = wal.take();
    let m1 = WriterCounters::fetch(server.addr)?;
    load.print("throughput", opts.seconds);
    print_wal(wal_load);
    println!("  writer:  {}", m1.since(&m0));
    println!("  by feature: {}", m1.since(&m0).per_feature());
    println!(
        "  ratio:   {:.2}x the raw-SQLite ceiling of this run",
        load.rate(opts.seconds) / reference.rate().max(1e-9)
    );
    println!("  cpu:     {}", load.cpu);
    println!("  cost:    {}", load.cpu.per_event(load.created()));

    let mut wal_paced = (0, 0);
    let paced = if opts.rate > 0.0 {
        std::thread::sleep(Duration::from_secs_f64(opts.settle));
        wal.take();
        let paced = run_paced(&server, opts);
        wal_paced = wal.take();
        let m2 = WriterCounters::fetch(server.addr)?;
        paced.print(&format!("paced {}/s", opts.rate), opts.seconds);
        print_wal(wal_paced);
        println!("  writer:  {}", m2.since(&m1));
        println!("  by feature: {}", m2.since(&m1).per_feature());
        println!("  cpu:     {}", paced.cpu);
        println!("  cost:    {}", paced.cpu.per_event(paced.created()));
        Some((paced, m2))
    } else {
        None
    };
    let m_end = paced.as_ref().map_or(&m1, |(_, m)| m).clone();

    // 4. Stop and check what was stored against what was acknowledged.
    let pid = server.pid;
    match peak_rss_mib(pid) {
        Some(mib) => println!("memory:  trophyd peak RSS {mib:.0} MiB (VmHWM, whole run)"),
        None => println!("memory:  trophyd peak RSS unknown (no /proc/{pid}/status)"),
    }
    server.stop()?;
    drop(wal);
    let replica = match litestream {
        Some(litestream) => Some(litestream.stop_and_restore(&dir.path)?),
        None => None,
    };
    let acknowledged = load.total_created + paced.as_ref().map_or(0, |(p, _)| p.total_created);
    let (users_after, stored) = count_rows(&db)?;
    let events = stored.saturating_sub(history);
    let first_events = count_first_events(&db, history as i64)?;
    // Every 201 must be stored. More stored than acknowledged is possible only when a
    // response was lost to a network error after the commit.
    let integrity = if users_after != opts.users || events < acknowledged {
        "MISMATCH"
    } else if events > acknowledged {
        "ok (some responses lost after commit)"
    } else {
        "ok"
    };
    println!(
        "check:   {integrity}: {acknowledged} events acknowledged with 201, {events} stored; \
         {users_after} users (expected {}); server pid {pid} stopped, log {}",
        opts.users,
        human_bytes(file_size(&log))
    );
    // A user's first event starts their streak, totals and rows; later ones update them.
    // With many users and a short run most events are first events, so say how many.
    println!(
        "mix:     {:.1}% of the measured events were a user's first ({first_events} of {events})",
        100.0 * first_events as f64 / events.max(1) as f64
    );
    let replica_ok = match replica {
        Some(restored) => {
            let (_, restored_events) = count_rows(&restored)?;
            println!(
                "replica: {}: restored after Litestream stopped, {restored_events} events \
                 (the database {events})",
                if restored_events == events {
                    "ok"
                } else {
                    "MISMATCH"
                }
            );
            restored_events == events
        }
        None => true,
    };

    // 5. One-line summary.
    let mut line = format!(
        "users={} clients={} durability={}: {:.0} events/s, p50 {}, p99 {}",
        opts.users,
        opts.clients,
        opts.durability,
        load.rate(opts.seconds),
        ms(load.latency.pct(0.50)),
        ms(load.latency.pct(0.99)),
    );
    if let Some((p, _)) = &paced {
        let _ = write!(
            line,
            "; paced {}/s: p50 {} p99 {} (achieved {:.0}/s)",
            opts.rate,
            ms(p.latency.pct(0.50)),
            ms(p.latency.pct(0.99)),
            p.rate(opts.seconds)
        );
    }
    let _ = write!(line, "; wal in use max {}", human_bytes(wal_load.1));
    if paced.is_some() {
        let _ = write!(line, " (paced {})", human_bytes(wal_paced.1));
    }
    let _ = write!(line, "; avg batch {}", m1.since(&m0).avg_batch());
    if paced.is_some() {
        let _ = write!(line, " (paced {})", m_end.since(&m1).avg_batch());
    }
    let errors = load.errors + paced.as_ref().map_or(0, |(p, _)| p.errors);
    let non_201: u64 = load.non_created() + paced.as_ref().map_or(0, |(p, _)| p.non_created());
    if errors + non_201 > 0 {
        let _ = write!(line, "; {errors} network errors, {non_201} non-201");
    }
    println!("summary: {line}");
    if integrity == "MISMATCH" {
        return Err("stored data does not match acknowledged events".to_owned());
    }
    if !replica_ok {
        return Err("the Litestream replica does not hold every stored event".to_owned());
    }
    Ok(())
}

fn print_wal((largest, in_use): (u64, u64)) {
    println!(
        "  wal:     at most {} of frames in use, the -wal file at most {}",
        human_bytes(in_use),
        human_bytes(largest)
    );
}

fn config_text(durability: &str, checkpoints: &str) -> String {
    format!(
        "[server]\ndurability = \"{durability}\"\ncheckpoints = \"{checkpoints}\"\n\n\
         [auth]\napi_keys = [\"{API_KEY}\"]\nadmin_keys = [\"{ADMIN_KEY}\"]\n\n\
         [[metrics]]\nkey = \"{METRIC}\"\nname = \"Lessons\"\n"
    )
}

// ---------------------------------------------------------------------------------------
// The binary, the data dir and the server process

fn locate_binary(opts: &Options) -> Result<PathBuf, String> {
    if let Some(bin) = opts
        .bin
        .clone()
        .or_else(|| std::env::var_os("TROPHYD_BIN").map(PathBuf::from))
    {
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!("{} does not exist", bin.display()))
        };
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let target = if target.is_relative() {
        root.join(target)
    } else {
        target
    };
    let bin = target.join("release").join("trophyd");
    if opts.build || !bin.is_file() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        println!("building: cargo build --release --bin trophyd");
        let status = Command::new(cargo)
            .args(["build", "--release", "--bin", "trophyd"])
            .current_dir(root)
            .status()
            .map_err(|e| format!("running cargo: {e}"))?;
        if !status.success() || !bin.is_file() {
            return Err(format!("cargo build --release failed ({status})"));
        }
    }
    Ok(bin)
}

/// A directory removed on drop unless `keep`.
struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    fn new(parent: &Path, keep: bool) -> Result<TempDir, String> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = parent.join(format!("trophyd-bench-{}-{nanos:x}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| format!("creating {}: {e}", path.display()))?;
        Ok(TempDir { path, keep })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.keep {
            println!("kept:    {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A running `trophyd`. Dropping it terminates it (SIGTERM, then SIGKILL).
struct Server {
    child: Option<Child>,
    pid: u32,
    addr: SocketAddr,
}

impl Server {
    fn start(bin: &Path, cfg: &Path, db: &Path, log: &Path) -> Result<Server, String> {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("opening {}: {e}", log.display()))?;
        let mut child = Command::new(bin)
            .arg("--config")
            .arg(cfg)
            .args(["--listen", "127.0.0.1:0", "--data"])
            .arg(db)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let pid = child.id();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut first = String::new();
        let read = stdout.read_line(&mut first);
        let mut server = Server {
            child: Some(child),
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let addr = match read {
            Ok(_) => first
                .trim()
                .strip_prefix("trophyd listening on http://")
                .and_then(|a| a.parse::<SocketAddr>().ok()),
            Err(_) => None,
        };
        let Some(addr) = addr else {
            drop(server);
            return Err(format!(
                "trophyd did not announce its address (first line {:?}); end of its log:\n{}",
                first.trim(),
                tail(log, 20)
            ));
        };
        // Keep draining stdout so a later println! in the server never hits a closed pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = stdout.read_to_end(&mut sink);
        });
        server.addr = addr;
        // The address is printed before the server installs its SIGTERM handler; a
        // SIGTERM sent before then kills it outright. Once /health answers, it is in place.
        let ready_by = Instant::now() + Duration::from_secs(30);
        loop {
            match http_get(addr, "/health", &[]) {
                Ok((200, _)) => break,
                _ if Instant::now() < ready_by => std::thread::sleep(Duration::from_millis(20)),
                other => {
                    return Err(format!(
                        "trophyd at {addr} never answered GET /health with 200 (last: {:?})",
                        other.map(|(status, _)| status)
                    ))
                }
            }
        }
        Ok(server)
    }

    /// SIGTERM and wait for a clean exit (the last group commit and WAL checkpoint).
    fn stop(mut self) -> Result<(), String> {
        match self.terminate(Duration::from_secs(120)) {
            Some(status) if status.success() => Ok(()),
            Some(status) => Err(format!("trophyd exited with {status} after SIGTERM")),
            None => Err("trophyd did not exit within 120 s of SIGTERM; killed".to_owned()),
        }
    }

    /// Returns the exit status after SIGTERM, or None if it had to be killed.
    fn terminate(&mut self, grace: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break,
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate(Duration::from_secs(10));
    }
}

/// `litestream replicate` (--litestream) on the bench's database: deploy/litestream.yml
/// with its paths replaced, so the settings measured are the documented ones. Dropping it
/// terminates it.
struct Litestream {
    bin: PathBuf,
    config: PathBuf,
    child: Option<Child>,
    pid: u32,
}

impl Litestream {
    fn version(bin: &Path) -> Result<String, String> {
        let out = Command::new(bin)
            .arg("version")
            .output()
            .map_err(|e| format!("running {} version: {e}", bin.display()))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    fn start(bin: &Path, dir: &Path, db: &Path) -> Result<Litestream, String> {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/litestream.yml");
        let mut text = std::fs::read_to_string(&example)
            .map_err(|e| format!("reading {}: {e}", example.display()))?;
        let replica = dir.join("replica");
        for (old, new) in [
            ("/var/lib/trophyd/trophy.db", db),
            ("/var/backups/trophyd", replica.as_path()),
        ] {
            let old = format!("path: {old}");
            if !text.contains(&old) {
                return Err(format!("{} has no `{old}`", example.display()));
            }
            text = text.replace(&old, &format!("path: {}", new.display()));
        }
        let config = dir.join("litestream.yml");
        std::fs::write(&config, text).map_err(|e| format!("writing {}: {e}", config.display()))?;
        let log_path = dir.join("litestream.log");
        let log = std::fs::File::create(&log_path)
            .map_err(|e| format!("creating {}: {e}", log_path.display()))?;
        let log2 = log
            .try_clone()
            .map_err(|e| format!("litestream log: {e}"))?;
        let child = Command::new(bin)
            .arg("replicate")
            .arg("-config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let mut litestream = Litestream {
            bin: bin.to_owned(),
            config,
            pid: child.id(),
            child: Some(child),
        };
        // Its first snapshot of the populated file, before any load.
        let deadline = Instant::now() + Duration::from_secs(600);
        while !has_ltx(&replica.join("ltx")) {
            if let Some(Ok(Some(status))) = litestream.child.as_mut().map(Child::try_wait) {
                return Err(format!(
                    "litestream exited ({status}); end of its log:\n{}",
                    tail(&log_path, 20)
                ));
            }
            if Instant::now() > deadline {
                return Err("litestream wrote no snapshot within 600 s".to_owned());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(litestream)
    }

    /// SIGTERM (Litestream syncs what it has not yet replicated and exits), then
    /// `litestream restore` into `dir/restored.db`.
    fn stop_and_restore(mut self, dir: &Path) -> Result<PathBuf, String> {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let status = child
            .wait()
            .map_err(|e| format!("waiting for litestream: {e}"))?;
        if !status.success() {
            return Err(format!("litestream exited with {status} after SIGTERM"));
        }
        let restored = dir.join("restored.db");
        let out = Command::new(&self.bin)
            .arg("restore")
            .arg("-config")
            .arg(&self.config)
            .arg("-o")
            .arg(&restored)
            .arg(dir.join("trophy.db"))
            .output()
            .map_err(|e| format!("running litestream restore: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "litestream restore failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(restored)
    }
}

impl Drop for Litestream {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether any `<level>/*.ltx` file is under `dir`.
fn has_ltx(dir: &Path) -> bool {
    let Ok(levels) = std::fs::read_dir(dir) else {
        return false;
    };
    levels.flatten().any(|level| {
        std::fs::read_dir(level.path()).is_ok_and(|files| {
            files
                .flatten()
                .any(|f| f.path().extension().is_some_and(|e| e == "ltx"))
        })
    })
}

/// Samples the database's WAL every 10 ms on a thread of its own and keeps the largest
/// -wal file and the most bytes of frames in use seen. The file keeps its largest size when
/// SQLite starts the WAL over (only a TRUNCATE checkpoint shrinks it); the frames in use
/// (`mxFrame` of the wal-index header in the -shm file) drop back to zero then.
struct WalWatch {
    largest: std::sync::Arc<std::sync::atomic::AtomicU64>,
    in_use: std::sync::Arc<std::sync::atomic::AtomicU64>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl WalWatch {
    fn start(db: &Path) -> WalWatch {
        use std::sync::atomic::Ordering;
        let sibling = |suffix: &str| {
            let mut path = db.as_os_str().to_owned();
            path.push(suffix);
            PathBuf::from(path)
        };
        let (wal, shm) = (sibling("-wal"), sibling("-shm"));
        let largest = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let in_use = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (l, u, s) = (largest.clone(), in_use.clone(), stop.clone());
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                l.fetch_max(file_size(&wal), Ordering::Relaxed);
                u.fetch_max(wal_bytes_in_use(&shm), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        WalWatch {
            largest,
            in_use,
            stop,
            handle: Some(handle),
        }
    }

    /// (largest -wal file, most bytes in use) seen since the last call.
    fn take(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering;
        (
            self.largest.swap(0, Ordering::Relaxed),
            self.in_use.swap(0, Ordering::Relaxed),
        )
    }
}

/// Bytes of WAL frames in use, from the wal-index header at the start of the -shm file
/// (native byte order): `szPage` (u16 at 14, 1 meaning 65536) and `mxFrame` (u32 at 16).
fn wal_bytes_in_use(shm: &Path) -> u64 {
    let mut header = [0u8; 20];
    let read = std::fs::File::open(shm).and_then(|mut f| f.read_exact(&mut header));
    if read.is_err() {
        return 0;
    }
    let page = match u16::from_ne_bytes([header[14], header[15]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    let frames = u32::from_ne_bytes([header[16], header[17], header[18], header[19]]);
    u64::from(frames) * (page + 24)
}

impl Drop for WalWatch {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn human_bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / f64::from(1 << 20))
    } else {
        format!("{:.1} KiB", n as f64 / 1024.0)
    }
}

// ---------------------------------------------------------------------------------------
/// The server's peak resident memory so far, from the kernel's high-water mark.
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

// Direct database access (server stopped)

fn sql_err(e: rusqlite::Error) -> String {
    format!("sqlite: {e}")
}

/// Inserts users `user-0 .. user-{n-1}` of the default tenant in one transaction.
fn populate(db: &Path, n: u64) -> Result<Duration, String> {
    let started = Instant::now();
    let mut conn = rusqlite::Connection::open(db).map_err(sql_err)?;
    // Bulk load of a throwaway database: no fsync at all.
    conn.pragma_update(None, "synchronous", "OFF")
        .map_err(sql_err)?;
    // The external-id index fills in string order, not insertion order: keep it cached.
    conn.pragma_update(None, "cache_size", -262_144)
        .map_err(sql_err)?;
    let existing: i64 = conn
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .map_err(sql_err)?;
    if existing != 0 {
        return Err(format!("the new database already holds {existing} users"));
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let tx = conn.transaction().map_err(sql_err)?;
    {
        let mut stmt = tx
            .prepare(
                "INSERT INTO users (tenant_id, external_id, email, name, tz, device_tokens,
                     subscribe_to_emails, attributes, control, preferences, created, updated)
                 VALUES (1, ?1, NULL, NULL, NULL, NULL, 1, '{}', 0, '{}', ?2, ?2)",
            )
            .map_err(sql_err)?;
        let mut id = String::new();
        for i in 0..n {
            id.clear();
            let _ = write!(id, "user-{i}");
            stmt.execute(rusqlite::params![id, now_ms])
                .map_err(sql_err)?;
        }
    }
    tx.commit().map_err(sql_err)?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .map_err(sql_err)?;
    drop(conn);
    Ok(started.elapsed())
}

/// (users, events) in the database.
fn count_rows(db: &Path) -> Result<(u64, u64), String> {
    let conn = rusqlite::Connection::open(db).map_err(sql_err)?;
    let count = |table: &str| -> Result<u64, String> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
            r.get::<_, i64>(0)
        })
        .map(|n| n as u64)
        .map_err(sql_err)
    };
    Ok((count("users")?, count("events")?))
}

/// Events after row `boundary` that were their user's first (none before it or among the
/// earlier ones after it): one per user who had no event at `boundary`.
fn count_first_events(db: &Path, boundary: i64) -> Result<u64, String> {
    let conn = rusqlite::Connection::open(db).map_err(sql_err)?;
    conn.query_row(
        "SELECT count(DISTINCT user_id) FROM events
          WHERE id > ?1 AND user_id NOT IN (SELECT user_id FROM events WHERE id <= ?1)",
        [boundary],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
    .map_err(sql_err)
}

/// The highest event row id (0 for none).
fn last_event_row(db: &Path) -> Result<i64, String> {
    let conn = rusqlite::Connection::open(db).map_err(sql_err)?;
    conn.query_row("SELECT ifnull(max(id), 0) FROM events", [], |r| r.get(0))
        .map_err(sql_err)
}

/// Writes one event per user at the present and imports it with `trophyd import events`.
/// Returns the events imported and the import's wall time.
fn import_history(
    bin: &Path,
    cfg: &Path,
    db: &Path,
    dir: &Path,
    users: u64,
) -> Result<(u64, Duration), String> {
    let file = dir.join("history.jsonl");
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut out = io::BufWriter::new(
        std::fs::File::create(&file).map_err(|e| format!("creating {}: {e}", file.display()))?,
    );
    for i in 0..users {
        writeln!(
            out,
            r#"{{"user":"user-{i}","metric":"{METRIC}","value":1,"timestamp":"{at}"}}"#
        )
        .map_err(|e| format!("writing {}: {e}", file.display()))?;
    }
    out.flush()
        .map_err(|e| format!("writing {}: {e}", file.display()))?;
    drop(out);
    let started = Instant::now();
    let output = Command::new(bin)
        .args(["import", "events"])
        .arg(&file)
        .arg("--config")
        .arg(cfg)
        .arg("--data")
        .arg(db)
        .arg("--quiet")
        .output()
        .map_err(|e| format!("running {} import events: {e}", bin.display()))?;
    let took = started.elapsed();
    if !output.status.success() {
        return Err(format!(
            "trophyd import events failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let imported = last_event_row(db)?;
    if imported as u64 != users {
        return Err(format!(
            "the history import stored {imported} events for {users} users"
        ));
    }
    Ok((users, took))
}

// ---------------------------------------------------------------------------------------
// A minimal keep-alive HTTP/1.1 client

struct Conn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    /// Bytes read but not yet consumed.
    buf: Vec<u8>,
    /// Body of the last response.
    body: Vec<u8>,
    reconnects: u64,
}

/// What reading a response learned.
struct Response {
    status: u16,
    keep_alive: bool,
}

impl Conn {
    fn new(addr: SocketAddr) -> Conn {
        Conn {
            addr,
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
            body: Vec::with_capacity(4 * 1024),
            reconnects: 0,
        }
    }

    fn connect(&mut self) -> io::Result<()> {
        if self.stream.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT)?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(IO_TIMEOUT))?;
            stream.set_write_timeout(Some(IO_TIMEOUT))?;
            self.stream = Some(stream);
            self.buf.clear();
        }
        Ok(())
    }

    /// Sends `request` and reads the whole response; returns its status. Any error drops
    /// the connection (the next call reconnects). A reused connection that the server had
    /// already closed (closed with nothing at all sent back) is retried once on a fresh one.
    fn exchange(&mut self, request: &[u8]) -> io::Result<u16> {
        let reused = self.stream.is_some();
        match self.try_exchange(request) {
            Ok(status) => Ok(status),
            Err((e, got_bytes)) => {
                self.stream = None;
                // Only a connection the server closed: after a timeout the event may
                // still be applied, and sending it again would count it twice.
                let closed = matches!(
                    e.kind(),
                    io::ErrorKind::UnexpectedEof
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::BrokenPipe
                );
                if reused && !got_bytes && closed {
                    self.reconnects += 1;
                    self.try_exchange(request).map_err(|(e, _)| {
                        self.stream = None;
                        e
                    })
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Err carries whether any response byte arrived.
    fn try_exchange(&mut self, request: &[u8]) -> Result<u16, (io::Error, bool)> {
        self.connect().map_err(|e| (e, false))?;
        let stream = self.stream.as_mut().expect("connected");
        stream.write_all(request).map_err(|e| (e, false))?;
        self.buf.clear();
        let response = read_response(stream, &mut self.buf, &mut self.body)?;
        if !response.keep_alive {
            self.stream = None;
        }
        Ok(response.status)
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Reads more bytes into `buf`; EOF is an error.
fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<(), (io::Error, bool)> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => {
                return Err((
                    io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"),
                    !buf.is_empty(),
                ))
            }
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                return Ok(());
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err((e, !buf.is_empty())),
        }
    }
}

fn invalid(message: &str) -> (io::Error, bool) {
    (
        io::Error::new(io::ErrorKind::InvalidData, message.to_owned()),
        true,
    )
}

/// Reads one response: status line, headers, then a Content-Length, chunked or
/// read-to-close body into `body`.
fn read_response(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    body: &mut Vec<u8>,
) -> Result<Response, (io::Error, bool)> {
    body.clear();
    let head_end = loop {
        if let Some(p) = find(buf, b"\r\n\r\n", 0) {
            break p;
        }
        fill(stream, buf)?;
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| invalid("non-UTF-8 head"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.split(' ');
    let version = parts.next().unwrap_or("");
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid("bad status line"))?;
    let mut keep_alive = version == "HTTP/1.1";
    let mut content_length: Option<usize> = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(value.parse().map_err(|_| invalid("bad content-length"))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            let v = value.to_ascii_lowercase();
            if v.contains("close") {
                keep_alive = false;
            } else if v.contains("keep-alive") {
                keep_alive = true;
            }
        }
    }
    let mut pos = head_end + 4;
    if chunked {
        loop {
            let line_end = loop {
                if let Some(p) = find(buf, b"\r\n", pos) {
                    break p;
                }
                fill(stream, buf)?;
            };
            let size_text =
                std::str::from_utf8(&buf[pos..line_end]).map_err(|_| invalid("bad chunk size"))?;
            let size_text = size_text.split(';').next().unwrap_or("").trim();
            let size =
                usize::from_str_radix(size_text, 16).map_err(|_| invalid("bad chunk size"))?;
            pos = line_end + 2;
            if size == 0 {
                // Trailers, up to an empty line.
                loop {
                    let end = loop {
                        if let Some(p) = find(buf, b"\r\n", pos) {
                            break p;
                        }
                        fill(stream, buf)?;
                    };
                    let empty = end == pos;
                    pos = end + 2;
                    if empty {
                        break;
                    }
                }
                break;
            }
            while buf.len() < pos + size + 2 {
                fill(stream, buf)?;
            }
            body.extend_from_slice(&buf[pos..pos + size]);
            pos += size + 2;
        }
    } else if let Some(len) = content_length {
        while buf.len() < pos + len {
            fill(stream, buf)?;
        }
        body.extend_from_slice(&buf[pos..pos + len]);
        pos += len;
    } else if !(status < 200 || status == 204 || status == 304) {
        // No framing: the body runs to the end of the connection.
        loop {
            match fill(stream, buf) {
                Ok(()) => {}
                Err((e, _)) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e),
            }
        }
        body.extend_from_slice(&buf[pos..]);
        pos = buf.len();
        keep_alive = false;
    }
    buf.drain(..pos);
    Ok(Response { status, keep_alive })
}

fn http_get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(u16, Vec<u8>), String> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        let _ = write!(request, "{name}: {value}\r\n");
    }
    request.push_str("Connection: close\r\n\r\n");
    let mut conn = Conn::new(addr);
    let status = conn
        .exchange(request.as_bytes())
        .map_err(|e| format!("GET {path}: {e}"))?;
    Ok((status, std::mem::take(&mut conn.body)))
}

fn event_request(out: &mut Vec<u8>, addr: SocketAddr, user: u64) {
    out.clear();
    let body_len = r#"{"user":{"id":"user-"},"value":1}"#.len() + decimal_len(user);
    let _ = write!(
        out,
        "POST /v1/metrics/{METRIC}/event HTTP/1.1\r\nHost: {addr}\r\nX-API-KEY: {API_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {body_len}\r\n\r\n\
         {{\"user\":{{\"id\":\"user-{user}\"}},\"value\":1}}"
    );
}

fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

/// xorshift64*, seeded through splitmix64 so neighbouring seeds diverge at once.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-enough in [0, n) for a benchmark (n is far below 2^64).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
}

fn seed(i: usize) -> u64 {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    t ^ ((i as u64) << 32)
}

// ---------------------------------------------------------------------------------------
// Results

#[derive(Default)]
struct Latencies(Vec<u32>); // microseconds

impl Latencies {
    fn push(&mut self, d: Duration) {
        self.0.push(d.as_micros().min(u128::from(u32::MAX)) as u32);
    }

    /// Nearest-rank percentile; `self` must be sorted.
    fn pct(&self, p: f64) -> Option<u32> {
        if self.0.is_empty() {
            return None;
        }
        let rank = (p * self.0.len() as f64).ceil() as usize;
        Some(self.0[rank.clamp(1, self.0.len()) - 1])
    }
}

fn ms(us: Option<u32>) -> String {
    match us {
        Some(us) => format!("{:.1} ms", f64::from(us) / 1000.0),
        None => "n/a".to_owned(),
    }
}

/// What one client thread saw.
#[derive(Default)]
struct ClientResult {
    latency: Latencies,
    /// Responses in the measured window, by status.
    statuses: BTreeMap<u16, u64>,
    errors: u64,
    first_error: Option<String>,
    reconnects: u64,
    /// Every 201, measured or not (to check against the database).
    total_created: u64,
    /// Paced phase only: sends that were scheduled but never made.
    skipped: u64,
    /// Paced phase only: when the last response arrived.
    last_done: Option<Instant>,
    /// Worst latency (us) in each second of the measured window.
    worst_by_second: Vec<u32>,
}

impl ClientResult {
    /// Records a measured response; `at` is its offset into the measured window.
    fn record(&mut self, status: u16, latency: Duration, at: Duration) {
        *self.statuses.entry(status).or_default() += 1;
        self.latency.push(latency);
        let second = at.as_secs() as usize;
        if self.worst_by_second.len() <= second {
            self.worst_by_second.resize(second + 1, 0);
        }
        let us = *self.latency.0.last().expect("just pushed");
        self.worst_by_second[second] = self.worst_by_second[second].max(us);
    }

    fn error(&mut self, e: &io::Error) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e.to_string());
        }
    }
}

struct PhaseResult {
    latency: Latencies,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
    first_error: Option<String>,
    reconnects: u64,
    total_created: u64,
    skipped: u64,
    worst_by_second: Vec<u32>,
    /// Wall time from the start of the measured window to the last response in it.
    elapsed: Duration,
    cpu: CpuSplit,
}

impl PhaseResult {
    fn merge(results: Vec<ClientResult>, elapsed: Duration, cpu: CpuSplit) -> PhaseResult {
        let mut out = PhaseResult {
            latency: Latencies::default(),
            statuses: BTreeMap::new(),
            errors: 0,
            first_error: None,
            reconnects: 0,
            total_created: 0,
            skipped: 0,
            worst_by_second: Vec::new(),
            elapsed,
            cpu,
        };
        for r in results {
            out.latency.0.extend_from_slice(&r.latency.0);
            for (status, n) in r.statuses {
                *out.statuses.entry(status).or_default() += n;
            }
            out.errors += r.errors;
            out.first_error = out.first_error.or(r.first_error);
            out.reconnects += r.reconnects;
            out.total_created += r.total_created;
            out.skipped += r.skipped;
            if out.worst_by_second.len() < r.worst_by_second.len() {
                out.worst_by_second.resize(r.worst_by_second.len(), 0);
            }
            for (o, w) in out.worst_by_second.iter_mut().zip(&r.worst_by_second) {
                *o = (*o).max(*w);
            }
        }
        out.latency.0.sort_unstable();
        out
    }

    fn created(&self) -> u64 {
        self.statuses.get(&201).copied().unwrap_or(0)
    }

    fn non_created(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| **s != 201)
            .map(|(_, n)| n)
            .sum()
    }

    /// 201s per second of the measured window (or of the time it really took, if longer).
    fn rate(&self, seconds: f64) -> f64 {
        self.created() as f64 / seconds.max(self.elapsed.as_secs_f64())
    }

    fn print(&self, name: &str, seconds: f64) {
        println!(
            "{name}: {:.0} events/s ({} x 201 in {:.1} s); latency p50 {} p90 {} p99 {} max {}",
            self.rate(seconds),
            self.created(),
            seconds.max(self.elapsed.as_secs_f64()),
            ms(self.latency.pct(0.50)),
            ms(self.latency.pct(0.90)),
            ms(self.latency.pct(0.99)),
            ms(self.latency.0.last().copied()),
        );
        // Spikes confined to a few seconds (a checkpoint, a disk stall) look different
        // from a uniformly slow server.
        let mut seconds_by_worst: Vec<(usize, u32)> =
            self.worst_by_second.iter().copied().enumerate().collect();
        seconds_by_worst.sort_by_key(|(_, w)| std::cmp::Reverse(*w));
        let worst: Vec<String> = seconds_by_worst
            .iter()
            .take(3)
            .map(|(t, w)| format!("{t}-{} s {}", t + 1, ms(Some(*w))))
            .collect();
        if !worst.is_empty() {
            println!("  worst seconds (max latency): {}", worst.join(", "));
        }
        let others: Vec<String> = self
            .statuses
            .iter()
            .filter(|(s, _)| **s != 201)
            .map(|(s, n)| format!("{n} x {s}"))
            .collect();
        if !others.is_empty() || self.errors > 0 || self.skipped > 0 || self.reconnects > 0 {
            println!(
                "  problems: other statuses [{}], {} network errors{}, {} reconnects, {} sends skipped",
                others.join(", "),
                self.errors,
                self.first_error
                    .as_ref()
                    .map_or(String::new(), |e| format!(" (first: {e})")),
                self.reconnects,
                self.skipped
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Phase 1: closed loop, as fast as the server answers

fn run_closed_loop(server: &Server, opts: &Options) -> PhaseResult {
    let addr = server.addr;
    let start = Instant::now() + Duration::from_millis(200);
    let measure_from = start + Duration::from_secs_f64(opts.warmup);
    let measure_to = measure_from + Duration::from_secs_f64(opts.seconds);
    let users = opts.users;
    let handles: Vec<_> = (0..opts.clients)
        .map(|i| {
            std::thread::spawn(move || {
                let mut rng = Rng::new(seed(i));
                let mut conn = Conn::new(addr);
                let mut out = ClientResult::default();
                let mut request = Vec::with_capacity(512);
                if let Err(e) = conn.connect() {
                    out.error(&e);
                }
                sleep_until(start);
                loop {
                    let sent = Instant::now();
                    if sent >= measure_to {
                        break;
                    }
                    event_request(&mut request, addr, rng.below(users));
                    let result = conn.exchange(&request);
                    let done = Instant::now();
                    let measured = done >= measure_from && done <= measure_to;
                    match result {
                        Ok(status) => {
                            if status == 201 {
                                out.total_created += 1;
                            }
                            if measured {
                                out.record(status, done - sent, done - measure_from);
                            }
                        }
                        Err(e) => {
                            if measured {
                                out.error(&e);
                            }
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                }
                out.reconnects = conn.reconnects;
                out
            })
        })
        .collect();
    sleep_until(measure_from);
    let cpu0 = CpuSample::take(server.pid);
    sleep_until(measure_to);
    let cpu1 = CpuSample::take(server.pid);
    let results = join_all(handles);
    PhaseResult::merge(
        results,
        Duration::from_secs_f64(opts.seconds),
        cpu1.since(&cpu0),
    )
}

// ---------------------------------------------------------------------------------------
// Phase 2: open loop at a fixed rate

fn run_paced(server: &Server, opts: &Options) -> PhaseResult {
    let addr = server.addr;
    let clients = opts.clients.min((opts.rate.ceil() as usize).max(1));
    // Client i sends at offsets i/rate + k*clients/rate: together, one send every 1/rate.
    let interval = clients as f64 / opts.rate;
    let seconds = opts.seconds;
    let start = Instant::now() + Duration::from_millis(200);
    let end = start + Duration::from_secs_f64(seconds);
    // A server that falls far behind gets no more sends after this.
    let give_up = end + Duration::from_secs_f64(seconds.max(5.0));
    let users = opts.users;
    let rate = opts.rate;
    let handles: Vec<_> = (0..clients)
        .map(|i| {
            std::thread::spawn(move || {
                let mut rng = Rng::new(seed(i + 1_000_000));
                let mut conn = Conn::new(addr);
                let mut out = ClientResult::default();
                let mut request = Vec::with_capacity(512);
                if let Err(e) = conn.connect() {
                    out.error(&e);
                }
                for k in 0u64.. {
                    let offset = i as f64 / rate + k as f64 * interval;
                    if offset >= seconds {
                        break;
                    }
                    let scheduled = start + Duration::from_secs_f64(offset);
                    if Instant::now() > give_up {
                        out.skipped += 1;
                        continue;
                    }
                    sleep_until(scheduled);
                    event_request(&mut request, addr, rng.below(users));
                    let result = conn.exchange(&request);
                    let done = Instant::now();
                    out.last_done = out.last_done.max(Some(done));
                    match result {
                        Ok(status) => {
                            if status == 201 {
                                out.total_created += 1;
                            }
                            out.record(
                                status,
                                done.saturating_duration_since(scheduled),
                                scheduled - start,
                            );
                        }
                        Err(e) => out.error(&e),
                    }
                }
                out.reconnects = conn.reconnects;
                out
            })
        })
        .collect();
    sleep_until(start);
    let cpu0 = CpuSample::take(server.pid);
    let results = join_all(handles);
    let cpu1 = CpuSample::take(server.pid);
    let last = results
        .iter()
        .filter_map(|r| r.last_done)
        .max()
        .unwrap_or(end);
    PhaseResult::merge(
        results,
        last.saturating_duration_since(start),
        cpu1.since(&cpu0),
    )
}

fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        std::thread::sleep(t - now);
    }
}

fn join_all<T: Default>(handles: Vec<std::thread::JoinHandle<T>>) -> Vec<T> {
    handles
        .into_iter()
        .map(|h| h.join().unwrap_or_default())
        .collect()
}

// ---------------------------------------------------------------------------------------
// Server-side writer statistics from GET /metrics

#[derive(Clone, Default)]
struct WriterCounters {
    batches: f64,
    commands: f64,
    failed: f64,
    pages: f64,
    /// The sync thread's WAL syncs, which replies wait for, and their time.
    syncs: f64,
    sync_seconds: f64,
    /// trophyd_writer_batch_size_bucket by `le`, cumulative.
    buckets: Vec<(String, f64)>,
    /// trophyd_writer_feature_seconds_total by feature, in the order the server lists them.
    features: Vec<(String, f64)>,
}

impl WriterCounters {
    fn fetch(addr: SocketAddr) -> Result<WriterCounters, String> {
        let (status, body) = http_get(addr, "/metrics", &[("X-API-KEY", ADMIN_KEY)])?;
        if status != 200 {
            return Err(format!("GET /metrics answered {status}"));
        }
        let text = String::from_utf8_lossy(&body);
        let mut c = WriterCounters::default();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let Some((name, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let Ok(value) = value.trim().parse::<f64>() else {
                continue;
            };
            match name.trim() {
                "trophyd_writer_batches_total" => c.batches = value,
                "trophyd_writer_commands_total" => c.commands = value,
                "trophyd_writer_failed_commits_total" => c.failed = value,
                "trophyd_writer_pages_written_total" => c.pages = value,
                "trophyd_writer_syncs_total" => c.syncs = value,
                "trophyd_writer_sync_seconds_total" => c.sync_seconds = value,
                other => {
                    if let Some(le) = other
                        .strip_prefix("trophyd_writer_batch_size_bucket{le=\"")
                        .and_then(|r| r.strip_suffix("\"}"))
                    {
                        c.buckets.push((le.to_owned(), value));
                    } else if let Some(feature) = other
                        .strip_prefix("trophyd_writer_feature_seconds_total{feature=\"")
                        .and_then(|r| r.strip_suffix("\"}"))
                    {
                        c.features.push((feature.to_owned(), value));
                    }
                }
            }
        }
        Ok(c)
    }

    fn since(&self, before: &WriterCounters) -> WriterCounters {
        let minus = |now: &[(String, f64)], then: &[(String, f64)]| -> Vec<(String, f64)> {
            now.iter()
                .map(|(label, v)| {
                    let b = then
                        .iter()
                        .find(|(l, _)| l == label)
                        .map_or(0.0, |(_, v)| *v);
                    (label.clone(), v - b)
                })
                .collect()
        };
        WriterCounters {
            batches: self.batches - before.batches,
            commands: self.commands - before.commands,
            failed: self.failed - before.failed,
            pages: self.pages - before.pages,
            syncs: self.syncs - before.syncs,
            sync_seconds: self.sync_seconds - before.sync_seconds,
            buckets: minus(&self.buckets, &before.buckets),
            features: minus(&self.features, &before.features),
        }
    }

    /// The writer's µs per command by feature, and in all (over a `since` difference).
    fn per_feature(&self) -> String {
        if self.commands <= 0.0 || self.features.is_empty() {
            return "n/a".to_owned();
        }
        let per = |seconds: f64| seconds * 1e6 / self.commands;
        let total: f64 = self.features.iter().map(|(_, s)| s).sum();
        let parts: Vec<String> = self
            .features
            .iter()
            .filter(|(_, s)| *s > 0.0)
            .map(|(name, s)| format!("{name} {:.0}", per(*s)))
            .collect();
        let sync = if self.syncs > 0.0 {
            format!(
                "; beside it, {:.0} WAL syncs of {:.1} ms, {:.1} batches each",
                self.syncs,
                self.sync_seconds * 1e3 / self.syncs,
                self.batches / self.syncs
            )
        } else {
            String::new()
        };
        format!(
            "{:.0} µs/event = {}; {:.1} pages written/event{sync}",
            per(total),
            parts.join(" + "),
            self.pages / self.commands
        )
    }

    fn avg_batch(&self) -> String {
        if self.batches > 0.0 {
            format!("{:.1}", self.commands / self.batches)
        } else {
            "n/a".to_owned()
        }
    }
}

impl std::fmt::Display for WriterCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} commands in {} batches (avg batch {}), {} failed commits",
            self.commands,
            self.batches,
            self.avg_batch(),
            self.failed
        )?;
        if !self.buckets.is_empty() {
            // Cumulative buckets -> per-bucket counts.
            let mut previous = 0.0;
            let parts: Vec<String> = self
                .buckets
                .iter()
                .map(|(le, v)| {
                    let n = v - previous;
                    previous = *v;
                    format!("<={le}: {n}")
                })
                .collect();
            write!(f, "; batch sizes {}", parts.join(", "))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Machine description and CPU accounting from /proc

struct Machine {
    loadavg: String,
    nproc: usize,
    cpu: String,
    fs: String,
}

impl Machine {
    fn detect(dir: &Path) -> Machine {
        let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let loadavg = std::fs::read_to_string("/proc/loadavg")
            .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        Machine {
            loadavg,
            nproc,
            cpu,
            fs: filesystem_of(dir),
        }
    }
}

/// "ext4 /dev/vda" for the mount holding `dir` (longest matching mount point).
fn filesystem_of(dir: &Path) -> String {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (dev, point, fs) = (f.next()?, f.next()?, f.next()?);
            dir.starts_with(point)
                .then(|| (point.len(), format!("{fs} {dev}")))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "unknown fs".to_owned(), |(_, s)| s)
}

/// CPU ticks (user + system) of the server's threads and of this process.
struct CpuSample {
    at: Instant,
    /// tid -> (thread name, ticks)
    server: HashMap<String, (String, u64)>,
    /// Nanoseconds the writer thread has spent runnable but waiting for a CPU
    /// (`/proc/<pid>/task/<tid>/schedstat`, second field).
    writer_waited_ns: Option<u64>,
    bench: u64,
    /// The whole machine: (busy, iowait) ticks summed over all CPUs.
    machine: (u64, u64),
}

/// The run-queue wait of a thread, from its schedstat: on-CPU ns, waiting ns, slices.
fn read_run_queue_wait(task: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(task.join("schedstat")).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}

/// (busy, iowait) ticks of all CPUs from the first line of /proc/stat.
fn machine_ticks() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .take(8) // user nice system idle iowait irq softirq steal
        .filter_map(|f| f.parse().ok())
        .collect();
    if fields.len() < 5 {
        return (0, 0);
    }
    let total: u64 = fields.iter().sum();
    (total - fields[3] - fields[4], fields[4])
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// (comm, utime + stime) from a /proc stat file.
fn read_stat(path: &Path) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_owned();
    let fields: Vec<&str> = text[close + 1..].split_whitespace().collect();
    // Fields after the comm start at "state" (field 3); utime is 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

impl CpuSample {
    fn take(pid: u32) -> CpuSample {
        let mut server = HashMap::new();
        let mut writer_waited_ns = None;
        if let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for entry in entries.flatten() {
                if let Some(stat) = read_stat(&entry.path().join("stat")) {
                    if stat.0 == "trophyd-writer" {
                        writer_waited_ns = read_run_queue_wait(&entry.path());
                    }
                    server.insert(entry.file_name().to_string_lossy().into_owned(), stat);
                }
            }
        }
        let bench = read_stat(Path::new("/proc/self/stat")).map_or(0, |(_, t)| t);
        CpuSample {
            at: Instant::now(),
            server,
            writer_waited_ns,
            bench,
            machine: machine_ticks(),
        }
    }

    fn since(&self, before: &CpuSample) -> CpuSplit {
        let mut by_name: BTreeMap<String, (u64, usize)> = BTreeMap::new();
        for (tid, (comm, ticks)) in &self.server {
            let earlier = before.server.get(tid).map_or(0, |(_, t)| *t);
            let entry = by_name.entry(comm.clone()).or_default();
            entry.0 += ticks.saturating_sub(earlier);
            entry.1 += 1;
        }
        CpuSplit {
            wall: self.at.saturating_duration_since(before.at).as_secs_f64(),
            ticks_per_second: clock_ticks_per_second(),
            server_threads: by_name,
            writer_waited: self
                .writer_waited_ns
                .zip(before.writer_waited_ns)
                .map(|(now, then)| now.saturating_sub(then) as f64 / 1e9),
            bench: self.bench.saturating_sub(before.bench),
            machine_busy: self.machine.0.saturating_sub(before.machine.0),
            machine_iowait: self.machine.1.saturating_sub(before.machine.1),
        }
    }
}

/// CPU used during a phase, in cores (1.0 = one core busy the whole time).
struct CpuSplit {
    wall: f64,
    ticks_per_second: f64,
    /// Thread name -> (ticks, threads of that name).
    server_threads: BTreeMap<String, (u64, usize)>,
    /// Seconds the writer was runnable but had no CPU: on two cores it shares them with
    /// the HTTP workers, the checkpointer, the sync thread and this bench.
    writer_waited: Option<f64>,
    bench: u64,
    machine_busy: u64,
    machine_iowait: u64,
}

impl CpuSplit {
    /// Server CPU time per event, the figure to compare between user counts: unlike
    /// throughput it hardly depends on disk latency or the number of clients.
    fn per_event(&self, events: u64) -> String {
        if events == 0 {
            return "n/a".to_owned();
        }
        let micros = |ticks: u64| ticks as f64 / self.ticks_per_second * 1e6 / events as f64;
        let total: u64 = self.server_threads.values().map(|(t, _)| t).sum();
        let writer: u64 = self
            .server_threads
            .iter()
            .filter(|(name, _)| name.contains("writer"))
            .map(|(_, (t, _))| t)
            .sum();
        format!(
            "trophyd CPU {:.0} us/event, of which the writer thread {:.0} us/event",
            micros(total),
            micros(writer)
        )
    }
}

impl std::fmt::Display for CpuSplit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.wall <= 0.0 {
            return write!(f, "n/a");
        }
        let cores = |ticks: u64| ticks as f64 / self.ticks_per_second / self.wall;
        let total: u64 = self.server_threads.values().map(|(t, _)| t).sum();
        write!(f, "trophyd {:.2} cores (", cores(total))?;
        let mut threads: Vec<(&String, &(u64, usize))> = self.server_threads.iter().collect();
        threads.sort_by_key(|(_, (t, _))| std::cmp::Reverse(*t));
        let parts: Vec<String> = threads
            .iter()
            .filter(|(_, (t, _))| *t > 0)
            .map(|(name, (t, n))| {
                if *n > 1 {
                    format!("{n} x {name} {:.2}", cores(*t))
                } else {
                    format!("{name} {:.2}", cores(*t))
                }
            })
            .collect();
        write!(
            f,
            "{}), bench {:.2} cores; whole machine busy {:.2} cores (other processes {:.2}), iowait {:.2}",
            parts.join(", "),
            cores(self.bench),
            cores(self.machine_busy),
            cores(self.machine_busy.saturating_sub(total + self.bench)),
            cores(self.machine_iowait),
        )?;
        if let Some(waited) = self.writer_waited {
            write!(
                f,
                "; the writer waited for a CPU {:.0}% of the phase",
                waited / self.wall * 100.0
            )?;
        }
        Ok(())
    }
}
