//! The wrapped aggregates (sql/0008): per user, source, slice and local day; per user,
//! slice and week/month/year; and per slice and period the users at each amount and in all.

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
            add_to_period(
                conn,
                tenant,
                user_row,
                source_id,
                (key, value),
                period,
                amount,
            )?;
        }
    }
    Ok(())
}

/// Moves the user's amount in one slice and period, keeping the per-amount user counts.
fn add_to_period(
    conn: &Connection,
    tenant: i64,
    user_row: i64,
    source_id: i64,
    (key, value): (&str, &str),
    period: &str,
    amount: f64,
) -> rusqlite::Result<()> {
    // One statement reads the old amount and writes the new (SET sees the row as it was).
    let moved: Option<(f64, f64)> = conn
        .prepare_cached(
            "UPDATE wrapped_periods SET previous = amount, amount = amount + ?6
              WHERE user_id = ?1 AND source_id = ?2 AND attr_key = ?3 AND attr_value = ?4
                AND period = ?5
          RETURNING previous, amount",
        )?
        .query_row(
            params![user_row, source_id, key, value, period, amount],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let new = moved.map_or(amount, |(_, new)| new);
    match moved {
        Some((old, new)) => {
            if new == old {
                return Ok(());
            }
            // Amounts are nearly unique, so the user is usually alone at the old one:
            // dropping that row is one statement, and only a shared amount needs a second.
            let dropped = conn
                .prepare_cached(
                    "DELETE FROM wrapped_period_values
                      WHERE tenant_id = ?1 AND source_id = ?2 AND attr_key = ?3
                        AND attr_value = ?4 AND period = ?5 AND amount = ?6 AND users <= 1",
                )?
                .execute(params![tenant, source_id, key, value, period, old])?;
            if dropped == 0 {
                conn.prepare_cached(
                    "UPDATE wrapped_period_values SET users = users - 1
                      WHERE tenant_id = ?1 AND source_id = ?2 AND attr_key = ?3
                        AND attr_value = ?4 AND period = ?5 AND amount = ?6",
                )?
                .execute(params![tenant, source_id, key, value, period, old])?;
            }
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO wrapped_periods (user_id, source_id, attr_key, attr_value, period, tenant_id, amount, previous)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
            )?
            .execute(params![user_row, source_id, key, value, period, tenant, new])?;
            conn.prepare_cached(
                "INSERT INTO wrapped_period_users (tenant_id, source_id, attr_key, attr_value, period, users)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1)
                 ON CONFLICT DO UPDATE SET users = users + 1",
            )?
            .execute(params![tenant, source_id, key, value, period])?;
        }
    }
    conn.prepare_cached(
        "INSERT INTO wrapped_period_values (tenant_id, source_id, attr_key, attr_value, period, amount, users)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1)
         ON CONFLICT DO UPDATE SET users = users + 1",
    )?
    .execute(params![tenant, source_id, key, value, period, new])?;
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
    let mine: Option<f64> = conn
        .prepare_cached(
            "SELECT amount FROM wrapped_periods
              WHERE user_id = ?1 AND source_id = ?2 AND attr_key = ?3 AND attr_value = ?4
                AND period = ?5",
        )?
        .query_row(params![user_row, source_id, key, value, period], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(mine) = mine else {
        return Ok(None);
    };
    let at_or_below: i64 = conn
        .prepare_cached(
            "SELECT ifnull(sum(users), 0) FROM wrapped_period_values
              WHERE tenant_id = ?1 AND source_id = ?2 AND attr_key = ?3 AND attr_value = ?4
                AND period = ?5 AND amount <= ?6",
        )?
        .query_row(params![tenant, source_id, key, value, period, mine], |r| {
            r.get(0)
        })?;
    let users: i64 = conn
        .prepare_cached(
            "SELECT ifnull(max(users), 0) FROM wrapped_period_users
              WHERE tenant_id = ?1 AND source_id = ?2 AND attr_key = ?3 AND attr_value = ?4
                AND period = ?5",
        )?
        .query_row(params![tenant, source_id, key, value, period], |r| r.get(0))?;
    Ok(Some((at_or_below, users)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add_one(conn: &Connection, user: i64, amount: f64) {
        let date = NaiveDate::from_ymd_opt(2031, 3, 12).expect("date");
        add(conn, 1, user, 9, [WHOLE], date, amount).expect("add");
    }

    fn users_at(conn: &Connection) -> Vec<(f64, i64)> {
        let mut stmt = conn
            .prepare(
                "SELECT amount, users FROM wrapped_period_values
                  WHERE period = 'y:2031' ORDER BY amount",
            )
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query");
        rows.collect::<rusqlite::Result<_>>().expect("rows")
    }

    #[test]
    fn users_move_between_amounts_whether_alone_there_or_not() {
        let mut conn = Connection::open_in_memory().expect("db");
        crate::db::migrate(&mut conn).expect("migrate");
        add_one(&conn, 1, 5.0);
        add_one(&conn, 2, 5.0);
        add_one(&conn, 3, 2.0);
        assert_eq!(users_at(&conn), [(2.0, 1), (5.0, 2)]);
        // User 1 leaves a shared amount: it keeps user 2.
        add_one(&conn, 1, 2.0);
        assert_eq!(users_at(&conn), [(2.0, 1), (5.0, 1), (7.0, 1)]);
        assert_eq!(
            rank(&conn, 1, 2, 9, WHOLE, "y:2031").expect("rank"),
            Some((2, 3))
        );
        // User 2 leaves it alone: the row goes.
        add_one(&conn, 2, 2.0);
        assert_eq!(users_at(&conn), [(2.0, 1), (7.0, 2)]);
        assert_eq!(
            rank(&conn, 1, 3, 9, WHOLE, "y:2031").expect("rank"),
            Some((1, 3))
        );
    }
}
