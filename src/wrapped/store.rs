//! The wrapped aggregates (sql/0008): per user, source, slice and local day; per user,
//! slice and week/month/year; and per slice and period the users at each amount and in all.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

use crate::domain::ids::{DefinitionId, TenantId, UserRow};

/// The whole source.
pub const WHOLE: (&str, &str) = ("", "");

/// Adds `events` events (or awards) totalling `amount` to one slice's local day.
pub fn add_day(
    conn: &Connection,
    user_row: UserRow,
    source_id: DefinitionId,
    (key, value): (&str, &str),
    day: i64,
    events: i64,
    amount: f64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO wrapped_days (user_id, source_id, attr_key, attr_value, day, events, amount)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT DO UPDATE SET events = events + excluded.events,
                                   amount = amount + excluded.amount",
    )?
    .execute(params![
        user_row, source_id, key, value, day, events, amount
    ])?;
    Ok(())
}

/// The stored amount of one slice's local day, if there is a row.
pub fn day_amount(
    conn: &Connection,
    user_row: UserRow,
    source_id: DefinitionId,
    (key, value): (&str, &str),
    day: i64,
) -> rusqlite::Result<Option<f64>> {
    conn.prepare_cached(
        "SELECT amount FROM wrapped_days
          WHERE user_id = ?1 AND source_id = ?2 AND attr_key = ?3 AND attr_value = ?4 AND day = ?5",
    )?
    .query_row(params![user_row, source_id, key, value, day], |r| r.get(0))
    .optional()
}

/// The stored amount of one slice's week, month or year, if there is a row.
pub fn period_amount(
    conn: &Connection,
    user_row: UserRow,
    source_id: DefinitionId,
    (key, value): (&str, &str),
    period: &str,
) -> rusqlite::Result<Option<f64>> {
    conn.prepare_cached(
        "SELECT amount FROM wrapped_periods
          WHERE user_id = ?1 AND source_id = ?2 AND attr_key = ?3 AND attr_value = ?4
            AND period = ?5",
    )?
    .query_row(params![user_row, source_id, key, value, period], |r| {
        r.get(0)
    })
    .optional()
}

type Slice = (TenantId, DefinitionId, String, String, String); // tenant, source, key, value, period

/// Changes to the per-amount and per-period user counts, netted before they are written.
#[derive(Debug, Default)]
pub struct Moves {
    /// (slice and period, amount bits) → users arriving (+) or leaving (−).
    at_amount: HashMap<(Slice, u64), i64>,
    /// Slice and period → users active there for the first time.
    new_users: HashMap<Slice, i64>,
}

impl Moves {
    fn at(&mut self, slice: &Slice, amount: f64, users: i64) {
        *self
            .at_amount
            .entry((slice.clone(), amount.to_bits()))
            .or_insert(0) += users;
    }

    pub fn write(self, conn: &Connection) -> rusqlite::Result<()> {
        let mut at_amount: Vec<_> = self
            .at_amount
            .into_iter()
            .filter(|(_, n)| *n != 0)
            .collect();
        at_amount.sort_by(|a, b| a.0.cmp(&b.0));
        for (((tenant, source, key, value, period), bits), users) in at_amount {
            let amount = f64::from_bits(bits);
            let args = params![tenant, source, key, value, period, amount, users];
            if users > 0 {
                conn.prepare_cached(
                    "INSERT INTO wrapped_period_values (tenant_id, source_id, attr_key, attr_value, period, amount, users)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT DO UPDATE SET users = users + excluded.users",
                )?
                .execute(args)?;
            } else {
                // Amounts are nearly unique, so the users leaving are usually all there
                // were: dropping the row is one statement, and only a shared amount needs
                // a second.
                let dropped = conn
                    .prepare_cached(
                        "DELETE FROM wrapped_period_values
                          WHERE tenant_id = ?1 AND source_id = ?2 AND attr_key = ?3
                            AND attr_value = ?4 AND period = ?5 AND amount = ?6 AND users <= -?7",
                    )?
                    .execute(args)?;
                if dropped == 0 {
                    conn.prepare_cached(
                        "UPDATE wrapped_period_values SET users = users + ?7
                          WHERE tenant_id = ?1 AND source_id = ?2 AND attr_key = ?3
                            AND attr_value = ?4 AND period = ?5 AND amount = ?6",
                    )?
                    .execute(args)?;
                }
            }
        }
        let mut new_users: Vec<_> = self.new_users.into_iter().collect();
        new_users.sort();
        for ((tenant, source, key, value, period), users) in new_users {
            conn.prepare_cached(
                "INSERT INTO wrapped_period_users (tenant_id, source_id, attr_key, attr_value, period, users)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT DO UPDATE SET users = users + excluded.users",
            )?
            .execute(params![tenant, source, key, value, period, users])?;
        }
        Ok(())
    }
}

