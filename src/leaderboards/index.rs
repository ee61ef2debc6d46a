//! The in-memory rank index: per (board, run, breakdown group), the participants in
//! ranking order. Readers take ranks, the top N, a page at an offset and the page around
//! a user from it without touching SQLite. It is rebuilt from `leaderboard_values` at
//! start (SQLite is the source of truth) and kept in two copies:
//!
//! * the *committed* copy the read routes see, changed only after a COMMIT;
//! * the writer's own copy, which also holds what the open transaction changed, so the
//!   writer takes ranks, group sizes and the lowest participant in O(log n) instead of
//!   counting rows. Each change is logged; a command rolled back to its SAVEPOINT undoes
//!   its part, a COMMIT replays the log onto the committed copy, a failed one undoes all.
//!
//! A group holds at most `max_participants` (≤ 1000) users, so each group is a sorted
//! vector (binary search: rank of a standing, O(log n); a page: a slice at an index)
//! plus a map from user to standing (the user's rank in O(log n)). An update moves at
//! most 1000 × 24 bytes, which costs less than rebalancing a tree would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::NaiveDate;
use rusqlite::Connection;

use super::ranking::{GroupState, Standing};
use crate::config::RankStyle;
use crate::domain::ids::{DefinitionId, UserRow};
use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupKey {
    pub board: DefinitionId,
    pub run_start: NaiveDate,
    /// The breakdown group ('' for a board without breakdowns).
    pub group: String,
}

#[derive(Debug, Default, Clone)]
pub struct Group {
    sorted: Vec<Standing>,
    /// user id → (value, reached_at).
    members: HashMap<UserRow, (f64, i64)>,
}

impl Group {
    fn standing_of(&self, user_id: UserRow) -> Option<Standing> {
        self.members
            .get(&user_id)
            .map(|&(value, reached_at)| Standing {
                value,
                reached_at,
                user_id,
            })
    }

    /// Zero-based index in ranking order.
    pub fn index_of(&self, user_id: UserRow) -> Option<usize> {
        let me = self.standing_of(user_id)?;
        Some(
            self.sorted
                .partition_point(|s| s.cmp_rank(&me) == std::cmp::Ordering::Less),
        )
    }

    /// One more than the participants with a value above `value` (competition rank).
    pub fn rank_of_value(&self, value: f64) -> usize {
        self.sorted.partition_point(|s| s.value > value) + 1
    }

    /// The user's rank in the board's style, if they are in the group.
    pub fn rank_of(&self, user_id: UserRow, style: RankStyle) -> Option<usize> {
        let at = self.index_of(user_id)?;
        self.rank_at(at, style)
    }

    /// The group's size and lowest participant.
    pub fn state(&self) -> GroupState {
        GroupState {
            len: self.sorted.len(),
            lowest: self.sorted.last().copied(),
        }
    }

    /// The group's size and lowest participant, leaving out `except`.
    pub fn state_without(&self, except: UserRow) -> GroupState {
        let len = self.sorted.len() - usize::from(self.members.contains_key(&except));
        let lowest = self
            .sorted
            .iter()
            .rev()
            .find(|s| s.user_id != except)
            .copied();
        GroupState { len, lowest }
    }

    /// The rank of the user at zero-based position `at` in the board's style.
    pub fn rank_at(&self, at: usize, style: RankStyle) -> Option<usize> {
        let standing = self.sorted.get(at)?;
        Some(match style {
            RankStyle::Unique => at + 1,
            RankStyle::Competition => self.rank_of_value(standing.value),
        })
    }

