//! A user's history with the rank changes other users' events caused
//! (docs/behaviour/leaderboards.md#history: one entry per change of the user's rank or
//! value in the run, also when someone else moves them). Only the user's own changes are
//! stored for them; the others are derived when the history is read, so an event writes
//! O(1) history rows whatever it displaces.
//!
//! Between two of the user's own rows their value and group are fixed, and their rank
//! changes only when another user of the group crosses them. The group's rows in that span
//! are replayed newest first from the rank the user had at its end (the later own row's
//! `previousRank`, or the current rank for the span up to now), undoing each crossing:
//!
//! * unique ranks are positions, so a row moving someone from position `p` to `r` shifts
//!   exactly the positions between;
//! * competition ranks are one plus the number of users with a greater value, so they move
//!   by one when someone's value crosses the user's.
//!
//! Cost bound: a read replays at most [`REPLAY_LIMIT`] rows of the user's group (plus at
//! most `numEvents + 1` own rows, one query per span). Changes caused by others further back
//! than that are left out; the user's own changes always appear. A span whose replay does
//! not end on the rank its own row recorded (a read racing a write) contributes no derived
//! entries rather than wrong ones.

use super::store::{Change, HistoryRow};
use crate::config::RankStyle;
use crate::error::ApiError;

/// The most rows of other users one history read replays.
pub const REPLAY_LIMIT: usize = 2000;

/// Where the user stands at the end of a span: rank, value and breakdown group.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub rank: u32,
    pub value: f64,
    pub group: String,
}

/// Another user's change as seen from `group`: their rank and value there before and
/// after (`None` when they were not, or are no longer, ranked in that group).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crossing {
    pub previous_rank: Option<u32>,
    pub rank: Option<u32>,
    pub previous_value: Option<f64>,
    pub value: Option<f64>,
}

impl Crossing {
    pub fn seen_from(row: &HistoryRow, group: &str) -> Crossing {
        let here_after = row.group.as_deref() == Some(group);
        let here_before = match &row.moved_from {
            Some(from) => from == group,
            None => here_after,
        };
        let c = &row.change;
        Crossing {
            previous_rank: c.previous_rank.filter(|_| here_before),
            rank: c.rank.filter(|_| here_after),
            previous_value: c.previous_value.filter(|_| here_before),
            value: c.value.filter(|_| here_after),
        }
    }
}

/// The user's rank before another user's change, given their rank `after` it and their
/// (unchanged) value.
pub fn rank_before(style: RankStyle, after: u32, value: f64, other: Crossing) -> u32 {
    let up = |rank: u32| rank.saturating_sub(1).max(1);
    match style {
        RankStyle::Unique => match (other.previous_rank, other.rank) {
            // Joined at r: everyone from r down moved one place down.
            (None, Some(r)) if after > r => up(after),
            // Left from p: everyone below p moved one place up.
            (Some(p), None) if after >= p => after.saturating_add(1),
            // Rose from p to r: positions r..p-1 moved down one.
            (Some(p), Some(r)) if r < p && r < after && after <= p => up(after),
            // Fell from p to r: positions p+1..r moved up one.
            (Some(p), Some(r)) if r > p && p <= after && after < r => after.saturating_add(1),
            _ => after,
        },
        RankStyle::Competition => {
            let above = |v: Option<f64>| v.is_some_and(|v| v > value);
            match (above(other.previous_value), above(other.value)) {
                (false, true) => up(after),
                (true, false) => after.saturating_add(1),
                _ => after,
            }
        }
    }
}

