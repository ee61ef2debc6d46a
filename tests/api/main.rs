//! Black-box tests of the HTTP API against a real server on a free port, one temporary
//! database per test. All modules link into this one binary.

mod achievements;
mod admin_achievements;
mod admin_batch_events;
mod admin_keys;
mod admin_metrics;
mod admin_settings;
mod admin_support;
mod auth;
mod dashboard;
mod event_summary;
mod events;
mod group_commit;
mod helpers;
mod idempotency;
mod leaderboard_admin;
mod leaderboard_history;
mod leaderboard_webhooks;
mod leaderboard_windows;
mod leaderboards;
mod ops;
mod points;
mod points_admin;
mod points_everywhere;
mod preferences;
mod rate_limits;
mod receiver;
mod streak_admin;
mod streaks;
mod test_clock;
mod user_metrics;
mod users;
mod webhooks;
mod wrapped;
