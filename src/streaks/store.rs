//! SQL for `streaks`, `streak_periods` and `streak_pauses`, as small functions over a
//! `&Connection` that both the writer (inside its transaction) and the readers call.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::domain::ids::{DefinitionId, TenantId, UserRow};
use crate::rules::streak::{Cover, StreakState};

/// A stored `streaks` row.
#[derive(Debug, Clone, PartialEq)]
pub struct StreakRow {
    pub user_id: UserRow,
    pub tenant_id: TenantId,
    pub state: StreakState,
    pub longest_at: Option<i64>,
    pub extended_at: Option<i64>,
    /// The zone the period indexes were cut in.
    pub tz: String,
    pub next_settle_at: Option<i64>,
    pub next_freeze_earn_at: Option<i64>,
}

const COLUMNS: &str = "s.user_id, s.tenant_id, s.length, s.started, s.last_met, s.alive_through,
     s.freezes, s.longest, s.longest_at, s.extended_at, s.last_lost_length, s.tz,
     s.next_settle_at, s.next_freeze_earn_at";
/// How many columns `COLUMNS` has, for queries that select more after them.
const NCOLUMNS: usize = 14;

fn count(r: &Row<'_>, i: usize) -> rusqlite::Result<u32> {
    Ok(u32::try_from(r.get::<_, i64>(i)?.max(0)).unwrap_or(u32::MAX))
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<StreakRow> {
    let started: Option<String> = r.get(3)?;
    Ok(StreakRow {
        user_id: r.get(0)?,
        tenant_id: r.get(1)?,
        state: StreakState {
            length: count(r, 2)?,
            started: started.and_then(|s| s.parse::<NaiveDate>().ok()),
            last_met: r.get(4)?,
            alive_through: r.get(5)?,
            freezes: count(r, 6)?,
            longest: count(r, 7)?,
            last_lost_length: count(r, 10)?,
        },
        longest_at: r.get(8)?,
        extended_at: r.get(9)?,
        tz: r.get(11)?,
        next_settle_at: r.get(12)?,
        next_freeze_earn_at: r.get(13)?,
    })
}

pub fn load(conn: &Connection, user_id: UserRow) -> rusqlite::Result<Option<StreakRow>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM streaks s WHERE s.user_id = ?1"
    ))?
    .query_row([user_id], from_row)
    .optional()
}

pub fn save(conn: &Connection, row: &StreakRow) -> rusqlite::Result<()> {
    let s = &row.state;
    conn.prepare_cached(
        "INSERT INTO streaks (user_id, tenant_id, length, started, last_met, alive_through,
             freezes, longest, longest_at, extended_at, last_lost_length, tz,
             next_settle_at, next_freeze_earn_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT (user_id) DO UPDATE SET
             length = excluded.length, started = excluded.started,
             last_met = excluded.last_met, alive_through = excluded.alive_through,
             freezes = excluded.freezes, longest = excluded.longest,
             longest_at = excluded.longest_at, extended_at = excluded.extended_at,
             last_lost_length = excluded.last_lost_length, tz = excluded.tz,
             next_settle_at = excluded.next_settle_at,
             next_freeze_earn_at = excluded.next_freeze_earn_at",
    )?
    .execute(params![
        row.user_id,
        row.tenant_id,
        s.length,
        s.started.map(|d| d.to_string()),
        s.last_met,
        s.alive_through,
        s.freezes,
        s.longest,
        row.longest_at,
        row.extended_at,
        s.last_lost_length,
        row.tz,
        row.next_settle_at,
        row.next_freeze_earn_at,
    ])?;
    Ok(())
}

/// What the jobs need besides the row: the user's current zone and creation time.
#[derive(Debug, Clone)]
pub struct DueRow {
    pub row: StreakRow,
    pub user_tz: Option<String>,
    pub user_created: i64,
}

/// Which schedule a job scans.
#[derive(Debug, Clone, Copy)]
pub enum Schedule {
    Settle,
    FreezeEarn,
}

/// Up to `limit` rows due on `schedule` at or before `until`, earliest first.
pub fn due(
    conn: &Connection,
    schedule: Schedule,
    until: i64,
    limit: i64,
) -> rusqlite::Result<Vec<DueRow>> {
    let column = match schedule {
        Schedule::Settle => "next_settle_at",
        Schedule::FreezeEarn => "next_freeze_earn_at",
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS}, u.tz, u.created FROM streaks s JOIN users u ON u.id = s.user_id
          WHERE s.{column} <= ?1 ORDER BY s.{column} LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![until, limit], |r| {
        Ok(DueRow {
            row: from_row(r)?,
            user_tz: r.get(NCOLUMNS)?,
            user_created: r.get(NCOLUMNS + 1)?,
        })
    })?;
    rows.collect()
}

/// The earliest time anything is due on `schedule`.
pub fn next_due(conn: &Connection, schedule: Schedule) -> rusqlite::Result<Option<i64>> {
    let sql = match schedule {
        Schedule::Settle => "SELECT min(next_settle_at) FROM streaks",
        Schedule::FreezeEarn => "SELECT min(next_freeze_earn_at) FROM streaks",
    };
    conn.prepare_cached(sql)?.query_row([], |r| r.get(0))
}

