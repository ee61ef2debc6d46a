//! Ranking and membership rules (docs/behaviour/leaderboards.md#ranking,
//! docs/behaviour/leaderboards.md#membership). Pure.
//!
//! * Order: value descending, ties to whoever reached the value first, then user id, so
//!   every rank is unique; a board with `ranking = "competition"` numbers ties alike
//!   (1, 2, 2, 4) but keeps that order.
//! * A user joins when their value becomes positive. While the group is full, a newcomer
//!   must surpass (strictly exceed) the value of the lowest participant, who is dropped.
//! * `threshold`: the value of the lowest participant when the group is full, else 0.

use std::cmp::Ordering;

use crate::config::RankStyle;
use crate::domain::ids::UserRow;

/// A participant's place in the order; smaller sorts first (ranks higher).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standing {
    pub value: f64,
    pub reached_at: i64,
    pub user_id: UserRow,
}

/// The rank numbers of a page of participants in ranking order that starts at zero-based
/// position `start`. `first_rank` is the rank of the page's first participant (for
/// competition ranking: one more than the participants with a higher value, who may lie
/// before the page).
pub fn page_ranks(style: RankStyle, values: &[f64], start: usize, first_rank: usize) -> Vec<usize> {
    let mut ranks: Vec<usize> = Vec::with_capacity(values.len());
    for (i, value) in values.iter().enumerate() {
        let rank = match (style, ranks.last()) {
            (RankStyle::Unique, _) => start + i + 1,
            (RankStyle::Competition, None) => first_rank,
            (RankStyle::Competition, Some(&previous)) if values[i - 1] == *value => previous,
            (RankStyle::Competition, Some(_)) => start + i + 1,
        };
        ranks.push(rank);
    }
    ranks
}

impl Standing {
    pub fn cmp_rank(&self, other: &Standing) -> Ordering {
        other
            .value
            .total_cmp(&self.value)
            .then(self.reached_at.cmp(&other.reached_at))
            .then(self.user_id.cmp(&other.user_id))
    }
}

/// What a change of one user's value does to their membership of a group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Membership {
    /// On the board before and after.
    Stays,
    /// Enters a group that has room.
    Joins,
    /// Enters a full group by surpassing the lowest participant, who drops out.
    Replaces { dropped: UserRow },
    /// Was on the board and leaves (the value is no longer positive).
    Leaves,
    /// Not on the board before or after.
    StaysOut,
}

/// The group as the rule needs it: its size and its lowest participant.
#[derive(Debug, Clone, Copy)]
pub struct GroupState {
    pub len: usize,
    pub lowest: Option<Standing>,
}

pub fn membership(on_board: bool, new_value: f64, group: GroupState, max: usize) -> Membership {
    let positive = new_value > 0.0;
    match (on_board, positive) {
        (true, true) => Membership::Stays,
        (true, false) => Membership::Leaves,
        (false, false) => Membership::StaysOut,
        (false, true) if group.len < max => Membership::Joins,
        (false, true) => match group.lowest {
            Some(lowest) if new_value > lowest.value => Membership::Replaces {
                dropped: lowest.user_id,
            },
            Some(_) => Membership::StaysOut,
            None => Membership::Joins,
        },
    }
}

/// The value a newcomer must exceed to enter.
pub fn threshold(group: GroupState, max: usize) -> f64 {
    match group.lowest {
        Some(lowest) if group.len >= max => lowest.value,
        _ => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::ids::fixtures::{U0, U1, U2, U3, U9};

    #[test]
    fn pages_number_ties_by_the_board_style() {
        let values = [9.0, 7.0, 7.0, 7.0, 3.0];
        assert_eq!(
            page_ranks(RankStyle::Unique, &values, 4, 5),
            [5, 6, 7, 8, 9]
        );
        // The page starts inside a tie that began at rank 3 (position 2).
        assert_eq!(
            page_ranks(RankStyle::Competition, &values[1..], 4, 3),
            [3, 3, 3, 8]
        );
        assert_eq!(
            page_ranks(RankStyle::Competition, &values, 0, 1),
            [1, 2, 2, 2, 5]
        );
        assert!(page_ranks(RankStyle::Competition, &[], 0, 1).is_empty());
    }

    fn s(value: f64, reached_at: i64, user_id: UserRow) -> Standing {
        Standing {
            value,
            reached_at,
            user_id,
        }
    }

    #[test]
    fn higher_values_rank_first_then_who_reached_first_then_user_id() {
        let mut list = [s(5.0, 9, U1), s(7.0, 10, U2), s(5.0, 3, U3), s(5.0, 3, U0)];
        list.sort_by(Standing::cmp_rank);
        let ids: Vec<UserRow> = list.iter().map(|x| x.user_id).collect();
        assert_eq!(ids, [U2, U0, U3, U1]);
    }

    #[test]
    fn a_full_group_admits_only_those_who_surpass_the_lowest() {
        let full = GroupState {
            len: 3,
            lowest: Some(s(4.0, 1, U9)),
        };
        assert_eq!(membership(false, 4.0, full, 3), Membership::StaysOut);
        assert_eq!(
            membership(false, 4.5, full, 3),
            Membership::Replaces { dropped: U9 }
        );
        assert_eq!(membership(false, 1.0, full, 4), Membership::Joins);
        assert_eq!(membership(true, 2.0, full, 3), Membership::Stays);
        assert_eq!(membership(true, 0.0, full, 3), Membership::Leaves);
        assert_eq!(membership(false, -1.0, full, 5), Membership::StaysOut);
        assert_eq!(threshold(full, 3), 4.0);
        assert_eq!(threshold(full, 4), 0.0);
    }
}
