//! Achievements: evaluation inside the event's transaction, API completion, backdating,
//! and the response shapes.

pub mod admin;
pub mod anniversary;
pub mod backdate;
pub mod engine;
pub mod patch;
pub mod store;
pub mod view;