/// Moves the user's amount in one slice and period by `amount`, noting in `moves` how the
/// per-amount user counts change.
pub fn move_period(
    conn: &Connection,
    moves: &mut Moves,
    (tenant, user_row, source_id): (TenantId, UserRow, DefinitionId),
    (key, value): (&str, &str),
    period: &str,
    amount: f64,
) -> rusqlite::Result<()> {
    let slice: Slice = (
        tenant,
        source_id,
        key.to_owned(),
        value.to_owned(),
        period.to_owned(),
    );
    // A read, then a write of the row the read just brought into the page cache: an
    // `UPDATE … RETURNING` does both in one statement, but SQLite gathers its returned
    // rows in a temporary b-tree opened and closed at every call, which cost more than
    // the whole update (nine calls an event under the fan-out).
    match period_amount(conn, user_row, source_id, (key, value), period)? {
        Some(old) => {
            let new = old + amount;
            conn.prepare_cached(
                "UPDATE wrapped_periods SET previous = ?6, amount = ?7
                  WHERE user_id = ?1 AND source_id = ?2 AND attr_key = ?3 AND attr_value = ?4
                    AND period = ?5",
            )?
            .execute(params![user_row, source_id, key, value, period, old, new])?;
            if new != old {
                moves.at(&slice, old, -1);
                moves.at(&slice, new, 1);
            }
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO wrapped_periods (user_id, source_id, attr_key, attr_value, period, tenant_id, amount, previous)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0)",
            )?
            .execute(params![user_row, source_id, key, value, period, tenant, amount])?;
            *moves.new_users.entry(slice.clone()).or_insert(0) += 1;
            moves.at(&slice, amount, 1);
        }
    }
    Ok(())
}

/// One row of `wrapped_days`.
#[derive(Debug, Clone, PartialEq)]
pub struct DayRow {
    pub source_id: DefinitionId,
    pub attr_key: String,
    pub attr_value: String,
    pub day: i64,
    pub events: i64,
    pub amount: f64,
}

/// Every day row of a user up to `last_day`, grouped by slice, days in order.
pub fn days_through(
    conn: &Connection,
    user_row: UserRow,
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
    tenant: TenantId,
    user_row: UserRow,
    source_id: DefinitionId,
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

    use chrono::NaiveDate;

    use crate::wrapped::pending::Pending;

    use crate::domain::ids::fixtures::{D9, T1, U1, U2, U3};

    fn add_one(conn: &Connection, user: UserRow, amount: f64) {
        let date = NaiveDate::from_ymd_opt(2031, 3, 12).expect("date");
        let mut pending = Pending::default();
        assert!(pending
            .add(conn, (T1, user, D9), WHOLE, date, amount)
            .expect("add"));
        pending.flush(conn).expect("flush");
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
        let conn = crate::db::migrated_in_memory();
        add_one(&conn, U1, 5.0);
        add_one(&conn, U2, 5.0);
        add_one(&conn, U3, 2.0);
        assert_eq!(users_at(&conn), [(2.0, 1), (5.0, 2)]);
        // User 1 leaves a shared amount: it keeps user 2.
        add_one(&conn, U1, 2.0);
        assert_eq!(users_at(&conn), [(2.0, 1), (5.0, 1), (7.0, 1)]);
        assert_eq!(
            rank(&conn, T1, U2, D9, WHOLE, "y:2031").expect("rank"),
            Some((2, 3))
        );
        // User 2 leaves it alone: the row goes.
        add_one(&conn, U2, 2.0);
        assert_eq!(users_at(&conn), [(2.0, 1), (7.0, 2)]);
        assert_eq!(
            rank(&conn, T1, U3, D9, WHOLE, "y:2031").expect("rank"),
            Some((1, 3))
        );
    }

    #[test]
    fn one_flush_nets_the_moves_of_a_whole_batch() {
        let conn = crate::db::migrated_in_memory();
        add_one(&conn, U1, 5.0);
        add_one(&conn, U2, 3.0);
        let date = NaiveDate::from_ymd_opt(2031, 3, 12).expect("date");
        let mut batch = Pending::default();
        // User 1 twice (5 -> 6 -> 8), user 2 to 5 (where user 1 was), user 3 new at 3,
        // and a rolled-back command's addition that must leave no trace.
        let add = |batch: &mut Pending, user: UserRow, amount: f64| {
            assert!(batch
                .add(&conn, (T1, user, D9), WHOLE, date, amount)
                .expect("add"))
        };
        add(&mut batch, U1, 1.0);
        add(&mut batch, U2, 2.0);
        let mark = batch.mark();
        add(&mut batch, U2, 100.0);
        batch.rollback_to(mark);
        add(&mut batch, U1, 2.0);
        add(&mut batch, U3, 3.0);
        batch.flush(&conn).expect("flush");
        assert_eq!(users_at(&conn), [(3.0, 1), (5.0, 1), (8.0, 1)]);
        let days: (i64, f64) = conn
            .query_row(
                "SELECT events, amount FROM wrapped_days WHERE user_id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("day");
        assert_eq!(days, (3, 8.0));
        let active: i64 = conn
            .query_row(
                "SELECT users FROM wrapped_period_users WHERE period = 'y:2031'",
                [],
                |r| r.get(0),
            )
            .expect("users");
        assert_eq!(active, 3);
        assert_eq!(
            rank(&conn, T1, U2, D9, WHOLE, "y:2031").expect("rank"),
            Some((2, 3))
        );
    }
}
