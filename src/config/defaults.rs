//! What a setting is when the file does not mention it. `Config::default()` is also what an empty
//! `trophy.toml` means.

use std::path::PathBuf;

use super::model::{
    AuthConfig, Checkpoints, Config, Durability, EmailsConfig, LimitsConfig, PushConfig,
    ServerConfig,
};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA: &str = "trophy.db";
pub const DEFAULT_MAX_PARTICIPANTS: u32 = 1000;
pub const DEFAULT_WEBHOOK_TIMEOUT_SECONDS: u32 = 60;
pub const DEFAULT_WEBHOOK_RETRY_FOR_HOURS: u32 = 24;
pub const DEFAULT_WEBHOOK_INITIAL_BACKOFF_SECONDS: u32 = 60;
pub const DEFAULT_WEBHOOK_MAX_CONCURRENCY: u32 = 4;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: DEFAULT_LISTEN.to_owned(),
            data: PathBuf::from(DEFAULT_DATA),
            multi_tenant: false,
            durability: Durability::Full,
            idempotency_ttl_days: 0,
            default_timezone: chrono_tz::UTC,
            metrics_auth: false,
            control_ratio: 0.0,
            checkpoints: Checkpoints::OwnProcess,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            events_per_second: 0,
            reads_per_second: 0,
            points_changed_window_seconds: 60,
            leaderboard_changed_window_seconds: 0,
            leaderboard_rank_changed_window_seconds: 0,
            writer_queue: 10_000,
            body_timeout_ms: 10_000,
        }
    }
}

// Spelled out rather than derived in model.rs so that every default is read in this one file.
#[allow(clippy::derivable_impls)]
impl Default for Config {
    fn default() -> Self {
        Config {
            server: ServerConfig::default(),
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            attributes: Vec::new(),
            metrics: Vec::new(),
            streaks: None,
            achievements: Vec::new(),
            points: Vec::new(),
            leaderboards: Vec::new(),
            webhooks: Vec::new(),
            emails: EmailsConfig::default(),
            push: PushConfig::default(),
        }
    }
}
