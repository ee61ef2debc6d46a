//! One user's streak in memory: the state machine of `rules::streak` driven by instants in
//! the user's time zone. Settlement at period ends and freeze auto-earn at local midnights
//! are applied in time order by `advance`, so catching up late (a job that lagged, a read
//! after a quiet week) gives what settling every boundary on time would have given.
//!
//! No I/O: `service` loads a `UserStreak`, calls these methods, then persists the touched
//! period rows and queues the webhooks for the transitions.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate, TimeDelta};
use chrono_tz::Tz;

use super::settings::{mode, period_kind};
use super::store::{Pause, PeriodRow, StreakRow};
use crate::clock::from_millis;
use crate::config::{Frequency, StreakDef};
use crate::domain::ids::{TenantId, UserRow};
use crate::rules::local_time::{end_of_local_day, local_date, start_of_local_day};
use crate::rules::periods::{period_at_index, period_containing, period_index, Period, PeriodKind};
use crate::rules::streak::{self, Calendar, Outcome, StreakState, Transition};

/// Guards the catch-up loop against a bug turning it into an endless one: far more steps
/// than any real gap needs (each step settles a period or grants freezes, and both stop).
const MAX_STEPS: usize = 100_000;

/// The settings a computation runs with.
#[derive(Clone, Copy)]
pub struct Rules<'a> {
    pub def: &'a StreakDef,
    pub kind: PeriodKind,
}

impl<'a> Rules<'a> {
    pub fn new(def: &'a StreakDef) -> Self {
        Rules {
            def,
            kind: period_kind(Some(def)),
        }
    }

    pub fn max_freezes(&self) -> Option<u32> {
        self.def.freezes.as_ref().map(|f| f.max_count)
    }

    pub fn initial_freezes(&self) -> u32 {
        self.def
            .freezes
            .as_ref()
            .map_or(0, |f| f.start_count.min(f.max_count))
    }

    /// `(interval in days, amount)` when auto-earn is on.
    pub fn auto_earn(&self) -> Option<(u32, u32)> {
        let f = self.def.freezes.as_ref()?;
        Some((f.auto_earn_interval_days?, f.auto_earn_amount?))
    }

    pub fn tracks(&self, metric_key: &str) -> bool {
        self.def.metrics.iter().any(|m| m.metric == metric_key)
    }

    /// The period containing `at_ms` in `tz`: (index, period, local date).
    pub fn period_at(&self, at_ms: i64, tz: Tz) -> (i64, Period, NaiveDate) {
        let today = local_date(from_millis(at_ms), tz);
        let period = period_containing(today, self.kind);
        (period_index(period.start, self.kind), period, today)
    }

    /// The exclusive end of period `index` in `tz`, in ms.
    pub fn end_of(&self, index: i64, tz: Tz) -> Option<i64> {
        let period = period_at_index(index, self.kind)?;
        end_of_local_day(period.end, tz).map(|t| t.timestamp_millis())
    }
}

/// Days off and pauses, as the state machine asks about them.
struct PeriodFacts<'a> {
    rules: Rules<'a>,
    pauses: &'a [Pause],
}

impl Calendar for PeriodFacts<'_> {
    fn is_day_off(&self, index: i64) -> bool {
        if self.rules.def.frequency != Frequency::Daily || self.rules.def.days_off.is_empty() {
            return false;
        }
        period_at_index(index, self.rules.kind).is_some_and(|p| {
            let weekday = p.start.weekday().num_days_from_sunday();
            self.rules
                .def
                .days_off
                .iter()
                .any(|d| u32::from(*d) == weekday)
        })
    }

    /// A pause covers a period it overlaps (for daily streaks: the days it lists).
    fn is_paused(&self, index: i64) -> bool {
        if self.pauses.is_empty() {
            return false;
        }
        period_at_index(index, self.rules.kind).is_some_and(|p| {
            self.pauses
                .iter()
                .any(|pause| pause.first_day <= p.end && p.start <= pause.last_day)
        })
    }
}

/// A period row as loaded or touched in memory.
#[derive(Debug, Clone, Default)]
pub struct PeriodSlot {
    pub row: PeriodRow,
    /// The sums and `met` reflect everything stored (the row was loaded, or is new).
    pub sums_known: bool,
    pub dirty: bool,
}

