//! The year-in-review aggregates are folded in from the event and award logs after those
//! commit, not written on the event path. Under the full fan-out the aggregates were a
//! fifth of the writer's time per event and a quarter of the pages each commit wrote
//! (issue #13); folded in steps of dozens of rows, each page of `wrapped_days` and
//! `wrapped_periods` is written once for all the rows of a step that fall on it, and the
//! per-amount user counts of a step net out before they are written.
//!
//! The fold's place is a pair of ids in `meta` ([`store::LogMark`]), moved in the same
//! transaction as the aggregates a step wrote: a crash loses nothing and counts nothing
//! twice. Events and awards are never deleted, so ids only grow and everything after the
//! mark is still to be counted.
//!
//! Two things drive it: the server's background loop, about twice a second, and every
//! review, which first folds everything stored before it was asked for
//! ([`Folder::catch_up`]) so that users see their own latest events.
//!
//! An addition that would carry a stored amount past the largest double is left out of
//! that amount and logged. The event path used to refuse such an event with 422; a total
//! that stays finite already bounds every period's amount unless values of both signs near
//! 1e308 are mixed, and refusing an event for its review alone was not worth a fifth of
//! every event's cost.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono_tz::Tz;
use rusqlite::Connection;

use super::store::{self, LogMark};
use super::Pending;
use crate::clock::from_millis;
use crate::error::ApiError;
use crate::rules::local_time::local_date;
use crate::writer::costs::{measure, Feature};
use crate::writer::{Command, WriteCtx, Writer};

/// Rows of each log one step reads. Under the fan-out a row costs the fold about 15 µs (an
/// event's day and three periods per slice, or an award's), so a step of 64 rows of each log
/// holds the writer for a millisecond or two.
const STEP_ROWS: usize = 64;
/// Rows of each log a step reads when nothing else waits for the writer (`fold_all`).
const OFFLINE_STEP_ROWS: usize = 20_000;
/// How often the background loop folds what has been stored since its last round.
const INTERVAL: Duration = Duration::from_millis(500);

/// What one step did.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// The logs' ends this fold is going to (fixed by its first step).
    pub through: LogMark,
    /// Where the fold stands after the step.
    pub folded: LogMark,
}

impl Progress {
    pub fn done(&self) -> bool {
        self.folded.events >= self.through.events && self.folded.awards >= self.through.awards
    }

    /// Rows stored up to `through` and not folded yet.
    fn left(&self) -> u64 {
        let gap = |to: i64, at: i64| u64::try_from(to - at).unwrap_or(0);
        gap(self.through.events, self.folded.events) + gap(self.through.awards, self.folded.awards)
    }
}

/// Folds at most `rows` of each log after the mark, no further than `through` (the logs'
/// ends now, when None), in the open transaction.
pub fn step(
    conn: &Connection,
    rows: usize,
    through: Option<LogMark>,
) -> rusqlite::Result<Progress> {
    let through = match through {
        Some(mark) => mark,
        None => LogMark {
            events: crate::store::events::last_id(conn)?,
            awards: crate::points::store::last_award_id(conn)?,
        },
    };
    let mut folded = store::folded(conn)?;
    let events = crate::store::events::logged_after(conn, folded.events, through.events, rows)?;
    let awards = crate::points::store::logged_after(conn, folded.awards, through.awards, rows)?;
    if events.is_empty() && awards.is_empty() {
        return Ok(Progress { through, folded });
    }
    let mut pending = Pending::default();
    let mut left_out = 0;
    for logged in &events {
        let e = &logged.event;
        let attributes: BTreeMap<String, String> = match &e.attributes {
            Some(text) => {
                crate::store::stored(text, format!("the attributes of event {}", logged.id))?
            }
            None => BTreeMap::new(),
        };
        let date = local_date(from_millis(e.at_ms), zone(Some(&e.tz)));
        let source = (logged.tenant, logged.user_row, e.metric_id);
        if !pending.add(conn, source, store::WHOLE, date, e.value)? {
            left_out += 1;
        }
        for (k, v) in &attributes {
            if !pending.add(conn, source, (k, v), date, e.value)? {
                left_out += 1;
            }
        }
        folded.events = logged.id;
    }
    for a in &awards {
        let date = local_date(from_millis(a.at_ms), zone(a.tz.as_deref()));
        let source = (a.tenant, a.user_row, a.system_id);
        if !pending.add(conn, source, store::WHOLE, date, a.awarded as f64)? {
            left_out += 1;
        }
        folded.awards = a.id;
    }
    // A log read to its limit may go on; one read short of it has nothing more up to
    // `through`, whatever ids it skipped.
    if events.len() < rows {
        folded.events = folded.events.max(through.events);
    }
    if awards.len() < rows {
        folded.awards = folded.awards.max(through.awards);
    }
    if left_out > 0 {
        log::warn!(
            "year in review: {left_out} additions left out of amounts they would have made infinite"
        );
    }
    pending.flush(conn)?;
    store::set_folded(conn, folded)?;
    Ok(Progress { through, folded })
}

