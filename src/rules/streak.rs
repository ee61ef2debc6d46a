//! The streak state machine (docs/behaviour/streaks.md), over period indexes and with no I/O.
//!
//! A period is identified by its `periods::period_index`; consecutive periods differ by 1. The
//! caller cuts periods in the user's time zone, asks this module what happens, then writes the
//! history rows and queues the webhooks the returned transitions call for.
//!
//! Rules:
//! * `length` counts **met** periods only. A period covered by a day off, a pause, a freeze, a
//!   time-zone bridge or a restore keeps the streak alive without adding to it.
//! * A period is settled once it has ended unmet while the streak is alive: a day off (daily
//!   streaks only) covers it for free, then a pause, then a freeze; otherwise the streak is lost.
//!   Settling k periods at once gives the same result as settling each on time, and the
//!   transitions merge into one `FreezesConsumed(n)` followed by at most one `Lost`.
//! * Only the period right after the last covered one extends. A period at or before the last
//!   met (or covered) one never extends again, so a time-zone change that makes "today" an
//!   already-handled period extends nothing and loses nothing.
//! * A met period stays met (no un-extending).

use chrono::NaiveDate;

/// How conditions combine (`evaluationMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Any one condition reaching its threshold.
    Or,
    /// Every condition reaching its threshold.
    And,
}

/// Whether the period's sums meet the conditions: `(sum, threshold)` per condition.
/// No conditions means nothing can ever meet them.
pub fn conditions_met(mode: Mode, sums: &[(f64, f64)]) -> bool {
    if sums.is_empty() {
        return false;
    }
    // Decimal values summed in binary floating point (0.7 + 0.1 < 0.8) must still count.
    let reached =
        |&(sum, threshold): &(f64, f64)| sum >= threshold - 1e-9 * threshold.abs().max(1.0);
    match mode {
        Mode::Or => sums.iter().any(reached),
        Mode::And => sums.iter().all(reached),
    }
}

/// A user's streak between periods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreakState {
    /// Consecutive met periods; 0 when there is no streak.
    pub length: u32,
    /// Local date the current streak started; `None` when `length == 0`.
    pub started: Option<NaiveDate>,
    /// The last period that extended (or started) a streak.
    pub last_met: Option<i64>,
    /// The streak is alive through this period (met or covered); `None` when `length == 0`.
    pub alive_through: Option<i64>,
    pub freezes: u32,
    /// The longest length ever reached.
    pub longest: u32,
    /// The length of the last streak lost, for restores.
    pub last_lost_length: u32,
}

impl StreakState {
    pub fn is_alive(&self) -> bool {
        self.length > 0 && self.alive_through.is_some()
    }

    /// The period the user must meet next to keep the streak: the one after the last covered.
    pub fn due_period(&self) -> Option<i64> {
        if self.is_alive() {
            self.alive_through.and_then(|a| a.checked_add(1))
        } else {
            None
        }
    }

    fn lose(&mut self, out: &mut Outcome) {
        out.push(Transition::Lost {
            length: self.length,
        });
        self.last_lost_length = self.length;
        self.length = 0;
        self.started = None;
        self.alive_through = None;
    }
}

/// Why a period kept the streak alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cover {
    Met,
    /// A configured day off (daily streaks).
    DayOff,
    Pause,
    Freeze,
    /// Skipped over by a time-zone change.
    Bridge,
    /// Filled in by an admin restore.
    Restore,
}

impl Cover {
    pub fn as_str(self) -> &'static str {
        match self {
            Cover::Met => "met",
            Cover::DayOff => "day_off",
            Cover::Pause => "pause",
            Cover::Freeze => "freeze",
            Cover::Bridge => "bridge",
            Cover::Restore => "restore",
        }
    }

    pub fn parse(s: &str) -> Option<Cover> {
        Some(match s {
            "met" => Cover::Met,
            "day_off" => Cover::DayOff,
            "pause" => Cover::Pause,
            "freeze" => Cover::Freeze,
            "bridge" => Cover::Bridge,
            "restore" => Cover::Restore,
            _ => return None,
        })
    }
}

/// What happened, in order; each maps to at most one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Started,
    Extended,
    FreezesConsumed(u32),
    Lost { length: u32 },
    FreezesEarned(u32),
}

impl Transition {
    /// The webhook that announces it.
    pub fn event_type(&self) -> &'static str {
        match self {
            Transition::Started => "streak.started",
            Transition::Extended => "streak.extended",
            Transition::FreezesConsumed(_) => "streak.freeze_consumed",
            Transition::Lost { .. } => "streak.lost",
            Transition::FreezesEarned(_) => "streak.freeze_earned",
        }
    }
}

