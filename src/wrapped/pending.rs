//! The wrapped aggregates a group commit owes, gathered in memory while its commands run
//! and written once, just before COMMIT. Under load a batch holds dozens of events whose
//! per-amount user counts (`wrapped_period_values`) and active-user counts
//! (`wrapped_period_users`) mostly fall on the same few rows: moving each once per batch
//! instead of once per event removes most of the statements wrapped cost, with the same
//! rows in the same transaction (durability unchanged). A command rolled back to its
//! SAVEPOINT drops what it added (`mark`, `rollback_to`).
//!
//! Every stored amount must stay a finite number, but the flush comes after the command
//! has answered, so `add` refuses an addition that the flush would carry past the largest
//! double. It needs no statement for that as long as the batch's additions are small (see
//! [`SAFE_BATCH_MAGNITUDE`]); past that it reads the stored amounts the addition moves and
//! adds what the flush would.

use std::collections::HashMap;

use chrono::NaiveDate;
use rusqlite::Connection;

use super::rules::{day_number, period_keys};
use super::store;
use crate::domain::ids::{DefinitionId, TenantId, UserRow};

#[derive(Debug)]
struct Add {
    tenant: TenantId,
    user_row: UserRow,
    source_id: DefinitionId,
    slice: (String, String),
    date: NaiveDate,
    amount: f64,
    /// The sum of |amount| over the batch's additions up to and including this one, so
    /// that truncating the list (a rollback) also restores the batch's magnitude.
    magnitude: f64,
}

/// 2^968. A finite stored amount plus a batch sum below 2^970 (half the spacing of the
/// doubles near the largest one) rounds to a finite double, and no sum of additions whose
/// magnitudes add up to less than 2^968 reaches 2^970 even after rounding: under this
/// bound no stored amount can overflow and `add` checks nothing against the database.
const SAFE_BATCH_MAGNITUDE: f64 = 2.494_800_386_918_4e291;

/// Whether a batch whose additions' magnitudes sum to `magnitude` is below the bound.
pub(super) fn surely_finite(magnitude: f64) -> bool {
    magnitude < SAFE_BATCH_MAGNITUDE
}

/// One batch's additions, in the order they were made.
#[derive(Debug, Default)]
pub struct Pending {
    adds: Vec<Add>,
}

type SliceKey = (UserRow, DefinitionId, String, String); // (user, source, attr key, attr value)

impl Pending {
    /// Counts one event (or award) of `amount` on local `date` in `slice` of the source.
    /// Returns false, adding nothing, when the flush would make one of the stored amounts
    /// this moves (the day's, the week's, the month's or the year's) infinite.
    pub(super) fn add(
        &mut self,
        conn: &Connection,
        (tenant, user_row, source_id): (TenantId, UserRow, DefinitionId),
        slice: (&str, &str),
        date: NaiveDate,
        amount: f64,
    ) -> rusqlite::Result<bool> {
        let before = self.adds.last().map_or(0.0, |a| a.magnitude);
        let add = Add {
            tenant,
            user_row,
            source_id,
            slice: (slice.0.to_owned(), slice.1.to_owned()),
            date,
            amount,
            magnitude: before + amount.abs(),
        };
        if !amount.is_finite() {
            return Ok(false);
        }
        let fits = surely_finite(add.magnitude) || self.fits_exactly(conn, &add)?;
        if fits {
            self.adds.push(add);
        }
        Ok(fits)
    }

