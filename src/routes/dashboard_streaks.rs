//! `GET /dashboard/api/streaks`: how long the tenant's current streaks are (users per
//! range of lengths) and streak retention: of the users who ever started a streak, how
//! many kept one going past 1, 7 and 30 periods (their longest streak reached 2, 8, 31),
//! and how many are on such a streak now. Two index-only scans of `streaks`, by length and
//! by longest, over the tenant's users with a streak (`store::engagement`).

use actix_web::HttpResponse;
use serde_json::{json, Value};

use super::dashboard_activity::no_store;
use super::extract::TenantState;
use crate::error::ApiError;
use crate::store::engagement;

/// Ranges of lengths counted: from each to the day before the next (the last: and on).
const RANGES: [i64; 8] = [1, 2, 4, 7, 14, 30, 60, 100];
/// Retention after these many periods.
const AFTER: [i64; 3] = [1, 7, 30];

pub(super) async fn streaks(state: TenantState) -> Result<HttpResponse, ApiError> {
    let (lengths, longest) = state
        .read(move |conn| {
            let conn = &conn.unchecked_transaction()?;
            Ok((
                engagement::streak_lengths(conn, state.tenant)?,
                engagement::longest_streaks(conn, state.tenant)?,
            ))
        })
        .await?;
    // Users of `counts` (`(length, users)`) from `from` to `to` (None: and longer).
    let users_in = |counts: &[(i64, i64)], from: i64, to: Option<i64>| -> i64 {
        counts
            .iter()
            .filter(|(length, _)| *length >= from && to.is_none_or(|to| *length <= to))
            .map(|(_, users)| users)
            .sum()
    };
    let users_from = |from: i64, to: Option<i64>| users_in(&lengths, from, to);
    let started = users_in(&longest, 1, None);
    let ranges: Vec<Value> = RANGES
        .iter()
        .enumerate()
        .map(|(i, from)| {
            let to = RANGES.get(i + 1).map(|next| next - 1);
            json!({ "from": from, "to": to, "users": users_from(*from, to) })
        })
        .collect();
    let retention: Vec<Value> = AFTER
        .iter()
        .map(|after| {
            json!({
                "after": after,
                "reached": users_in(&longest, after + 1, None),
                "current": users_from(after + 1, None),
            })
        })
        .collect();
    let frequency = state.settings.streaks.current().map(|s| s.frequency.name());
    Ok(no_store(json!({
        "frequency": frequency,
        "lengths": ranges,
        "started": started,
        "retention": retention,
    })))
}
