//! What the read routes need: which board and run a request means, its breakdown group,
//! and rankings served from the in-memory index (names from SQLite).

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::{Connection, OptionalExtension};

use super::displacement;
use super::index::{GroupKey, RankIndex};
use super::ranking::page_ranks;
use super::store::{self, Ranked};
use crate::catalog::{Catalog, Leaderboard};
use crate::config::RankStyle;
use crate::domain::ids::{TenantId, UserRow};
use crate::error::ApiError;
use crate::rules::leaderboard_runs::Run;

/// A board the Application API shows: not inactive.
pub fn visible<'c>(
    catalog: &'c Catalog,
    tenant: TenantId,
    key: &str,
) -> Result<&'c Leaderboard, ApiError> {
    catalog
        .leaderboard(tenant, key)
        .filter(|b| b.stored_status != crate::config::LeaderboardStatus::Inactive)
        .ok_or_else(|| ApiError::not_found("Leaderboard not found"))
}

/// The run a request means: the one containing `run` (404 if none), else the current
/// one by UTC date, else the last finished one; `None` before the first run.
pub fn select_run(
    board: &Leaderboard,
    run: Option<&str>,
    today: NaiveDate,
) -> Result<Option<Run>, ApiError> {
    let schedule = board.schedule();
    match run {
        Some(text) => {
            // 422: neither leaderboard read lists 400 in the 1.21.1 spec.
            let date: NaiveDate = text
                .parse()
                .map_err(|_| ApiError::unprocessable("run must be a date (YYYY-MM-DD)"))?;
            schedule
                .run_containing(date)
                .map(Some)
                .ok_or_else(|| ApiError::not_found("Leaderboard run not found"))
        }
        None => Ok(schedule
            .run_containing(today)
            .or_else(|| schedule.last_run_ended_by(today))),
    }
}

/// The breakdown group named by `userAttributes` (`key:value`, comma-separated): required
/// for, and only valid on, boards with breakdown attributes; every key must be given.
pub fn group_from_query(board: &Leaderboard, text: Option<&str>) -> Result<Vec<String>, ApiError> {
    let Some(text) = text else {
        if board.breakdown_attributes.is_empty() {
            return Ok(Vec::new());
        }
        return Err(ApiError::unprocessable(
            "userAttributes is required for leaderboards with breakdown attributes",
        ));
    };
    if board.breakdown_attributes.is_empty() {
        return Err(ApiError::unprocessable(
            "userAttributes is only valid for leaderboards with breakdown attributes",
        ));
    }
    let mut pairs = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = part.split_once(':').ok_or_else(|| {
            ApiError::unprocessable("userAttributes must be key:value pairs separated by commas")
        })?;
        pairs.push((k.trim(), v.trim()));
    }
    board
        .breakdown_attributes
        .iter()
        .map(|attr| {
            pairs
                .iter()
                .find(|(k, _)| k == attr)
                .map(|(_, v)| (*v).to_owned())
                .ok_or_else(|| {
                    ApiError::unprocessable(format!("userAttributes must include \"{attr}\""))
                })
        })
        .collect()
}

pub fn group_key(board: &Leaderboard, run: Run, tenant: TenantId, group: &[String]) -> GroupKey {
    GroupKey {
        board: board.id,
        run_start: run.start,
        group: super::engine::group_name(tenant, group),
    }
}

/// The row id of a user, without loading the rest of the user.
pub fn user_row(
    conn: &Connection,
    tenant: TenantId,
    external_id: &str,
) -> Result<Option<UserRow>, ApiError> {
    Ok(conn
        .prepare_cached("SELECT id FROM users WHERE tenant_id = ?1 AND external_id = ?2")?
        .query_row(rusqlite::params![tenant, external_id], |r| r.get(0))
        .optional()?)
}

/// Users looked up per statement: one statement for a whole page costs less than one per
/// row (each statement takes its own WAL snapshot).
const NAMES_PER_QUERY: usize = 100;

