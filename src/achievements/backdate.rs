//! Backdating (docs/behaviour/achievements.md#backdating): when an achievement becomes
//! active or a live one is edited, users who already qualify get it silently — no webhook —
//! and it counts towards completions and rarity. Work is done in chunks, each its own
//! writer command, so event ingestion interleaves with a long backdate instead of waiting
//! behind it.

use std::collections::HashSet;

use rusqlite::{params, OptionalExtension};

use super::engine::{award_points, complete_outside_event, composites};
use crate::catalog::{Achievement, AchievementTrigger};
use crate::config::AchievementStatus;
use crate::domain::ids::{DefinitionId, UserRow};
use crate::error::ApiError;
use crate::rules::achievements::filters_match;
use crate::store;
use crate::writer::{Command, WriteCtx, Writer};

/// Users examined per command: one command holds the writer for a few milliseconds.
const CHUNK: i64 = 250;

/// What identifies the version of a definition that was last backdated.
fn fingerprint(a: &Achievement) -> String {
    format!(
        "{:?}|{:?}|{:?}|{:?}",
        a.status, a.trigger, a.user_attributes, a.event_attributes
    )
}

/// One chunk: the first achievement whose fingerprint changed is backdated for users with
/// row ids after `cursor` (when it is the achievement the previous chunk worked on).
/// Returns where it got to, or None when nothing is left to do.
struct BackdateChunk {
    previous: Step,
}

/// Progress: (achievement in progress, last user row examined).
type Step = Option<(DefinitionId, UserRow)>;

/// The cursor before every user row (row ids start at 1).
const BEFORE_FIRST: UserRow = UserRow::from_raw(0);

impl Command for BackdateChunk {
    type Output = Step;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Step, ApiError> {
        let catalog = ctx.catalog.clone();
        let mut stale = None;
        for a in catalog.all_achievements() {
            if !is_current(ctx, a)? {
                stale = Some(a);
                break;
            }
        }
        let Some(a) = stale else { return Ok(None) };
        let cursor = match self.previous {
            Some((id, last)) if id == a.id => last,
            _ => BEFORE_FIRST,
        };
        if a.status != AchievementStatus::Active {
            mark_done(ctx, a)?;
            return Ok(Some((a.id, BEFORE_FIRST)));
        }
        let users = candidates(ctx, a, cursor)?;
        let Some(&last) = users.last() else {
            mark_done(ctx, a)?;
            return Ok(Some((a.id, BEFORE_FIRST)));
        };
        for row in users {
            backdate_user(ctx, a, row)?;
        }
        Ok(Some((a.id, last)))
    }
}

