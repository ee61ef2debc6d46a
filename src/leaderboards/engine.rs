//! Applying a change of a user's ranked value to every board it concerns, inside the
//! writer's transaction: the value for the run containing the user's local date, the
//! membership decision, history rows, webhooks, and (after commit) the rank index.

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use super::index::GroupKey;
use super::ranking::{membership, page_ranks, threshold, Membership, Standing};
use super::store::{self, At, Change};
use super::view::{self, EventEntry};
use crate::catalog::{Leaderboard, Ranking};
use crate::config::RankStyle;
use crate::domain::ids::{DefinitionId, TenantId, UserRow};
use crate::domain::user::User;
use crate::error::ApiError;
use crate::rules::leaderboard_runs::Run;
use crate::rules::local_time::local_date;
use crate::writer::WriteCtx;

/// A change to something boards rank by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueChange {
    /// An event of `value` on the metric with definition id `metric_id`.
    Metric { metric_id: DefinitionId, value: f64 },
    /// Points awarded (negative: deducted) in the system with definition id `system_id`.
    Points {
        system_id: DefinitionId,
        awarded: i64,
    },
    /// The user's streak length is now `length`.
    Streak { length: u32 },
}

enum Update {
    Add(f64),
    Set(f64),
}

fn update_for(ctx: &WriteCtx<'_>, board: &Leaderboard, changes: &[ValueChange]) -> Option<Update> {
    let mut sum = None;
    for change in changes {
        match (&board.ranking, *change) {
            (Ranking::Metric { key }, ValueChange::Metric { metric_id, value })
                if ctx
                    .catalog
                    .metric_by_id(metric_id)
                    .is_some_and(|m| &m.key == key) =>
            {
                sum = Some(sum.unwrap_or(0.0) + value);
            }
            (
                Ranking::Points { system_id, .. },
                ValueChange::Points {
                    system_id: s,
                    awarded,
                },
            ) if *system_id == s => {
                sum = Some(sum.unwrap_or(0.0) + awarded as f64);
            }
            (Ranking::Streak, ValueChange::Streak { length }) => {
                return Some(Update::Set(f64::from(length)))
            }
            _ => {}
        }
    }
    sum.map(Update::Add)
}

/// The user's breakdown group: their values for every breakdown attribute, or `None`
/// when one is missing (such a user is in no group).
pub fn group_of(board: &Leaderboard, user: &User) -> Option<Vec<String>> {
    board
        .breakdown_attributes
        .iter()
        .map(|k| user.attributes.get(k).cloned())
        .collect()
}

/// How a group is named in storage and in the index: the tenant (boards shared by every
/// tenant rank each tenant's users apart) and the breakdown values.
pub fn group_name(tenant: TenantId, values: &[String]) -> String {
    format!("{tenant}\u{1e}{}", values.join("\u{1f}"))
}

/// The tenant and breakdown values of a stored group name.
pub fn parse_group_name(name: &str) -> Option<(TenantId, Vec<String>)> {
    let (tenant, values) = name.split_once('\u{1e}')?;
    let values = if values.is_empty() {
        Vec::new()
    } else {
        values.split('\u{1f}').map(str::to_owned).collect()
    };
    Some((TenantId::from_raw(tenant.parse().ok()?), values))
}

/// Applies `changes` for `user` to every tracking board they concern and returns the
/// event response's `leaderboards` map (keyed by board key) for the boards touched.
pub fn apply(
    ctx: &mut WriteCtx<'_>,
    user: &User,
    changes: &[ValueChange],
) -> Result<Map<String, Value>, ApiError> {
    crate::writer::costs::measure(crate::writer::costs::Feature::Leaderboards, || {
        apply_measured(ctx, user, changes)
    })
}

fn apply_measured(
    ctx: &mut WriteCtx<'_>,
    user: &User,
    changes: &[ValueChange],
) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    if changes.is_empty() {
        return Ok(out);
    }
    let catalog = ctx.catalog.clone();
    let default_tz = ctx.env.settings.config.server.default_timezone;
    let tz = user.time_zone(default_tz);
    let local = local_date(ctx.now, tz);
    let today = ctx.now.date_naive();
    for board in catalog.leaderboards_for(user.tenant_id) {
        if !board.tracking() {
            continue;
        }
        // Activity outside the board's local time window does not count (streak boards
        // never have one).
        if !board.window.admits(ctx.now, tz) {
            continue;
        }
        let Some(update) = update_for(ctx, board, changes) else {
            continue;
        };
        let Some(run) = board.schedule().run_containing(local) else {
            continue;
        };
        let Some(group) = group_of(board, user) else {
            continue;
        };
        if let Some(entry) = place(ctx, board, run, &group, user, update)?.filter(|_| ctx.views) {
            let base = view::board(board, &catalog, user.tenant_id, today, &group);
            out.insert(
                board.key.clone(),
                view::event_entry(base, board, &group, &entry),
            );
        }
    }
    Ok(out)
}

