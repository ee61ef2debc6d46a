//! The wrapped aggregates (sql/0008): per user, source, slice and local day, and per user,
//! slice and week/month/year with the count of active users per period.

use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension};

use super::rules::{day_number, period_keys};

/// The whole source.
pub const WHOLE: (&str, &str) = ("", "");

/// Adds one event (or award) of `amount` on local `date` to every slice in `slices`.
pub fn add<'s>(
    conn: &Connection,
    tenant: i64,
    user_row: i64,
    source_id: i64,
    slices: impl IntoIterator<Item = (&'s str, &'s str)>,
    date: NaiveDate,
    amount: f64,
) -> rusqlite::Result<()> {
    let day = day_number(date);
    let periods = period_keys(date);
    for (key, value) in slices {
        let bumped = conn
            .prepare_cached(
                "UPDATE wrapped_days SET events = events + 1, amount = amount + ?6
                  WHERE user_id = ?1 AND source_id = ?2 AND attr_key = ?3 AND attr_value = ?4
                    AND day = ?5",
            )?
            .execute(params![user_row, source_id, key, value, day, amount])?;
        if bumped == 0 {
            conn.prepare_cached(
                "INSERT INTO wrapped_days (user_id, source_id, attr_key, attr_value, day, events, amount)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)",
            )?
            .execute(params![user_row, source_id, key, value, day, amount])?;
        }
        for period in &periods {
            let bumped = conn
                .prepare_cached(
                    "UPDATE wrapped_periods SET amount = amount + ?6
                      WHERE user_id = ?1 AND source_id = ?2 AND attr_key = ?3
                        AND attr_value = ?4 AND period = ?5",
                )?
                .execute(params![user_row, source_id, key, value, period, amount])?;
            if bumped > 0 {
                continue;
            }
            conn.prepare_cached(
                "INSERT INTO wrapped_periods (user_id, source_id, attr_key, attr_value, period, tenant_id, amount)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![user_row, source_id, key, value, period, tenant, amount])?;
            conn.prepare_cached(
                "INSERT INTO wrapped_period_users (tenant_id, source_id, attr_key, attr_value, period, users)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1)
                 ON CONFLICT DO UPDATE SET users = users + 1",
            )?
            .execute(params![tenant, source_id, key, value, period])?;
        }
    }
    Ok(())
}

/// One row of `wrapped_days`.
#[derive(Debug, Clone, PartialEq)]
pub struct DayRow {
    pub source_id: i64,
    pub attr_key: String,
    pub attr_value: String,
    pub day: i64,
    pub events: i64,
    pub amount: f64,
}

/// Every day row of a user up to `last_day`, grouped by slice, days in order.
pub fn days_through(
    conn: &Connection,
    user_row: i64,
    last_day: i64,
) -> rusqlite::Result<Vec<DayRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT source_id, attr_key, attr_value, day, events, amount FROM wrapped_days
          WHERE user_id = ?1 AND day <= ?2
          ORDER BY source_id, attr_key, attr_value, day",
    )?;
    let rows = stmt.query_map(params![user_row, last_day], |r| {
        Ok(DayRow {
            source_id: r.get(0)?,
            attr_key: r.get(1)?,
            attr_value: r.get(2)?,
            day: r.get(3)?,
            events: r.get(4)?,
            amount: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// `(users whose change is at most this user's, users active)` in one slice and period;
/// `None` when the user has no row there.
pub fn rank(
    conn: &Connection,
    tenant: i64,
    user_row: i64,
    source_id: i64,
    slice: (&str, &str),
    period: &str,
) -> rusqlite::Result<Option<(i64, i64)>> {
    let (key, value) = slice;
    let at_or_below: Option<i64> = conn
        .prepare_cached(
            "SELECT (SELECT count(*) FROM wrapped_periods o
                      WHERE o.tenant_id = ?1 AND o.source_id = ?3 AND o.attr_key = ?4
                        AND o.attr_value = ?5 AND o.period = ?6 AND o.amount <= me.amount)
               FROM wrapped_periods me
              WHERE me.user_id = ?2 AND me.source_id = ?3 AND me.attr_key = ?4
                AND me.attr_value = ?5 AND me.period = ?6",
        )?
        .query_row(
            params![tenant, user_row, source_id, key, value, period],
            |r| r.get(0),
        )
        .optional()?;
    let Some(at_or_below) = at_or_below else {
        return Ok(None);
    };
    let users: i64 = conn
        .prepare_cached(
            "SELECT ifnull(max(users), 0) FROM wrapped_period_users
              WHERE tenant_id = ?1 AND source_id = ?2 AND attr_key = ?3 AND attr_value = ?4
                AND period = ?5",
        )?
        .query_row(params![tenant, source_id, key, value, period], |r| r.get(0))?;
    Ok(Some((at_or_below, users)))
}
