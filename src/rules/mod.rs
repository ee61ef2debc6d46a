pub mod achievements;
pub mod anniversary;
pub mod event_summary;
pub mod leaderboard_runs;
pub mod local_time;
pub mod notifications;
pub mod periods;
pub mod streak;
pub mod time_window;

#[cfg(test)]
mod test_support;
