//! What the console counts over time (`activity_hours`): events, active users (a user's
//! first event of a UTC day), new users and points awards, per tenant and UTC hour. The
//! overview and the charts read a few hundred of these rows instead of counting `events`
//! and `points_awards`, which took seconds at a few hundred thousand events.
//!
//! The engines add to [`Pending`] as they apply a command; the batch writes it just before
//! COMMIT, one statement per tenant and hour it touched, so a batch of events costs one row
//! write, not one per event. A command rolled back to its SAVEPOINT drops what it added.

pub mod returns;
pub mod store;

use std::collections::BTreeMap;

use crate::domain::ids::TenantId;

const MS_PER_HOUR: i64 = 3_600_000;
const MS_PER_DAY: i64 = 86_400_000;

/// The hour (since the epoch, UTC) of a time in milliseconds. Truncating, as the
/// migration that counted older rows does.
pub fn hour_of(ms: i64) -> i64 {
    ms / MS_PER_HOUR
}

/// The start of the UTC day of `ms`.
fn day_start(ms: i64) -> i64 {
    ms - ms % MS_PER_DAY
}

/// The UTC day (since the epoch) of a time in milliseconds, truncating like [`hour_of`].
pub fn day_of(ms: i64) -> i64 {
    ms / MS_PER_DAY
}

/// Counts added to one tenant's hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub events: i64,
    pub active_users: i64,
    pub new_users: i64,
    pub awards: i64,
    pub points: i64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.events += other.events;
        self.active_users += other.active_users;
        self.new_users += other.new_users;
        self.awards += other.awards;
        self.points = self.points.saturating_add(other.points);
    }
}

/// One addition: to a tenant's hour, or a user's return (`activity_returns`).
#[derive(Debug)]
enum Add {
    Hour(TenantId, i64, Counts),
    Return(returns::Key),
}

/// One batch's additions, in the order they were made.
#[derive(Debug, Default)]
pub struct Pending {
    adds: Vec<Add>,
}

impl Pending {
    /// An event of `tenant` at `at_ms`, by a user (in the control group or not) whose
    /// previous event was at `previous_ms` (None for their first).
    pub fn event(&mut self, tenant: TenantId, at_ms: i64, previous_ms: Option<i64>, control: bool) {
        let first_today = previous_ms.is_none_or(|p| p < day_start(at_ms));
        if first_today {
            self.adds.push(Add::Return(returns::Key::of(
                tenant,
                at_ms,
                previous_ms,
                control,
            )));
        }
        self.push(
            tenant,
            at_ms,
            Counts {
                events: 1,
                active_users: i64::from(first_today),
                ..Counts::default()
            },
        );
    }

    pub fn new_user(&mut self, tenant: TenantId, at_ms: i64) {
        self.push(
            tenant,
            at_ms,
            Counts {
                new_users: 1,
                ..Counts::default()
            },
        );
    }

    pub fn award(&mut self, tenant: TenantId, at_ms: i64, points: i64) {
        self.push(
            tenant,
            at_ms,
            Counts {
                awards: 1,
                points,
                ..Counts::default()
            },
        );
    }

    fn push(&mut self, tenant: TenantId, at_ms: i64, counts: Counts) {
        self.adds.push(Add::Hour(tenant, hour_of(at_ms), counts));
    }

    pub fn mark(&self) -> usize {
        self.adds.len()
    }

    pub fn rollback_to(&mut self, mark: usize) {
        self.adds.truncate(mark);
    }

    /// The additions summed per tenant and hour (what `flush` writes).
    fn summed(&self) -> BTreeMap<(TenantId, i64), Counts> {
        let mut out: BTreeMap<(TenantId, i64), Counts> = BTreeMap::new();
        for add in &self.adds {
            if let Add::Hour(tenant, hour, counts) = add {
                out.entry((*tenant, *hour)).or_default().add(counts);
            }
        }
        out
    }

    /// The returns counted per key (what `flush` writes to `activity_returns`).
    fn returns(&self) -> BTreeMap<returns::Key, i64> {
        let mut out = BTreeMap::new();
        for add in &self.adds {
            if let Add::Return(key) = add {
                *out.entry(*key).or_insert(0) += 1;
            }
        }
        out
    }

    /// Writes everything added since the last flush, in the open transaction.
    pub fn flush(&mut self, conn: &rusqlite::Connection) -> rusqlite::Result<()> {
        if self.adds.is_empty() {
            return Ok(());
        }
        let summed = self.summed();
        let returned = self.returns();
        self.adds.clear();
        for ((tenant, hour), counts) in summed {
            store::add(conn, tenant, hour, &counts)?;
        }
        for (key, users) in returned {
            store::add_returns(conn, &key, users)?;
        }
        Ok(())
    }
}

impl crate::writer::Staged for Pending {
    fn mark(&self) -> usize {
        Pending::mark(self)
    }

    fn rollback_to(&mut self, mark: usize) {
        Pending::rollback_to(self, mark);
    }

    fn flush(&mut self, conn: &rusqlite::Connection) -> rusqlite::Result<()> {
        Pending::flush(self, conn)
    }

    fn feature(&self) -> crate::writer::costs::Feature {
        crate::writer::costs::Feature::Core
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::ids::fixtures::{T1, T2};

    const DAY: i64 = MS_PER_DAY;

    #[test]
    fn a_users_first_event_of_a_utc_day_makes_them_active_once() {
        let mut p = Pending::default();
        let morning = 20_000 * DAY + 9 * MS_PER_HOUR;
        p.event(T1, morning, None, false);
        p.event(T1, morning + 60_000, Some(morning), false);
        p.event(T1, morning + MS_PER_HOUR, Some(morning - DAY), true);
        p.event(T2, morning, Some(morning - 1), false);
        let summed = p.summed();
        let nine = summed[&(T1, hour_of(morning))];
        assert_eq!((nine.events, nine.active_users), (2, 1));
        let ten = summed[&(T1, hour_of(morning) + 1)];
        assert_eq!((ten.events, ten.active_users), (1, 1));
        assert_eq!(summed[&(T2, hour_of(morning))].active_users, 0);
        // One return per first event of a day, by its gap and control flag.
        let day = day_of(morning);
        let returned: Vec<_> = p.returns().into_iter().collect();
        assert_eq!(
            returned,
            vec![
                (
                    returns::Key {
                        tenant: T1,
                        day,
                        control: false,
                        gap: returns::NEW
                    },
                    1
                ),
                (
                    returns::Key {
                        tenant: T1,
                        day,
                        control: true,
                        gap: 1
                    },
                    1
                ),
            ]
        );
    }

    #[test]
    fn a_rollback_drops_what_was_added_after_its_mark() {
        let mut p = Pending::default();
        p.new_user(T1, 0);
        let mark = p.mark();
        p.award(T1, 0, 50);
        p.rollback_to(mark);
        let summed = p.summed();
        assert_eq!(
            summed[&(T1, 0)],
            Counts {
                new_users: 1,
                ..Counts::default()
            }
        );
    }
}
