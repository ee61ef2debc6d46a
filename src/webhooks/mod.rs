//! Webhooks: events are written to a persistent outbox in the same transaction as the
//! change that caused them (`outbox::emit`), then delivered, signed and retried by a
//! worker outside the writer.

pub mod outbox;

pub use outbox::emit;
