//! Rate-limited event types (docs/behaviour/webhooks.md#rate-limited-types): leading edge
//! plus trailing coalesce. The first change for a subject (a user and points system, a
//! leaderboard…) is emitted at once and opens a window; later changes inside the window are
//! merged into one pending body, emitted when the window ends; that emission opens the next
//! window, so a subject never gets more than one webhook per window.
//!
//! State lives in `webhook_windows`, written in the caller's transaction like the outbox.
//! [`WindowFlush`] is the scheduler job that emits pending bodies when windows end. The
//! same catch-up also runs lazily in [`emit_coalesced`], so the outcome does not depend on
//! whether the job has run yet when the next change arrives.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde_json::Value;

use super::outbox::emit;
use crate::clock::from_millis;
use crate::error::ApiError;
use crate::scheduler::{earliest_due, Job, NextDue};
use crate::writer::WriteCtx;

/// The scheduler job's name, which commands use for due hints.
pub const FLUSH_JOB: &str = "webhook-window-flush";

/// Emits `body` for `event_type` at most once per `window_seconds` for `subject`
/// (which must identify everything the limit is per, e.g. tenant, user and points
/// system). Changes inside an open window are folded into the pending body with `merge`
/// and sent when the window ends. A window of 0 emits every change at once.
pub fn emit_coalesced(
    ctx: &mut WriteCtx<'_>,
    event_type: &str,
    subject: &str,
    window_seconds: u32,
    body: Value,
    merge: fn(&mut Value, Value),
) -> Result<(), ApiError> {
    crate::writer::costs::measure(crate::writer::costs::Feature::Webhooks, || {
        if window_seconds == 0 {
            return emit(ctx, event_type, &body);
        }
        let now = ctx.now.timestamp_millis();
        let window_ms = i64::from(window_seconds) * 1000;
        let row = load(ctx, event_type, subject)?;
        let open = match row {
            Some(window) => settle(ctx, event_type, subject, window, now)?,
            None => None,
        };
        match open {
            // Inside an open window: merge into what waits for its end.
            Some(window) => {
                let merged = match window.pending {
                    Some(text) => {
                        let mut acc: Value =
                            serde_json::from_str(&text).map_err(ApiError::internal)?;
                        merge(&mut acc, body);
                        acc
                    }
                    None => body,
                };
                ctx.conn
                    .prepare_cached(
                        "UPDATE webhook_windows SET pending = ?3
                         WHERE event_type = ?1 AND subject = ?2",
                    )?
                    .execute(params![event_type, subject, merged.to_string()])?;
                hint(ctx, window.end);
            }
            // No window: fire now and open one.
            None => {
                emit(ctx, event_type, &body)?;
                let end = now + window_ms;
                ctx.conn
                    .prepare_cached(
                        "INSERT INTO webhook_windows (event_type, subject, window_end, pending, window_ms)
                         VALUES (?1, ?2, ?3, NULL, ?4)
                         ON CONFLICT (event_type, subject) DO UPDATE
                         SET window_end = excluded.window_end, pending = NULL,
                             window_ms = excluded.window_ms",
                    )?
                    .execute(params![event_type, subject, end, window_ms])?;
                hint(ctx, end);
            }
        }
        Ok(())
    })
}

struct Window {
    end: i64,
    pending: Option<String>,
    window_ms: i64,
}

fn load(ctx: &WriteCtx<'_>, event_type: &str, subject: &str) -> Result<Option<Window>, ApiError> {
    Ok(ctx
        .conn
        .prepare_cached(
            "SELECT window_end, pending, window_ms FROM webhook_windows
             WHERE event_type = ?1 AND subject = ?2",
        )?
        .query_row(params![event_type, subject], |r| {
            Ok(Window {
                end: r.get(0)?,
                pending: r.get(1)?,
                window_ms: r.get(2)?,
            })
        })
        .optional()?)
}

/// Brings one window up to `at`: while it has ended, emit what is pending and open the
/// next window from that end; an ended window with nothing pending is deleted. Returns
/// the window still open at `at`, if any (with nothing pending if it was just opened).
fn settle(
    ctx: &mut WriteCtx<'_>,
    event_type: &str,
    subject: &str,
    mut window: Window,
    at: i64,
) -> Result<Option<Window>, ApiError> {
    let original_end = window.end;
    while window.end <= at {
        let Some(text) = window.pending.take() else {
            ctx.conn
                .prepare_cached(
                    "DELETE FROM webhook_windows WHERE event_type = ?1 AND subject = ?2",
                )?
                .execute(params![event_type, subject])?;
            return Ok(None);
        };
        let body: Value = serde_json::from_str(&text).map_err(ApiError::internal)?;
        emit(ctx, event_type, &body)?;
        window.end += window.window_ms.max(1);
    }
    if window.end != original_end {
        ctx.conn
            .prepare_cached(
                "UPDATE webhook_windows SET window_end = ?3, pending = NULL
                 WHERE event_type = ?1 AND subject = ?2",
            )?
            .execute(params![event_type, subject, window.end])?;
        hint(ctx, window.end);
    }
    Ok(Some(window))
}

