//! Builds the wrapped aggregates from events stored before they existed (migration 0008
//! leaves `meta.wrapped_backfill = 'pending'`), once, at start, before the writer runs.

use std::collections::BTreeMap;

use chrono_tz::Tz;
use rusqlite::{params, Connection, OptionalExtension};

use super::store;
use crate::clock::from_millis;
use crate::rules::local_time::local_date;

const META_KEY: &str = "wrapped_backfill";
/// Additions held in memory before they are written.
const BACKFILL_STEP: usize = 10_000;

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
    {
        let mut stmt = tx.prepare(
            "SELECT e.user_id, u.tenant_id, e.metric_id, e.value, e.attributes, e.at, e.tz
               FROM events e JOIN users u ON u.id = e.user_id
              ORDER BY e.id",
        )?;
        let mut rows = stmt.query([])?;
        let mut pending = super::Pending::default();
        let mut overflowing = 0;
        while let Some(r) = rows.next()? {
            let attributes: BTreeMap<String, String> = match r.get::<_, Option<String>>(4)? {
                Some(text) => crate::store::stored(&text, "an event's attributes")?,
                None => BTreeMap::new(),
            };
            // A zone that no longer parses counts in UTC rather than stopping the start.
            let tz: Tz = r.get::<_, String>(6)?.parse().unwrap_or(Tz::UTC);
            let date = local_date(from_millis(r.get(5)?), tz);
            let source = (r.get(1)?, r.get(0)?, r.get(2)?);
            let value: f64 = r.get(3)?;
            // Events stored before totals were kept finite may sum past the largest
            // double; such an event is left out of each total it would overflow rather
            // than stored there as inf.
            let mut fits = pending.add(&tx, source, store::WHOLE, date, value)?;
            for (k, v) in &attributes {
                fits &= pending.add(&tx, source, (k, v), date, value)?;
            }
            if !fits {
                overflowing += 1;
            }
            if pending.mark() >= BACKFILL_STEP {
                pending.flush(&tx)?;
            }
        }
        pending.flush(&tx)?;
        if overflowing > 0 {
            log::warn!("wrapped backfill: {overflowing} events were left out of totals they would have overflowed");
        }
    }
    tx.execute("DELETE FROM meta WHERE key = ?1", params![META_KEY])?;
    tx.commit()
}