/// A zone as stored; one that no longer parses (or an award from before the zone was
/// kept) counts in UTC rather than stopping the fold.
fn zone(name: Option<&str>) -> Tz {
    name.and_then(|n| n.parse().ok()).unwrap_or(Tz::UTC)
}

/// Folds everything stored, in the open transaction, in large steps: for work that holds
/// the writer anyway (an import's run folds what it applied before it commits).
pub fn fold_everything(conn: &Connection) -> rusqlite::Result<()> {
    let mut through = None;
    loop {
        let progress = step(conn, OFFLINE_STEP_ROWS, through)?;
        if progress.done() {
            return Ok(());
        }
        through = Some(progress.through);
    }
}

/// Completes a tenant export being written into `main` from the node attached as `src`:
/// its aggregates were copied as the node had folded them, and the events and awards the
/// node had not folded yet are folded into them here, so the file holds them whole.
pub fn complete_export(conn: &Connection) -> rusqlite::Result<()> {
    store::set_folded(conn, store::folded_in(conn, "src")?)?;
    fold_everything(conn)
}

/// After rows that came with their aggregates complete were added (a tenant import, once
/// the node's own backlog was folded): nothing stored is left to fold.
pub fn mark_all_folded(conn: &Connection) -> rusqlite::Result<()> {
    let ends = LogMark {
        events: crate::store::events::last_id(conn)?,
        awards: crate::points::store::last_award_id(conn)?,
    };
    store::set_folded(conn, ends)
}

/// Folds everything stored in one transaction, on a connection no writer thread holds
/// (start-up, tenant export and import).
pub fn fold_all(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    fold_everything(&tx)?;
    tx.commit()
}

/// One step through the writer.
struct FoldStep {
    through: Option<LogMark>,
}

impl Command for FoldStep {
    type Output = Progress;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Progress, ApiError> {
        Ok(measure(Feature::Wrapped, || {
            step(ctx.conn, STEP_ROWS, self.through)
        })?)
    }
}

/// Drives the fold through the writer.
#[derive(Clone)]
pub struct Folder {
    writer: Writer,
    /// Rows stored and not yet folded, as of the last step (`/metrics`).
    backlog: Arc<AtomicU64>,
}

impl Folder {
    pub fn new(writer: Writer) -> Folder {
        Folder {
            writer,
            backlog: Arc::default(),
        }
    }

    /// Rows stored and not yet folded as of the last step, for `/metrics`.
    pub fn backlog(&self) -> Arc<AtomicU64> {
        self.backlog.clone()
    }

    /// Folds everything stored before the call, in steps that let other commands run
    /// between them.
    pub async fn catch_up(&self) -> Result<(), ApiError> {
        let mut through = None;
        loop {
            let progress = self.writer.execute(FoldStep { through }).await?;
            self.backlog.store(progress.left(), Ordering::Relaxed);
            if progress.done() {
                return Ok(());
            }
            through = Some(progress.through);
        }
    }

