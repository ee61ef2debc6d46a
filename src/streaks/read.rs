//! The streak reads: `GET /users/{id}/streak`, `GET /streaks`, `GET /streaks/rankings`.
//! They run on reader connections, so a settlement that is due but not yet written (the
//! job lags, or nothing touched the user since the boundary) is computed in memory; the
//! writer persists it, with its webhooks, at the next write or job run.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rusqlite::Connection;
use serde::Serialize;

use super::engine::{Rules, UserStreak};
use super::service::{self, Owner};
use super::settings::StreakSettings;
use super::store::{self, RankBy};
use super::view::{self, HistoryItem, PauseItem, StreakResponse};
use crate::clock::{format_timestamp, from_millis};
use crate::domain::ids::TenantId;
use crate::domain::user::User;
use crate::error::ApiError;
use crate::rules::local_time::local_date;
use crate::rules::periods::{period_containing, period_index};

/// Bounds of `historyPeriods` (docs/behaviour/streaks.md#state-and-responses: clamped, default 7).
pub const DEFAULT_HISTORY: i64 = 7;
pub const MAX_HISTORY: i64 = 365;

/// Whether a streak view carries the deprecated `rank`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rank {
    /// Counted: the route answers it.
    Counted,
    /// Left null: a count of the longer streaks walks the index, which the scheduler cannot
    /// afford for every reminder of an evening (and 1.21.1 dropped the field).
    Omitted,
}

/// `GET /users/{id}/streak`.
pub fn user_streak(
    conn: &Connection,
    settings: &StreakSettings,
    user: &User,
    default_tz: Tz,
    now: DateTime<Utc>,
    history_periods: i64,
    with_rank: Rank,
) -> Result<StreakResponse, ApiError> {
    let owner = Owner::of(user, default_tz);
    let n = history_periods.clamp(1, MAX_HISTORY);
    let pauses = store::pauses(conn, owner.user_id)?
        .into_iter()
        .map(|p| PauseItem {
            id: p.uuid,
            start: p.first_day,
            end: p.last_day,
        })
        .collect();
    let Some(def) = settings.current() else {
        return Ok(unconfigured(owner.tz, now, n, pauses));
    };
    let rules = Rules::new(&def);
    let now_ms = now.timestamp_millis();
    let mut streak = service::load(conn, rules, &owner, now_ms)?;
    service::catch_up(conn, rules, &mut streak, owner.tz, now_ms)?;
    let base = view::base(rules, &streak, now_ms);
    let (current, _, _) = rules.period_at(now_ms, streak.tz);
    let first = current - (n - 1);
    let stored: HashMap<i64, store::PeriodRow> =
        store::periods(conn, owner.user_id, first, current)?
            .into_iter()
            .collect();
    let history = (first..=current)
        .filter_map(|index| {
            let covered = streak
                .slot(index)
                .and_then(|s| s.row.cover.map(|c| (c, s.row.length)))
                .or_else(|| {
                    stored
                        .get(&index)
                        .and_then(|r| r.cover.map(|c| (c, r.length)))
                });
            let current_length = (index == current).then(|| streak.length());
            view::history_item(rules, index, covered, current_length)
        })
        .collect();
    // Competition rank over the stored lengths: cheap (an index count). A streak that is
    // due to be lost but not yet settled still counts until the job (which runs at every
    // boundary) or a write settles it.
    let rank = if base.length > 0 && with_rank == Rank::Counted {
        Some(1 + store::longer_streaks(conn, owner.tenant_id, base.length)?)
    } else {
        None
    };
    let extended = streak
        .row
        .extended_at
        .filter(|_| base.length > 0)
        .map(|ms| format_timestamp(from_millis(ms)));
    Ok(StreakResponse {
        base,
        extended,
        streak_history: history,
        rank,
        pauses,
    })
}

/// No streak configured: length 0 and an empty daily history.
fn unconfigured(tz: Tz, now: DateTime<Utc>, n: i64, pauses: Vec<PauseItem>) -> StreakResponse {
    let base = view::unconfigured(tz, now);
    let today = local_date(now, tz);
    let history = (0..n)
        .rev()
        .filter_map(|back| today.checked_sub_days(chrono::Days::new(u64::try_from(back).ok()?)))
        .map(|day| {
            let p = period_containing(day, crate::rules::periods::PeriodKind::Daily);
            HistoryItem {
                period_start: p.start,
                period_end: p.end,
                length: 0,
                used_freeze: None,
                used_pause: false,
            }
        })
        .collect();
    StreakResponse {
        base,
        extended: None,
        streak_history: history,
        rank: None,
        pauses,
    }
}

