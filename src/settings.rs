//! What the running server was started with: the validated config plus command-line
//! overrides. Built once at start and shared read-only (streak settings apart).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::config::{Config, StreakDef};

#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    pub config: Config,
    /// `--listen` or `[server] listen`.
    pub listen: String,
    /// `--data` or `[server] data`.
    pub data: PathBuf,
    /// `--test-clock`.
    pub test_clock: bool,
    /// Where the config came from, for the start-up log.
    pub source: ConfigSource,
    /// The streak settings in force: the file's `[streaks]`, or (when the file declares
    /// none) what the Admin API stored. The one part that can change while running.
    pub streaks: Arc<StreakSettings>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    File(PathBuf),
    Demo,
}

impl ConfigSource {
    /// What declares the file-managed definitions and streak settings, as the console
    /// words it: the embedded demo configuration is not a trophy.toml.
    pub fn manager(&self) -> &'static str {
        match self {
            ConfigSource::File(_) => "trophy.toml",
            ConfigSource::Demo => "the built-in demo configuration",
        }
    }
}

impl RuntimeSettings {
    pub fn new(config: Config, source: ConfigSource) -> Self {
        RuntimeSettings {
            listen: config.server.listen.clone(),
            data: config.server.data.clone(),
            streaks: Arc::new(StreakSettings::new(config.streaks.as_ref())),
            config,
            test_clock: false,
            source,
        }
    }

    pub fn multi_tenant(&self) -> bool {
        self.config.server.multi_tenant
    }
}

/// The streak settings in force, shared by the writer and the readers. Starts with the
/// file's `[streaks]`; `streaks::settings::load` adds the database's when the file has
/// none. There is one streak configuration for the whole server, as `[streaks]` is one
/// table: a PATCH sent with a `Tenant-ID` changes it for every tenant (metric keys are
/// checked in that tenant).
#[derive(Debug, Default)]
pub struct StreakSettings {
    current: RwLock<Option<Arc<StreakDef>>>,
    file_managed: AtomicBool,
}

impl StreakSettings {
    pub fn new(file: Option<&StreakDef>) -> Self {
        StreakSettings {
            current: RwLock::new(file.cloned().map(Arc::new)),
            file_managed: AtomicBool::new(file.is_some()),
        }
    }

    pub fn current(&self) -> Option<Arc<StreakDef>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether trophy.toml declares `[streaks]` (the Admin API may then not change them).
    pub fn managed_by_file(&self) -> bool {
        self.file_managed.load(Ordering::Acquire)
    }

    pub(crate) fn set_file_managed(&self, managed: bool) {
        self.file_managed.store(managed, Ordering::Release);
    }

    pub(crate) fn replace(&self, def: Option<StreakDef>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = def.map(Arc::new);
    }
}
