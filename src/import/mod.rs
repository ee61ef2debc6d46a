//! `trophyd import events|users FILE` (README "Importing history"): history replayed through
//! the engine, with no HTTP in between.
//!
//! Events are read and checked first (nothing is applied if the file cannot be read),
//! sorted by time, then applied in runs of up to [`RUN`] per transaction, each at its own
//! time on a clock that moves from event to event. Between runs the scheduler does the
//! timed work that fell due (streak settlement, leaderboard runs, boosts), as the live
//! server would have between those events. Webhooks are not queued: what happened in the
//! past is not news. The server must be stopped while an import runs: it keeps state in
//! memory that the import does not update.
//!
//! Resuming: a meta row named after the file's SHA-256 counts the events dealt with, in
//! the same transaction as each run, so the same file imported again skips them. Events
//! without an idempotency key get one derived from their content, so a line applied once
//! is not applied again even from an edited file.

pub mod format;

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ring::digest::{Context, SHA256};
use rusqlite::{Connection, OptionalExtension};

use crate::catalog::Catalog;
use crate::clock::Clock;
use crate::commands::import_history::{ImportEvents, ImportUsers, ImportedEvent};
use crate::commands::persist_clock::{present, PersistClock};
use crate::commands::record_event::RecordEvent;
use crate::commands::upsert_user::{Missing, UpsertUser};
use crate::config::{AttributeType, Durability};
use crate::domain::attributes::{check_keys, check_values};
use crate::domain::ids::TenantId;
use crate::domain::limits::MAX_IDEMPOTENCY_KEY_BYTES;
use crate::engine::{BoxError, Engine};
use crate::error::ApiError;
use crate::settings::RuntimeSettings;
use crate::store::tenants::{self, DEFAULT_TENANT};
use crate::writer::costs::Feature;
use format::{EventLine, Format, Kind};

/// Events per writer command (one transaction). Longer runs write each page they dirty
/// once for more events: at 10k users and 1M events a run of 20,000 dirtied most pages of
/// every per-user index, so the import slowed as they grew (8,270 events/s); runs of
/// 100,000 imported the same file at 11,700-12,500 events/s, and 200,000 gained nothing
/// more. The prepared events of two runs are held in memory.
const RUN: usize = 100_000;

pub struct Options {
    pub file: PathBuf,
    /// Overrides the format the file's extension implies.
    pub format: Option<Format>,
    /// The tenant's id (`Tenant-ID`), required when the server is multi-tenant.
    pub tenant: Option<String>,
    /// Draw the progress bar (on standard error, when it is a terminal).
    pub progress: bool,
}

#[derive(Debug, Default)]
pub struct Report {
    /// Records in the file.
    pub records: u64,
    pub applied: usize,
    /// Already in the database (a replayed idempotency key).
    pub replayed: usize,
    /// Dealt with by an earlier, interrupted import of the same file.
    pub resumed_after: u64,
    /// Line number and reason, in line order.
    pub refused: Vec<(u64, String)>,
    pub elapsed: Duration,
    /// Writer commands (transactions) the records were applied in.
    pub transactions: u64,
    /// The writer thread's seconds by feature (`writer::costs`), timed work included.
    pub writer_seconds: Vec<(&'static str, f64)>,
}

impl Report {
    /// The report of a file of `records`, of which reading already refused `refused`.
    fn new(records: u64, refused: Vec<(u64, String)>) -> Report {
        Report {
            records,
            refused,
            ..Report::default()
        }
    }

    /// The report once the import is over: the refusals in line order and the time taken.
    fn finished(mut self, started: Instant) -> Report {
        self.refused.sort_by_key(|(line, _)| *line);
        self.elapsed = started.elapsed();
        self
    }

