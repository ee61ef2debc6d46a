//! The writes notifications make outside an event: the outcomes of sends, an admin's
//! retry of a failed message, an unsubscribe link followed.

use serde_json::Value;

use super::store::{self, Delivery, Outcome};
use super::Kind;
use crate::domain::ids::{TenantId, UserRow};
use crate::domain::preferences;
use crate::error::ApiError;
use crate::store::users as store_users;
use crate::writer::{Command, WriteCtx};

/// The outcomes of one pass of the delivery worker, and the device tokens providers
/// called dead (each is taken off its user, as Trophy does).
#[derive(Clone)]
pub struct RecordOutcomes {
    pub outcomes: Vec<(i64, Outcome)>,
    pub dead_tokens: Vec<(UserRow, String)>,
}

impl Command for RecordOutcomes {
    type Output = ();

    fn copy_to_try(&self) -> Option<Self> {
        Some(self.clone())
    }

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<(), ApiError> {
        let now = ctx.now.timestamp_millis();
        for (id, outcome) in &self.outcomes {
            store::record(ctx.conn, *id, outcome, now)?;
        }
        for (user_id, token) in &self.dead_tokens {
            let Some(mut user) = store_users::by_row(ctx.conn, *user_id)? else {
                continue;
            };
            let Some(tokens) = user.device_tokens.as_mut() else {
                continue;
            };
            let before = tokens.len();
            tokens.retain(|t| t != token);
            if tokens.len() != before {
                // `updated` stays: the user did not change anything.
                store_users::update(ctx.conn, &user)?;
            }
        }
        Ok(())
    }
}

/// `POST /admin/v1/notifications/deliveries/{id}/retry`: a failed message back in the
/// queue, due now. `Err(409)` for a message that is not failed (a sent one is never sent
/// again).
pub struct RetryDelivery {
    pub tenant_id: TenantId,
    pub id: String,
}

impl Command for RetryDelivery {
    type Output = Delivery;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Delivery, ApiError> {
        let Some(row) = store::by_uuid(ctx.conn, self.tenant_id, &self.id)? else {
            return Err(ApiError::not_found("Notification delivery not found"));
        };
        if row.status != "failed" {
            return Err(ApiError::conflict(format!(
                "Only failed deliveries can be retried; this one is {}",
                row.status
            )));
        }
        store::retry(
            ctx.conn,
            self.tenant_id,
            &self.id,
            ctx.now.timestamp_millis(),
        )?;
        let wake = ctx.env.wake_notifications.clone();
        ctx.after_durable(move || wake.notify_one());
        store::by_uuid(ctx.conn, self.tenant_id, &self.id)?
            .ok_or_else(|| ApiError::Internal("retried delivery vanished".into()))
    }
}

/// An unsubscribe link: `kind` off by email, or every email (`subscribeToEmails: false`).
pub struct Unsubscribe {
    pub tenant_id: TenantId,
    pub user_id: UserRow,
    pub kind: Option<Kind>,
}

/// Whether a user was found.
impl Command for Unsubscribe {
    type Output = bool;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<bool, ApiError> {
        let Some(mut user) = store_users::by_row(ctx.conn, self.user_id)? else {
            return Ok(false);
        };
        if user.tenant_id != self.tenant_id {
            return Ok(false);
        }
        let now = ctx.now.timestamp_millis();
        match self.kind {
            Some(kind) => {
                let stored = store_users::preferences(ctx.conn, user.row_id)?;
                let stored = if stored.is_object() {
                    stored
                } else {
                    Value::Object(Default::default())
                };
                let next = preferences::without_channel(&stored, kind.preference(), "email");
                if next != stored {
                    store_users::set_preferences(ctx.conn, user.row_id, &next, now)?;
                }
            }
            None if user.subscribe_to_emails => {
                user.subscribe_to_emails = false;
                // Trophy keeps no address for users who opted out (domain/user.rs).
                user.email = None;
                user.updated = now;
                store_users::update(ctx.conn, &user)?;
            }
            None => {}
        }
        Ok(true)
    }
}
