//! The wrapped aggregates a group commit owes, gathered in memory while its commands run
//! and written once, just before COMMIT. Under load a batch holds dozens of events whose
//! per-amount user counts (`wrapped_period_values`) and active-user counts
//! (`wrapped_period_users`) mostly fall on the same few rows: moving each once per batch
//! instead of once per event removes most of the statements wrapped cost, with the same
//! rows in the same transaction (durability unchanged). A command rolled back to its
//! SAVEPOINT drops what it added (`mark`, `rollback_to`).

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::Connection;

use super::rules::{day_number, period_keys};
use super::store;

#[derive(Debug)]
struct Add {
    tenant: i64,
    user_row: i64,
    source_id: i64,
    slice: (String, String),
    date: NaiveDate,
    amount: f64,
}

/// One batch's additions, in the order they were made.
#[derive(Debug, Default)]
pub struct Pending {
    adds: Vec<Add>,
}

type SliceKey = (i64, i64, String, String); // (tenant or user, source, attr key, attr value)

impl Pending {
    /// Counts one event (or award) of `amount` on local `date` in `slice` of the source.
    pub(super) fn add(
        &mut self,
        (tenant, user_row, source_id): (i64, i64, i64),
        slice: (&str, &str),
        date: NaiveDate,
        amount: f64,
    ) {
        self.adds.push(Add {
            tenant,
            user_row,
            source_id,
            slice: (slice.0.to_owned(), slice.1.to_owned()),
            date,
            amount,
        });
    }

    pub fn mark(&self) -> usize {
        self.adds.len()
    }

    pub fn rollback_to(&mut self, mark: usize) {
        self.adds.truncate(mark);
    }

    /// Writes everything added since the last flush, in the open transaction.
    pub fn flush(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        if self.adds.is_empty() {
            return Ok(());
        }
        let adds = std::mem::take(&mut self.adds);
        // Per user, source, slice and day: events and amount. Per user, source, slice and
        // period: the change, with the user's tenant. Kept in first-seen order so the
        // statements run in a stable order.
        let mut days: Vec<((SliceKey, i64), (i64, f64))> = Vec::new();
        let mut day_at: HashMap<(SliceKey, i64), usize> = HashMap::new();
        let mut periods: Vec<((SliceKey, String), (i64, f64))> = Vec::new();
        let mut period_at: HashMap<(SliceKey, String), usize> = HashMap::new();
        for add in &adds {
            let user_slice: SliceKey = (
                add.user_row,
                add.source_id,
                add.slice.0.clone(),
                add.slice.1.clone(),
            );
            let day = (user_slice.clone(), day_number(add.date));
            match day_at.get(&day) {
                Some(&i) => {
                    days[i].1 .0 += 1;
                    days[i].1 .1 += add.amount;
                }
                None => {
                    day_at.insert(day.clone(), days.len());
                    days.push((day, (1, add.amount)));
                }
            }
            for period in period_keys(add.date) {
                let key = (user_slice.clone(), period);
                match period_at.get(&key) {
                    Some(&i) => periods[i].1 .1 += add.amount,
                    None => {
                        period_at.insert(key.clone(), periods.len());
                        periods.push((key, (add.tenant, add.amount)));
                    }
                }
            }
        }
        for (((user, source, key, value), day), (events, amount)) in &days {
            store::add_day(conn, *user, *source, (key, value), *day, *events, *amount)?;
        }
        let mut moves = store::Moves::default();
        for (((user, source, key, value), period), (tenant, amount)) in &periods {
            store::move_period(
                conn,
                &mut moves,
                (*tenant, *user, *source),
                (key, value),
                period,
                *amount,
            )?;
        }
        moves.write(conn)
    }
}
