//! Notifications: the lifecycle messages (achievement, streak reminder, recap,
//! reactivation) sent by email and push, and announced by the `emails.*_due` webhooks.

pub mod email;
pub mod kind;
pub mod push;

pub use kind::Kind;
