//! Webhook delivery-log rows are deleted 7 days after they finished (delivered or given
//! up), as Trophy keeps its delivery logs (docs/behaviour/webhooks.md#delivery-log).

use crate::scheduler::FinishedRowsExpiry;

pub const KEEP_FINISHED_DAYS: i64 = 7;

pub const DELIVERY_LOG_EXPIRY: FinishedRowsExpiry = FinishedRowsExpiry {
    name: "webhook-log-expiry",
    table: "webhook_outbox",
    keep_days: KEEP_FINISHED_DAYS,
};
