//! Lifecycle emails: what each says and how it leaves.
//!
//! Deciding *when* a message is due belongs to the outbox and scheduler; this module is
//! only *what* (templates, rendered from a JSON context) and *how* (SMTP through
//! [`Mailer`]), so that both can be tested without a clock or a database, and so that an
//! operator's template mistakes surface at start rather than in the outbox.
//!
//! The render context the caller passes (every field may be null or missing; templates
//! fall back to neutral wording):
//!
//! ```json
//! {
//!   "kind": "achievement",
//!   "user": {"id": "u1", "name": "Ada", "email": "ada@x.test", "tz": "Asia/Kolkata"},
//!   "achievement": {"name": "First lesson", "description": "...", "badgeUrl": null},
//!   "streak": {"length": 5, "frequency": "daily", "periodEnd": "2031-03-01", "freezes": 1},
//!   "recap": {"periodStart": "2031-02-22", "periodEnd": "2031-02-28", "frequency": "weekly",
//!             "metrics": [{"key": "lessons", "name": "Lessons", "units": "lessons",
//!                          "total": 12.0, "events": 7}],
//!             "achievements": [{"name": "First lesson"}], "streak": {"length": 5},
//!             "points": [{"name": "XP", "added": 120}]},
//!   "reactivation": {"messageNumber": 2, "daysSinceLastActive": 7},
//!   "branding": {"appName": "Acme", "appUrl": "https://acme.test", "brandColor": "#4f46e5",
//!                "logo": {"url": "https://..."}},
//!   "unsubscribe_url": "https://.../emails/unsubscribe?token=...",
//!   "unsubscribe_all_url": "https://.../emails/unsubscribe?token=..."
//! }
//! ```
//!
//! Unsubscribe links carry an [`unsubscribe::Token`] signed with a server secret, so the
//! unsubscribe endpoint needs neither a login nor a record of the links it sent.

mod headers;
mod mailer;
mod templates;
pub mod unsubscribe;

#[cfg(test)]
mod tests;

pub use headers::{ListUnsubscribe, ListUnsubscribePost};
pub use mailer::{shown_server, Mailer, OutgoingEmail, SendError, TIMEOUT};
pub use templates::{Rendered, Templates};