/// The next users after `cursor`, in row order, who may qualify for `a`: for a metric or
/// streak achievement only users with a total or a streak long enough (a user who never
/// sent an event is not examined: with a million such users the sweep held the writer
/// for most of every second), else every user of the achievement's tenant.
fn candidates(
    ctx: &WriteCtx<'_>,
    a: &Achievement,
    cursor: UserRow,
) -> Result<Vec<UserRow>, ApiError> {
    use rusqlite::types::Value;
    let base = [
        Value::Integer(cursor.get()),
        Value::Integer(a.owner.get()),
        Value::Integer(CHUNK),
    ];
    let (sql, extra) = match &a.trigger {
        AchievementTrigger::Api => return Ok(Vec::new()),
        AchievementTrigger::Metric { metric, value } => {
            // With event-attribute filters only a subset of the events counts, which the
            // total does not bound (values may be negative): any user with a total may.
            let at_least = if a.event_attributes.is_empty() {
                *value
            } else {
                f64::MIN
            };
            (
                "SELECT m.user_id FROM metric_totals m
                   JOIN users u ON u.id = m.user_id
                  WHERE m.user_id > ?1 AND (?2 = 0 OR u.tenant_id = ?2) AND m.total >= ?5
                    AND m.metric_id IN (SELECT value FROM json_each(?4))
                  ORDER BY m.user_id LIMIT ?3",
                vec![
                    Value::Text(crate::store::definitions::ids_named(
                        ctx.conn,
                        crate::store::definitions::Kind::Metric,
                        metric,
                    )?),
                    Value::Real(at_least),
                ],
            )
        }
        AchievementTrigger::Streak { length } => (
            "SELECT s.user_id FROM streaks s
              WHERE s.user_id > ?1 AND (?2 = 0 OR s.tenant_id = ?2) AND s.length >= ?4
              ORDER BY s.user_id LIMIT ?3",
            vec![Value::Integer(i64::from(*length))],
        ),
        AchievementTrigger::Composite { .. } => (
            "SELECT id FROM users WHERE id > ?1 AND (?2 = 0 OR tenant_id = ?2) ORDER BY id LIMIT ?3",
            Vec::new(),
        ),
        AchievementTrigger::Anniversary { years } => {
            let through = super::anniversary::latest_due_key(ctx.now, *years);
            return Ok(store::users::rows_with_anniversary_by(
                ctx.conn, a.owner, cursor, &through, CHUNK,
            )?);
        }
    };
    let mut stmt = ctx.conn.prepare_cached(sql)?;
    let rows = stmt.query_map(
        rusqlite::params_from_iter(base.into_iter().chain(extra)),
        |r| r.get(0),
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn mark_done(ctx: &WriteCtx<'_>, a: &Achievement) -> Result<(), ApiError> {
    ctx.conn.execute(
        "INSERT INTO achievement_backdates (achievement_id, fingerprint) VALUES (?1, ?2)
         ON CONFLICT (achievement_id) DO UPDATE SET fingerprint = excluded.fingerprint",
        params![a.id, fingerprint(a)],
    )?;
    if let AchievementTrigger::Anniversary { years } = a.trigger {
        super::anniversary::backdated(ctx, a, years)?;
    }
    Ok(())
}

/// Whether `a` has been backdated as it is defined now: until then the anniversary job
/// leaves it alone, so that anniversaries already past complete silently.
pub fn is_current(ctx: &WriteCtx<'_>, a: &Achievement) -> Result<bool, ApiError> {
    let stored: Option<String> = ctx
        .conn
        .prepare_cached("SELECT fingerprint FROM achievement_backdates WHERE achievement_id = ?1")?
        .query_row([a.id], |r| r.get(0))
        .optional()?;
    Ok(stored.as_deref() == Some(fingerprint(a).as_str()))
}

fn backdate_user(ctx: &mut WriteCtx<'_>, a: &Achievement, row: UserRow) -> Result<(), ApiError> {
    let Some(user) = store::users::by_row(ctx.conn, row)? else {
        return Ok(());
    };
    if !filters_match(&a.user_attributes, &user.attributes) {
        return Ok(());
    }
    let done: HashSet<DefinitionId> = super::store::completed(ctx.conn, row)?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    if done.contains(&a.id) {
        return Ok(());
    }
    let qualifies = match &a.trigger {
        AchievementTrigger::Metric { metric, value } => {
            let Some(m) = ctx.catalog.metric(user.tenant_id, metric) else {
                return Ok(());
            };
            let progress = if a.event_attributes.is_empty() {
                store::events::total(ctx.conn, row, m.id)?
            } else {
                super::store::event_values(ctx.conn, row, m.id)?
                    .into_iter()
                    .filter(|(_, attrs)| filters_match(&a.event_attributes, attrs))
                    .map(|(v, _)| v)
                    .sum()
            };
            progress >= *value
        }
        AchievementTrigger::Streak { length } => current_streak_length(ctx, row)? >= *length,
        AchievementTrigger::Composite { .. } => {
            let cascaded = composites(ctx, &user, &done, false)?;
            let ids: Vec<DefinitionId> = cascaded.iter().map(|c| c.achievement.id).collect();
            return award_points(ctx, &user, &ids);
        }
        AchievementTrigger::Anniversary { years } => {
            super::anniversary::reached_by(ctx, &user, *years, ctx.now)
        }
        AchievementTrigger::Api => false,
    };
    if qualifies {
        complete_outside_event(ctx, &user, a, &done, false)?;
    }
    Ok(())
}

fn current_streak_length(ctx: &WriteCtx<'_>, row: UserRow) -> Result<u32, ApiError> {
    let length: Option<i64> = ctx
        .conn
        .prepare_cached("SELECT length FROM streaks WHERE user_id = ?1")?
        .query_row([row], |r| r.get(0))
        .ok();
    Ok(length.and_then(|l| u32::try_from(l).ok()).unwrap_or(0))
}

/// Runs every pending backdate to the end, one chunk per writer command. Each chunk
/// either moves the cursor forward or marks an achievement done, so this ends.
pub async fn run(writer: &Writer) -> Result<(), ApiError> {
    let mut previous = None;
    loop {
        match writer.execute(BackdateChunk { previous }).await? {
            None => return Ok(()),
            step => previous = step,
        }
    }
}

/// Runs backdates one at a time, in the background, through the writer.
#[derive(Clone)]
pub struct Backdater {
    writer: Writer,
    running: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Backdater {
    pub fn new(writer: Writer) -> Self {
        Backdater {
            writer,
            running: Default::default(),
        }
    }

    /// Waits for any backdate in progress, then runs whatever is still pending.
    pub async fn run(&self) -> Result<(), ApiError> {
        let _only_one = self.running.lock().await;
        run(&self.writer).await
    }

    /// Starts a run without waiting for it (definitions changed).
    pub fn spawn(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            if let Err(e) = me.run().await {
                log::error!("achievement backdating failed: {e}");
            }
        });
    }
}
