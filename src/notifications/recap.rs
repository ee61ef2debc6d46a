//! The figures a recap email shows (per metric the events and their sum, the achievements
//! completed, the points earned, the streak), read by the delivery worker on a reader when
//! it sends. The period is over by then, so they read as they did when the recap fell due,
//! and the writer only had to decide that the user was active in it.

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::Connection;
use serde_json::{json, Map, Value};

use super::schedule::zone_named;
use super::store;
use crate::catalog::Catalog;
use crate::config::RecapFrequency;
use crate::domain::ids::{DefinitionId, TenantId, UserRow};
use crate::error::ApiError;
use crate::rules::local_time::utc_range_of_local_dates;

/// The figures for the recap `payload` (as decided: `user` and `recap.periodStart`/
/// `periodEnd`), to merge into its `recap` object. Empty when the payload names no period.
pub fn figures(
    conn: &Connection,
    catalog: &Catalog,
    frequency: RecapFrequency,
    user_id: UserRow,
    tenant_id: TenantId,
    payload: &Value,
) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    out.insert("frequency".into(), json!(frequency_name(frequency)));
    let date = |key: &str| {
        payload["recap"][key]
            .as_str()
            .and_then(|d| d.parse::<NaiveDate>().ok())
    };
    let zone = zone_named(payload["user"]["tz"].as_str());
    let Some((from, to)) = date("periodStart")
        .zip(date("periodEnd"))
        .and_then(|(start, end)| utc_range_of_local_dates(start, end, zone))
    else {
        return Ok(out);
    };
    let (from, to) = (from.timestamp_millis(), to.timestamp_millis());

    let metrics: Vec<Value> = store::activity_between(conn, user_id, from, to)?
        .into_iter()
        .filter_map(|(id, events, total)| {
            let m = catalog.metric_by_id(id)?;
            Some(json!({
                "key": m.key, "name": m.name, "units": m.units,
                "events": events, "total": total,
            }))
        })
        .collect();
    let by_id: HashMap<DefinitionId, _> = catalog
        .achievements_for(tenant_id)
        .map(|a| (a.id, a))
        .collect();
    let achievements: Vec<Value> = store::completions_between(conn, user_id, from, to)?
        .into_iter()
        .filter_map(|(id, _)| {
            let a = by_id.get(&id)?;
            Some(json!({"key": a.key, "name": a.name, "description": a.description, "badgeUrl": a.badge_url}))
        })
        .collect();
    let systems: Vec<_> = catalog.points_for(tenant_id).collect();
    let ids: Vec<DefinitionId> = systems.iter().map(|p| p.id).collect();
    let points: Vec<Value> = store::points_between(conn, user_id, &ids, from, to)?
        .into_iter()
        .filter_map(|(id, added)| {
            let p = systems.iter().find(|p| p.id == id)?;
            Some(json!({"key": p.key, "name": p.name, "added": added}))
        })
        .collect();
    let streak = crate::streaks::store::load(conn, user_id)?.map_or(0, |s| s.state.length);
    out.insert("metrics".into(), Value::Array(metrics));
    out.insert("achievements".into(), Value::Array(achievements));
    out.insert("points".into(), Value::Array(points));
    out.insert("streak".into(), json!({ "length": streak }));
    Ok(out)
}

fn frequency_name(f: RecapFrequency) -> &'static str {
    match f {
        RecapFrequency::Daily => "daily",
        RecapFrequency::Weekly => "weekly",
        RecapFrequency::Monthly => "monthly",
        RecapFrequency::Yearly => "yearly",
    }
}
