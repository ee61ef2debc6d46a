//! The validated shape of `trophy.toml`. Everything here has already been checked by
//! `config::parse`: references resolve, enums are known, dates parse, numbers are in range.

use std::path::PathBuf;

use chrono_tz::Tz;

use crate::domain::choices::choices;

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    pub attributes: Vec<Keyed<AttributeDef>>,
    pub metrics: Vec<Keyed<MetricDef>>,
    pub streaks: Option<StreakDef>,
    pub achievements: Vec<DeclaredAchievement>,
    pub points: Vec<PointsDef>,
    pub leaderboards: Vec<DeclaredLeaderboard>,
    pub webhooks: Vec<WebhookDef>,
    pub emails: EmailsConfig,
    pub push: PushConfig,
}

choices! {
    /// `durability`: when the WAL is synced to disk.
    pub enum Durability {
        /// fsync every group commit (`synchronous = FULL`).
        Full = "full",
        /// fsync at checkpoints only (`synchronous = NORMAL`).
        Normal = "normal",
    }
}

choices! {
    /// Who checkpoints the WAL (`checkpoints`).
    pub enum Checkpoints {
        /// trophyd does (`db::CheckpointPolicy`, `db::BackgroundCheckpointer`).
        OwnProcess = "self",
        /// Another process does (Litestream): trophyd never checkpoints, not even at
        /// shutdown, because a checkpoint Litestream did not run makes it lose its place in
        /// the WAL.
        External = "external",
    }
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `listen`, default "127.0.0.1:8080".
    pub listen: String,
    /// `data`, default "trophy.db".
    pub data: PathBuf,
    /// `multi_tenant`, default false.
    pub multi_tenant: bool,
    /// `durability`, default Full.
    pub durability: Durability,
    /// `idempotency_ttl_days`, default 0 (= keys never expire).
    pub idempotency_ttl_days: u32,
    /// `default_timezone`, default UTC.
    pub default_timezone: Tz,
    /// `metrics_auth`, default false: `/metrics` needs an admin key when true.
    pub metrics_auth: bool,
    /// `control_ratio`, default 0.0, in 0.0..=1.0: share of new users placed in the control group.
    pub control_ratio: f64,
    /// `checkpoints`, default "self".
    pub checkpoints: Checkpoints,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiKey {
    /// The key as given in the file.
    Plain(String),
    /// `sha256:<64 hex>`: 32 raw bytes of the SHA-256 of the key.
    Sha256([u8; 32]),
}

#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// `api_keys`: application keys. Empty means "none configured".
    pub api_keys: Vec<ApiKey>,
    /// `admin_keys`.
    pub admin_keys: Vec<ApiKey>,
}

#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// `events_per_second`, 0 = unlimited (default).
    pub events_per_second: u32,
    /// `reads_per_second`, 0 = unlimited (default).
    pub reads_per_second: u32,
    /// `points_changed_window_seconds`, default 60.
    pub points_changed_window_seconds: u32,
    /// `leaderboard_changed_window_seconds`, default 0.
    pub leaderboard_changed_window_seconds: u32,
    /// `leaderboard_rank_changed_window_seconds`, default 0.
    pub leaderboard_rank_changed_window_seconds: u32,
    /// `writer_queue`: commands that may wait for the writer; past it, 503. Default 10,000.
    pub writer_queue: u32,
    /// `body_timeout_ms`: how long a request body may take to arrive after its head;
    /// past it, 408 and the connection is closed. Default 10,000.
    pub body_timeout_ms: u32,
}

pub use crate::domain::attributes::AttributeType;

pub use crate::model::attribute::AttributeDef;
pub use crate::model::metric::{MetricDef, UnitType};

/// A definition declared in the file under its key (the key is the row's, not the body's).
#[derive(Debug, Clone)]
pub struct Keyed<T> {
    pub key: String,
    pub def: T,
}

pub use crate::model::streak_settings::{
    EvaluationMode, FreezeDef, Frequency, StreakCondition, StreakDef, WeekStart,
};

choices! {
    pub enum AchievementStatus {
        Active = "active",
        Inactive = "inactive",
        Locked = "locked",
    }
}

pub use crate::model::achievement::{AchievementDef, AchievementTrigger};

/// Attribute filters keep file order; all pairs must match.
pub type AttributeFilter = Vec<(String, String)>;

/// An `[[achievements]]` entry: its key, the status it is declared with, and the model.
#[derive(Debug, Clone)]
pub struct DeclaredAchievement {
    pub key: String,
    pub status: AchievementStatus,
    pub def: AchievementDef,
}

pub use crate::model::points_trigger::{TimeUnit, TriggerDef, TriggerKind, TriggerStatus};

/// A `[[points.triggers]]` entry: the trigger and the status it is declared with.
#[derive(Debug, Clone)]
pub struct PointsTriggerDef {
    pub def: TriggerDef,
    pub status: TriggerStatus,
}

pub use crate::model::points_boost::{BoostDef, BoostTarget, Rounding};
pub use crate::model::points_level::LevelDef;
pub use crate::model::points_system::SystemDef;

/// A `[[points]]` system: its key, its own fields and its children.
#[derive(Debug, Clone)]
pub struct PointsDef {
    pub key: String,
    pub def: SystemDef,
    pub triggers: Vec<PointsTriggerDef>,
    pub levels: Vec<LevelDef>,
    pub boosts: Vec<BoostDef>,
}

/// The unit of a repeating leaderboard's runs; defined with the run rules, which the
/// config sits above.
pub use crate::rules::leaderboard_runs::RunUnit;

pub use crate::model::leaderboard::{LeaderboardDef, RankBy, RankStyle};