    /// Whether, with `candidate` added, the flush leaves the amounts it moves finite: the
    /// stored amount plus the batch's sum for that day or period, added in the order and
    /// the way `flush` adds them.
    fn fits_exactly(&self, conn: &Connection, candidate: &Add) -> rusqlite::Result<bool> {
        let same_slice = |a: &&Add| {
            a.user_row == candidate.user_row
                && a.source_id == candidate.source_id
                && a.slice == candidate.slice
        };
        let day = day_number(candidate.date);
        let periods = period_keys(candidate.date);
        let mut day_sum = 0.0;
        let mut period_sums = [0.0; 3];
        for add in self.adds.iter().filter(same_slice).chain([candidate]) {
            if day_number(add.date) == day {
                day_sum += add.amount;
            }
            let keys = period_keys(add.date);
            for (sum, period) in period_sums.iter_mut().zip(&periods) {
                if keys.contains(period) {
                    *sum += add.amount;
                }
            }
        }
        let (user, source) = (candidate.user_row, candidate.source_id);
        let slice = (candidate.slice.0.as_str(), candidate.slice.1.as_str());
        let stored_day = store::day_amount(conn, user, source, slice, day)?;
        if !(stored_day.unwrap_or(0.0) + day_sum).is_finite() {
            return Ok(false);
        }
        for (sum, period) in period_sums.iter().zip(&periods) {
            let stored = store::period_amount(conn, user, source, slice, period)?;
            if !(stored.unwrap_or(0.0) + sum).is_finite() {
                return Ok(false);
            }
        }
        Ok(true)
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
        let mut periods: Vec<((SliceKey, String), (TenantId, f64))> = Vec::new();
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

impl crate::writer::Staged for Pending {
    fn mark(&self) -> usize {
        Pending::mark(self)
    }

    fn rollback_to(&mut self, mark: usize) {
        Pending::rollback_to(self, mark);
    }

    fn flush(&mut self, conn: &Connection) -> rusqlite::Result<()> {
        Pending::flush(self, conn)
    }

    fn feature(&self) -> crate::writer::costs::Feature {
        crate::writer::costs::Feature::Wrapped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::ids::fixtures::{D9, T1, U1, U2};

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2031, 3, 12).expect("date")
    }

    fn db() -> Connection {
        crate::db::migrated_in_memory()
    }

    #[test]
    fn the_bound_is_two_to_the_968() {
        assert_eq!(SAFE_BATCH_MAGNITUDE, 2f64.powi(968));
        assert!(surely_finite(1e291));
        assert!(!surely_finite(1e300));
        // Below the bound nothing overflows even from the largest stored amount.
        assert!((f64::MAX + SAFE_BATCH_MAGNITUDE * 2.0).is_finite());
        assert!((f64::MAX + 2f64.powi(970)).is_infinite());
    }

    #[test]
    fn an_addition_that_would_overflow_a_stored_amount_is_refused() {
        let conn = db();
        let source = (T1, U1, D9);
        let mut first = Pending::default();
        assert!(first
            .add(&conn, source, store::WHOLE, date(), 1e308)
            .expect("add"));
        first.flush(&conn).expect("flush");
        let mut batch = Pending::default();
        // The stored year amount is 1e308: another 1e308 in the same year is refused, in
        // this batch or pending behind a small addition.
        assert!(batch
            .add(&conn, source, store::WHOLE, date(), 5.0)
            .expect("add"));
        assert!(!batch
            .add(&conn, source, store::WHOLE, date(), 1e308)
            .expect("add"));
        assert_eq!(batch.mark(), 1);
        // Taking it back is fine, and so is the same amount for another user.
        assert!(batch
            .add(&conn, source, store::WHOLE, date(), -1e308)
            .expect("add"));
        assert!(batch
            .add(&conn, (T1, U2, D9), store::WHOLE, date(), 1e308)
            .expect("add"));
        batch.flush(&conn).expect("flush");
        let amounts: Vec<f64> = {
            let mut stmt = conn
                .prepare("SELECT amount FROM wrapped_periods ORDER BY user_id, period")
                .expect("prepare");
            let rows = stmt.query_map([], |r| r.get(0)).expect("query");
            rows.map(|r| r.expect("row")).collect()
        };
        assert!(amounts.iter().all(|a: &f64| a.is_finite()), "{amounts:?}");
    }

    #[test]
    fn two_huge_additions_in_one_batch_are_caught_before_the_flush() {
        let conn = db();
        let mut batch = Pending::default();
        assert!(batch
            .add(&conn, (T1, U1, D9), store::WHOLE, date(), 1e308)
            .expect("add"));
        assert!(!batch
            .add(&conn, (T1, U1, D9), store::WHOLE, date(), 1e308)
            .expect("add"));
        // A rollback to before the first restores the batch's magnitude too.
        batch.rollback_to(0);
        assert!(batch
            .add(&conn, (T1, U1, D9), store::WHOLE, date(), 1.0)
            .expect("add"));
        assert!(surely_finite(batch.adds[0].magnitude));
        assert!(!batch
            .add(&conn, (T1, U1, D9), store::WHOLE, date(), f64::INFINITY)
            .expect("add"));
    }
}
