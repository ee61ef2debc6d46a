//! Builds the wrapped aggregates from events stored before they existed (migration 0008
//! leaves `meta.wrapped_backfill = 'pending'`), once, at start, before the writer runs:
//! the aggregates are emptied and the fold starts over from the first event.

use rusqlite::{params, Connection, OptionalExtension};

use super::store::{self, LogMark};

const META_KEY: &str = "wrapped_backfill";

pub fn backfill_if_pending(conn: &mut Connection) -> rusqlite::Result<()> {
    let pending: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [META_KEY], |r| {
            r.get(0)
        })
        .optional()?;
    if pending.as_deref() != Some("pending") {
        return Ok(());
    }
    let tx = conn.transaction()?;
    tx.execute_batch(
        "DELETE FROM wrapped_days; DELETE FROM wrapped_periods; DELETE FROM wrapped_period_users; DELETE FROM wrapped_period_values;",
    )?;
    // Points awarded before 0008 were never counted and are not now (their zone was not
    // kept); the events are, from the first.
    let awards = store::folded(&tx)?.awards;
    store::set_folded(&tx, LogMark { events: 0, awards })?;
    tx.execute("DELETE FROM meta WHERE key = ?1", params![META_KEY])?;
    tx.commit()?;
    super::fold_all(conn)
}
