//! trophyd: a self-hosted gamification server that speaks the Trophy API.
//!
//! The flow of a write: HTTP (`routes`) → a validated command (`domain`, `commands`) →
//! the serialized writer (`writer`) → rules (`rules`) → effects → group commit → reply.
//! Reads go from `routes` straight to the reader pool (`db`, `store`).

pub mod achievements;
pub mod activity;
pub mod auth;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod db;
pub mod domain;
pub mod engine;
pub mod error;
pub mod import;
pub mod leaderboards;
pub mod model;
pub mod notifications;
pub mod points;
pub mod routes;
pub mod rules;
pub mod scheduler;
pub mod settings;
pub mod shards;
pub mod startup;
pub mod state;
mod stop_signals;
pub mod store;
pub mod streaks;
pub mod telemetry;
pub mod webhooks;
pub mod wrapped;
pub mod writer;

pub use settings::{ConfigSource, RuntimeSettings};
pub use startup::Application;