    /// The writer's cost per applied record, by feature: where an import's time goes.
    pub fn writer_cost(&self) -> String {
        let per = |seconds: f64| seconds * 1e6 / (self.applied.max(1) as f64);
        let total: f64 = self.writer_seconds.iter().map(|(_, s)| per(*s)).sum();
        let parts: Vec<String> = self
            .writer_seconds
            .iter()
            .map(|(name, s)| format!("{name} {:.0}", per(*s)))
            .collect();
        format!("{total:.0} µs/record = {}", parts.join(" + "))
    }
}

fn writer_seconds(engine: &Engine) -> Vec<(&'static str, f64)> {
    let features = &engine.writer.stats().features;
    Feature::ALL
        .iter()
        .map(|f| (f.name(), features.seconds(*f)))
        .collect()
}

/// Runs an import of events on its own runtime.
pub fn events(settings: RuntimeSettings, options: Options) -> Result<Report, BoxError> {
    actix_web::rt::System::new().block_on(import_events(settings, options))
}

/// Runs an import of users on its own runtime.
pub fn users(settings: RuntimeSettings, options: Options) -> Result<Report, BoxError> {
    actix_web::rt::System::new().block_on(import_users(settings, options))
}

/// The settings an import runs with: the server's, without webhook endpoints, and
/// without an fsync per commit. An import's progress row commits with its events, so a
/// power cut that loses the last runs loses them whole and a second import resumes
/// before them; `sync_database` makes the finished import durable in one go.
fn import_settings(mut settings: RuntimeSettings) -> Arc<RuntimeSettings> {
    settings.config.webhooks.clear();
    // History is not news: nobody is emailed about an achievement from last year. Timed
    // messages start with each user's next live event.
    settings.config.emails = Default::default();
    settings.config.push = Default::default();
    settings.config.server.durability = Durability::Normal;
    settings.test_clock = true;
    Arc::new(settings)
}

/// Flushes the database and its WAL to the disk, once the writer has stopped.
fn sync_database(data: &Path) -> Result<(), BoxError> {
    let mut wal = data.as_os_str().to_owned();
    wal.push("-wal");
    for path in [data.to_path_buf(), PathBuf::from(wal)] {
        match std::fs::File::open(&path) {
            Ok(file) => file
                .sync_all()
                .map_err(|e| format!("could not sync {}: {e}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("could not open {}: {e}", path.display()).into()),
        }
    }
    Ok(())
}

struct ReadFile<T> {
    records: u64,
    items: Vec<(u64, T)>,
    refused: Vec<(u64, String)>,
    sha256: String,
}

/// Reads every record, hashing the bytes as they go by.
fn read_file<T>(
    options: &Options,
    kind: Kind,
    parse: impl Fn(serde_json::Value) -> Result<T, String>,
) -> Result<ReadFile<T>, BoxError> {
    let file = std::fs::File::open(&options.file)
        .map_err(|e| format!("could not open {}: {e}", options.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = bar(
        options.progress,
        size,
        "reading  {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
    );
    let mut hashing = Hashing {
        inner: bar.wrap_read(file),
        digest: Context::new(&SHA256),
    };
    let format = options
        .format
        .unwrap_or_else(|| Format::for_path(&options.file));
    let mut out = ReadFile {
        records: 0,
        items: Vec::new(),
        refused: Vec::new(),
        sha256: String::new(),
    };
    format::read_objects(&mut hashing, format, kind, |line, object| {
        out.records += 1;
        match object.and_then(&parse) {
            Ok(item) => out.items.push((line, item)),
            Err(reason) => out.refused.push((line, reason)),
        }
    })?;
    bar.finish_and_clear();
    out.sha256 = hex::encode(hashing.digest.finish().as_ref());
    Ok(out)
}

struct Hashing<R> {
    inner: R,
    digest: Context,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }
}

fn bar(show: bool, len: u64, template: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// The tenant row the import writes to.
fn tenant(
    conn: &Connection,
    settings: &RuntimeSettings,
    id: Option<&str>,
) -> Result<TenantId, BoxError> {
    match (settings.config.server.multi_tenant, id) {
        (false, None) => Ok(DEFAULT_TENANT),
        (false, Some(_)) => {
            Err("--tenant is only for a multi-tenant server ([server] multi_tenant = true)".into())
        }
        (true, None) => Err("this server is multi-tenant: name the tenant with --tenant ID".into()),
        (true, Some(id)) => match tenants::by_customer_id(conn, id)? {
            Some(t) if t.status == "active" => Ok(t.id),
            _ => Err(format!("no active tenant {id:?} in this database").into()),
        },
    }
}

/// An idempotency key for an event that has none, from what the event is (and how many
/// identical events came before it in the file), so an event is recognised again
/// wherever it sits in a later file.
fn derived_keys(events: &mut [(u64, EventLine)]) {
    let mut seen: HashMap<[u8; 32], u32> = HashMap::with_capacity(events.len());
    for (_, event) in events.iter_mut() {
        if event.idempotency_key.is_some() {
            continue;
        }
        let mut digest = Context::new(&SHA256);
        for part in [event.user.id().as_bytes(), event.metric.as_bytes()] {
            digest.update(&(part.len() as u64).to_le_bytes());
            digest.update(part);
        }
        digest.update(&event.value.to_bits().to_le_bytes());
        digest.update(&event.at.timestamp_millis().to_le_bytes());
        for (k, v) in &event.attributes {
            for part in [k.as_bytes(), v.as_bytes()] {
                digest.update(&(part.len() as u64).to_le_bytes());
                digest.update(part);
            }
        }
        let mut base = [0u8; 32];
        base.copy_from_slice(digest.finish().as_ref());
        let occurrence = seen.entry(base).or_insert(0);
        *occurrence += 1;
        let mut keyed = Context::new(&SHA256);
        keyed.update(&base);
        keyed.update(&occurrence.to_le_bytes());
        event.idempotency_key = Some(format!(
            "import-{}",
            &hex::encode(keyed.finish().as_ref())[..32]
        ));
    }
}

/// The command for one event, or why the line is refused: the checks of
/// `POST /metrics/{key}/event`.
fn record_event(
    catalog: &Catalog,
    tenant: TenantId,
    event: EventLine,
) -> Result<RecordEvent, ApiError> {
    let metric = catalog
        .metric(tenant, &event.metric)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("Metric not found: {:?}", event.metric)))?;
    check_keys(catalog, tenant, AttributeType::Event, &event.attributes)?;
    check_values("attributes", &event.attributes)?;
    if let Some(key) = &event.idempotency_key {
        if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_BYTES {
            return Err(ApiError::unprocessable(format!(
                "idempotencyKey must be 1 to {MAX_IDEMPOTENCY_KEY_BYTES} bytes"
            )));
        }
    }
    Ok(RecordEvent {
        tenant,
        metric,
        user: event.user.validate(catalog, tenant)?,
        value: event.value,
        attributes: event.attributes,
        idempotency_key: event.idempotency_key,
    })
}

async fn import_events(settings: RuntimeSettings, options: Options) -> Result<Report, BoxError> {
    let started = Instant::now();
    let read = read_file(&options, Kind::Events, format::event)?;
    let mut report = Report::new(read.records, read.refused);
    let mut events = read.items;
    derived_keys(&mut events);
    // Records are a few hundred bytes: sorting keys and moving each record once is a
    // fraction of what a comparison sort moving the records spent (a quarter of reading).
    events.sort_by_cached_key(|(line, e)| (e.at, *line));

    let settings = import_settings(settings);
    let first = events.first().map(|(_, e)| e.at);
    let mut before = None;
    let opened = Engine::open(settings.clone(), |conn| {
        before = present(conn)?;
        let start = before.max(first).unwrap_or_else(Utc::now);
        Ok(Clock::test(start))
    })?;
    let tenant = tenant(opened.conn(), &settings, options.tenant.as_deref())?;
    crate::db::widen_cache_for_import(opened.conn())?;
    crate::db::drop_for_import(opened.conn())?;
    let progress_key = format!("import:{}", read.sha256);
    let done: u64 = opened
        .conn()
        .query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [&progress_key],
            |r| r.get::<_, String>(0),
        )
        .optional()?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let engine = opened.start().await?;
    engine.backdater.run().await?;

    let skip = usize::try_from(done)
        .unwrap_or(usize::MAX)
        .min(events.len());
    report.resumed_after = skip as u64;
    let bar = bar(
        options.progress,
        events.len() as u64,
        "applying {bar:30} {pos}/{len} events {per_sec} ETA {eta}",
    );
    bar.set_position(skip as u64);
    let mut pending = events
        .into_iter()
        .enumerate()
        .skip(skip)
        .map(|(position, (line, event))| (position as u64, line, event));
    let mut ready: VecDeque<ImportedEvent> = VecDeque::new();
    let mut check_ahead = |ready: &mut VecDeque<ImportedEvent>, refused: &mut Vec<_>| {
        prepare(&engine, tenant, &mut pending, ready, refused)
    };
    let result = async {
        check_ahead(&mut ready, &mut report.refused);
        while !ready.is_empty() {
            let take = ready.len().min(RUN);
            let run: Vec<ImportedEvent> = ready.drain(..take).collect();
            let last = run.last().map(|e| e.at);
            let command = ImportEvents {
                events: run,
                jobs: engine.scheduler.lend().await,
                present: before,
                progress: progress_key.clone(),
            };
            // While the writer applies this run, check the next one.
            let (outcome, ()) = tokio::join!(engine.writer.execute(command), async {
                check_ahead(&mut ready, &mut report.refused);
            });
            let outcome = outcome?;
            if let Some(jobs) = outcome.jobs {
                engine.scheduler.resume(jobs).await;
            }
            // The clock ends at the last event, where a test-clock server resumes.
            if let Some(last) = last.filter(|last| *last > engine.clock.now()) {
                engine
                    .clock
                    .set(last)
                    .map_err(|_| "the import clock went backwards")?;
            }
            report.transactions += 1;
            report.applied += outcome.applied;
            report.replayed += outcome.replayed;
            report.refused.extend(outcome.refused);
            bar.inc(take as u64);
        }
        engine
            .writer
            .execute(PersistClock(engine.clock.now()))
            .await?;
        Ok::<(), BoxError>(())
    }
    .await;
    bar.finish_and_clear();
    report.writer_seconds = writer_seconds(&engine);
    engine.stop().await?;
    build_deferred_indexes(&settings)?;
    sync_database(&settings.data)?;
    result?;
    Ok(report.finished(started))
}

/// Builds the read routes' indexes the runs were applied without (`db::drop_for_import`),
/// once the writer has stopped. Also after a failed run: whatever was committed is read
/// through them.
fn build_deferred_indexes(settings: &RuntimeSettings) -> Result<(), BoxError> {
    let conn = crate::db::open_writer(&settings.data, settings.config.server.durability)?;
    if settings.config.server.checkpoints == crate::config::Checkpoints::External {
        crate::db::no_checkpoint_on_close(&conn)?;
    }
    crate::db::widen_cache_for_import(&conn)?;
    crate::db::restore_deferred_indexes(&conn)?;
    Ok(())
}

/// Checks events against the catalog until `ready` holds two runs.
fn prepare(
    engine: &Engine,
    tenant: TenantId,
    pending: &mut impl Iterator<Item = (u64, u64, EventLine)>,
    ready: &mut VecDeque<ImportedEvent>,
    refused: &mut Vec<(u64, String)>,
) {
    let catalog = engine.catalog.current();
    while ready.len() < 2 * RUN {
        let Some((position, line, event)) = pending.next() else {
            return;
        };
        let at = event.at;
        match record_event(&catalog, tenant, event) {
            Ok(event) => ready.push_back(ImportedEvent {
                line,
                position,
                at,
                event,
            }),
            Err(e) => refused.push((line, e.to_string())),
        }
    }
}

async fn import_users(settings: RuntimeSettings, options: Options) -> Result<Report, BoxError> {
    let started = Instant::now();
    let read = read_file(&options, Kind::Users, format::user)?;
    let mut report = Report::new(read.records, read.refused);
    let settings = import_settings(settings);
    let opened = Engine::open(settings.clone(), |conn| {
        Ok(Clock::test(present(conn)?.unwrap_or_else(Utc::now)))
    })?;
    let tenant = tenant(opened.conn(), &settings, options.tenant.as_deref())?;
    let engine = opened.start().await?;
    let bar = bar(
        options.progress,
        read.items.len() as u64,
        "applying {bar:30} {pos}/{len} users {per_sec} ETA {eta}",
    );
    let result = async {
        let mut items = read.items.into_iter().peekable();
        while items.peek().is_some() {
            let catalog = engine.catalog.current();
            let mut run = Vec::with_capacity(RUN);
            for (line, user) in items.by_ref().take(RUN) {
                match user.validate(&catalog, tenant) {
                    Ok(upsert) => run.push((
                        line,
                        UpsertUser {
                            tenant,
                            upsert,
                            missing: Missing::Create,
                        },
                    )),
                    Err(e) => report.refused.push((line, e.to_string())),
                }
            }
            let count = run.len() as u64;
            let (applied, refused) = engine.writer.execute(ImportUsers(run)).await?;
            report.transactions += 1;
            report.applied += applied;
            report.refused.extend(refused);
            bar.inc(count);
        }
        Ok::<(), BoxError>(())
    }
    .await;
    bar.finish_and_clear();
    report.writer_seconds = writer_seconds(&engine);
    engine.stop().await?;
    sync_database(&settings.data)?;
    result?;
    Ok(report.finished(started))
}