/// External id and name of each of `ids`, by row id.
pub(super) fn names_of(
    conn: &Connection,
    ids: &[UserRow],
) -> Result<HashMap<UserRow, (String, Option<String>)>, ApiError> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(NAMES_PER_QUERY) {
        let marks = vec!["?"; chunk.len()].join(",");
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT id, external_id, name FROM users WHERE id IN ({marks})"
        ))?;
        let rows = stmt.query_map(rusqlite::params_from_iter(chunk), |r| {
            Ok((r.get::<_, UserRow>(0)?, (r.get(1)?, r.get(2)?)))
        })?;
        for row in rows {
            let (id, names) = row?;
            out.insert(id, names);
        }
    }
    Ok(out)
}

/// A page of rankings: from `offset`, or from the position of `around` plus `offset`
/// (empty when that user is not on the board). Returns the rows and their ranks.
pub fn page(
    conn: &Connection,
    index: &RankIndex,
    key: &GroupKey,
    style: RankStyle,
    around: Option<UserRow>,
    offset: i64,
    limit: usize,
) -> Result<(Vec<Ranked>, Vec<usize>), ApiError> {
    let (standings, ranks) = index.read(key, |g| {
        let start = match around {
            Some(user) => match g.index_of(user) {
                Some(at) => i64::try_from(at).unwrap_or(i64::MAX).saturating_add(offset),
                None => return (Vec::new(), Vec::new()),
            },
            None => offset,
        };
        let start = usize::try_from(start.max(0)).unwrap_or(usize::MAX);
        let standings = g.page(start, limit).to_vec();
        let values: Vec<f64> = standings.iter().map(|s| s.value).collect();
        let first_rank = g.rank_at(start, style).unwrap_or(start + 1);
        (standings, page_ranks(style, &values, start, first_rank))
    });
    let ids: Vec<UserRow> = standings.iter().map(|s| s.user_id).collect();
    let mut names = names_of(conn, &ids)?;
    let (rows, ranks) = standings
        .iter()
        .zip(ranks)
        .filter_map(|(s, rank)| {
            let (user_id, name) = names.remove(&s.user_id)?;
            Some((
                Ranked {
                    user_id,
                    name,
                    value: s.value,
                },
                rank,
            ))
        })
        .unzip();
    Ok((rows, ranks))
}

/// A user's rank (1-based) and value in a run, and their last `count` changes.
pub struct UserStanding {
    pub rank: Option<usize>,
    pub value: Option<f64>,
    pub history: Vec<store::Change>,
}

/// The user's rank and value, and their history including the rank changes other users'
/// events caused (see `displacement` for how, and what bounds the read).
pub fn user_standing(
    conn: &Connection,
    index: &RankIndex,
    board: &Leaderboard,
    run: Run,
    user_id: UserRow,
    count: u32,
) -> Result<UserStanding, ApiError> {
    let run_start = run.start.to_string();
    let stored = store::load(conn, board.id, &run_start, user_id)?;
    let (rank, value, now) = match stored.filter(|s| s.ranked) {
        Some(s) => {
            let key = GroupKey {
                board: board.id,
                run_start: run.start,
                group: s.group.clone(),
            };
            let rank = index.read(&key, |g| {
                g.index_of(user_id)
                    .and_then(|at| g.rank_at(at, board.rank_style))
            });
            let now = rank
                .and_then(|r| u32::try_from(r).ok())
                .map(|rank| displacement::Standing {
                    rank,
                    value: s.value,
                    group: s.group,
                });
            (rank, Some(s.value), now)
        }
        None => (None, None, None),
    };
    let own = store::own_rows(conn, board.id, &run_start, user_id, count.saturating_add(1))?;
    let history = displacement::history(
        board.rank_style,
        &own,
        now,
        usize::try_from(count).unwrap_or(usize::MAX),
        |group, after, before, limit| {
            store::group_rows(conn, (board.id, &run_start, group), (after, before), limit)
        },
    )?;
    Ok(UserStanding {
        rank,
        value,
        history,
    })
}