    pub fn page(&self, offset: usize, limit: usize) -> &[Standing] {
        let start = offset.min(self.sorted.len());
        let end = start.saturating_add(limit).min(self.sorted.len());
        &self.sorted[start..end]
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    pub fn upsert(&mut self, standing: Standing) {
        self.remove(standing.user_id);
        let at = self
            .sorted
            .partition_point(|s| s.cmp_rank(&standing) == std::cmp::Ordering::Less);
        self.sorted.insert(at, standing);
        self.members
            .insert(standing.user_id, (standing.value, standing.reached_at));
    }

    pub fn remove(&mut self, user_id: UserRow) {
        if let Some(at) = self.index_of(user_id) {
            self.sorted.remove(at);
            self.members.remove(&user_id);
        }
    }

    /// Bytes held per participant (vector and map capacity), for the benchmark report.
    pub fn bytes_per_entry(&self) -> f64 {
        let vec = self.sorted.capacity() * std::mem::size_of::<Standing>();
        // hashbrown: one control byte per bucket besides the (key, value) pair.
        let map = self.members.capacity() * (std::mem::size_of::<(UserRow, (f64, i64))>() + 1);
        (vec + map) as f64 / self.sorted.len().max(1) as f64
    }
}

type Groups = HashMap<GroupKey, Group>;

/// One change of the writer's copy: the user's (value, reached_at) in a group before and
/// after (`None`: not in the group).
#[derive(Debug)]
struct Change {
    key: GroupKey,
    user_id: UserRow,
    before: Option<(f64, i64)>,
    after: Option<(f64, i64)>,
}

fn set(groups: &mut Groups, key: &GroupKey, user_id: UserRow, to: Option<(f64, i64)>) {
    match to {
        Some((value, reached_at)) => groups.entry(key.clone()).or_default().upsert(Standing {
            value,
            reached_at,
            user_id,
        }),
        None => {
            if let Some(group) = groups.get_mut(key) {
                group.remove(user_id);
                if group.is_empty() {
                    groups.remove(key);
                }
            }
        }
    }
}

/// The writer's copy and the changes of the open transaction.
#[derive(Default)]
struct Draft {
    groups: Groups,
    log: Vec<Change>,
}

impl Draft {
    fn record(&mut self, key: &GroupKey, user_id: UserRow, after: Option<(f64, i64)>) {
        let before = self
            .groups
            .get(key)
            .and_then(|g| g.members.get(&user_id).copied());
        if before == after {
            return;
        }
        set(&mut self.groups, key, user_id, after);
        self.log.push(Change {
            key: key.clone(),
            user_id,
            before,
            after,
        });
    }

    fn undo_to(&mut self, mark: usize) {
        while self.log.len() > mark {
            let Some(change) = self.log.pop() else { break };
            set(&mut self.groups, &change.key, change.user_id, change.before);
        }
    }
}

/// Shared between the writer (which stages its changes and publishes them at commit) and
/// the read routes (which see only committed ranks).
#[derive(Clone, Default)]
pub struct RankIndex {
    committed: Arc<RwLock<Groups>>,
    draft: Arc<Mutex<Draft>>,
}

impl RankIndex {
    /// Runs `f` on a committed group (an empty one if no one is on it).
    pub fn read<T>(&self, key: &GroupKey, f: impl FnOnce(&Group) -> T) -> T {
        let groups = self.committed.read().unwrap_or_else(|p| p.into_inner());
        match groups.get(key) {
            Some(group) => f(group),
            None => f(&Group::default()),
        }
    }

    fn draft(&self) -> std::sync::MutexGuard<'_, Draft> {
        self.draft.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The writer only: runs `f` on a group as the open transaction sees it.
    pub fn staged<T>(&self, key: &GroupKey, f: impl FnOnce(&Group) -> T) -> T {
        let draft = self.draft();
        match draft.groups.get(key) {
            Some(group) => f(group),
            None => f(&Group::default()),
        }
    }

    /// The writer only: the groups of a run that have participants, in name order.
    pub fn staged_groups(&self, board: DefinitionId, run_start: NaiveDate) -> Vec<String> {
        let mut groups: Vec<String> = self
            .draft()
            .groups
            .keys()
            .filter(|k| k.board == board && k.run_start == run_start)
            .map(|k| k.group.clone())
            .collect();
        groups.sort();
        groups
    }

    /// The writer only: the user is in the group with `standing` from now on.
    pub fn stage_upsert(&self, key: &GroupKey, standing: Standing) {
        self.draft().record(
            key,
            standing.user_id,
            Some((standing.value, standing.reached_at)),
        );
    }

    /// The writer only: the user is no longer in the group.
    pub fn stage_remove(&self, key: &GroupKey, user_id: UserRow) {
        self.draft().record(key, user_id, None);
    }

