//! Deciding a due message, inside the writer's transaction: the `emails.*_due` webhook and
//! one outbox row per channel target, or nothing, by the user's control flag,
//! subscription and preferences (docs/behaviour/notifications.md#who-receives-what).
//! Written with the change that made the message due, so a rollback leaves no message and a
//! commit always has them.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::push::provider_for;
use super::store::{self, Channel, NewDelivery};
use super::Kind;
use crate::clock::format_timestamp;
use crate::config::PushConfig;
use crate::domain::preferences;
use crate::domain::user::User;
use crate::error::ApiError;
use crate::store::users as store_users;
use crate::webhooks;
use crate::writer::WriteCtx;

/// A message whose rule fired.
pub struct Due {
    pub kind: Kind,
    /// When it fell due: the webhook's `timestamp`.
    pub at: DateTime<Utc>,
    /// The details field of the webhook (`achievement`, `streak`, `recap`, `reactivation`),
    /// exactly as the 1.21.1 schema has it; the stored payload carries the same.
    pub details: Value,
}

/// Who gets what (docs/behaviour/notifications.md#who-receives-what). Control-group users
/// get nothing, the webhook included. The webhook announces an email due, so it follows
/// what an email would: a subscribed user whose preferences allow email for the type; it
/// needs no address on file, since the customer's own provider sends it. Push needs a
/// device token for a configured provider and the type's `push` channel.
pub fn decide(ctx: &mut WriteCtx<'_>, user: &User, due: Due) -> Result<(), ApiError> {
    crate::writer::costs::measure(crate::writer::costs::Feature::Notifications, || {
        decide_measured(ctx, user, due)
    })
}

fn decide_measured(ctx: &mut WriteCtx<'_>, user: &User, due: Due) -> Result<(), ApiError> {
    if user.control {
        return Ok(());
    }
    let prefs = store_users::preferences(ctx.conn, user.row_id)?;
    let kind = due.kind;
    if kind == Kind::StreakReminder && preferences::streak_disabled(&prefs) {
        return Ok(());
    }
    let email_allowed =
        user.subscribe_to_emails && preferences::allows(&prefs, kind.preference(), "email");
    let push_allowed = preferences::allows(&prefs, kind.preference(), "push");
    let config = &ctx.env.settings.config;
    let webhook = email_allowed && webhooks::subscribed(ctx, kind.webhook_type());
    let email_to = user
        .email
        .as_deref()
        .filter(|_| email_allowed && config.emails.smtp.is_some());
    let tokens: Vec<&str> = match &user.device_tokens {
        Some(tokens) if push_allowed => tokens
            .iter()
            .map(String::as_str)
            .filter(|t| can_push(&config.push, t))
            .collect(),
        _ => Vec::new(),
    };
    if !webhook && email_to.is_none() && tokens.is_empty() {
        return Ok(());
    }

    let timestamp = format_timestamp(due.at);
    let user_json = user.to_json();
    if webhook {
        let body = json!({
            "type": kind.webhook_type(),
            "timestamp": timestamp,
            "user": user_json,
            kind.detail_field(): due.details,
        });
        webhooks::emit(ctx, kind.webhook_type(), &body)?;
    }
    if email_to.is_none() && tokens.is_empty() {
        return Ok(());
    }
    let payload = json!({
        "kind": kind.as_str(),
        "timestamp": timestamp,
        "user": user_json,
        kind.detail_field(): due.details,
    })
    .to_string();
    let now = ctx.now.timestamp_millis();
    let targets = email_to
        .map(|to| (Channel::Email, to))
        .into_iter()
        .chain(tokens.into_iter().map(|t| (Channel::Push, t)));
    for (channel, target) in targets {
        store::queue(
            ctx.conn,
            &NewDelivery {
                tenant_id: user.tenant_id,
                user_id: user.row_id,
                kind,
                channel,
                target,
                payload: &payload,
                now,
            },
        )?;
    }
    let wake = ctx.env.wake_notifications.clone();
    ctx.after_durable(move || wake.notify_one());
    Ok(())
}

/// Whether a provider for this token's kind is configured.
pub fn can_push(push: &PushConfig, token: &str) -> bool {
    use super::push::Provider;
    match provider_for(token) {
        Some(Provider::Expo) => push.expo.is_some(),
        Some(Provider::Fcm) => push.fcm.is_some(),
        Some(Provider::Apns) => push.apns.is_some(),
        None => false,
    }
}
