//! The best leaderboard rank a user reached in a period, from `leaderboard_history`.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use serde_json::{json, Map, Value};

use crate::error::ApiError;

/// The best (lowest) rank per leaderboard reached in `[from_ms, to_ms)`, with the value at
/// that moment and its run, as `UserLeaderboardResponse` keyed by leaderboard key. Ties go
/// to the earliest.
pub fn best_ranks(
    conn: &Connection,
    user_row: i64,
    from_ms: i64,
    to_ms: i64,
) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    let mut stmt = conn.prepare_cached(
        "SELECT h.leaderboard_id, h.run_start, h.run_end, h.rank, h.value,
                d.uuid, d.key, d.status, d.body
           FROM leaderboard_history h JOIN definitions d ON d.id = h.leaderboard_id
          WHERE h.user_id = ?1 AND h.at_ms >= ?2 AND h.at_ms < ?3 AND h.rank IS NOT NULL
          ORDER BY h.leaderboard_id, h.rank, h.at_ms",
    )?;
    let mut rows = stmt.query(params![user_row, from_ms, to_ms])?;
    let mut best: BTreeMap<i64, Value> = BTreeMap::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        if best.contains_key(&id) {
            continue;
        }
        let body: Value = serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or(Value::Null);
        let key: String = r.get(6)?;
        best.insert(
            id,
            view(
                &body,
                Entry {
                    uuid: r.get(5)?,
                    key,
                    status: r.get(7)?,
                    run_start: r.get(1)?,
                    run_end: r.get(2)?,
                    rank: r.get(3)?,
                    value: r.get(4)?,
                },
            ),
        );
    }
    for v in best.into_values() {
        if let Some(key) = v["key"].as_str() {
            out.insert(key.to_owned(), v.clone());
        }
    }
    Ok(out)
}

struct Entry {
    uuid: String,
    key: String,
    status: String,
    run_start: String,
    run_end: Option<String>,
    rank: i64,
    value: Option<f64>,
}

/// `UserLeaderboardResponse` from the stored definition body; fields the body lacks take
/// the schema's empty values.
fn view(body: &Value, e: Entry) -> Value {
    let field = |name: &str| body.get(name).cloned().unwrap_or(Value::Null);
    let list = |name: &str| {
        body.get(name)
            .filter(|v| v.is_array())
            .cloned()
            .unwrap_or_else(|| json!([]))
    };
    json!({
        "id": e.uuid,
        "key": e.key,
        "name": body.get("name").and_then(Value::as_str).unwrap_or(&e.key),
        "status": e.status,
        "description": field("description"),
        "rankBy": field("rankBy"),
        "breakdownAttribute": field("breakdownAttribute"),
        "breakdownAttributes": list("breakdownAttributes"),
        "metricKey": field("metricKey"),
        "metricName": field("metricName"),
        "pointsSystemKey": field("pointsSystemKey"),
        "pointsSystemName": field("pointsSystemName"),
        "maxParticipants": field("maxParticipants"),
        "runUnit": field("runUnit"),
        "runInterval": field("runInterval"),
        "startTime": field("startTime"),
        "endTime": field("endTime"),
        "userAttributes": list("userAttributes"),
        "start": e.run_start,
        "end": e.run_end,
        "rank": e.rank,
        "value": e.value.map(crate::domain::number::json_number),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().expect("db");
        crate::db::migrate(&mut conn).expect("migrate");
        conn
    }

    #[test]
    fn the_best_rank_in_the_period_is_reported_per_leaderboard() {
        let conn = db();
        conn.execute_batch(
            "INSERT INTO definitions (id, uuid, tenant_id, kind, key, status, managed, body, created, updated)
                 VALUES (7, 'u-7', NULL, 'leaderboard', 'weekly', 'active', 1,
                         '{\"name\":\"Weekly\",\"rankBy\":\"metric\"}', 0, 0);
             INSERT INTO leaderboard_history (leaderboard_id, run_start, run_end, user_id,
                     at_ms, previous_rank, rank, previous_value, value) VALUES
                 (7, '2031-03-03', '2031-03-09', 1, 100, NULL, 5, NULL, 10),
                 (7, '2031-03-03', '2031-03-09', 1, 200, 5, 2, 10, 30),
                 (7, '2031-03-03', '2031-03-09', 1, 300, 2, 2, 30, 35),
                 (7, '2031-03-03', '2031-03-09', 1, 900, 2, 1, 35, 90),
                 (7, '2031-03-03', '2031-03-09', 2, 250, NULL, 1, NULL, 99);",
        )
        .expect("seed");
        let got = best_ranks(&conn, 1, 0, 500).expect("read");
        let weekly = &got["weekly"];
        assert_eq!(weekly["rank"], 2);
        assert_eq!(weekly["value"], 30);
        assert_eq!(weekly["name"], "Weekly");
        assert_eq!(weekly["start"], "2031-03-03");
        assert_eq!(weekly["end"], "2031-03-09");
        assert_eq!(weekly["userAttributes"], json!([]));
        assert!(best_ranks(&conn, 1, 1000, 2000).expect("read").is_empty());
    }
}
