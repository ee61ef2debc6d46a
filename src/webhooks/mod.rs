//! Webhooks: events are written to a persistent outbox in the same transaction as the
//! change that caused them (`outbox::emit`, or `coalesce::emit_coalesced` for the
//! rate-limited types), then delivered, signed and retried by a worker outside the writer
//! (`delivery`).

pub mod coalesce;
pub mod delivery;
pub mod expiry;
pub mod outbox;
pub mod retry;
pub mod signing;
pub mod store;

pub use coalesce::{emit_coalesced, merge_points_changed, WindowFlush};
pub use delivery::{Delivery, DeliveryWorker};
pub use expiry::DELIVERY_LOG_EXPIRY;
pub use outbox::{emit, subscribed};
