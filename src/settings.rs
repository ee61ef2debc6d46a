//! What the running server was started with: the validated config plus command-line
//! overrides. Built once at start and shared read-only (streak settings apart).

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::streaks::StreakSettings;

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