/// One user's streak being worked on.
#[derive(Debug, Clone)]
pub struct UserStreak {
    pub row: StreakRow,
    /// `row.tz`, parsed.
    pub tz: Tz,
    /// The user's creation time (ms): auto-earn is anchored on its local date.
    pub created_ms: i64,
    /// `None` until loaded; only needed when a period has to be settled.
    pub pauses: Option<Vec<Pause>>,
    /// Periods touched (or loaded) by this computation.
    pub periods: BTreeMap<i64, PeriodSlot>,
    /// New period rows start with known (empty) sums: set when the history was cleared.
    pub fresh_history: bool,
    /// Transitions not yet turned into webhooks, merged as `Outcome::push` does.
    pub outcome: Outcome,
    /// The row as loaded, to skip writing it back unchanged; `None` if there was no row.
    pub loaded: Option<StreakRow>,
}

impl UserStreak {
    /// A user with no streak row yet: the initial freezes and the first auto-earn date.
    pub fn fresh(
        rules: Rules<'_>,
        user_id: UserRow,
        tenant_id: TenantId,
        tz: Tz,
        created_ms: i64,
    ) -> UserStreak {
        let mut s = UserStreak {
            row: StreakRow {
                user_id,
                tenant_id,
                state: StreakState {
                    freezes: rules.initial_freezes(),
                    ..Default::default()
                },
                longest_at: None,
                extended_at: None,
                tz: tz.name().to_owned(),
                next_settle_at: None,
                next_freeze_earn_at: None,
            },
            tz,
            created_ms,
            pauses: None,
            periods: BTreeMap::new(),
            fresh_history: false,
            outcome: Outcome::default(),
            loaded: None,
        };
        s.row.next_freeze_earn_at = s.next_anchor(rules, created_ms, false);
        s.finish(rules, created_ms);
        s
    }

    /// A stored row. `fallback_tz` is used if the stored zone name no longer parses.
    pub fn from_row(row: StreakRow, created_ms: i64, fallback_tz: Tz) -> UserStreak {
        let tz = row.tz.parse().unwrap_or(fallback_tz);
        UserStreak {
            loaded: Some(row.clone()),
            row,
            tz,
            created_ms,
            pauses: None,
            periods: BTreeMap::new(),
            fresh_history: false,
            outcome: Outcome::default(),
        }
    }

    pub fn state(&self) -> &StreakState {
        &self.row.state
    }

    /// When the period the user must meet next ends (the streak is settled then), if alive.
    pub fn deadline(&self, rules: Rules<'_>) -> Option<i64> {
        self.row
            .state
            .due_period()
            .and_then(|q| rules.end_of(q, self.tz))
    }

    /// Whether `advance(until)` would settle a period (and so needs the pauses).
    pub fn needs_settlement(&self, rules: Rules<'_>, until_ms: i64) -> bool {
        self.deadline(rules).is_some_and(|d| d <= until_ms)
    }

    /// Whether anything is due at or before `until` (a settlement or a grant).
    pub fn is_due(&self, rules: Rules<'_>, until_ms: i64) -> bool {
        self.needs_settlement(rules, until_ms)
            || self.row.next_freeze_earn_at.is_some_and(|e| e <= until_ms)
    }

    /// Applies, in time order, every settlement and freeze grant due at or before `until`.
    /// At the same instant settlement goes first: freezes are used at midnight and earned
    /// "up to ten minutes later" (docs/behaviour/streaks.md#freezes).
    pub fn advance(&mut self, rules: Rules<'_>, until_ms: i64) {
        for _ in 0..MAX_STEPS {
            let settle_at = self.deadline(rules).filter(|d| *d <= until_ms);
            let earn_at = self.row.next_freeze_earn_at.filter(|e| *e <= until_ms);
            match (settle_at, earn_at) {
                (Some(s), e) if e.is_none_or(|e| s <= e) => self.settle_one(rules, s),
                (_, Some(e)) => self.earn_at(rules, e),
                _ => return,
            }
        }
        log::error!(
            "streak of user {} needed more than {MAX_STEPS} steps to catch up",
            self.row.user_id
        );
    }

    fn settle_one(&mut self, rules: Rules<'_>, at_ms: i64) {
        let Some(q) = self.row.state.due_period() else {
            return;
        };
        let freezes_before = self.row.state.freezes;
        let pauses = self.pauses.take().unwrap_or_default();
        let facts = PeriodFacts {
            rules,
            pauses: &pauses,
        };
        let mut out = Outcome::default();
        streak::settle(&mut self.row.state, q + 1, &facts, &mut out);
        self.pauses = Some(pauses);
        self.absorb(out);
        // A freeze just used makes room below the maximum: earning resumes at the next
        // anchor, which may be this very midnight.
        if self.row.state.freezes < freezes_before && self.row.next_freeze_earn_at.is_none() {
            self.row.next_freeze_earn_at = self.next_anchor(rules, at_ms, true);
        }
    }