/// An item of `GET /streaks` (`BulkStreakResponse`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BulkItem {
    pub user_id: String,
    pub streak_length: u32,
    /// When the streak was last extended; null when it is not active.
    pub extended: Option<String>,
    #[serde(skip)]
    extended_ms: Option<i64>,
}

/// The settled length and last extension of a stored row, as of `now_ms`.
fn settled(
    conn: &Connection,
    rules: Rules<'_>,
    row: store::StreakRow,
    tz: Tz,
    created_ms: i64,
    now_ms: i64,
) -> Result<(u32, Option<i64>), ApiError> {
    let mut streak = UserStreak::from_row(row, created_ms, tz);
    service::catch_up(conn, rules, &mut streak, tz, now_ms)?;
    let length = streak.length();
    Ok((length, streak.row.extended_at.filter(|_| length > 0)))
}

/// `GET /streaks?userIds=`: longest first, then the earlier extension, then the user id.
/// Unknown users appear with length 0.
pub fn bulk(
    conn: &Connection,
    settings: &StreakSettings,
    tenant_id: TenantId,
    ids: &[String],
    default_tz: Tz,
    now: DateTime<Utc>,
) -> Result<Vec<BulkItem>, ApiError> {
    let def = settings.current();
    let now_ms = now.timestamp_millis();
    let mut seen = HashSet::new();
    let mut items = Vec::new();
    for id in ids {
        if !seen.insert(id.as_str()) {
            continue;
        }
        let found = match (&def, crate::store::users::find(conn, tenant_id, id)?) {
            (Some(def), Some(user)) => match store::load(conn, user.row_id)? {
                Some(row) => {
                    let tz = user.time_zone(default_tz);
                    Some(settled(
                        conn,
                        Rules::new(def),
                        row,
                        tz,
                        user.created,
                        now_ms,
                    )?)
                }
                None => None,
            },
            _ => None,
        };
        let (length, extended_ms) = found.unwrap_or((0, None));
        items.push(BulkItem {
            user_id: id.clone(),
            streak_length: length,
            extended: extended_ms.map(|ms| format_timestamp(from_millis(ms))),
            extended_ms,
        });
    }
    items.sort_by(|a, b| {
        b.streak_length
            .cmp(&a.streak_length)
            .then_with(|| match (a.extended_ms, b.extended_ms) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| a.user_id.cmp(&b.user_id))
    });
    Ok(items)
}

/// An item of `GET /streaks/rankings` (`StreakRankingUser`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RankingItem {
    pub user_id: String,
    pub name: Option<String>,
    pub streak_length: u32,
}

/// `GET /streaks/rankings`: the top `limit` users by active or longest length. Rows are
/// read in ranking order; an active streak that is due for settlement is settled in
/// memory and dropped if it was lost (settling never lengthens a streak, so the order of
/// the rest holds).
pub fn rankings(
    conn: &Connection,
    settings: &StreakSettings,
    tenant_id: TenantId,
    by: RankBy,
    limit: i64,
    default_tz: Tz,
    now: DateTime<Utc>,
) -> Result<Vec<RankingItem>, ApiError> {
    let Some(def) = settings.current() else {
        return Ok(Vec::new());
    };
    let rules = Rules::new(&def);
    let now_ms = now.timestamp_millis();
    let limit = limit.max(1);
    let mut out = Vec::new();
    let mut offset = 0;
    while (out.len() as i64) < limit {
        let page = store::ranked(conn, tenant_id, by, limit, offset)?;
        if page.is_empty() {
            break;
        }
        offset += page.len() as i64;
        for r in page {
            let length = match by {
                RankBy::Longest => r.row.state.longest,
                RankBy::Active => {
                    let tz = r
                        .user_tz
                        .as_deref()
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(default_tz);
                    let stale =
                        r.row.next_settle_at.is_none_or(|at| at <= now_ms) || r.row.tz != tz.name();
                    if stale {
                        settled(conn, rules, r.row, tz, r.user_created, now_ms)?.0
                    } else {
                        r.row.state.length
                    }
                }
            };
            if length > 0 && (out.len() as i64) < limit {
                out.push(RankingItem {
                    user_id: r.external_id,
                    name: r.name,
                    streak_length: length,
                });
            }
        }
    }
    Ok(out)
}

/// The period index of `date` (exposed for the admin restore window).
pub fn index_of(rules: Rules<'_>, date: chrono::NaiveDate) -> i64 {
    period_index(period_containing(date, rules.kind).start, rules.kind)
}