/// Brings one user's value in one run up to date; `None` when nothing changed. Ranks and
/// the group's size and lowest participant come from the writer's copy of the rank index
/// (O(log n)); SQLite gets the value row and, when a rank changed, a history row.
fn place(
    ctx: &mut WriteCtx<'_>,
    board: &Leaderboard,
    run: Run,
    group: &[String],
    user: &User,
    update: Update,
) -> Result<Option<EventEntry>, ApiError> {
    let now = ctx.now.timestamp_millis();
    let run_start = run.start.to_string();
    let run_end = run.end.map(|d| d.to_string());
    let grp = group_name(user.tenant_id, group);
    let at = At {
        board: board.id,
        run_start: &run_start,
        group: &grp,
    };
    let stored = store::load(ctx.conn, board.id, &run_start, user.row_id)?;
    let old_value = stored.as_ref().map_or(0.0, |s| s.value);
    let new_value = match update {
        Update::Add(delta) => old_value + delta,
        Update::Set(value) => value,
    };
    let new_value = crate::domain::number::check_finite(new_value, "a leaderboard value")?;
    let moved = stored.as_ref().is_some_and(|s| s.group != grp);
    if new_value == old_value && !moved {
        return Ok(None);
    }
    let index = super::writer_index(ctx.env)?;
    let style = board.rank_style;
    let key = GroupKey {
        board: board.id,
        run_start: run.start,
        group: grp.clone(),
    };
    let was_ranked = stored.as_ref().is_some_and(|s| s.ranked);
    let old_key = match &stored {
        Some(s) if s.ranked && moved => Some(GroupKey {
            group: s.group.clone(),
            ..key.clone()
        }),
        _ => None,
    };
    let previous_rank = if was_ranked {
        index
            .staged(old_key.as_ref().unwrap_or(&key), |g| {
                g.rank_of(user.row_id, style)
            })
            .map(rank_number)
    } else {
        None
    };
    let reached_at = match &stored {
        Some(s) if new_value == old_value => s.reached_at,
        _ => now,
    };
    let standing = Standing {
        value: new_value,
        reached_at,
        user_id: user.row_id,
    };
    let max = usize::try_from(board.max_participants).unwrap_or(usize::MAX);
    let state = index.staged(&key, |g| g.state_without(user.row_id));
    let decision = membership(was_ranked && !moved, new_value, state, max);
    let ranked = matches!(
        decision,
        Membership::Stays | Membership::Joins | Membership::Replaces { .. }
    );
    store::save(ctx.conn, at, standing, ranked)?;
    if let Membership::Replaces { dropped } = decision {
        drop_lowest(ctx, board, run, (at, &key), state, dropped)?;
    }
    if let Some(old) = &old_key {
        index.stage_remove(old, user.row_id);
    }
    if ranked {
        index.stage_upsert(&key, standing);
    } else {
        index.stage_remove(&key, user.row_id);
    }
    let (rank, after) = index.staged(&key, |g| {
        (g.rank_of(user.row_id, style).map(rank_number), g.state())
    });
    let entry = EventEntry {
        run,
        rank,
        previous_rank,
        threshold: threshold(after, max),
    };
    if rank.is_none() && previous_rank.is_none() {
        // Off the board before and after: no rank or value change anyone can see.
        return Ok(Some(entry));
    }
    let change = Change {
        at_ms: now,
        previous_rank,
        rank,
        previous_value: was_ranked.then_some(old_value),
        value: ranked.then_some(new_value),
    };
    store::record(
        ctx.conn,
        board.id,
        (&run_start, run_end.as_deref()),
        user.row_id,
        &change,
        store::Groups {
            group: &grp,
            moved_from: old_key.as_ref().map(|k| k.group.as_str()),
        },
    )?;
    notify(ctx, board, run, group, Some(user), &change)?;
    Ok(Some(entry))
}

fn rank_number(rank: usize) -> u32 {
    u32::try_from(rank).unwrap_or(u32::MAX)
}