    fn earn_at(&mut self, rules: Rules<'_>, at_ms: i64) {
        let (max, amount) = match (rules.max_freezes(), rules.auto_earn()) {
            (Some(max), Some((_, amount))) => (max, amount),
            _ => {
                self.row.next_freeze_earn_at = None;
                return;
            }
        };
        let mut out = Outcome::default();
        streak::earn(&mut self.row.state, amount, max, &mut out);
        self.absorb(out);
        self.row.next_freeze_earn_at = if self.row.state.freezes >= max {
            None
        } else {
            self.next_anchor(rules, at_ms, false)
        };
    }

    /// The next auto-earn instant after `after_ms` (or at it, when `inclusive`): local
    /// midnight every `interval` days from the local date the user was created on.
    fn next_anchor(&self, rules: Rules<'_>, after_ms: i64, inclusive: bool) -> Option<i64> {
        let (interval, _) = rules.auto_earn()?;
        let max = rules.max_freezes()?;
        if self.row.state.freezes >= max {
            return None;
        }
        let interval = i64::from(interval.max(1));
        let created = local_date(from_millis(self.created_ms), self.tz);
        let today = local_date(from_millis(after_ms), self.tz);
        let first = ((today - created).num_days() / interval).max(1);
        for k in first..first + 4 {
            let date = created.checked_add_days(Days::new(u64::try_from(k * interval).ok()?))?;
            let at = start_of_local_day(date, self.tz)?.timestamp_millis();
            if at > after_ms || (inclusive && at == after_ms) {
                return Some(at);
            }
        }
        None
    }

    /// The user now lives in `new_tz` (as of `at_ms`). What ended in the old zone is settled
    /// there; if the move jumps the calendar forward, the periods jumped over are bridged
    /// for free, so a time-zone change never costs a streak
    /// (docs/behaviour/streaks.md#evaluating-an-event).
    pub fn change_zone(&mut self, rules: Rules<'_>, new_tz: Tz, at_ms: i64) {
        if new_tz == self.tz {
            return;
        }
        self.advance(rules, at_ms);
        let (old_index, _, _) = rules.period_at(at_ms, self.tz);
        let (new_index, _, _) = rules.period_at(at_ms, new_tz);
        if new_index > old_index {
            let mut out = Outcome::default();
            streak::bridge(&mut self.row.state, new_index, &mut out);
            self.absorb(out);
        }
        self.tz = new_tz;
        self.row.tz = new_tz.name().to_owned();
        if self.row.next_freeze_earn_at.is_some() {
            self.row.next_freeze_earn_at = self.next_anchor(rules, at_ms, false);
        }
    }

    /// Whether period `index` can no longer change the streak: it was met (or an earlier
    /// period was, after a move west), or the streak is already alive through it. Events in
    /// such a period are not even accumulated, which keeps the common case (a user who
    /// already met today) to one read.
    fn is_settled_for(&self, index: i64) -> bool {
        let state = &self.row.state;
        state.last_met.is_some_and(|m| index <= m)
            || (state.is_alive() && state.alive_through.is_some_and(|a| index <= a))
    }

    /// The period containing `at_ms` must be in `periods` with its stored sums before
    /// `record` runs; this says which one (None: nothing to load).
    pub fn period_to_load(&self, rules: Rules<'_>, at_ms: i64, metric_key: &str) -> Option<i64> {
        if !rules.tracks(metric_key) {
            return None;
        }
        let (index, _, _) = rules.period_at(at_ms, self.tz);
        let known = self.periods.get(&index).is_some_and(|s| s.sums_known);
        (!known && !self.is_settled_for(index)).then_some(index)
    }

    /// Whether every period accumulator held is a finite number (an event may not carry
    /// one past the largest double).
    pub fn sums_are_finite(&self) -> bool {
        self.periods
            .values()
            .all(|slot| slot.row.sums.values().all(|sum| sum.is_finite()))
    }

    /// Puts a loaded period row in place.
    pub fn put_period(&mut self, index: i64, row: Option<PeriodRow>) {
        self.periods.insert(
            index,
            PeriodSlot {
                row: row.unwrap_or_default(),
                sums_known: true,
                dirty: false,
            },
        );
    }