    /// Replaces both copies with what SQLite holds.
    pub fn rebuild(&self, conn: &Connection) -> Result<usize, ApiError> {
        let mut fresh: Groups = HashMap::new();
        let mut stmt = conn.prepare(
            "SELECT leaderboard_id, run_start, grp, user_id, value, reached_at
               FROM leaderboard_values WHERE ranked = 1",
        )?;
        let mut rows = stmt.query([])?;
        let mut count = 0;
        while let Some(r) = rows.next()? {
            let run: String = r.get(1)?;
            let Ok(run_start) = run.parse::<NaiveDate>() else {
                continue;
            };
            let group = fresh
                .entry(GroupKey {
                    board: r.get(0)?,
                    run_start,
                    group: r.get(2)?,
                })
                .or_default();
            let standing = Standing {
                user_id: r.get(3)?,
                value: r.get(4)?,
                reached_at: r.get(5)?,
            };
            group.sorted.push(standing);
            group
                .members
                .insert(standing.user_id, (standing.value, standing.reached_at));
            count += 1;
        }
        for group in fresh.values_mut() {
            group.sorted.sort_by(Standing::cmp_rank);
        }
        *self.draft() = Draft {
            groups: fresh.clone(),
            log: Vec::new(),
        };
        *self.committed.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(count)
    }

    /// Average bytes per participant over every group (benchmark report).
    pub fn bytes_per_entry(&self) -> f64 {
        let groups = self.committed.read().unwrap_or_else(|p| p.into_inner());
        let entries: usize = groups.values().map(Group::len).sum();
        let bytes: f64 = groups
            .values()
            .map(|g| g.bytes_per_entry() * g.len() as f64)
            .sum();
        bytes / entries.max(1) as f64
    }
}

/// The writer's hooks: staged changes are cut back with a savepoint and reach the readers'
/// copy only once COMMIT succeeded.
impl crate::writer::Journaled for RankIndex {
    fn savepoint(&self) -> usize {
        self.draft().log.len()
    }

    fn rollback_to(&self, mark: usize) {
        self.draft().undo_to(mark);
    }

    fn finish(&self, committed: bool) {
        let mut draft = self.draft();
        if !committed {
            draft.undo_to(0);
            return;
        }
        if draft.log.is_empty() {
            return;
        }
        let mut groups = self.committed.write().unwrap_or_else(|p| p.into_inner());
        for change in draft.log.drain(..) {
            set(&mut groups, &change.key, change.user_id, change.after);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::ids::fixtures::{D1, U1, U2, U3};

    fn s(user_id: UserRow, value: f64, reached_at: i64) -> Standing {
        Standing {
            value,
            reached_at,
            user_id,
        }
    }

    #[test]
    fn upserts_keep_ranking_order_and_indexes() {
        let mut g = Group::default();
        g.upsert(s(U1, 5.0, 1));
        g.upsert(s(U2, 7.0, 2));
        g.upsert(s(U3, 5.0, 0));
        assert_eq!(g.index_of(U2), Some(0));
        assert_eq!(g.index_of(U3), Some(1));
        assert_eq!(g.index_of(U1), Some(2));
        g.upsert(s(U1, 9.0, 5));
        let ids: Vec<UserRow> = g.page(0, 10).iter().map(|x| x.user_id).collect();
        assert_eq!(ids, [U1, U2, U3]);
        g.remove(U2);
        assert_eq!(g.index_of(U2), None);
        assert_eq!(g.len(), 2);
        assert_eq!(g.page(1, 5).len(), 1);
        assert!(g.page(9, 5).is_empty());
        assert!(g.bytes_per_entry() > 0.0);
    }

    #[test]
    fn rebuild_reads_only_ranked_rows() {
        let mut conn = Connection::open_in_memory().expect("db");
        crate::db::migrate(&mut conn).expect("migrate");
        conn.execute_batch(
            "INSERT INTO leaderboard_values VALUES
               (1, '2031-03-01', 10, '', 3, 5, 1),
               (1, '2031-03-01', 11, '', 4, 6, 1),
               (1, '2031-03-01', 12, '', 9, 7, 0);",
        )
        .expect("rows");
        let index = RankIndex::default();
        assert_eq!(index.rebuild(&conn).expect("rebuild"), 2);
        let key = GroupKey {
            board: D1,
            run_start: "2031-03-01".parse().expect("date"),
            group: String::new(),
        };
        assert_eq!(
            index.read(&key, |g| g.index_of(UserRow::from_raw(11))),
            Some(0)
        );
        assert_eq!(
            index.read(&key, |g| g.index_of(UserRow::from_raw(12))),
            None
        );
    }
}
