//! `GET /dashboard/api/deliveries?days=N`: webhook deliveries (the server's) and the
//! tenant's notifications finished per UTC day, delivered or failed, and how many wait now.
//! From the per-day counts triggers keep (`webhook_outcome_days`,
//! `notification_outcome_days`) and the queues' partial indexes of pending rows.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::dashboard_activity::{date_of, no_store, Days};
use super::extract::TenantState;
use crate::error::ApiError;
use crate::store::engagement::{self, Outcomes};

pub(super) async fn deliveries(
    state: TenantState,
    query: web::Query<Days>,
) -> Result<HttpResponse, ApiError> {
    let (first, last) = query.range(&state)?;
    let (webhooks, notifications, webhooks_pending, notifications_pending) = state
        .read(move |conn| {
            let conn = &conn.unchecked_transaction()?;
            Ok((
                engagement::webhook_outcomes(conn, first, last)?,
                engagement::notification_outcomes(conn, state.tenant, first, last)?,
                engagement::webhooks_pending(conn)?,
                engagement::notifications_pending(conn, state.tenant)?,
            ))
        })
        .await?;
    let on = |rows: &[Outcomes], day: i64| -> [i64; 2] {
        rows.iter()
            .find(|(d, _)| *d == day)
            .map_or([0, 0], |(_, counts)| *counts)
    };
    let days: Vec<_> = (first..=last)
        .map(|day| {
            let [delivered, failed] = on(&webhooks, day);
            let [sent, not_sent] = on(&notifications, day);
            json!({
                "date": date_of(day),
                "webhooksDelivered": delivered,
                "webhooksFailed": failed,
                "notificationsSent": sent,
                "notificationsFailed": not_sent,
            })
        })
        .collect();
    Ok(no_store(json!({
        "days": days,
        "pending": { "webhooks": webhooks_pending, "notifications": notifications_pending },
    })))
}
