//! `Application::build` opens the database, syncs definitions, starts the writer, the
//! scheduler and the HTTP server on the configured address (port 0 allowed), and returns
//! the bound address so tests can start the real server.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Condition, ErrorHandlers, Logger};
use actix_web::{web, App, HttpServer};
use chrono::{DateTime, Utc};

use crate::auth::{ensure_keys, Gate, KeyKind, RateLimiter, TenantDirectory, UserKeys};
use crate::clock::{from_millis, Clock};
use crate::commands::persist_clock::{record_present, RecordPresent, META_KEY as CLOCK_KEY};
use crate::db;
use crate::engine::Engine;
use crate::notifications::Notifier;
use crate::routes;
use crate::scheduler::Scheduler;
use crate::settings::RuntimeSettings;
use crate::state::AppState;
use crate::stop_signals::StopSignals;
use crate::store::tenants;
use crate::telemetry::Telemetry;
use crate::webhooks::Delivery;
use crate::writer::Writer;

pub use crate::engine::BoxError;

pub struct Application {
    address: SocketAddr,
    server: Server,
    writer: Writer,
    writer_thread: JoinHandle<()>,
    scheduler: Scheduler,
    delivery: Delivery,
    notifier: Notifier,
    clock: Clock,
    signals: StopSignals,
    /// Keys generated on this start, to show the operator once.
    pub generated_keys: Vec<(KeyKind, String)>,
}