/// One period's accumulators and outcome.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeriodRow {
    /// Metric key → sum of event values in the period.
    pub sums: BTreeMap<String, f64>,
    pub met: bool,
    pub cover: Option<Cover>,
    /// Streak length at the end of the period, when it is covered.
    pub length: u32,
}

fn period_from_row(r: &Row<'_>) -> rusqlite::Result<(i64, PeriodRow)> {
    let sums: String = r.get(1)?;
    let cover: Option<String> = r.get(3)?;
    Ok((
        r.get(0)?,
        PeriodRow {
            sums: crate::store::stored(&sums, "a streak period's sums")?,
            met: r.get(2)?,
            cover: cover.as_deref().and_then(Cover::parse),
            length: count(r, 4)?,
        },
    ))
}

pub fn period(
    conn: &Connection,
    user_id: UserRow,
    idx: i64,
) -> rusqlite::Result<Option<PeriodRow>> {
    conn.prepare_cached(
        "SELECT idx, sums, met, cover, length FROM streak_periods WHERE user_id = ?1 AND idx = ?2",
    )?
    .query_row(params![user_id, idx], |r| Ok(period_from_row(r)?.1))
    .optional()
}

/// The rows of periods `first..=last`, in order.
pub fn periods(
    conn: &Connection,
    user_id: UserRow,
    first: i64,
    last: i64,
) -> rusqlite::Result<Vec<(i64, PeriodRow)>> {
    crate::store::all_rows(
        conn,
        "SELECT idx, sums, met, cover, length FROM streak_periods
          WHERE user_id = ?1 AND idx BETWEEN ?2 AND ?3 ORDER BY idx",
        params![user_id, first, last],
        period_from_row,
    )
}

/// Writes a period row. With `sums_known` false the stored sums and `met` flag are kept
/// (the caller only learnt how the period was covered, not what it accumulated).
pub fn save_period(
    conn: &Connection,
    user_id: UserRow,
    idx: i64,
    row: &PeriodRow,
    sums_known: bool,
) -> rusqlite::Result<()> {
    // Events refuse to overflow a sum, but a recompute after a time zone change groups
    // them into other periods, where one could: it is kept as the largest double (every
    // threshold compares the same) rather than written as JSON's null, which would lose
    // the period's sums when read back.
    let sums: BTreeMap<&str, f64> = row
        .sums
        .iter()
        .map(|(k, v)| (k.as_str(), v.clamp(-f64::MAX, f64::MAX)))
        .collect();
    let sums = serde_json::to_string(&sums).unwrap_or_else(|_| "{}".into());
    conn.prepare_cached(
        "INSERT INTO streak_periods (user_id, idx, sums, met, cover, length)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (user_id, idx) DO UPDATE SET
             sums = CASE WHEN ?7 THEN excluded.sums ELSE sums END,
             met = CASE WHEN ?7 THEN excluded.met ELSE met END,
             cover = excluded.cover, length = excluded.length",
    )?
    .execute(params![
        user_id,
        idx,
        sums,
        row.met,
        row.cover.map(Cover::as_str),
        row.length,
        sums_known,
    ])?;
    Ok(())
}

/// The largest length any covered period in `first..=last` ended with.
pub fn longest_in(
    conn: &Connection,
    user_id: UserRow,
    first: i64,
    last: i64,
) -> rusqlite::Result<u32> {
    let max: Option<i64> = conn
        .prepare_cached(
            "SELECT max(length) FROM streak_periods
              WHERE user_id = ?1 AND idx BETWEEN ?2 AND ?3 AND cover IS NOT NULL",
        )?
        .query_row(params![user_id, first, last], |r| r.get(0))?;
    Ok(u32::try_from(max.unwrap_or(0).max(0)).unwrap_or(u32::MAX))
}

/// The last covered period before `before`, if any.
pub fn last_covered_before(
    conn: &Connection,
    user_id: UserRow,
    before: i64,
) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT max(idx) FROM streak_periods WHERE user_id = ?1 AND idx < ?2 AND cover IS NOT NULL",
    )?
    .query_row(params![user_id, before], |r| r.get(0))
}

/// An admin pause: local dates, both inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pause {
    pub uuid: String,
    pub user_id: UserRow,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
}

/// The user's active pauses, earliest first.
pub fn pauses(conn: &Connection, user_id: UserRow) -> rusqlite::Result<Vec<Pause>> {
    let mut stmt = conn.prepare_cached(
        "SELECT uuid, user_id, first_day, last_day FROM streak_pauses
          WHERE user_id = ?1 AND status = 'active' ORDER BY first_day, id",
    )?;
    let rows = stmt.query_map([user_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, UserRow>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (uuid, user_id, first, last) = row?;
        if let (Ok(first_day), Ok(last_day)) = (first.parse(), last.parse()) {
            out.push(Pause {
                uuid,
                user_id,
                first_day,
                last_day,
            });
        }
    }
    Ok(out)
}

/// Whether any user has an active pause (lets the jobs skip the per-user lookup).
pub fn any_pauses(conn: &Connection) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM streak_pauses WHERE status = 'active')")?
        .query_row([], |r| r.get(0))
}

