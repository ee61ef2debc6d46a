//! `[[webhooks]]`: where event notifications are delivered, and how persistently.

use std::collections::HashSet;

use super::defaults::{
    DEFAULT_WEBHOOK_INITIAL_BACKOFF_SECONDS, DEFAULT_WEBHOOK_MAX_CONCURRENCY,
    DEFAULT_WEBHOOK_RETRY_FOR_HOURS, DEFAULT_WEBHOOK_TIMEOUT_SECONDS,
};
use super::model::{WebhookDef, WEBHOOK_EVENT_TYPES};
use super::reader::{Sink, Table};

pub(crate) const KEYS: &[&str] = &[
    "url",
    "secret",
    "events",
    "timeout_seconds",
    "retry_for_hours",
    "initial_backoff_seconds",
    "max_concurrency",
];

pub(crate) fn read(root: &Table<'_, '_>, sink: &mut Sink) -> Vec<WebhookDef> {
    let mut defs = Vec::new();
    for t in root.tables(sink, "webhooks", "[[webhooks]]", KEYS) {
        let url = t.req_str(sink, "url");
        if let Some(url) = url {
            let has_host = ["http://", "https://"]
                .iter()
                .find_map(|scheme| url.strip_prefix(scheme))
                .map(|rest| !rest.is_empty() && !rest.starts_with('/'));
            match has_host {
                None => sink.report(
                    t.value_at("url"),
                    format!("\"url\" must start with http:// or https://, found \"{url}\""),
                ),
                Some(false) => sink.report(t.value_at("url"), "\"url\" has no host"),
                Some(true) => {}
            }
        }
        // The HMAC key for X-Trophy-Signature: an empty one would sign with no secret at all.
        let secret = t.req_nonempty(sink, "secret");
        let events = read_events(&t, sink);
        // Each of these is a positive count with a default.
        let mut positive = |key, default| t.opt_u32(sink, key, 1, u32::MAX).unwrap_or(default);
        let timeout_seconds = positive("timeout_seconds", DEFAULT_WEBHOOK_TIMEOUT_SECONDS);
        let retry_for_hours = positive("retry_for_hours", DEFAULT_WEBHOOK_RETRY_FOR_HOURS);
        let initial_backoff_seconds = positive(
            "initial_backoff_seconds",
            DEFAULT_WEBHOOK_INITIAL_BACKOFF_SECONDS,
        );
        let max_concurrency = positive("max_concurrency", DEFAULT_WEBHOOK_MAX_CONCURRENCY);
        if let (Some(url), Some(secret)) = (url, secret) {
            defs.push(WebhookDef {
                url: url.to_owned(),
                secret: secret.to_owned(),
                events,
                timeout_seconds,
                retry_for_hours,
                initial_backoff_seconds,
                max_concurrency,
            });
        }
    }
    defs
}

fn read_events(t: &Table<'_, '_>, sink: &mut Sink) -> Option<Vec<String>> {
    let listed = t.opt_str_list(sink, "events")?;
    if listed.is_empty() {
        sink.report(
            t.value_at("events"),
            "\"events\" is empty, so nothing would be delivered: omit it to receive every event type",
        );
    }
    let mut seen = HashSet::new();
    let mut events = Vec::new();
    for (event, at) in listed {
        if !WEBHOOK_EVENT_TYPES.contains(&event) {
            sink.report(
                at,
                format!(
                    "unknown webhook event type \"{event}\": expected one of {}",
                    WEBHOOK_EVENT_TYPES.join(", ")
                ),
            );
        } else if !seen.insert(event) {
            sink.report(at, format!("event type \"{event}\" is listed twice"));
        } else {
            events.push(event.to_owned());
        }
    }
    Some(events)
}