/// The user's last `count` history entries, oldest first: their own rows (`own`, newest
/// first, up to `count + 1` of them so the oldest span has a lower end) and the changes
/// others made to their rank, derived from `group_rows(group, after_id, before_id, limit)`
/// (newest first). `now` is where the user stands at present, if on the board.
pub fn history<F>(
    style: RankStyle,
    own: &[HistoryRow],
    now: Option<Standing>,
    count: usize,
    mut group_rows: F,
) -> Result<Vec<Change>, ApiError>
where
    F: FnMut(&str, i64, i64, usize) -> Result<Vec<HistoryRow>, ApiError>,
{
    let user = own.first().map(|r| r.user_id);
    let mut out: Vec<Change> = Vec::new();
    let mut budget = REPLAY_LIMIT;
    // Span k ends at own[k - 1] (or now, for k = 0) and starts after own[k] (if any).
    for k in 0..=own.len() {
        if out.len() >= count {
            break;
        }
        let end = match k {
            0 => now.clone(),
            _ => standing_before(&own[k - 1]),
        };
        let start = own.get(k);
        if let Some(end) = end.filter(|_| budget > 0) {
            let after_id = start.map_or(0, |r| r.id);
            let before_id = k.checked_sub(1).map_or(i64::MAX, |i| own[i].id);
            let rows = group_rows(&end.group, after_id, before_id, budget)?;
            budget = budget.saturating_sub(rows.len());
            let complete = budget > 0;
            let mut rank = end.rank;
            let mut derived = Vec::new();
            for row in rows.iter().filter(|r| Some(r.user_id) != user) {
                let before =
                    rank_before(style, rank, end.value, Crossing::seen_from(row, &end.group));
                if before != rank {
                    derived.push(Change {
                        at_ms: row.change.at_ms,
                        previous_rank: Some(before),
                        rank: Some(rank),
                        previous_value: Some(end.value),
                        value: Some(end.value),
                    });
                    rank = before;
                }
            }
            let consistent = !complete
                || match start {
                    Some(row) => row.change.rank == Some(rank),
                    // Nothing of the user's own before: they were seeded onto the board.
                    None => true,
                };
            if consistent {
                out.extend(derived);
            }
        }
        if let Some(row) = start {
            out.push(row.change.clone());
        }
    }
    out.truncate(count);
    out.reverse();
    Ok(out)
}

