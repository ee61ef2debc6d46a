//! The engine without HTTP: the database opened and migrated, definitions synced, the
//! writer thread, the scheduler and the backdater. `Application::build` serves it over
//! HTTP; `trophyd import` drives it directly, so imported history goes through exactly
//! the code live events do.
//!
//! Starting takes two steps so the caller can use the write connection before the writer
//! thread owns it (the server creates its keys there): [`Engine::open`], then
//! [`Opened::start`].

use std::sync::Arc;
use std::thread::JoinHandle;

use rusqlite::Connection;

use crate::achievements::backdate::Backdater;
use crate::catalog::{sync_definitions, Catalog, CatalogHandle};
use crate::clock::Clock;
use crate::db;
use crate::leaderboards::RankIndex;
use crate::scheduler::{DueHints, IdempotencyExpiry, Job, Scheduler};
use crate::settings::RuntimeSettings;
use crate::store::tenants;
use crate::webhooks;
use crate::writer::{Writer, WriterEnv};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The database, migrated and with definitions synced, before the writer starts.
pub struct Opened {
    conn: Connection,
    settings: Arc<RuntimeSettings>,
    clock: Clock,
    catalog: CatalogHandle,
}

/// The running engine.
pub struct Engine {
    pub settings: Arc<RuntimeSettings>,
    pub clock: Clock,
    pub writer: Writer,
    pub(crate) writer_thread: JoinHandle<()>,
    pub scheduler: Scheduler,
    pub backdater: Backdater,
    pub catalog: CatalogHandle,
    pub leaderboards: RankIndex,
    /// Woken after a commit that queued webhook deliveries.
    pub wake_delivery: Arc<tokio::sync::Notify>,
    /// Woken after a commit that queued notification messages.
    pub wake_notifications: Arc<tokio::sync::Notify>,
}

impl Engine {
    /// Opens and migrates the database, then picks the clock with `clock` (which may read
    /// the database: the test clock resumes where it was) and syncs the definitions.
    pub fn open(
        settings: Arc<RuntimeSettings>,
        clock: impl FnOnce(&Connection) -> Result<Clock, BoxError>,
    ) -> Result<Opened, BoxError> {
        if let Some(parent) = settings.data.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let mut conn = db::open_writer(&settings.data, settings.config.server.durability)?;
        if settings.config.server.checkpoints == crate::config::Checkpoints::External {
            db::no_checkpoint_on_close(&conn)?;
        }
        db::migrate(&mut conn)?;
        crate::wrapped::backfill_if_pending(&mut conn)?;

        let clock = clock(&conn)?;
        let now_ms = clock.now().timestamp_millis();
        tenants::ensure_default(&conn, now_ms)?;
        sync_definitions(&mut conn, &settings.config, now_ms)?;
        let catalog = CatalogHandle::new(Catalog::load(&conn)?);
        Ok(Opened {
            conn,
            settings,
            clock,
            catalog,
        })
    }

    /// Lets the writer finish what is queued, commit and exit.
    pub async fn stop(self) -> Result<(), BoxError> {
        self.writer
            .execute(crate::commands::persist_clock::RecordPresent(
                self.clock.now(),
            ))
            .await?;
        self.writer.stop();
        let thread = self.writer_thread;
        match actix_web::web::block(move || thread.join()).await {
            Ok(Ok(())) => Ok(()),
            _ => Err("the writer thread did not stop cleanly".into()),
        }
    }
}

impl Opened {
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Starts the writer and the scheduler, and runs the jobs that fell due while the
    /// database was closed. Backdating is left to the caller (`engine.backdater`).
    pub async fn start(self) -> Result<Engine, BoxError> {
        let Opened {
            conn,
            settings,
            clock,
            catalog,
        } = self;
        let leaderboards = RankIndex::default();
        leaderboards.rebuild(&conn)?;
        let wake_delivery = Arc::new(tokio::sync::Notify::new());
        let wake_notifications = Arc::new(tokio::sync::Notify::new());
        let due_hints = DueHints::default();
        let (writer, writer_thread) = Writer::start(
            conn,
            WriterEnv {
                clock: clock.clone(),
                catalog: catalog.clone(),
                settings: settings.clone(),
                wake_delivery: wake_delivery.clone(),
                wake_notifications: wake_notifications.clone(),
                due_hints: due_hints.clone(),
                shared: crate::writer::Shared::default().with(leaderboards.clone()),
            },
        )?;
        let mut jobs: Vec<Arc<dyn Job>> = vec![
            Arc::new(IdempotencyExpiry {
                ttl_days: settings.config.server.idempotency_ttl_days,
            }),
            Arc::new(webhooks::WindowFlush),
            Arc::new(webhooks::DELIVERY_LOG_EXPIRY),
            Arc::new(crate::streaks::StreakJob::new()),
            Arc::new(crate::points::TimeTriggerJob::new()),
            Arc::new(crate::points::BoostWebhookJob),
            Arc::new(crate::leaderboards::LeaderboardJob),
            Arc::new(crate::achievements::anniversary::AnniversaryJob),
            Arc::new(crate::notifications::OUTBOX_EXPIRY),
        ];
        // Without a message type on (and always in `trophyd import`, which turns them off)
        // the users' schedule rows are left as they are, not dropped as unconfigured.
        if settings.config.emails.any_message() {
            jobs.push(Arc::new(crate::notifications::NotificationJob));
        }
        let scheduler = Scheduler::new(writer.clone(), due_hints, jobs);
        // Catch up on anything missed while the database was closed.
        scheduler.run_due(clock.now()).await?;
        let backdater = Backdater::new(writer.clone());
        Ok(Engine {
            settings,
            clock,
            writer,
            writer_thread,
            scheduler,
            backdater,
            catalog,
            leaderboards,
            wake_delivery,
            wake_notifications,
        })
    }
}