/// Tells the scheduler the flush job is due by `end_ms`, once this change commits.
fn hint(ctx: &mut WriteCtx<'_>, end_ms: i64) {
    let hints = ctx.env.due_hints.clone();
    ctx.after_commit(move || hints.due_by(FLUSH_JOB, from_millis(end_ms)));
}

/// Emits the pending bodies of windows that have ended and removes idle ones.
pub struct WindowFlush;

/// Ended windows read at a time, to bound memory after a long downtime.
const FLUSH_BATCH: i64 = 1_000;

impl Job for WindowFlush {
    fn name(&self) -> &'static str {
        FLUSH_JOB
    }

    fn run(&self, ctx: &mut WriteCtx<'_>, until: DateTime<Utc>) -> NextDue {
        let until_ms = until.timestamp_millis();
        loop {
            let ended: Vec<(String, String, Window)> = {
                let mut stmt = ctx.conn.prepare_cached(
                    "SELECT event_type, subject, window_end, pending, window_ms
                     FROM webhook_windows WHERE window_end <= ?1
                     ORDER BY window_end LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![until_ms, FLUSH_BATCH], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        Window {
                            end: r.get(2)?,
                            pending: r.get(3)?,
                            window_ms: r.get(4)?,
                        },
                    ))
                })?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            if ended.is_empty() {
                break;
            }
            for (event_type, subject, window) in ended {
                settle(ctx, &event_type, &subject, window, until_ms)?;
            }
        }
        earliest_due(ctx.conn, "SELECT MIN(window_end) FROM webhook_windows")
    }
}

/// Merges `points.changed` bodies (docs/behaviour/webhooks.md#rate-limited-types):
/// `points.added` is summed, `points.awards` concatenated in order, every other field
/// (`points.total`, `user`, …) takes the latest value.
pub fn merge_points_changed(acc: &mut Value, next: Value) {
    let (Value::Object(acc), Value::Object(next)) = (acc, next) else {
        return;
    };
    for (key, value) in next {
        match (key.as_str(), acc.get_mut(&key), value) {
            ("points", Some(Value::Object(points)), Value::Object(newer)) => {
                for (field, value) in newer {
                    match (field.as_str(), points.get_mut(&field), value) {
                        ("added", Some(sum), value) => *sum = add_numbers(sum, &value),
                        ("awards", Some(Value::Array(list)), Value::Array(more)) => {
                            list.extend(more)
                        }
                        (_, _, value) => {
                            points.insert(field, value);
                        }
                    }
                }
            }
            (_, _, value) => {
                acc.insert(key, value);
            }
        }
    }
}

/// Sums two JSON numbers, exactly for integers; a non-number counts as 0.
fn add_numbers(a: &Value, b: &Value) -> Value {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) if x.checked_add(y).is_some() => Value::from(x + y),
        _ => crate::domain::number::json_number(
            a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(added: i64, total: i64, award: &str, name: &str) -> Value {
        json!({
            "type": "points.changed",
            "user": {"id": "u1", "name": name},
            "points": {"key": "xp", "added": added, "total": total, "awards": [{"id": award}]}
        })
    }

    #[test]
    fn points_changed_sums_added_concatenates_awards_and_keeps_the_latest_rest() {
        let mut acc = change(10, 110, "a1", "Ann");
        merge_points_changed(&mut acc, change(5, 115, "a2", "Ann B."));
        merge_points_changed(&mut acc, change(-3, 112, "a3", "Ann C."));
        assert_eq!(
            acc,
            json!({
                "type": "points.changed",
                "user": {"id": "u1", "name": "Ann C."},
                "points": {
                    "key": "xp", "added": 12, "total": 112,
                    "awards": [{"id": "a1"}, {"id": "a2"}, {"id": "a3"}]
                }
            })
        );
    }

    #[test]
    fn fractional_added_values_sum_as_numbers() {
        let mut acc = json!({"points": {"added": 1.5, "awards": []}});
        merge_points_changed(&mut acc, json!({"points": {"added": 2.5, "awards": []}}));
        assert_eq!(acc["points"]["added"].to_string(), "4");
    }
}