/// A period that became covered, with the streak length at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Covered {
    pub index: i64,
    pub cover: Cover,
    pub length: u32,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub transitions: Vec<Transition>,
    pub covered: Vec<Covered>,
}

impl Outcome {
    /// Appends `t`, merging it into the previous transition when both count freezes the
    /// same way, so k periods settled at once give one webhook with the count.
    pub fn push(&mut self, t: Transition) {
        match (self.transitions.last_mut(), &t) {
            (Some(Transition::FreezesConsumed(n)), Transition::FreezesConsumed(m))
            | (Some(Transition::FreezesEarned(n)), Transition::FreezesEarned(m)) => *n += m,
            _ => self.transitions.push(t),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.transitions.is_empty() && self.covered.is_empty()
    }

    /// Whether the streak length went up (a start or an extension).
    pub fn raised_length(&self) -> bool {
        self.transitions
            .iter()
            .any(|t| matches!(t, Transition::Started | Transition::Extended))
    }
}

/// Facts about periods the state machine needs from the calendar and the pauses.
pub trait Calendar {
    /// A configured day off: an unmet one keeps the streak alive for free.
    fn is_day_off(&self, index: i64) -> bool;
    /// Covered by one of the user's pauses.
    fn is_paused(&self, index: i64) -> bool;
}

/// Settles every period that ended unmet while the streak was alive: those after
/// `alive_through` and before `before` (the current period, which has not ended).
pub fn settle(state: &mut StreakState, before: i64, calendar: &impl Calendar, out: &mut Outcome) {
    while let Some(q) = state.due_period() {
        if q >= before {
            break;
        }
        let cover = if calendar.is_day_off(q) {
            Cover::DayOff
        } else if calendar.is_paused(q) {
            Cover::Pause
        } else if state.freezes > 0 {
            state.freezes -= 1;
            out.push(Transition::FreezesConsumed(1));
            Cover::Freeze
        } else {
            state.lose(out);
            break;
        };
        state.alive_through = Some(q);
        out.covered.push(Covered {
            index: q,
            cover,
            length: state.length,
        });
    }
}

/// Covers, without cost, the periods after `alive_through` and before `before`: used when a
/// time-zone change jumps the user's calendar forward over periods they never had.
pub fn bridge(state: &mut StreakState, before: i64, out: &mut Outcome) {
    while let Some(q) = state.due_period() {
        if q >= before {
            break;
        }
        state.alive_through = Some(q);
        out.covered.push(Covered {
            index: q,
            cover: Cover::Bridge,
            length: state.length,
        });
    }
}

/// Period `index` (the current one) has just met the conditions on `today`. Settles what
/// ended before it, then starts or extends the streak. Returns whether the length went up.
pub fn meet(
    state: &mut StreakState,
    index: i64,
    today: NaiveDate,
    calendar: &impl Calendar,
    out: &mut Outcome,
) -> bool {
    settle(state, index, calendar, out);
    let handled = |p: Option<i64>| p.is_some_and(|p| index <= p);
    if handled(state.last_met) || (state.is_alive() && handled(state.alive_through)) {
        return false;
    }
    if state.due_period() == Some(index) {
        state.length = state.length.saturating_add(1);
        out.push(Transition::Extended);
    } else {
        state.length = 1;
        state.started = Some(today);
        out.push(Transition::Started);
    }
    state.last_met = Some(index);
    state.alive_through = Some(index);
    state.longest = state.longest.max(state.length);
    out.covered.push(Covered {
        index,
        cover: Cover::Met,
        length: state.length,
    });
    true
}

/// Grants up to `amount` freezes without going above `max`; returns how many were granted.
pub fn earn(state: &mut StreakState, amount: u32, max: u32, out: &mut Outcome) -> u32 {
    let granted = amount.min(max.saturating_sub(state.freezes));
    if granted > 0 {
        state.freezes += granted;
        out.push(Transition::FreezesEarned(granted));
    }
    granted
}

/// Restores a streak of `length` (an admin action, docs/behaviour/streaks.md#restore): the
/// streak is alive through `current`, the periods `fill_from..=current` it had missed are
/// marked covered, and it counts as started on `started`. Refused (false) unless it makes
/// the streak longer.
pub fn restore(
    state: &mut StreakState,
    length: u32,
    current: i64,
    fill_from: i64,
    started: NaiveDate,
    out: &mut Outcome,
) -> bool {
    if length <= state.length {
        return false;
    }
    let first = match state.alive_through {
        Some(a) if state.is_alive() => a.saturating_add(1).max(fill_from),
        _ => fill_from,
    };
    for index in first..=current {
        out.covered.push(Covered {
            index,
            cover: Cover::Restore,
            length,
        });
    }
    state.length = length;
    state.started = Some(started);
    state.alive_through = Some(state.alive_through.map_or(current, |a| a.max(current)));
    state.longest = state.longest.max(length);
    true
}

/// Ends the streak without a loss (admin reset): no `Lost` transition, nothing to restore.
pub fn reset(state: &mut StreakState) {
    state.length = 0;
    state.started = None;
    state.alive_through = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Cal {
        days_off: Vec<i64>,
        paused: Vec<i64>,
    }

    impl Calendar for Cal {
        fn is_day_off(&self, index: i64) -> bool {
            self.days_off.contains(&index)
        }
        fn is_paused(&self, index: i64) -> bool {
            self.paused.contains(&index)
        }
    }

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, n).expect("date")
    }

    /// Meets each period in `indexes` in turn, returning the transitions of the last one.
    fn meet_all(state: &mut StreakState, indexes: &[i64], cal: &Cal) -> Outcome {
        let mut last = Outcome::default();
        for &i in indexes {
            last = Outcome::default();
            meet(state, i, day(1), cal, &mut last);
        }
        last
    }

    /// A streak holding `freezes` that has met each period in `met` in turn.
    fn streak(freezes: u32, met: &[i64], cal: &Cal) -> StreakState {
        let mut s = StreakState {
            freezes,
            ..Default::default()
        };
        meet_all(&mut s, met, cal);
        s
    }

    /// A calendar without days off or pauses, a streak `streak` makes on it, and an
    /// empty outcome.
    fn plain(freezes: u32, met: &[i64]) -> (Cal, StreakState, Outcome) {
        let cal = Cal::default();
        let s = streak(freezes, met, &cal);
        (cal, s, Outcome::default())
    }

    #[test]
    fn or_and_and_conditions() {
        assert!(conditions_met(Mode::Or, &[(0.0, 1.0), (2.0, 2.0)]));
        assert!(!conditions_met(Mode::And, &[(0.0, 1.0), (2.0, 2.0)]));
        assert!(conditions_met(Mode::And, &[(1.0, 1.0), (3.0, 2.0)]));
        assert!(!conditions_met(Mode::Or, &[(0.5, 1.0)]));
        assert!(!conditions_met(Mode::Or, &[]));
        assert!(!conditions_met(Mode::And, &[]));
        assert!(conditions_met(Mode::Or, &[(0.7 + 0.1, 0.8)]));
        assert!(!conditions_met(Mode::Or, &[(-3.0, 1.0)]));
    }

    #[test]
    fn first_met_period_starts_a_streak() {
        let mut s = StreakState::default();
        let mut out = Outcome::default();
        assert!(meet(&mut s, 10, day(5), &Cal::default(), &mut out));
        assert_eq!(out.transitions, vec![Transition::Started]);
        assert_eq!(s.length, 1);
        assert_eq!(s.started, Some(day(5)));
        assert_eq!(s.alive_through, Some(10));
        assert_eq!(s.longest, 1);
        assert!(out.raised_length());
    }

    #[test]
    fn consecutive_periods_extend_and_a_met_period_never_counts_twice() {
        let mut s = StreakState::default();
        let cal = Cal::default();
        let out = meet_all(&mut s, &[10, 11, 12], &cal);
        assert_eq!(out.transitions, vec![Transition::Extended]);
        assert_eq!(s.length, 3);
        assert_eq!(s.started, Some(day(1)));
        let mut again = Outcome::default();
        assert!(!meet(&mut s, 12, day(2), &cal, &mut again));
        assert!(again.is_empty());
        assert_eq!(s.length, 3);
    }

    #[test]
    fn a_gap_without_freezes_loses_then_starts_fresh() {
        let (cal, mut s, mut out) = plain(0, &[10, 11]);
        assert!(meet(&mut s, 13, day(9), &cal, &mut out));
        assert_eq!(
            out.transitions,
            vec![Transition::Lost { length: 2 }, Transition::Started]
        );
        assert_eq!(s.length, 1);
        assert_eq!(s.last_lost_length, 2);
        assert_eq!(s.longest, 2);
        assert_eq!(s.started, Some(day(9)));
    }

    #[test]
    fn settling_consumes_one_freeze_per_period_then_loses() {
        let (cal, mut s, mut out) = plain(2, &[1, 2, 3]);
        // Periods 4..=7 ended unmet: two freezes cover 4 and 5, then 6 loses the streak.
        settle(&mut s, 8, &cal, &mut out);
        assert_eq!(
            out.transitions,
            vec![
                Transition::FreezesConsumed(2),
                Transition::Lost { length: 3 }
            ]
        );
        assert_eq!(
            out.covered,
            vec![
                Covered {
                    index: 4,
                    cover: Cover::Freeze,
                    length: 3
                },
                Covered {
                    index: 5,
                    cover: Cover::Freeze,
                    length: 3
                },
            ]
        );
        assert_eq!(s.freezes, 0);
        assert_eq!(s.length, 0);
        assert_eq!(s.alive_through, None);
        assert_eq!(s.started, None);
    }

    #[test]
    fn settling_at_once_equals_settling_on_time() {
        let cal = Cal {
            days_off: vec![6],
            paused: vec![8],
        };
        let start = || streak(3, &[1, 2, 3], &cal);
        let mut at_once = start();
        let mut out_once = Outcome::default();
        settle(&mut at_once, 20, &cal, &mut out_once);
        let mut on_time = start();
        let mut out_steps = Outcome::default();
        for before in 4..=20 {
            settle(&mut on_time, before, &cal, &mut out_steps);
        }
        assert_eq!(at_once, on_time);
        assert_eq!(out_once, out_steps);
        // 4, 5, 7 use freezes; 6 is a day off, 8 is paused; 9 loses the streak.
        assert_eq!(
            out_once.transitions,
            vec![
                Transition::FreezesConsumed(3),
                Transition::Lost { length: 3 }
            ]
        );
        let covers: Vec<_> = out_once
            .covered
            .iter()
            .map(|c| (c.index, c.cover))
            .collect();
        assert_eq!(
            covers,
            vec![
                (4, Cover::Freeze),
                (5, Cover::Freeze),
                (6, Cover::DayOff),
                (7, Cover::Freeze),
                (8, Cover::Pause),
            ]
        );
    }

    #[test]
    fn covered_periods_keep_the_streak_alive_without_adding_length() {
        let cal = Cal {
            days_off: vec![3],
            paused: vec![4],
        };
        let mut s = StreakState {
            freezes: 1,
            ..Default::default()
        };
        let out = meet_all(&mut s, &[1, 2, 6], &cal);
        // 3 day off, 4 paused, 5 frozen, 6 met.
        assert_eq!(
            out.transitions,
            vec![Transition::FreezesConsumed(1), Transition::Extended]
        );
        assert_eq!(s.length, 3);
        assert_eq!(s.freezes, 0);
        assert_eq!(s.started, Some(day(1)));
    }

    #[test]
    fn a_day_off_that_is_met_still_extends() {
        let cal = Cal {
            days_off: vec![2],
            paused: vec![],
        };
        let s = streak(0, &[1, 2, 3], &cal);
        assert_eq!(s.length, 3);
    }

    #[test]
    fn days_off_never_use_freezes() {
        let cal = Cal {
            days_off: vec![2, 3],
            paused: vec![],
        };
        let mut s = streak(1, &[1], &cal);
        let mut out = Outcome::default();
        settle(&mut s, 4, &cal, &mut out);
        assert!(out.transitions.is_empty());
        assert_eq!(s.freezes, 1);
        assert_eq!(s.alive_through, Some(3));
        assert_eq!(s.due_period(), Some(4));
    }

    #[test]
    fn settling_a_dead_streak_does_nothing() {
        let (cal, mut s, mut out) = plain(2, &[]);
        settle(&mut s, 100, &cal, &mut out);
        assert!(out.is_empty());
        assert_eq!(s.freezes, 2);
    }

    #[test]
    fn the_current_period_is_never_settled() {
        let (cal, mut s, mut out) = plain(0, &[5]);
        settle(&mut s, 6, &cal, &mut out);
        settle(&mut s, 5, &cal, &mut out);
        assert!(out.is_empty());
        assert_eq!(s.length, 1);
    }

    #[test]
    fn time_zone_moving_back_extends_nothing_and_loses_nothing() {
        let (cal, mut s, mut out) = plain(0, &[10, 11]);
        // The user's "today" is period 10 again after moving west.
        settle(&mut s, 10, &cal, &mut out);
        assert!(!meet(&mut s, 10, day(2), &cal, &mut out));
        assert!(!meet(&mut s, 11, day(3), &cal, &mut out));
        assert!(out.is_empty());
        assert_eq!(s.length, 2);
        // The next new period extends as usual.
        assert!(meet(&mut s, 12, day(4), &cal, &mut out));
        assert_eq!(out.transitions, vec![Transition::Extended]);
        assert_eq!(s.length, 3);
    }

    #[test]
    fn a_frozen_period_revisited_after_moving_west_does_not_extend() {
        let (cal, mut s, mut out) = plain(1, &[1]);
        settle(&mut s, 3, &cal, &mut out);
        assert_eq!(s.alive_through, Some(2));
        assert!(!meet(&mut s, 2, day(2), &cal, &mut out));
        assert_eq!(s.length, 1);
        assert!(meet(&mut s, 3, day(3), &cal, &mut out));
        assert_eq!(s.length, 2);
    }

    #[test]
    fn bridging_covers_skipped_periods_for_free() {
        let (cal, mut s, mut out) = plain(0, &[10]);
        // Moving east jumped "today" from 10 to 12: period 11 never happened for the user.
        bridge(&mut s, 12, &mut out);
        assert_eq!(
            out.covered,
            vec![Covered {
                index: 11,
                cover: Cover::Bridge,
                length: 1
            }]
        );
        assert!(out.transitions.is_empty());
        assert!(meet(&mut s, 12, day(3), &cal, &mut out));
        assert_eq!(s.length, 2);
        // Bridging a dead streak does nothing.
        let mut dead = StreakState::default();
        let mut out = Outcome::default();
        bridge(&mut dead, 50, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn earning_is_capped_at_the_maximum() {
        let (_, mut s, mut out) = plain(1, &[]);
        assert_eq!(earn(&mut s, 2, 2, &mut out), 1);
        assert_eq!(earn(&mut s, 2, 2, &mut out), 0);
        assert_eq!(s.freezes, 2);
        assert_eq!(out.transitions, vec![Transition::FreezesEarned(1)]);
        // A maximum lowered below the balance takes nothing away.
        s.freezes = 5;
        assert_eq!(earn(&mut s, 1, 3, &mut out), 0);
        assert_eq!(s.freezes, 5);
    }

    #[test]
    fn adjacent_freeze_transitions_merge_but_not_across_others() {
        let mut out = Outcome::default();
        out.push(Transition::FreezesConsumed(1));
        out.push(Transition::FreezesConsumed(2));
        out.push(Transition::FreezesEarned(1));
        out.push(Transition::FreezesEarned(1));
        out.push(Transition::FreezesConsumed(1));
        assert_eq!(
            out.transitions,
            vec![
                Transition::FreezesConsumed(3),
                Transition::FreezesEarned(2),
                Transition::FreezesConsumed(1)
            ]
        );
    }

    #[test]
    fn restore_fills_the_gap_and_counts_the_current_period_as_covered() {
        let (cal, mut s, mut out) = plain(0, &[1, 2, 3, 4]);
        settle(&mut s, 7, &cal, &mut out);
        assert_eq!(s.length, 0);
        let mut out = Outcome::default();
        assert!(restore(&mut s, 4, 7, 5, day(4), &mut out));
        assert_eq!(s.length, 4);
        assert_eq!(s.alive_through, Some(7));
        assert_eq!(s.started, Some(day(4)));
        let filled: Vec<_> = out.covered.iter().map(|c| c.index).collect();
        assert_eq!(filled, vec![5, 6, 7]);
        assert!(out.transitions.is_empty());
        // Meeting the current period does not extend (already covered); the next one does.
        let mut out = Outcome::default();
        assert!(!meet(&mut s, 7, day(7), &cal, &mut out));
        assert!(meet(&mut s, 8, day(8), &cal, &mut out));
        assert_eq!(s.length, 5);
    }

    #[test]
    fn restore_refuses_to_shorten() {
        let (_, mut s, mut out) = plain(0, &[1, 2, 3]);
        assert!(!restore(&mut s, 3, 3, 1, day(1), &mut out));
        assert!(!restore(&mut s, 2, 3, 1, day(1), &mut out));
        assert!(out.is_empty());
        assert_eq!(s.length, 3);
    }

    #[test]
    fn reset_ends_the_streak_quietly() {
        let cal = Cal::default();
        let mut s = streak(0, &[1, 2], &cal);
        reset(&mut s);
        assert_eq!(s.length, 0);
        assert_eq!(s.alive_through, None);
        assert_eq!(s.longest, 2);
        let mut out = Outcome::default();
        assert!(meet(&mut s, 3, day(3), &cal, &mut out));
        assert_eq!(out.transitions, vec![Transition::Started]);
    }

    #[test]
    fn cover_names_round_trip() {
        for c in [
            Cover::Met,
            Cover::DayOff,
            Cover::Pause,
            Cover::Freeze,
            Cover::Bridge,
            Cover::Restore,
        ] {
            assert_eq!(Cover::parse(c.as_str()), Some(c));
        }
        assert_eq!(Cover::parse("x"), None);
    }
}
