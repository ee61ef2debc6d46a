//! The one place a points award is persisted (see the module documentation of `points`).

use chrono_tz::Tz;
use serde_json::Value;

use super::store;
use crate::domain::ids::{DefinitionId, TenantId, UserRow};
use crate::error::ApiError;
use crate::writer::WriteCtx;

/// An award as decided by the rules: boosted and capped, never 0.
pub struct Decided<'a> {
    pub user_row: UserRow,
    pub tenant: TenantId,
    /// `definitions.id` of the points system.
    pub system_id: DefinitionId,
    /// `definitions.id` of the trigger.
    pub trigger_id: DefinitionId,
    pub awarded: i64,
    /// The system total before this award.
    pub total_before: i64,
    pub at_ms: i64,
    /// The user's time zone, for the local day the award counts on.
    pub tz: Tz,
    /// `updated` of the trigger's definition: which snapshot of it the award refers to.
    pub trigger_updated: i64,
    /// `PointsTrigger` as it is now, shaped only when no snapshot of this version of the
    /// trigger is stored yet.
    pub trigger: &'a dyn Fn() -> Value,
    /// `[PointsBoost]` as they were when the award was made.
    pub boosts: &'a Value,
}

/// A persisted award.
#[derive(Debug, Clone)]
pub struct Persisted {
    pub uuid: String,
    pub awarded: i64,
    /// The system total after this award.
    pub total: i64,
    pub at_ms: i64,
}

/// Writes the award row, the user's new total for the system and the year-in-review
/// aggregates. Every award from every
/// path (events, achievement completions via the API, cascades and backdates, user
/// creation, time triggers) comes through here inside the writer's transaction.
pub fn persist_award(ctx: &mut WriteCtx<'_>, award: &Decided<'_>) -> Result<Persisted, ApiError> {
    let uuid = crate::store::row_uuid::new().to_string();
    let total = award.total_before.saturating_add(award.awarded);
    let snapshot = store::snapshot(ctx.conn, award.trigger_id, award.trigger_updated, || {
        (award.trigger)().to_string()
    })?;
    store::insert_award(
        ctx.conn,
        &store::NewAward {
            uuid: &uuid,
            user: award.user_row,
            system: award.system_id,
            trigger: award.trigger_id,
            awarded: award.awarded,
            total,
            at_ms: award.at_ms,
            snapshot,
            boosts_json: &award.boosts.to_string(),
        },
    )?;
    store::set_total(
        ctx.conn,
        award.user_row,
        award.system_id,
        award.tenant,
        total,
    )?;
    ctx.staged::<crate::activity::Pending>()
        .award(award.tenant, award.at_ms, award.awarded);
    crate::wrapped::record_points(
        ctx,
        award.user_row,
        award.tenant,
        award.system_id,
        award.awarded,
        award.at_ms,
        award.tz,
    )?;
    Ok(Persisted {
        uuid,
        awarded: award.awarded,
        total,
        at_ms: award.at_ms,
    })
}