    /// An event of `value` on `metric_key` at `at_ms` (already advanced to `at_ms`).
    /// Returns whether it raised the streak length.
    pub fn record(&mut self, rules: Rules<'_>, at_ms: i64, metric_key: &str, value: f64) -> bool {
        if !rules.tracks(metric_key) {
            return false;
        }
        let (index, _, today) = rules.period_at(at_ms, self.tz);
        if self.is_settled_for(index) {
            return false;
        }
        let fresh = self.fresh_history;
        let slot = self.periods.entry(index).or_insert_with(|| PeriodSlot {
            sums_known: fresh,
            ..Default::default()
        });
        *slot.row.sums.entry(metric_key.to_owned()).or_insert(0.0) += value;
        slot.dirty = true;
        if slot.row.met {
            return false;
        }
        let sums: Vec<(f64, f64)> = rules
            .def
            .metrics
            .iter()
            .map(|m| {
                (
                    slot.row.sums.get(&m.metric).copied().unwrap_or(0.0),
                    m.threshold,
                )
            })
            .collect();
        if !streak::conditions_met(mode(rules.def), &sums) {
            return false;
        }
        slot.row.met = true;
        let pauses = self.pauses.take().unwrap_or_default();
        let facts = PeriodFacts {
            rules,
            pauses: &pauses,
        };
        let longest_before = self.row.state.longest;
        let mut out = Outcome::default();
        let raised = streak::meet(&mut self.row.state, index, today, &facts, &mut out);
        self.pauses = Some(pauses);
        self.absorb(out);
        if raised {
            self.row.extended_at = Some(at_ms);
            if self.row.state.longest > longest_before {
                self.row.longest_at = Some(at_ms);
            }
        }
        raised
    }

    /// Admin restore (docs/behaviour/streaks.md#restore) to `length`, filling the missed
    /// periods from `fill_from`. Returns false when that would not lengthen the streak.
    pub fn restore(&mut self, rules: Rules<'_>, now_ms: i64, length: u32, fill_from: i64) -> bool {
        let (current, _, today) = rules.period_at(now_ms, self.tz);
        let started = periods_before(today, rules.kind, length.saturating_sub(1));
        let longest_before = self.row.state.longest;
        let mut out = Outcome::default();
        if !streak::restore(
            &mut self.row.state,
            length,
            current,
            fill_from,
            started,
            &mut out,
        ) {
            return false;
        }
        self.absorb(out);
        if self.row.state.longest > longest_before {
            self.row.longest_at = Some(now_ms);
        }
        true
    }

    /// Admin reset: the streak ends without a loss.
    pub fn reset(&mut self) {
        streak::reset(&mut self.row.state);
    }

    /// Adds freezes granted by an admin (the caller checked the maximum).
    pub fn grant(&mut self, n: u32) {
        self.row.state.freezes = self.row.state.freezes.saturating_add(n);
        self.outcome.push(Transition::FreezesEarned(n));
    }

    /// Fixes the schedule columns after a change: the next settlement (end of the period
    /// due next) and the next auto-earn (only below the maximum).
    pub fn finish(&mut self, rules: Rules<'_>, now_ms: i64) {
        self.row.next_settle_at = self.deadline(rules);
        self.row.next_freeze_earn_at = match (rules.auto_earn(), rules.max_freezes()) {
            (Some(_), Some(max)) if self.row.state.freezes < max => self
                .row
                .next_freeze_earn_at
                .or_else(|| self.next_anchor(rules, now_ms, false)),
            _ => None,
        };
    }

    /// Whether the streak row differs from what was loaded (or there was none).
    pub fn row_changed(&self) -> bool {
        self.loaded.as_ref() != Some(&self.row)
    }

    fn absorb(&mut self, out: Outcome) {
        for t in out.transitions {
            self.outcome.push(t);
        }
        let fresh = self.fresh_history;
        for c in out.covered {
            let slot = self.periods.entry(c.index).or_insert_with(|| PeriodSlot {
                sums_known: fresh,
                ..Default::default()
            });
            slot.row.cover = Some(c.cover);
            slot.row.length = c.length;
            slot.dirty = true;
        }
    }

    /// The streak length shown now: the state's once settled (0 when not alive).
    pub fn length(&self) -> u32 {
        if self.row.state.is_alive() {
            self.row.state.length
        } else {
            0
        }
    }

    /// The covered state of period `index` as this computation knows it, if it touched it.
    pub fn slot(&self, index: i64) -> Option<&PeriodSlot> {
        self.periods.get(&index)
    }
}

