//! The SQL of leaderboards: per-run values and membership, history, and run notices.
//! Ranks are not counted here: the rank index answers them (see `index`).

use rusqlite::{params, Connection, OptionalExtension};

use super::ranking::Standing;
use crate::domain::ids::{DefinitionId, UserRow};
use crate::error::ApiError;

/// Where a group lives: board, run (its first date) and breakdown group.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    pub board: DefinitionId,
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
    board: DefinitionId,
    run_start: &str,
    user_id: UserRow,
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

pub fn unrank(conn: &Connection, at: At<'_>, user_id: UserRow) -> Result<(), ApiError> {
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

/// The breakdown groups of one history row: the group after the change (the one left, for
/// a user leaving the board), and the one before when the change moved the user between
/// groups.
#[derive(Debug, Clone, Copy)]
pub struct Groups<'a> {
    pub group: &'a str,
    pub moved_from: Option<&'a str>,
}

pub fn record(
    conn: &Connection,
    board: DefinitionId,
    run: (&str, Option<&str>),
    user_id: UserRow,
    change: &Change,
    groups: Groups<'_>,
) -> Result<(), ApiError> {
    conn.prepare_cached(
        "INSERT INTO leaderboard_history
           (leaderboard_id, run_start, run_end, user_id, at_ms, previous_rank, rank,
            previous_value, value, grp, previous_grp)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
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
        change.value,
        groups.group,
        groups.moved_from
    ])?;
    if let Some(from) = groups.moved_from {
        conn.prepare_cached(
            "INSERT INTO leaderboard_history_moves (leaderboard_id, run_start, grp, history_id)
             VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![board, run.0, from, conn.last_insert_rowid()])?;
    }
    Ok(())
}

/// A history row with what replaying its group needs.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub id: i64,
    pub user_id: UserRow,
    /// `None` for rows written before groups were recorded whose group is unknown.
    pub group: Option<String>,
    pub moved_from: Option<String>,
    pub change: Change,
}

fn history_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<HistoryRow> {
    Ok(HistoryRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        group: r.get(2)?,
        moved_from: r.get(3)?,
        change: Change {
            at_ms: r.get(4)?,
            previous_rank: r.get(5)?,
            rank: r.get(6)?,
            previous_value: r.get(7)?,
            value: r.get(8)?,
        },
    })
}

/// The last `count` rows of a user in a run, newest first.
pub fn own_rows(
    conn: &Connection,
    board: DefinitionId,
    run_start: &str,
    user_id: UserRow,
    count: u32,
) -> Result<Vec<HistoryRow>, ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, user_id, grp, previous_grp, at_ms, previous_rank, rank, previous_value, value
           FROM leaderboard_history
          WHERE leaderboard_id = ?1 AND user_id = ?2 AND run_start = ?3
          ORDER BY at_ms DESC, id DESC LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![board, user_id, run_start, count], history_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// At most `limit` rows that changed group `group` of a run (in it, into it or out of it)
/// with ids strictly between `after` and `before`, newest first.
pub fn group_rows(
    conn: &Connection,
    (board, run_start, group): (DefinitionId, &str, &str),
    (after, before): (i64, i64),
    limit: usize,
) -> Result<Vec<HistoryRow>, ApiError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(
        "SELECT id, user_id, grp, previous_grp, at_ms, previous_rank, rank, previous_value, value
           FROM leaderboard_history
          WHERE leaderboard_id = ?1 AND run_start = ?2 AND grp = ?3 AND id > ?4 AND id < ?5
         UNION ALL
         SELECT h.id, h.user_id, h.grp, h.previous_grp, h.at_ms, h.previous_rank, h.rank,
                h.previous_value, h.value
           FROM leaderboard_history_moves m JOIN leaderboard_history h ON h.id = m.history_id
          WHERE m.leaderboard_id = ?1 AND m.run_start = ?2 AND m.grp = ?3
            AND m.history_id > ?4 AND m.history_id < ?5
         ORDER BY 1 DESC LIMIT ?6",
    )?;
    let rows = stmt.query_map(
        params![board, run_start, group, after, before, limit],
        history_row,
    )?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Runs of `board` whose `finished` notice went out (no later event can change them)
/// and whose values of users outside the board are not all deleted yet.
pub fn runs_to_prune(conn: &Connection, board: DefinitionId) -> Result<Vec<String>, ApiError> {
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
    board: DefinitionId,
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
    board: DefinitionId,
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
