pub mod event_summary;
pub mod local_time;
pub mod periods;