/// The lowest participant of a full group leaves for a newcomer (not yet in the staged
/// group): rank null, a history row and a `leaderboard.rank_changed`.
fn drop_lowest(
    ctx: &mut WriteCtx<'_>,
    board: &Leaderboard,
    run: Run,
    (at, key): (At<'_>, &GroupKey),
    state: super::ranking::GroupState,
    dropped: UserRow,
) -> Result<(), ApiError> {
    let index = super::writer_index(ctx.env)?;
    // The lowest is last in ranking order; with competition ranks it shares the rank of
    // those tied with it.
    let previous_rank = match (board.rank_style, state.lowest) {
        (RankStyle::Competition, Some(lowest)) => Some(rank_number(
            index.staged(key, |g| g.rank_of_value(lowest.value)),
        )),
        _ => u32::try_from(state.len).ok(),
    };
    store::unrank(ctx.conn, at, dropped)?;
    index.stage_remove(key, dropped);
    let value = state.lowest.map(|s| s.value);
    let change = Change {
        at_ms: ctx.now.timestamp_millis(),
        previous_rank,
        rank: None,
        previous_value: value,
        value: None,
    };
    let run_end = run.end.map(|d| d.to_string());
    store::record(
        ctx.conn,
        board.id,
        (at.run_start, run_end.as_deref()),
        dropped,
        &change,
        store::Groups {
            group: at.group,
            moved_from: None,
        },
    )?;
    if !crate::webhooks::subscribed(ctx, "leaderboard.rank_changed")
        && !crate::webhooks::subscribed(ctx, "leaderboard.changed")
    {
        return Ok(());
    }
    let user = crate::store::users::by_row(ctx.conn, dropped)?;
    let group: Vec<String> = match &user {
        Some(u) => group_of(board, u).unwrap_or_default(),
        None => Vec::new(),
    };
    notify(ctx, board, run, &group, user.as_ref(), &change)
}

/// The latest state replaces what waits in a coalescing window.
fn keep_latest(acc: &mut Value, next: Value) {
    *acc = next;
}

/// `leaderboard.rank_changed` for the user (when their rank changed) and
/// `leaderboard.changed` for the group, each through its coalescing window.
fn notify(
    ctx: &mut WriteCtx<'_>,
    board: &Leaderboard,
    run: Run,
    group: &[String],
    user: Option<&User>,
    change: &Change,
) -> Result<(), ApiError> {
    let limits = ctx.env.settings.config.limits.clone();
    let today = ctx.now.date_naive();
    let catalog = ctx.catalog.clone();
    let tenant = user.map_or(board.owner, |u| u.tenant_id);
    if let Some(user) = user.filter(|_| change.rank != change.previous_rank) {
        if crate::webhooks::subscribed(ctx, "leaderboard.rank_changed") {
            let base = view::board(board, &catalog, tenant, today, group);
            let body = json!({
                "type": "leaderboard.rank_changed",
                "user": user.to_json(),
                "leaderboard": view::rank_changed(base, run, change),
            });
            crate::webhooks::emit_coalesced(
                ctx,
                "leaderboard.rank_changed",
                &format!("{}:{}", board.id, user.row_id),
                limits.leaderboard_rank_changed_window_seconds,
                body,
                keep_latest,
            )?;
        }
    }
    if crate::webhooks::subscribed(ctx, "leaderboard.changed") {
        let body = json!({
            "type": "leaderboard.changed",
            "leaderboard": board_with_rankings(ctx, board, tenant, run, group, today, usize::MAX)?,
        });
        crate::webhooks::emit_coalesced(
            ctx,
            "leaderboard.changed",
            &format!("{}:{}:{}", board.id, run.start, group_name(tenant, group)),
            limits.leaderboard_changed_window_seconds,
            body,
            keep_latest,
        )?;
    }
    Ok(())
}

/// `LeaderboardResponseWithRankings` of one run and group, as the writer sees it, with
/// the run's dates (docs/behaviour/webhooks.md#event-types) and at most `limit` rankings.
pub fn board_with_rankings(
    ctx: &WriteCtx<'_>,
    board: &Leaderboard,
    tenant: TenantId,
    run: Run,
    group: &[String],
    today: NaiveDate,
    limit: usize,
) -> Result<Value, ApiError> {
    let key = GroupKey {
        board: board.id,
        run_start: run.start,
        group: group_name(tenant, group),
    };
    let limit = limit.min(usize::try_from(board.max_participants).unwrap_or(usize::MAX));
    let standings = super::writer_index(ctx.env)?.staged(&key, |g| g.page(0, limit).to_vec());
    let ids: Vec<UserRow> = standings.iter().map(|s| s.user_id).collect();
    let mut names = super::read::names_of(ctx.conn, &ids)?;
    let rows: Vec<store::Ranked> = standings
        .iter()
        .filter_map(|s| {
            let (user_id, name) = names.remove(&s.user_id)?;
            Some(store::Ranked {
                user_id,
                name,
                value: s.value,
            })
        })
        .collect();
    let mut out = view::board(board, &ctx.catalog, tenant, today, group);
    view::set_run(&mut out, run);
    let values: Vec<f64> = rows.iter().map(|r| r.value).collect();
    let ranks = page_ranks(board.rank_style, &values, 0, 1);
    out.insert("rankings".into(), view::rankings(&rows, &ranks));
    Ok(Value::Object(out))
}
