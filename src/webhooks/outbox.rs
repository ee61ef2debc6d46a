//! Queuing webhook events inside the writer's transaction: one row per subscribed
//! endpoint, so a rolled-back change leaves no webhook and a committed one always has
//! its rows, even if the process dies right after COMMIT.

use rusqlite::params;
use serde_json::Value;

use crate::error::ApiError;
use crate::writer::WriteCtx;

/// Queues `body` (which must carry its `type`) for every endpoint subscribed to
/// `event_type`. Delivery starts after the batch commits.
pub fn emit(ctx: &mut WriteCtx<'_>, event_type: &str, body: &Value) -> Result<(), ApiError> {
    crate::writer::costs::measure(crate::writer::costs::Feature::Webhooks, || {
        emit_measured(ctx, event_type, body)
    })
}

/// Whether any endpoint takes `event_type`: a body nobody will receive is not built.
pub fn subscribed(ctx: &WriteCtx<'_>, event_type: &str) -> bool {
    ctx.env
        .settings
        .config
        .webhooks
        .iter()
        .any(|endpoint| endpoint.takes(event_type))
}

fn emit_measured(ctx: &mut WriteCtx<'_>, event_type: &str, body: &Value) -> Result<(), ApiError> {
    let now = ctx.now.timestamp_millis();
    let text = body.to_string();
    let mut queued = false;
    for endpoint in &ctx.env.settings.config.webhooks {
        if !endpoint.takes(event_type) {
            continue;
        }
        ctx.conn
            .prepare_cached(
                "INSERT INTO webhook_outbox (uuid, endpoint, event_type, body, status, next_attempt, created)
                 VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
            )?
            .execute(params![
                format!("msg_{}", crate::store::row_uuid::new().simple()),
                endpoint.url,
                event_type,
                text,
                now
            ])?;
        queued = true;
    }
    if queued {
        wake_delivery(ctx);
    }
    Ok(())
}

/// Wakes the delivery worker once the batch is on disk (one wake serves every row the
/// batch queued).
pub(super) fn wake_delivery(ctx: &mut WriteCtx<'_>) {
    let wake = ctx.env.wake_delivery.clone();
    ctx.after_durable(move || wake.notify_one());
}