/// `today` moved back by `n` periods of `kind` (same day of the week / month, clamped).
fn periods_before(today: NaiveDate, kind: PeriodKind, n: u32) -> NaiveDate {
    let moved = match kind {
        PeriodKind::Daily => today.checked_sub_signed(TimeDelta::days(i64::from(n))),
        PeriodKind::Weekly(_) => today.checked_sub_signed(TimeDelta::weeks(i64::from(n))),
        PeriodKind::Monthly => today.checked_sub_months(chrono::Months::new(n)),
    };
    moved.unwrap_or(today)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EvaluationMode, FreezeDef, StreakCondition, WeekStart};
    use chrono::{DateTime, Utc};
    use chrono_tz::{America, Pacific, UTC};

    use crate::domain::ids::fixtures::{T1, U1};

    fn ms(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s)
            .expect("instant")
            .with_timezone(&Utc)
            .timestamp_millis()
    }

    fn def(freezes: Option<FreezeDef>) -> StreakDef {
        StreakDef {
            frequency: Frequency::Daily,
            evaluation_mode: EvaluationMode::Or,
            week_start: WeekStart::Sunday,
            metrics: vec![StreakCondition {
                metric: "m".into(),
                threshold: 1.0,
            }],
            days_off: vec![],
            freezes,
            customization_enabled: false,
        }
    }

    fn fresh(rules: Rules<'_>, tz: Tz, created: &str) -> UserStreak {
        let mut s = UserStreak::fresh(rules, U1, T1, tz, ms(created));
        s.fresh_history = true;
        s
    }

    fn event(s: &mut UserStreak, rules: Rules<'_>, at: &str) -> bool {
        s.advance(rules, ms(at));
        s.record(rules, ms(at), "m", 1.0)
    }

    #[test]
    fn daily_streak_in_utc() {
        let d = def(None);
        let rules = Rules::new(&d);
        let mut s = fresh(rules, UTC, "2025-03-01T00:00:00Z");
        assert!(event(&mut s, rules, "2025-03-01T10:00:00Z"));
        assert!(!event(&mut s, rules, "2025-03-01T11:00:00Z"));
        assert!(event(&mut s, rules, "2025-03-02T23:59:59Z"));
        assert_eq!(s.length(), 2);
        s.finish(rules, ms("2025-03-02T23:59:59Z"));
        assert_eq!(s.row.next_settle_at, Some(ms("2025-03-04T00:00:00Z")));
        s.advance(rules, ms("2025-03-03T23:59:59Z"));
        assert_eq!(s.length(), 2);
        s.advance(rules, ms("2025-03-04T00:00:00Z"));
        assert_eq!(s.length(), 0);
        assert_eq!(
            s.outcome.transitions.last(),
            Some(&Transition::Lost { length: 2 })
        );
    }

    #[test]
    fn periods_are_cut_in_the_users_zone() {
        let d = def(None);
        let rules = Rules::new(&d);
        // Kiritimati is UTC+14: 10:00Z is already the next local day.
        let mut s = fresh(rules, Pacific::Kiritimati, "2025-03-01T00:00:00Z");
        assert!(event(&mut s, rules, "2025-03-01T09:59:00Z")); // local 03-01 23:59
        assert!(event(&mut s, rules, "2025-03-01T10:01:00Z")); // local 03-02 00:01
        assert_eq!(s.length(), 2);
        assert_eq!(s.state().started, NaiveDate::from_ymd_opt(2025, 3, 1));
    }

    #[test]
    fn freezes_are_used_one_per_missed_period_and_earned_back_in_time_order() {
        let d = def(Some(FreezeDef {
            start_count: 1,
            max_count: 2,
            auto_earn_interval_days: Some(3),
            auto_earn_amount: Some(1),
        }));
        let rules = Rules::new(&d);
        let mut s = fresh(rules, UTC, "2025-03-01T12:00:00Z");
        assert_eq!(s.state().freezes, 1);
        assert_eq!(s.row.next_freeze_earn_at, Some(ms("2025-03-04T00:00:00Z")));
        assert!(event(&mut s, rules, "2025-03-01T13:00:00Z"));
        // 03-02 missed: the freeze covers it. 03-03 missed: it is settled at 03-04 00:00,
        // before the grant due at that same midnight, so the streak is lost.
        s.advance(rules, ms("2025-03-04T00:00:00Z"));
        assert_eq!(
            s.outcome.transitions,
            vec![
                Transition::Started,
                Transition::FreezesConsumed(1),
                Transition::Lost { length: 1 },
                Transition::FreezesEarned(1)
            ]
        );
        assert_eq!(s.state().freezes, 1);
        // Anchors every 3 days; the next grant fills to the maximum, then earning stops.
        s.advance(rules, ms("2025-03-10T00:00:00Z"));
        assert_eq!(s.state().freezes, 2);
        assert_eq!(s.row.next_freeze_earn_at, None);
    }

    #[test]
    fn a_freeze_used_at_max_resumes_earning_from_that_midnight() {
        let d = def(Some(FreezeDef {
            start_count: 1,
            max_count: 1,
            auto_earn_interval_days: Some(1),
            auto_earn_amount: Some(1),
        }));
        let rules = Rules::new(&d);
        let mut s = fresh(rules, UTC, "2025-03-01T12:00:00Z");
        assert_eq!(s.row.next_freeze_earn_at, None);
        assert!(event(&mut s, rules, "2025-03-01T13:00:00Z"));
        // 03-02 missed: the freeze covers it at 03-03 00:00 and one is earned right after.
        s.advance(rules, ms("2025-03-03T00:00:00Z"));
        assert_eq!(
            s.outcome.transitions,
            vec![
                Transition::Started,
                Transition::FreezesConsumed(1),
                Transition::FreezesEarned(1)
            ]
        );
        assert_eq!(s.length(), 1);
        assert_eq!(s.state().freezes, 1);
    }

    #[test]
    fn moving_east_across_the_date_line_bridges_the_skipped_day() {
        let d = def(None);
        let rules = Rules::new(&d);
        let mut s = fresh(rules, Pacific::Pago_Pago, "2025-03-01T00:00:00Z");
        // Pago Pago (UTC-11) 03-01 22:00.
        assert!(event(&mut s, rules, "2025-03-02T09:00:00Z"));
        // Now in Kiritimati (UTC+14) it is 03-02 23:00: one day later, nothing skipped.
        s.change_zone(rules, Pacific::Kiritimati, ms("2025-03-02T09:00:00Z"));
        assert_eq!(s.length(), 1);
        assert!(event(&mut s, rules, "2025-03-02T09:30:00Z"));
        assert_eq!(s.length(), 2);
        // Back to Pago Pago (03-01 again): nothing extends, nothing is lost.
        s.change_zone(rules, Pacific::Pago_Pago, ms("2025-03-02T10:00:00Z"));
        assert!(!event(&mut s, rules, "2025-03-02T10:30:00Z"));
        assert_eq!(s.length(), 2);
        // And a jump of two days (Pago Pago 03-02 23:30 = Kiritimati 03-04 00:30).
        s.change_zone(rules, Pacific::Kiritimati, ms("2025-03-03T10:30:00Z"));
        assert_eq!(s.length(), 2, "03-03 was bridged");
        assert!(event(&mut s, rules, "2025-03-03T10:40:00Z"));
        assert_eq!(s.length(), 3);
        assert!(s
            .outcome
            .transitions
            .iter()
            .all(|t| !matches!(t, Transition::Lost { .. })));
    }

    #[test]
    fn new_york_dst_days_end_at_local_midnight() {
        let d = def(None);
        let rules = Rules::new(&d);
        let tz = America::New_York;
        let mut s = fresh(rules, tz, "2025-03-01T00:00:00Z");
        // 2025-03-09 is 23 hours long in New York.
        assert!(event(&mut s, rules, "2025-03-09T05:00:00Z")); // 00:00 EST
        s.finish(rules, ms("2025-03-09T05:00:00Z"));
        // Due next: 03-10, which ends at 03-11 00:00 EDT = 04:00Z.
        assert_eq!(s.row.next_settle_at, Some(ms("2025-03-11T04:00:00Z")));
        assert!(event(&mut s, rules, "2025-03-11T03:59:00Z"));
        assert_eq!(s.length(), 2);
    }

    #[test]
    fn restore_sets_started_back_by_the_length() {
        let d = def(None);
        let rules = Rules::new(&d);
        let mut s = fresh(rules, UTC, "2025-03-01T00:00:00Z");
        let now = ms("2025-03-10T12:00:00Z");
        let (current, _, _) = rules.period_at(now, UTC);
        assert!(s.restore(rules, now, 4, current - 2));
        assert_eq!(s.length(), 4);
        assert_eq!(s.state().started, NaiveDate::from_ymd_opt(2025, 3, 7));
        s.finish(rules, now);
        assert_eq!(s.row.next_settle_at, Some(ms("2025-03-12T00:00:00Z")));
    }
}