impl Application {
    pub async fn build(settings: RuntimeSettings) -> Result<Application, BoxError> {
        let settings = Arc::new(settings);
        let test_clock = settings.test_clock;
        let opened = Engine::open(settings.clone(), |conn| start_clock(conn, test_clock))?;
        // Timed work will run up to now: history imported later must not precede it.
        record_present(opened.conn(), opened.clock().now())?;
        let now_ms = opened.clock().now().timestamp_millis();
        let (keys, generated_keys) = ensure_keys(opened.conn(), &settings.config.auth, now_ms)?;
        let directory = TenantDirectory::default();
        directory.replace(&tenants::active(opened.conn())?);
        let user_keys = UserKeys::load(opened.conn())?;
        let unsubscribe_secret = crate::notifications::secret::ensure(opened.conn())?;
        let engine = opened.start().await?;
        // Users who already qualify for achievements made active since the last start.
        engine.backdater.spawn();
        let readers = db::open_reader_pool(&settings.data, 8)?;
        let delivery = Delivery::new(
            engine.writer.clone(),
            readers.clone(),
            engine.clock.clone(),
            &settings.config.webhooks,
            engine.wake_delivery,
        )?;
        let notifier = Notifier::new(
            engine.writer.clone(),
            readers.clone(),
            engine.clock.clone(),
            settings.clone(),
            engine.catalog.clone(),
            unsubscribe_secret,
            engine.wake_notifications,
        )?;
        let limits = &settings.config.limits;
        let gate = web::Data::new(Gate {
            keys,
            tenants: directory,
            user_keys,
            rate_limiter: RateLimiter::new(limits.events_per_second, limits.reads_per_second),
            multi_tenant: settings.multi_tenant(),
        });
        let state = web::Data::new(AppState {
            settings: settings.clone(),
            writer: engine.writer.clone(),
            readers,
            catalog: engine.catalog,
            clock: engine.clock.clone(),
            gate: gate.clone(),
            telemetry: Arc::new(Telemetry::new(engine.writer.stats().clone())),
            scheduler: engine.scheduler.clone(),
            delivery: delivery.clone(),
            notifier: notifier.clone(),
            backdater: engine.backdater.clone(),
            leaderboards: engine.leaderboards,
        });

        let listener = TcpListener::bind(&settings.listen)?;
        let address = listener.local_addr()?;
        let test_clock = settings.test_clock;
        let body_limits = web::Data::new(routes::BodyLimits::new(Duration::from_millis(
            u64::from(limits.body_timeout_ms),
        )));
        let access_log =
            log::log_enabled!(target: "actix_web::middleware::logger", log::Level::Info);
        let server = HttpServer::new(move || {
            App::new()
                .wrap(ErrorHandlers::new().handler(
                    StatusCode::METHOD_NOT_ALLOWED,
                    crate::routes::method_not_allowed,
                ))
                .wrap(from_fn(crate::routes::guard))
                .wrap(from_fn(crate::routes::record_request))
                // The access log renders every request before `log` filters it, so it is
                // only installed when info lines are kept.
                .wrap(Condition::new(
                    access_log,
                    Logger::new("%a \"%r\" %s %b %Dms"),
                ))
                .app_data(state.clone())
                .app_data(gate.clone())
                .app_data(body_limits.clone())
                .app_data(routes::json_config())
                .app_data(routes::path_config())
                .app_data(routes::query_config())
                .configure(|cfg| routes::configure(cfg, test_clock))
                .default_service(web::to(routes::not_found))
        })
        .shutdown_timeout(30)
        .disable_signals()
        .listen(listener)?
        .run();
        let signals = StopSignals::install()?;

        Ok(Application {
            address,
            server,
            writer: engine.writer,
            writer_thread: engine.writer_thread,
            scheduler: engine.scheduler,
            delivery,
            notifier,
            clock: engine.clock,
            signals,
            generated_keys,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The writer, for tests and benchmarks that apply commands directly.
    pub fn writer(&self) -> Writer {
        self.writer.clone()
    }

    /// Stops the server from outside (tests): `run_until_stopped` then shuts down as
    /// it does on SIGTERM.
    pub fn server_handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/Ctrl-C (actix stops accepting and drains in-flight requests),
    /// then lets the writer commit what it has, checkpoint, and exit.
    pub async fn run_until_stopped(self) -> Result<(), BoxError> {
        let ticker = tokio::spawn(tick(self.scheduler.clone(), self.clock.clone()));
        let delivery = self.delivery.start();
        let notifier = self.notifier.start();
        let stopper = tokio::spawn(self.signals.stop_on_signal(self.server.handle()));
        let served = self.server.await;
        stopper.abort();
        ticker.abort();
        // A send cut off here stays pending and is sent at the next start.
        notifier.abort();
        delivery.shutdown(Duration::from_secs(5)).await;
        // What ran up to now (runs finished, streaks settled) is the present imported
        // history may not precede.
        if let Err(e) = self.writer.execute(RecordPresent(self.clock.now())).await {
            log::warn!("could not record the present at shutdown: {e}");
        }
        self.writer.stop();
        let joined = web::block(move || self.writer_thread.join()).await;
        served?;
        match joined {
            Ok(Ok(())) => Ok(()),
            _ => Err("the writer thread did not stop cleanly".into()),
        }
    }
}

/// Runs due jobs about once a second. Under the test clock time stands still, so this
/// only finds work the clock route has not already run.
async fn tick(scheduler: Scheduler, clock: Clock) {
    let mut last_error = Instant::now() - Duration::from_secs(60);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if let Err(e) = scheduler.run_due(clock.now()).await {
            if last_error.elapsed() > Duration::from_secs(30) {
                log::error!("scheduled job failed: {e}");
                last_error = Instant::now();
            }
        }
    }
}

/// The system clock, or a test clock starting at the later of now and the last test
/// time stored, so a restart never moves time backwards.
fn start_clock(conn: &rusqlite::Connection, test_clock: bool) -> Result<Clock, BoxError> {
    if !test_clock {
        return Ok(Clock::System);
    }
    let stored: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [CLOCK_KEY], |r| {
            r.get(0)
        })
        .ok();
    let stored: Option<DateTime<Utc>> = stored.and_then(|v| v.parse::<i64>().ok()).map(from_millis);
    let now = Utc::now();
    Ok(Clock::test(stored.map_or(now, |s| s.max(now))))
}
