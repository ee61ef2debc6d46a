//! Counts for the console's engagement charts that are not `activity` rows: the control
//! group's size, streak lengths, and deliveries finished per day. Each reads an index range
//! or a kept aggregate, never a table row by row:
//!
//! - the control group: the partial index `users_in_control` (about controlRatio of the
//!   tenant's users);
//! - streaks: `streaks_by_length` and `streaks_by_longest`, index-only over the tenant's
//!   users that have a streak (a few ms at 100k users, see benches/console_reads.py);
//! - deliveries: `webhook_outcome_days` and `notification_outcome_days` (one row per day),
//!   which triggers keep, and the pending rows through the partial indexes of the queues.

use rusqlite::{params, Connection};

use crate::domain::ids::TenantId;

/// Users of `tenant` in the control group.
pub fn control_users(conn: &Connection, tenant: TenantId) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT count(*) FROM users WHERE tenant_id = ?1 AND control = 1")?
        .query_row([tenant], |r| r.get(0))
}

/// `(length, users)` of the tenant's current streaks longer than 0, longest first.
pub fn streak_lengths(conn: &Connection, tenant: TenantId) -> rusqlite::Result<Vec<(i64, i64)>> {
    users_by(conn, tenant, "length")
}

/// `(longest, users)` of the tenant's users by the longest streak they ever had (from 1).
pub fn longest_streaks(conn: &Connection, tenant: TenantId) -> rusqlite::Result<Vec<(i64, i64)>> {
    users_by(conn, tenant, "longest")
}

/// `(value, users)` of the tenant's streaks by the column `length` or `longest`, from the
/// highest value down to 1, each read from the column's index alone.
fn users_by(
    conn: &Connection,
    tenant: TenantId,
    column: &str,
) -> rusqlite::Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {column}, count(*) FROM streaks WHERE tenant_id = ?1 AND {column} > 0
          GROUP BY {column} ORDER BY {column} DESC"
    ))?;
    let rows = stmt.query_map([tenant], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Deliveries finished on one UTC day: `[delivered (sent), failed]`.
pub type Outcomes = (i64, [i64; 2]);

/// Webhook deliveries finished per UTC day from `first` to `last` (days with none absent).
pub fn webhook_outcomes(
    conn: &Connection,
    first: i64,
    last: i64,
) -> rusqlite::Result<Vec<Outcomes>> {
    outcomes(
        conn,
        "SELECT day, delivered, failed FROM webhook_outcome_days
          WHERE day BETWEEN ?1 AND ?2 ORDER BY day",
        params![first, last],
    )
}

/// The tenant's notifications finished per UTC day from `first` to `last`.
pub fn notification_outcomes(
    conn: &Connection,
    tenant: TenantId,
    first: i64,
    last: i64,
) -> rusqlite::Result<Vec<Outcomes>> {
    outcomes(
        conn,
        "SELECT day, sent, failed FROM notification_outcome_days
          WHERE tenant_id = ?1 AND day BETWEEN ?2 AND ?3 ORDER BY day",
        params![tenant, first, last],
    )
}

/// The rows of a query of (day, delivered, failed).
fn outcomes(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> rusqlite::Result<Vec<Outcomes>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(args, |r| Ok((r.get(0)?, [r.get(1)?, r.get(2)?])))?;
    rows.collect()
}

/// Webhook deliveries waiting (the server's), through the partial index of pending rows.
pub fn webhooks_pending(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT count(*) FROM webhook_outbox WHERE status = 'pending'")?
        .query_row([], |r| r.get(0))
}

/// The tenant's notifications waiting, through the partial index of pending rows.
pub fn notifications_pending(conn: &Connection, tenant: TenantId) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "SELECT count(*) FROM notification_outbox
          WHERE status = 'pending' AND tenant_id = ?1",
    )?
    .query_row([tenant], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::migrate;

    use crate::domain::ids::fixtures::{T1, T2};

    const DAY: i64 = 86_400_000;

    fn webhook(conn: &Connection, id: i64) {
        conn.execute(
            "INSERT INTO webhook_outbox (id, uuid, endpoint, event_type, body, status, next_attempt, created)
             VALUES (?1, ?1, 'http://x', 'test', '{}', 'pending', 0, 0)",
            [id],
        )
        .expect("delivery");
    }

    fn finish(conn: &Connection, table: &str, id: i64, status: &str, at: i64) {
        conn.execute(
            &format!("UPDATE {table} SET status = ?2, finished = ?3 WHERE id = ?1"),
            params![id, status, at],
        )
        .expect("finish");
    }

    /// Every way a row leaves 'pending' counts once on its day; a retried row counts again
    /// when it finishes again; pending rows are counted from the queue.
    #[test]
    fn outcomes_are_counted_when_rows_finish() {
        let mut conn = Connection::open_in_memory().expect("db");
        migrate(&mut conn).expect("migrations");
        for id in 1..=4 {
            webhook(&conn, id);
        }
        finish(&conn, "webhook_outbox", 1, "delivered", 10 * DAY + 5);
        finish(&conn, "webhook_outbox", 2, "failed", 10 * DAY + 6);
        // Retried, then delivered the next day.
        finish(&conn, "webhook_outbox", 2, "pending", 0);
        finish(&conn, "webhook_outbox", 2, "delivered", 11 * DAY);
        // A finished row's later updates (attempt bookkeeping) do not count again.
        conn.execute(
            "UPDATE webhook_outbox SET attempts = 3, status = 'delivered' WHERE id = 1",
            [],
        )
        .expect("touch");
        assert_eq!(
            webhook_outcomes(&conn, 0, 20).expect("outcomes"),
            vec![(10, [1, 1]), (11, [1, 0])]
        );
        assert_eq!(
            webhook_outcomes(&conn, 11, 11).expect("outcomes"),
            vec![(11, [1, 0])]
        );
        assert_eq!(webhooks_pending(&conn).expect("pending"), 2);

        for (id, tenant) in [(1, 1), (2, 1), (3, 2)] {
            conn.execute(
                "INSERT INTO notification_outbox (id, uuid, tenant_id, user_id, kind, channel, target,
                                                  payload, status, next_attempt, created)
                 VALUES (?1, ?1, ?2, 1, 'achievement', 'email', 'a@x.test', '{}', 'pending', 0, 0)",
                params![id, tenant],
            )
            .expect("notification");
        }
        finish(&conn, "notification_outbox", 1, "sent", 3 * DAY);
        finish(&conn, "notification_outbox", 3, "failed", 3 * DAY);
        assert_eq!(
            notification_outcomes(&conn, T1, 0, 9).expect("outcomes"),
            vec![(3, [1, 0])]
        );
        assert_eq!(
            notification_outcomes(&conn, T2, 0, 9).expect("outcomes"),
            vec![(3, [0, 1])]
        );
        assert_eq!(notifications_pending(&conn, T1).expect("pending"), 1);
        assert_eq!(notifications_pending(&conn, T2).expect("pending"), 0);
    }
}
