//! Wrapped, the year in review (`GET /users/{id}/wrapped`, docs/behaviour/wrapped.md). The writer
//! keeps per-day and per-period aggregates for every source (metric or points system) as
//! events and awards land, so a review reads a few hundred rows and counts index ranges.

mod backfill;
mod leaderboards;
mod pending;
pub mod read;
pub mod rules;
mod store;
mod streak;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono_tz::Tz;

use crate::clock::from_millis;
use crate::domain::ids::{DefinitionId, TenantId, UserRow};
use crate::domain::number::too_large;
use crate::error::ApiError;
use crate::rules::local_time::local_date;
use crate::writer::WriteCtx;

pub use backfill::backfill_if_pending;
pub use pending::Pending;

/// Counts one metric event (value and attribute values) towards its user's review, in
/// the batch's pending aggregates (written just before COMMIT, see `pending`).
pub fn record_metric_event(
    ctx: &mut WriteCtx<'_>,
    user: &crate::domain::user::User,
    metric_id: DefinitionId,
    value: f64,
    attributes: &BTreeMap<String, String>,
    at_ms: i64,
    tz: Tz,
) -> Result<(), ApiError> {
    let date = local_date(from_millis(at_ms), tz);
    let source = (user.tenant_id, user.row_id, metric_id);
    let conn = ctx.conn;
    let pending = ctx.staged::<Pending>();
    let mut fits = pending.add(conn, source, store::WHOLE, date, value)?;
    for (k, v) in attributes {
        fits = fits && pending.add(conn, source, (k, v), date, value)?;
    }
    // What was added before the refusal goes with the command's rollback.
    if fits {
        Ok(())
    } else {
        Err(too_large(OVERFLOWED))
    }
}

/// What the error names when an aggregate would overflow.
const OVERFLOWED: &str = "the user's year-in-review totals";

/// Counts one points award towards its user's review. `system_id` is the `definitions.id`
/// of the points system; call once per award, after any merging, with the awarded amount.
pub fn record_points(
    ctx: &mut WriteCtx<'_>,
    user_row: UserRow,
    tenant: TenantId,
    system_id: DefinitionId,
    amount: i64,
    at_ms: i64,
    tz: Tz,
) -> Result<(), ApiError> {
    let date = local_date(from_millis(at_ms), tz);
    let conn = ctx.conn;
    let fits = ctx.staged::<Pending>().add(
        conn,
        (tenant, user_row, system_id),
        store::WHOLE,
        date,
        amount as f64,
    )?;
    if fits {
        Ok(())
    } else {
        Err(too_large(OVERFLOWED))
    }
}