    /// Folds what was stored since the last round every [`INTERVAL`], until aborted.
    pub async fn run_in_background(self) {
        let mut failing = false;
        loop {
            tokio::time::sleep(INTERVAL).await;
            match self.catch_up().await {
                Ok(()) => failing = false,
                Err(e) => {
                    // A full queue answers Overloaded: the next round tries again.
                    if !failing && !matches!(e, ApiError::Overloaded { .. }) {
                        log::error!("year in review: folding failed: {e}");
                    }
                    failing = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::user::User;
    use crate::domain::user_id::UserId;

    const DAY_MS: i64 = 86_400_000;
    /// 3 March 2031, 10:40 UTC.
    const START_MS: i64 = 1_930_300_800_000;

    fn user(conn: &Connection, id: &str) -> i64 {
        let mut user = User::new(1, &UserId::parse(id).expect("id"), false, 0);
        user.tz = Some("Pacific/Kiritimati".into());
        crate::store::users::insert(conn, &user)
            .expect("user")
            .row_id
    }

    /// Events `from..to` of the history: on two users and two metrics, over two months,
    /// in two zones, every third with an attribute; and an award for every other one.
    fn add_history(conn: &Connection, users: [i64; 2], from: i64, to: i64) {
        for i in from..to {
            let at_ms = START_MS + i * DAY_MS / 3;
            let tz = if i % 2 == 0 {
                "Pacific/Kiritimati"
            } else {
                "America/New_York"
            };
            let attributes = (i % 3 == 0).then_some(r#"{"source":"web"}"#);
            let uuid = format!("e{i}");
            crate::store::events::insert(
                conn,
                &crate::store::events::NewEvent {
                    uuid: &uuid,
                    user_row: users[(i % 2) as usize],
                    metric_id: 10 + i % 2,
                    value: i as f64,
                    attributes,
                    at_ms,
                    tz,
                },
            )
            .expect("event");
            if i % 2 == 0 {
                let uuid = format!("a{i}");
                crate::points::store::insert_award(
                    conn,
                    &crate::points::store::NewAward {
                        uuid: &uuid,
                        user: users[0],
                        system: 20,
                        trigger: 21,
                        awarded: i + 1,
                        total: 0,
                        at_ms,
                        snapshot: 1,
                        boosts_json: "[]",
                        tz,
                    },
                )
                .expect("award");
            }
        }
    }

    /// Every aggregate row, in key order.
    fn aggregates(conn: &Connection) -> Vec<String> {
        let mut out = Vec::new();
        for sql in [
            "SELECT user_id, source_id, attr_key, attr_value, day, events, amount FROM wrapped_days",
            "SELECT user_id, source_id, attr_key, attr_value, period, tenant_id, amount FROM wrapped_periods",
            "SELECT * FROM wrapped_period_values",
            "SELECT * FROM wrapped_period_users",
        ] {
            let mut stmt = conn.prepare(sql).expect("prepare");
            let columns = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    let mut row = Vec::new();
                    for i in 0..columns {
                        row.push(format!("{:?}", r.get::<_, rusqlite::types::Value>(i)?));
                    }
                    Ok(row.join(" "))
                })
                .expect("query");
            out.extend(rows.map(|r| r.expect("row")));
        }
        out
    }

    /// A database with users and the history `0..events`, nothing folded.
    fn unfolded(events: i64) -> (Connection, [i64; 2]) {
        let conn = crate::db::migrated_in_memory();
        crate::store::tenants::ensure_default(&conn, 0).expect("tenant");
        let users = [user(&conn, "ann"), user(&conn, "bob")];
        add_history(&conn, users, 0, events);
        (conn, users)
    }

    #[test]
    fn small_steps_count_exactly_what_one_pass_counts() {
        let (mut whole, _) = unfolded(120);
        fold_all(&mut whole).expect("fold");
        assert!(aggregates(&whole).len() > 100);

        let (stepped, _) = unfolded(120);
        let mut through = None;
        let mut steps = 0;
        loop {
            let progress = step(&stepped, 7, through).expect("step");
            steps += 1;
            if progress.done() {
                break;
            }
            through = Some(progress.through);
        }
        assert_eq!(steps, 120 / 7 + 1);
        assert_eq!(aggregates(&stepped), aggregates(&whole));
        assert_eq!(
            store::folded(&stepped).expect("mark"),
            LogMark {
                events: 120,
                awards: 60
            }
        );
    }

    #[test]
    fn a_step_goes_no_further_than_the_end_it_was_given_and_counts_nothing_twice() {
        let (conn, users) = unfolded(40);
        let first = step(&conn, 1_000, None).expect("step");
        assert!(first.done());
        // Stored after the fold fixed its end: left for the next fold, counted once.
        add_history(&conn, users, 40, 50);
        let again = step(&conn, 1_000, Some(first.through)).expect("step");
        assert_eq!(again.folded, first.folded);
        fold_everything(&conn).expect("fold");
        fold_everything(&conn).expect("nothing left");

        let (all_at_once, _) = unfolded(50);
        fold_everything(&all_at_once).expect("fold");
        assert_eq!(aggregates(&conn), aggregates(&all_at_once));
    }

    #[test]
    fn an_export_carries_what_its_node_had_not_folded_yet() {
        let dir = tempfile::tempdir().expect("dir");
        let node = dir.path().join("node.db");
        let mut source = Connection::open(&node).expect("node");
        crate::db::migrate(&mut source).expect("migrate");
        crate::store::tenants::ensure_default(&source, 0).expect("tenant");
        let users = [user(&source, "ann"), user(&source, "bob")];
        add_history(&source, users, 0, 60);
        // The node folded part of its history before the export.
        step(&source, 25, None).expect("step");
        assert!(store::folded(&source).expect("mark").events < 60);

        // What `shards::export` does: the rows copied into a new file, then completed.
        let mut file = Connection::open(dir.path().join("export.db")).expect("file");
        crate::db::migrate(&mut file).expect("migrate");
        file.execute("ATTACH DATABASE ?1 AS src", [node.to_str().expect("path")])
            .expect("attach");
        for table in [
            "tenants",
            "users",
            "events",
            "points_awards",
            "wrapped_days",
            "wrapped_periods",
            "wrapped_period_values",
            "wrapped_period_users",
        ] {
            file.execute(
                &format!("INSERT INTO main.{table} SELECT * FROM src.{table}"),
                [],
            )
            .expect("copy");
        }
        complete_export(&file).expect("complete");

        fold_all(&mut source).expect("fold the node");
        assert_eq!(aggregates(&file), aggregates(&source));
        // An import adds rows complete, then marks the logs folded: nothing counts twice.
        mark_all_folded(&file).expect("mark");
        fold_everything(&file).expect("nothing left");
        assert_eq!(aggregates(&file), aggregates(&source));
    }
}