choices! {
    pub enum LeaderboardStatus {
        Active = "active",
        Inactive = "inactive",
        Finished = "finished",
    }
}

/// A `[[leaderboards]]` entry: the board and the status it is declared with.
#[derive(Debug, Clone)]
pub struct DeclaredLeaderboard {
    pub key: String,
    pub status: LeaderboardStatus,
    pub def: LeaderboardDef,
}

#[derive(Debug, Clone)]
pub struct WebhookDef {
    pub url: String,
    pub secret: String,
    /// `None`: every event type.
    pub events: Option<Vec<String>>,
    /// `timeout_seconds`, default 60.
    pub timeout_seconds: u32,
    /// `retry_for_hours`, default 24: how long failed deliveries are retried.
    pub retry_for_hours: u32,
    /// `initial_backoff_seconds`, default 60: the first retry delay, doubled each time.
    pub initial_backoff_seconds: u32,
    /// `max_concurrency`, default 4: deliveries in flight to this endpoint.
    pub max_concurrency: u32,
}

impl WebhookDef {
    /// Whether this endpoint subscribes to `event_type`.
    pub fn takes(&self, event_type: &str) -> bool {
        self.events
            .as_ref()
            .is_none_or(|events| events.iter().any(|e| e == event_type))
    }
}

/// The 14 webhook event types of the 1.8.0 spec.
pub const WEBHOOK_EVENT_TYPES: [&str; 18] = [
    "achievement.completed",
    "streak.started",
    "streak.extended",
    "streak.lost",
    "streak.freeze_consumed",
    "streak.freeze_earned",
    "points.changed",
    "points.level_changed",
    "points.boost_started",
    "points.boost_finished",
    "leaderboard.started",
    "leaderboard.changed",
    "leaderboard.finished",
    "leaderboard.rank_changed",
    "emails.achievement_due",
    "emails.streak_reminder_due",
    "emails.recap_due",
    "emails.reactivation_due",
];

/// `[emails]`: which lifecycle messages are due (a table per message type turns it on)
/// and, with `smtp_url`, how they are sent by email. Without `smtp_url` the messages are
/// still decided, for the `emails.*_due` webhooks and push.
#[derive(Debug, Clone, Default)]
pub struct EmailsConfig {
    pub smtp: Option<SmtpDef>,
    /// `public_url`: base of the unsubscribe links, no trailing slash.
    pub public_url: Option<String>,
    pub achievement: Option<MessageTemplates>,
    pub streak_reminder: Option<StreakReminderDef>,
    pub recap: Option<RecapDef>,
    pub reactivation: Option<ReactivationDef>,
}

impl EmailsConfig {
    /// Whether any message type is on.
    pub fn any_message(&self) -> bool {
        self.achievement.is_some()
            || self.streak_reminder.is_some()
            || self.recap.is_some()
            || self.reactivation.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct SmtpDef {
    /// `smtp_url`: `smtp://` (STARTTLS when offered) or `smtps://`, `user:password@` allowed.
    pub url: String,
    /// `from`: a mailbox, `Name <address>` or `address`.
    pub from: String,
    /// `rate_per_second`: the most emails sent a second, default 10.
    pub rate_per_second: u32,
}

/// Per message type: optional overrides of the embedded templates.
#[derive(Debug, Clone, Default)]
pub struct MessageTemplates {
    /// `subject`: a template string.
    pub subject: Option<String>,
    /// `text_template`, `html_template`: files read at start.
    pub text_template: Option<PathBuf>,
    pub html_template: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct StreakReminderDef {
    /// `local_hour`, 0..=23, default 18: on the last day of the streak period.
    pub local_hour: u32,
    pub templates: MessageTemplates,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecapFrequency {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

#[derive(Debug, Clone)]
pub struct RecapDef {
    pub frequency: RecapFrequency,
    /// `local_hour`, 0..=23, default 9: on the first day after the period.
    pub local_hour: u32,
    pub templates: MessageTemplates,
}

#[derive(Debug, Clone)]
pub struct ReactivationDef {
    /// `after_days`: strictly increasing, 1..=365 each, at most 10; default [3, 7, 14, 30].
    pub after_days: Vec<u32>,
    pub templates: MessageTemplates,
}

/// `[push.*]`: push providers; a device token goes to the provider its shape names
/// (`notifications::push::provider_for`).
#[derive(Debug, Clone, Default)]
pub struct PushConfig {
    pub expo: Option<ExpoDef>,
    pub fcm: Option<FcmDef>,
    pub apns: Option<ApnsDef>,
}

impl PushConfig {
    pub fn any(&self) -> bool {
        self.expo.is_some() || self.fcm.is_some() || self.apns.is_some()
    }
}

#[derive(Debug, Clone)]
pub struct ExpoDef {
    /// `access_token`: sent as a bearer token when given (Expo's enhanced security).
    pub access_token: Option<String>,
    /// `url`, default `https://exp.host/--/api/v2/push/send`.
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct FcmDef {
    /// `service_account_file`: the Google service account JSON (project_id, client_email,
    /// private_key, token_uri), read at start.
    pub service_account_file: PathBuf,
    /// `url`: base of the FCM API, default `https://fcm.googleapis.com`.
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct ApnsDef {
    /// `key_file`: the `.p8` signing key, read at start.
    pub key_file: PathBuf,
    pub key_id: String,
    pub team_id: String,
    /// `bundle_id`: the `apns-topic`.
    pub bundle_id: String,
    /// `url`, default `https://api.push.apple.com` (`https://api.sandbox.push.apple.com`
    /// for development builds; `http://` speaks HTTP/2 without TLS, for tests).
    pub url: String,
}
