//! Response shapes: `LeaderboardResponse` and what is built on it (with rankings, the
//! event-response entry, the user view with history, webhook payloads).

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::store::{Change, Ranked};
use crate::catalog::leaderboard::status_on;
use crate::catalog::{Catalog, Leaderboard, Ranking};
use crate::clock::{format_timestamp, from_millis};
use crate::domain::ids::TenantId;
use crate::domain::number::json_number;
use crate::rules::leaderboard_runs::Run;
use crate::rules::time_window::format_time_of_day;

fn number(x: Option<f64>) -> Value {
    x.map_or(Value::Null, json_number)
}

/// `[{key, value}]` of a breakdown group.
pub fn pairs(board: &Leaderboard, values: &[String]) -> Value {
    board
        .breakdown_attributes
        .iter()
        .zip(values)
        .map(|(k, v)| json!({ "key": k, "value": v }))
        .collect()
}

/// `LeaderboardResponse` plus `status` and `userAttributes` (the breakdown group shown,
/// required by the Python SDK). `start`/`end` are the configured dates.
pub fn board(
    board: &Leaderboard,
    catalog: &Catalog,
    tenant: TenantId,
    today: NaiveDate,
    group: &[String],
) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("id".into(), json!(board.uuid));
    out.insert("name".into(), json!(board.name));
    out.insert("key".into(), json!(board.key));
    out.insert("status".into(), json!(status_on(board, today)));
    out.insert("description".into(), json!(board.description));
    out.insert("rankBy".into(), json!(board.rank_by()));
    match &board.ranking {
        Ranking::Metric { key } => {
            out.insert("metricKey".into(), json!(key));
            let name = catalog.metric(tenant, key).map(|m| m.name.clone());
            out.insert(
                "metricName".into(),
                json!(name.unwrap_or_else(|| key.clone())),
            );
        }
        Ranking::Points { key, name, .. } => {
            out.insert("pointsSystemKey".into(), json!(key));
            out.insert("pointsSystemName".into(), json!(name));
        }
        Ranking::Streak => {}
    }
    out.insert(
        "breakdownAttribute".into(),
        json!(board.breakdown_attributes.first()),
    );
    out.insert(
        "breakdownAttributes".into(),
        json!(board.breakdown_attributes),
    );
    out.insert("userAttributes".into(), pairs(board, group));
    out.insert("start".into(), json!(board.start.to_string()));
    out.insert("end".into(), json!(board.end.map(|d| d.to_string())));
    // Nullable and required in `LeaderboardResponse` (1.21.1).
    out.insert(
        "startTime".into(),
        json!(board.window.start().map(format_time_of_day)),
    );
    out.insert(
        "endTime".into(),
        json!(board.window.end().map(format_time_of_day)),
    );
    out.insert("maxParticipants".into(), json!(board.max_participants));
    out.insert("runUnit".into(), json!(board.repeat.map(|(u, _)| u.name())));
    out.insert("runInterval".into(), json!(board.repeat.map(|(_, i)| i)));
    out
}

/// `LeaderboardRanking[]`: each row with its rank (see `ranking::page_ranks`).
pub fn rankings(rows: &[Ranked], ranks: &[usize]) -> Value {
    rows.iter()
        .zip(ranks)
        .map(|(r, rank)| {
            json!({
                "userId": r.user_id,
                "userName": r.name,
                "rank": rank,
                "value": json_number(r.value),
            })
        })
        .collect()
}

pub fn set_run(out: &mut Map<String, Value>, run: Run) {
    out.insert("start".into(), json!(run.start.to_string()));
    out.insert("end".into(), json!(run.end.map(|d| d.to_string())));
}

/// What the event response says about one board (`MetricEventLeaderboardResponse`).
pub struct EventEntry {
    pub run: Run,
    pub rank: Option<u32>,
    pub previous_rank: Option<u32>,
    pub threshold: f64,
}

pub fn event_entry(
    mut base: Map<String, Value>,
    board: &Leaderboard,
    group: &[String],
    entry: &EventEntry,
) -> Value {
    set_run(&mut base, entry.run);
    base.insert("rank".into(), json!(entry.rank));
    base.insert("previousRank".into(), json!(entry.previous_rank));
    base.insert("threshold".into(), json_number(entry.threshold));
    if !board.breakdown_attributes.is_empty() {
        if let [single] = group {
            base.insert("breakdownAttributeValue".into(), json!(single));
        }
        base.insert("breakdownAttributeValues".into(), pairs(board, group));
    }
    Value::Object(base)
}

/// A `LeaderboardEvent`: `timestamp`, and `date` (UTC) which the Python SDK requires.
pub fn history(changes: &[Change]) -> Value {
    changes
        .iter()
        .map(|c| {
            let at = from_millis(c.at_ms);
            json!({
                "timestamp": format_timestamp(at),
                "date": at.date_naive().to_string(),
                "previousRank": c.previous_rank,
                "rank": c.rank,
                "previousValue": number(c.previous_value),
                "value": number(c.value),
            })
        })
        .collect()
}

/// `WebhookUserLeaderboardResponse`.
pub fn rank_changed(mut base: Map<String, Value>, run: Run, change: &Change) -> Value {
    set_run(&mut base, run);
    base.insert("rank".into(), json!(change.rank));
    base.insert("value".into(), number(change.value));
    base.insert("previousRank".into(), json!(change.previous_rank));
    base.insert("previousValue".into(), number(change.previous_value));
    Value::Object(base)
}
