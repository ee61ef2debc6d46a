//! Validated state changes, each applied by the writer inside the group transaction.

pub mod admin_attributes;
pub mod admin_definitions;
pub mod admin_metrics;
pub mod admin_settings;
pub mod application_keys;
pub mod batch_events;
pub mod complete_achievement;
pub mod import_history;
pub mod persist_clock;
pub mod record_event;
pub mod tenants;
pub mod update_preferences;
pub mod upsert_user;