/// Where the user stood just before their own row `row`, if on the board.
fn standing_before(row: &HistoryRow) -> Option<Standing> {
    let group = row.moved_from.clone().or_else(|| row.group.clone())?;
    Some(Standing {
        rank: row.change.previous_rank?,
        value: row.change.previous_value?,
        group,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::UserRow;

    use crate::domain::ids::fixtures::{U1, U2};

    fn crossing(p: Option<u32>, r: Option<u32>) -> Crossing {
        Crossing {
            previous_rank: p,
            rank: r,
            previous_value: None,
            value: None,
        }
    }

    fn values(pv: Option<f64>, v: Option<f64>) -> Crossing {
        Crossing {
            previous_rank: None,
            rank: None,
            previous_value: pv,
            value: v,
        }
    }

    #[test]
    fn unique_ranks_shift_between_the_old_and_new_position() {
        let u = RankStyle::Unique;
        // Someone joins at 2: ranks 2.. were 1.. less.
        assert_eq!(rank_before(u, 3, 5.0, crossing(None, Some(2))), 2);
        assert_eq!(rank_before(u, 1, 5.0, crossing(None, Some(2))), 1);
        // Someone leaves from 2: ranks from 2 on were one more.
        assert_eq!(rank_before(u, 2, 5.0, crossing(Some(2), None)), 3);
        assert_eq!(rank_before(u, 1, 5.0, crossing(Some(2), None)), 1);
        // Someone rises from 4 to 1: 2..4 were 1..3.
        for (after, before) in [(1, 1), (2, 1), (4, 3), (5, 5)] {
            assert_eq!(
                rank_before(u, after, 5.0, crossing(Some(4), Some(1))),
                before
            );
        }
        // Someone falls from 1 to 3: 1..2 were 2..3.
        for (after, before) in [(1, 2), (2, 3), (3, 3), (4, 4)] {
            assert_eq!(
                rank_before(u, after, 5.0, crossing(Some(1), Some(3))),
                before
            );
        }
        assert_eq!(rank_before(u, 2, 5.0, crossing(Some(3), Some(3))), 2);
        assert_eq!(rank_before(u, 2, 5.0, crossing(None, None)), 2);
    }

    #[test]
    fn competition_ranks_move_when_a_value_crosses() {
        let c = RankStyle::Competition;
        assert_eq!(rank_before(c, 2, 5.0, values(Some(4.0), Some(6.0))), 1);
        assert_eq!(rank_before(c, 2, 5.0, values(None, Some(6.0))), 1);
        // Reaching the same value shares the rank: no change.
        assert_eq!(rank_before(c, 1, 5.0, values(Some(4.0), Some(5.0))), 1);
        assert_eq!(rank_before(c, 1, 5.0, values(Some(6.0), Some(5.0))), 2);
        assert_eq!(rank_before(c, 1, 5.0, values(Some(6.0), None)), 2);
        assert_eq!(rank_before(c, 1, 5.0, values(Some(6.0), Some(7.0))), 1);
    }

    #[test]
    fn moves_count_as_leaving_one_group_and_joining_another() {
        let row = HistoryRow {
            id: 9,
            user_id: U2,
            group: Some("b".into()),
            moved_from: Some("a".into()),
            change: Change {
                at_ms: 0,
                previous_rank: Some(1),
                rank: Some(3),
                previous_value: Some(9.0),
                value: Some(9.0),
            },
        };
        let left = Crossing {
            previous_rank: Some(1),
            rank: None,
            previous_value: Some(9.0),
            value: None,
        };
        assert_eq!(Crossing::seen_from(&row, "a"), left);
        let joined = Crossing {
            previous_rank: None,
            rank: Some(3),
            previous_value: None,
            value: Some(9.0),
        };
        assert_eq!(Crossing::seen_from(&row, "b"), joined);
        assert_eq!(Crossing::seen_from(&row, "c"), crossing(None, None));
        let stayed = HistoryRow {
            moved_from: None,
            ..row
        };
        assert_eq!(
            Crossing::seen_from(&stayed, "b"),
            Crossing {
                previous_rank: Some(1),
                previous_value: Some(9.0),
                ..joined
            }
        );
    }

    fn row(
        id: i64,
        user: i64,
        change: (Option<u32>, Option<u32>, Option<f64>, Option<f64>),
    ) -> HistoryRow {
        HistoryRow {
            id,
            user_id: UserRow::from_raw(user),
            group: Some("g".into()),
            moved_from: None,
            change: Change {
                at_ms: id * 1000,
                previous_rank: change.0,
                rank: change.1,
                previous_value: change.2,
                value: change.3,
            },
        }
    }

    /// The rows of group "g" as `group_rows` would return them.
    fn rows_of(
        all: &[HistoryRow],
    ) -> impl FnMut(&str, i64, i64, usize) -> Result<Vec<HistoryRow>, ApiError> + '_ {
        move |group, after, before, limit| {
            Ok(all
                .iter()
                .rev()
                .filter(|r| r.group.as_deref() == Some(group) && r.id > after && r.id < before)
                .take(limit)
                .cloned()
                .collect())
        }
    }

    fn ranks(h: &[Change]) -> Vec<(i64, Option<u32>, Option<u32>)> {
        h.iter()
            .map(|c| (c.at_ms / 1000, c.previous_rank, c.rank))
            .collect()
    }

    #[test]
    fn a_user_passed_by_others_gets_an_entry_for_each_pass() {
        // A (1) joins with 5; B (2) joins with 3, then passes A with 8; C (3) joins at the
        // top with 10; A answers with +4 (9: second); B falls to 2... (a deduction).
        let all = vec![
            row(1, 1, (None, Some(1), None, Some(5.0))),
            row(2, 2, (None, Some(2), None, Some(3.0))),
            row(3, 2, (Some(2), Some(1), Some(3.0), Some(8.0))),
            row(4, 3, (None, Some(1), None, Some(10.0))),
            row(5, 1, (Some(3), Some(2), Some(5.0), Some(9.0))),
            row(6, 2, (Some(3), Some(3), Some(8.0), Some(2.0))),
            row(7, 3, (Some(1), Some(3), Some(10.0), Some(1.0))),
        ];
        let own: Vec<HistoryRow> = all
            .iter()
            .rev()
            .filter(|r| r.user_id == U1)
            .cloned()
            .collect();
        let now = Some(Standing {
            rank: 1,
            value: 9.0,
            group: "g".into(),
        });
        let h = history(RankStyle::Unique, &own, now.clone(), 10, rows_of(&all)).expect("history");
        assert_eq!(
            ranks(&h),
            [
                (1, None, Some(1)),
                (3, Some(1), Some(2)),
                (4, Some(2), Some(3)),
                (5, Some(3), Some(2)),
                (7, Some(2), Some(1)),
            ]
        );
        // A's value is unchanged in the entries others caused.
        assert_eq!((h[1].previous_value, h[1].value), (Some(5.0), Some(5.0)));
        // The last `count`, still oldest first.
        let h = history(RankStyle::Unique, &own, now.clone(), 2, rows_of(&all)).expect("history");
        assert_eq!(ranks(&h), [(5, Some(3), Some(2)), (7, Some(2), Some(1))]);
        let h = history(RankStyle::Unique, &own, now, 3, rows_of(&all)).expect("history");
        assert_eq!(ranks(&h)[0], (4, Some(2), Some(3)));
        // Off the board now: nothing is derived after the last own row.
        let left = history(RankStyle::Unique, &own[..1], None, 10, rows_of(&all)).expect("history");
        assert_eq!(ranks(&left).last(), Some(&(5, Some(3), Some(2))));
    }

    #[test]
    fn a_replay_that_disagrees_with_the_own_row_adds_nothing() {
        let all = vec![
            row(1, 1, (None, Some(1), None, Some(5.0))),
            row(2, 2, (None, Some(1), None, Some(8.0))),
        ];
        let own: Vec<HistoryRow> = vec![all[0].clone()];
        // The current rank claims 3, but one pass only explains 2.
        let now = Some(Standing {
            rank: 3,
            value: 5.0,
            group: "g".into(),
        });
        let h = history(RankStyle::Unique, &own, now, 10, rows_of(&all)).expect("history");
        assert_eq!(ranks(&h), [(1, None, Some(1))]);
    }

    #[test]
    fn replays_stop_at_the_limit_and_keep_the_newest_entries() {
        let mut all = vec![row(1, 1, (None, Some(1), None, Some(1000.0)))];
        // Others join below A, one at a time, far more than the limit; the last one passes A.
        let extra = REPLAY_LIMIT as i64 + 10;
        for i in 0..extra {
            let rank = u32::try_from(i + 2).expect("rank");
            all.push(row(i + 2, i + 2, (None, Some(rank), None, Some(1.0))));
        }
        all.push(row(extra + 2, 99, (None, Some(1), None, Some(2000.0))));
        let own: Vec<HistoryRow> = vec![all[0].clone()];
        let now = Some(Standing {
            rank: 2,
            value: 1000.0,
            group: "g".into(),
        });
        let mut scanned = 0;
        let mut fetch = rows_of(&all);
        let h = history(RankStyle::Unique, &own, now, 10, |g, a, b, l| {
            let rows = fetch(g, a, b, l)?;
            scanned += rows.len();
            Ok(rows)
        })
        .expect("history");
        assert_eq!(scanned, REPLAY_LIMIT);
        assert_eq!(
            ranks(&h),
            [(1, None, Some(1)), (extra + 2, Some(1), Some(2))]
        );
    }
}
