//! The best leaderboard rank a user reached in a period, from `leaderboard_history`.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rusqlite::{params, Connection};
use serde_json::{json, Map, Value};

use crate::catalog::Catalog;
use crate::domain::ids::DefinitionId;
use crate::domain::number::json_number;
use crate::domain::user::User;
use crate::error::ApiError;
use crate::leaderboards::{engine::group_of, view};

/// The best (lowest) rank per leaderboard reached in `[from_ms, to_ms)`, with the value at
/// that moment and its run, as `UserLeaderboardResponse` keyed by leaderboard key. Ties go
/// to the earliest. The board itself is described exactly as the leaderboard reads
/// describe it, so keys that do not apply to its kind (`metricKey` on a points board, say)
/// are left out rather than sent as null. Boards archived since are left out, like the
/// archived metrics of the review.
pub fn best_ranks(
    conn: &Connection,
    catalog: &Catalog,
    user: &User,
    today: NaiveDate,
    from_ms: i64,
    to_ms: i64,
) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    let mut stmt = conn.prepare_cached(
        "SELECT leaderboard_id, run_start, run_end, rank, value FROM leaderboard_history
          WHERE user_id = ?1 AND at_ms >= ?2 AND at_ms < ?3 AND rank IS NOT NULL
          ORDER BY leaderboard_id, rank, at_ms",
    )?;
    let mut rows = stmt.query(params![user.row_id, from_ms, to_ms])?;
    let mut seen = BTreeSet::new();
    while let Some(r) = rows.next()? {
        let id: DefinitionId = r.get(0)?;
        if !seen.insert(id) {
            continue;
        }
        let Some(board) = catalog
            .leaderboards_for(user.tenant_id)
            .find(|b| b.id == id)
        else {
            continue;
        };
        let group = group_of(board, user).unwrap_or_default();
        let mut entry = view::board(board, catalog, user.tenant_id, today, &group);
        entry.insert("start".into(), json!(r.get::<_, String>(1)?));
        entry.insert("end".into(), json!(r.get::<_, Option<String>>(2)?));
        entry.insert("rank".into(), json!(r.get::<_, i64>(3)?));
        entry.insert(
            "value".into(),
            r.get::<_, Option<f64>>(4)?.map_or(Value::Null, json_number),
        );
        out.insert(board.key.clone(), Value::Object(entry));
    }
    Ok(out)
}
