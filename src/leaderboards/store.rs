//! The SQL of leaderboards: per-run values and membership, history, and run notices.
//! Ranks are not counted here: the rank index answers them (see `index`).

use rusqlite::{params, Connection, OptionalExtension};

use super::ranking::Standing;
use crate::error::ApiError;

/// Where a group lives: board, run (its first date) and breakdown group.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    pub board: i64,
    pub run_start: &'a str,
    pub group: &'a str,
}

#[derive(Debug, Clone)]
pub struct Stored {
    pub group: String,
    pub value: f64,
    pub reached_at: i64,
    pub ranked: bool,
}

pub fn load(
    conn: &Connection,
    board: i64,
    run_start: &str,
    user_id: i64,
) -> Result<Option<Stored>, ApiError> {
    Ok(conn
        .prepare_cached(
            "SELECT grp, value, reached_at, ranked FROM leaderboard_values
              WHERE leaderboard_id = ?1 AND run_start = ?2 AND user_id = ?3",
        )?
        .query_row(params![board, run_start, user_id], |r| {
            Ok(Stored {
                group: r.get(0)?,
                value: r.get(1)?,
                reached_at: r.get(2)?,
                ranked: r.get(3)?,
            })
        })
        .optional()?)
}

pub fn save(
    conn: &Connection,
    at: At<'_>,
    standing: Standing,
    ranked: bool,
) -> Result<(), ApiError> {
    conn.prepare_cached(
        "INSERT INTO leaderboard_values
           (leaderboard_id, run_start, user_id, grp, value, reached_at, ranked)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (leaderboard_id, run_start, user_id) DO UPDATE
         SET grp = excluded.grp, value = excluded.value, reached_at = excluded.reached_at,
             ranked = excluded.ranked",
    )?
    .execute(params![
        at.board,
        at.run_start,
        standing.user_id,
        at.group,
        standing.value,
        standing.reached_at,
        ranked
    ])?;
    Ok(())
}

pub fn unrank(conn: &Connection, at: At<'_>, user_id: i64) -> Result<(), ApiError> {
    conn.prepare_cached(
        "UPDATE leaderboard_values SET ranked = 0
          WHERE leaderboard_id = ?1 AND run_start = ?2 AND user_id = ?3",
    )?
    .execute(params![at.board, at.run_start, user_id])?;
    Ok(())
}

/// One ranking row: external id, name, value.
#[derive(Debug, Clone)]
pub struct Ranked {
    pub user_id: String,
    pub name: Option<String>,
    pub value: f64,
}

/// One history row (see the `leaderboard_history` table).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub at_ms: i64,
    pub previous_rank: Option<u32>,
    pub rank: Option<u32>,
    pub previous_value: Option<f64>,
    pub value: Option<f64>,
}

pub fn record(
    conn: &Connection,
    board: i64,
    run: (&str, Option<&str>),
    user_id: i64,
    change: &Change,
) -> Result<(), ApiError> {
    conn.prepare_cached(
        "INSERT INTO leaderboard_history
           (leaderboard_id, run_start, run_end, user_id, at_ms, previous_rank, rank,
            previous_value, value)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        board,
        run.0,
        run.1,
        user_id,
        change.at_ms,
        change.previous_rank,
        change.rank,
        change.previous_value,
        change.value
    ])?;
    Ok(())
}

/// The last `count` changes of a user in a run, oldest first.
pub fn history(
    conn: &Connection,
    board: i64,
    run_start: &str,
    user_id: i64,
    count: u32,
) -> Result<Vec<Change>, ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at_ms, previous_rank, rank, previous_value, value FROM leaderboard_history
          WHERE leaderboard_id = ?1 AND user_id = ?2 AND run_start = ?3
          ORDER BY at_ms DESC, id DESC LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![board, user_id, run_start, count], |r| {
        Ok(Change {
            at_ms: r.get(0)?,
            previous_rank: r.get(1)?,
            rank: r.get(2)?,
            previous_value: r.get(3)?,
            value: r.get(4)?,
        })
    })?;
    let mut out = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    out.reverse();
    Ok(out)
}

/// Runs of `board` whose `finished` notice went out (no later event can change them)
/// and whose values of users outside the board are not all deleted yet.
pub fn runs_to_prune(conn: &Connection, board: i64) -> Result<Vec<String>, ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT f.run_start FROM leaderboard_notices f
          WHERE f.leaderboard_id = ?1 AND f.kind = 'finished'
            AND NOT EXISTS (SELECT 1 FROM leaderboard_notices p
                             WHERE p.leaderboard_id = f.leaderboard_id
                               AND p.run_start = f.run_start AND p.kind = 'pruned')
          ORDER BY f.run_start",
    )?;
    let rows = stmt.query_map([board], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Deletes at most `limit` values of users who are not on the board in a finalised run
/// (they can no longer enter it, and reads show them no rank or value); returns how many.
pub fn prune_unranked(
    conn: &Connection,
    board: i64,
    run_start: &str,
    limit: usize,
) -> Result<usize, ApiError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(conn
        .prepare_cached(
            "DELETE FROM leaderboard_values
              WHERE leaderboard_id = ?1 AND run_start = ?2
                AND user_id IN (SELECT user_id FROM leaderboard_values
                                 WHERE leaderboard_id = ?1 AND run_start = ?2 AND ranked = 0
                                 LIMIT ?3)",
        )?
        .execute(params![board, run_start, limit])?)
}

/// Records that a run-boundary webhook was queued; false if it already was.
pub fn claim_notice(
    conn: &Connection,
    board: i64,
    run_start: &str,
    kind: &str,
) -> Result<bool, ApiError> {
    let inserted = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO leaderboard_notices (leaderboard_id, run_start, kind)
             VALUES (?1, ?2, ?3)",
        )?
        .execute(params![board, run_start, kind])?;
    Ok(inserted == 1)
}