pub fn insert_pause(conn: &Connection, pause: &Pause, now_ms: i64) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO streak_pauses (uuid, user_id, first_day, last_day, status, created)
         VALUES (?1, ?2, ?3, ?4, 'active', ?5)",
    )?
    .execute(params![
        pause.uuid,
        pause.user_id,
        pause.first_day.to_string(),
        pause.last_day.to_string(),
        now_ms
    ])?;
    Ok(())
}

/// Archives the active pause `uuid` of a user of `tenant_id`; whether there was one.
pub fn archive_pause(conn: &Connection, tenant_id: TenantId, uuid: &str) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached(
            "UPDATE streak_pauses SET status = 'archived'
              WHERE uuid = ?1 AND status = 'active'
                AND user_id IN (SELECT id FROM users WHERE tenant_id = ?2)",
        )?
        .execute(params![uuid, tenant_id])?;
    Ok(changed > 0)
}

/// How many users of the tenant have a longer stored streak (for a competition rank).
pub fn longer_streaks(
    conn: &Connection,
    tenant_id: TenantId,
    length: u32,
) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT count(*) FROM streaks WHERE tenant_id = ?1 AND length > ?2")?
        .query_row(params![tenant_id, length], |r| r.get(0))
}

/// A row for the rankings: the streak with its user's id, name, zone and creation time.
#[derive(Debug, Clone)]
pub struct RankedRow {
    pub row: StreakRow,
    pub external_id: String,
    pub name: Option<String>,
    pub user_tz: Option<String>,
    pub user_created: i64,
}

/// Which length the rankings order by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankBy {
    Active,
    Longest,
}

/// Rows of the tenant in ranking order, `limit` from `offset`.
pub fn ranked(
    conn: &Connection,
    tenant_id: TenantId,
    by: RankBy,
    limit: i64,
    offset: i64,
) -> rusqlite::Result<Vec<RankedRow>> {
    let sql = match by {
        RankBy::Active => format!(
            "SELECT {COLUMNS}, u.external_id, u.name, u.tz, u.created
               FROM streaks s JOIN users u ON u.id = s.user_id
              WHERE s.tenant_id = ?1 AND s.length > 0
              ORDER BY s.length DESC, s.extended_at, u.external_id LIMIT ?2 OFFSET ?3"
        ),
        RankBy::Longest => format!(
            "SELECT {COLUMNS}, u.external_id, u.name, u.tz, u.created
               FROM streaks s JOIN users u ON u.id = s.user_id
              WHERE s.tenant_id = ?1 AND s.longest > 0
              ORDER BY s.longest DESC, s.longest_at, u.external_id LIMIT ?2 OFFSET ?3"
        ),
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![tenant_id, limit, offset], |r| {
        Ok(RankedRow {
            row: from_row(r)?,
            external_id: r.get(NCOLUMNS)?,
            name: r.get(NCOLUMNS + 1)?,
            user_tz: r.get(NCOLUMNS + 2)?,
            user_created: r.get(NCOLUMNS + 3)?,
        })
    })?;
    rows.collect()
}

/// Forgets every user's streak state and history (before a recompute).
pub fn clear_all(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("DELETE FROM streak_periods; DELETE FROM streaks;")
}

/// What a recomputation needs to know about a user.
#[derive(Debug, Clone)]
pub struct UserInfo {
    pub id: UserRow,
    pub tenant_id: TenantId,
    pub tz: Option<String>,
    pub created: i64,
}

/// Users in id order after `after`.
pub fn users_after(
    conn: &Connection,
    after: UserRow,
    limit: i64,
) -> rusqlite::Result<Vec<UserInfo>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, tenant_id, tz, created FROM users WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(
        params![after, limit],
        |r| crate::store::from_columns!(r => UserInfo { id, tenant_id, tz, created }),
    )?;
    rows.collect()
}

/// A user's events on the given metrics: (time, zone, metric id, value), oldest first.
pub fn events_of(
    conn: &Connection,
    user_id: UserRow,
    metric_ids: &[DefinitionId],
) -> rusqlite::Result<Vec<(i64, String, DefinitionId, f64)>> {
    let mut out = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT at, tz, metric_id, value, id FROM events WHERE user_id = ?1 AND metric_id = ?2",
    )?;
    let mut with_ids: Vec<(i64, String, DefinitionId, f64, i64)> = Vec::new();
    for metric in metric_ids {
        let rows = stmt.query_map(params![user_id, metric], |r| r.try_into())?;
        for row in rows {
            with_ids.push(row?);
        }
    }
    with_ids.sort_by_key(|e| (e.0, e.4));
    out.extend(with_ids.into_iter().map(|(at, tz, m, v, _)| (at, tz, m, v)));
    Ok(out)
}
