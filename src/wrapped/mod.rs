//! Wrapped, the year in review (`GET /users/{id}/wrapped`, behaviour.md §9). The writer
//! keeps per-day and per-period aggregates for every source (metric or points system) as
//! events and awards land, so a review reads a few hundred rows and counts index ranges.

mod backfill;
mod leaderboards;
pub mod read;
pub mod rules;
mod store;
mod streak;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono_tz::Tz;

use crate::clock::from_millis;
use crate::error::ApiError;
use crate::rules::local_time::local_date;
use crate::writer::WriteCtx;

pub use backfill::backfill_if_pending;

/// Counts one metric event (value and attribute values) towards its user's review.
pub fn record_metric_event(
    ctx: &mut WriteCtx<'_>,
    user: &crate::domain::user::User,
    metric_id: i64,
    value: f64,
    attributes: &BTreeMap<String, String>,
    at_ms: i64,
    tz: Tz,
) -> Result<(), ApiError> {
    crate::writer::costs::measure(crate::writer::costs::Feature::Wrapped, || {
        record_metric_event_measured(ctx, user, metric_id, value, attributes, at_ms, tz)
    })
}

fn record_metric_event_measured(
    ctx: &mut WriteCtx<'_>,
    user: &crate::domain::user::User,
    metric_id: i64,
    value: f64,
    attributes: &BTreeMap<String, String>,
    at_ms: i64,
    tz: Tz,
) -> Result<(), ApiError> {
    let slices = std::iter::once(store::WHOLE)
        .chain(attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let date = local_date(from_millis(at_ms), tz);
    store::add(
        ctx.conn,
        user.tenant_id,
        user.row_id,
        metric_id,
        slices,
        date,
        value,
    )?;
    Ok(())
}

/// Counts one points award towards its user's review. `system_id` is the `definitions.id`
/// of the points system; call once per award, after any merging, with the awarded amount.
pub fn record_points(
    ctx: &mut WriteCtx<'_>,
    user_row: i64,
    tenant: i64,
    system_id: i64,
    amount: i64,
    at_ms: i64,
    tz: Tz,
) -> Result<(), ApiError> {
    crate::writer::costs::measure(crate::writer::costs::Feature::Wrapped, || {
        record_points_measured(ctx, user_row, tenant, system_id, amount, at_ms, tz)
    })
}

fn record_points_measured(
    ctx: &mut WriteCtx<'_>,
    user_row: i64,
    tenant: i64,
    system_id: i64,
    amount: i64,
    at_ms: i64,
    tz: Tz,
) -> Result<(), ApiError> {
    let date = local_date(from_millis(at_ms), tz);
    store::add(
        ctx.conn,
        tenant,
        user_row,
        system_id,
        [store::WHOLE],
        date,
        amount as f64,
    )?;
    Ok(())
}
