//! The `users` table.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;

use crate::domain::ids::{TenantId, UserRow};
use crate::domain::user::User;
use crate::error::ApiError;

/// `updated` is the later of the row's and the user's last event (see sql/0009).
const COLUMNS: &str = "id, tenant_id, external_id, email, name, tz, device_tokens,
     subscribe_to_emails, attributes, control, created,
     max(updated, ifnull((SELECT max(m.last_at) FROM metric_totals m WHERE m.user_id = users.id), 0)),
     sign_up_date";

fn from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let row_id: UserRow = r.get(0)?;
    let device_tokens: Option<String> = r.get(6)?;
    let attributes: String = r.get(8)?;
    let sign_up_date: Option<String> = r.get(12)?;
    Ok(User {
        row_id,
        tenant_id: r.get(1)?,
        id: r.get(2)?,
        email: r.get(3)?,
        name: r.get(4)?,
        tz: r.get(5)?,
        device_tokens: device_tokens
            .map(|t| super::stored(&t, format_args!("users row {row_id}'s device_tokens")))
            .transpose()?,
        subscribe_to_emails: r.get(7)?,
        attributes: super::stored(&attributes, format_args!("users row {row_id}'s attributes"))?,
        control: r.get(9)?,
        created: r.get(10)?,
        updated: r.get(11)?,
        sign_up_date: sign_up_date.and_then(|d| d.parse().ok()),
    })
}

pub fn find(
    conn: &Connection,
    tenant_id: TenantId,
    external_id: &str,
) -> rusqlite::Result<Option<User>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM users WHERE tenant_id = ?1 AND external_id = ?2"
    ))?
    .query_row(params![tenant_id, external_id], from_row)
    .optional()
}

/// The user `external_id` of the tenant, or the 404 that every read and write about a user
/// who does not exist answers.
pub fn existing(
    conn: &Connection,
    tenant_id: TenantId,
    external_id: &str,
) -> Result<User, ApiError> {
    find(conn, tenant_id, external_id)?.ok_or_else(|| ApiError::not_found("User not found"))
}

pub fn by_row(conn: &Connection, row_id: UserRow) -> rusqlite::Result<Option<User>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"))?
        .query_row([row_id], from_row)
        .optional()
}

/// Inserts a new user and returns it with its row id.
pub fn insert(conn: &Connection, user: &User) -> rusqlite::Result<User> {
    conn.prepare_cached(
        "INSERT INTO users (tenant_id, external_id, email, name, tz, device_tokens,
             subscribe_to_emails, attributes, control, preferences, created, updated,
             sign_up_date, anniversary_from)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, '{}', ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        user.tenant_id,
        user.id,
        user.email,
        user.name,
        user.tz,
        tokens_json(user),
        user.subscribe_to_emails,
        attributes_json(user),
        user.control,
        user.created,
        user.updated,
        user.sign_up_date.map(|d| d.to_string()),
        anniversary_from(user),
    ])?;
    let row_id = UserRow::from_raw(conn.last_insert_rowid());
    conn.prepare_cached(
        "INSERT INTO tenant_user_counts (tenant_id, users) VALUES (?1, 1)
         ON CONFLICT (tenant_id) DO UPDATE SET users = users + 1",
    )?
    .execute([user.tenant_id])?;
    Ok(User {
        row_id,
        ..user.clone()
    })
}

/// How many users `tenant_id` has.
pub fn count(conn: &Connection, tenant_id: TenantId) -> rusqlite::Result<i64> {
    Ok(conn
        .prepare_cached("SELECT users FROM tenant_user_counts WHERE tenant_id = ?1")?
        .query_row([tenant_id], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

pub fn update(conn: &Connection, user: &User) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE users SET email = ?1, name = ?2, tz = ?3, device_tokens = ?4,
             subscribe_to_emails = ?5, attributes = ?6, updated = ?7, sign_up_date = ?9,
             anniversary_from = ?10
         WHERE id = ?8",
    )?
    .execute(params![
        user.email,
        user.name,
        user.tz,
        tokens_json(user),
        user.subscribe_to_emails,
        attributes_json(user),
        user.updated,
        user.row_id,
        user.sign_up_date.map(|d| d.to_string()),
        anniversary_from(user),
    ])?;
    Ok(())
}

pub fn preferences(conn: &Connection, row_id: UserRow) -> rusqlite::Result<Value> {
    let text: String = conn
        .prepare_cached("SELECT preferences FROM users WHERE id = ?1")?
        .query_row([row_id], |r| r.get(0))?;
    super::stored_json(&text, format_args!("the preferences of user row {row_id}"))
}

pub fn set_preferences(
    conn: &Connection,
    row_id: UserRow,
    prefs: &Value,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE users SET preferences = ?1, updated = ?2 WHERE id = ?3")?
        .execute(params![prefs.to_string(), now_ms, row_id])?;
    Ok(())
}

fn tokens_json(user: &User) -> Option<String> {
    user.device_tokens
        .as_ref()
        .map(|t| serde_json::to_string(t).unwrap_or_else(|_| "[]".into()))
}

fn attributes_json(user: &User) -> String {
    serde_json::to_string(&user.attributes).unwrap_or_else(|_| "{}".into())
}

/// The indexed date anniversary achievements look users up by: the sign-up date, else the
/// UTC date of creation, which is within a day of the local one the rule uses (sql/0012).
fn anniversary_from(user: &User) -> String {
    user.sign_up_date
        .unwrap_or_else(|| crate::clock::from_millis(user.created).date_naive())
        .to_string()
}

/// Users of `owner` (`TenantId::SHARED`: every tenant) with `anniversary_from` in
/// `(after_key, through]`, continuing after `(after_key, after_row)` in
/// `(anniversary_from, id)` order.
pub fn by_anniversary_from(
    conn: &Connection,
    owner: TenantId,
    after: (&str, UserRow),
    through: &str,
    limit: i64,
) -> rusqlite::Result<Vec<(String, UserRow)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT anniversary_from, id FROM users
          WHERE (anniversary_from, id) > (?1, ?2) AND anniversary_from <= ?3
            AND (?4 = 0 OR tenant_id = ?4)
          ORDER BY anniversary_from, id LIMIT ?5",
    )?;
    let rows = stmt.query_map(params![after.0, after.1, through, owner, limit], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    rows.collect()
}

/// Rows of `owner`'s users after `cursor` whose `anniversary_from` is at most `through`.
pub fn rows_with_anniversary_by(
    conn: &Connection,
    owner: TenantId,
    cursor: UserRow,
    through: &str,
    limit: i64,
) -> rusqlite::Result<Vec<UserRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM users
          WHERE id > ?1 AND (?2 = 0 OR tenant_id = ?2) AND anniversary_from <= ?3
          ORDER BY id LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![cursor, owner, through, limit], |r| r.get(0))?;
    rows.collect()
}

/// Up to `limit` users of `tenant_id` whose id, email or name starts with `text` (email and
/// name case-insensitively, ASCII letters only as SQLite's NOCASE folds), exact id first,
/// then id, email and name matches in that order, each by its own index. An empty `text`
/// lists the newest users.
pub fn search(
    conn: &Connection,
    tenant_id: TenantId,
    text: &str,
    limit: usize,
) -> rusqlite::Result<Vec<User>> {
    let limit_sql = i64::try_from(limit).unwrap_or(i64::MAX);
    if text.is_empty() {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM users WHERE tenant_id = ?1 ORDER BY id DESC LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![tenant_id, limit_sql], from_row)?;
        return rows.collect();
    }
    let mut found: Vec<User> = find(conn, tenant_id, text)?.into_iter().collect();
    // Every string starting with `text` sorts from `text` to `text` followed by the
    // largest code point, under BINARY and NOCASE alike.
    let upper = format!("{text}\u{10FFFF}");
    for column in ["external_id", "email COLLATE NOCASE", "name COLLATE NOCASE"] {
        if found.len() >= limit {
            break;
        }
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM users
              WHERE tenant_id = ?1 AND {column} >= ?2 AND {column} < ?3
              ORDER BY {column} LIMIT ?4"
        ))?;
        let rows = stmt.query_map(params![tenant_id, text, upper, limit_sql], from_row)?;
        for user in rows {
            let user = user?;
            if found.len() < limit && !found.iter().any(|f| f.row_id == user.row_id) {
                found.push(user);
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::ids::fixtures::{T1, T2};

    fn user(conn: &Connection, id: &str, email: Option<&str>, name: Option<&str>) {
        conn.execute(
            "INSERT INTO users (tenant_id, external_id, email, name, subscribe_to_emails,
                 attributes, control, preferences, created, updated)
             VALUES (1, ?1, ?2, ?3, 1, '{}', 0, '{}', 0, 0)",
            params![id, email, name],
        )
        .expect("insert");
    }

    fn ids(users: Vec<User>) -> Vec<String> {
        users.into_iter().map(|u| u.id).collect()
    }

    #[test]
    fn a_stored_field_that_is_not_json_is_an_error_naming_the_row() {
        let conn = crate::db::migrated_in_memory();
        conn.execute_batch(
            "INSERT OR IGNORE INTO tenants (id, uuid, customer_id, name, created, updated)
             VALUES (1, 't1', 'default', 'Default', 0, 0)",
        )
        .expect("tenant");
        user(&conn, "ada", None, None);
        assert_eq!(
            find(&conn, T1, "ada").expect("find").expect("ada").id,
            "ada"
        );
        let damages = [
            (
                "UPDATE users SET attributes = '{\"plan\": ' WHERE external_id = 'ada'",
                "'s attributes is not JSON",
            ),
            (
                "UPDATE users SET attributes = '{}', device_tokens = '[1' WHERE external_id = 'ada'",
                "'s device_tokens is not JSON",
            ),
        ];
        for (damage, named) in damages {
            conn.execute(damage, []).expect("damage");
            let err = find(&conn, T1, "ada")
                .expect_err("a damaged row is an error")
                .to_string();
            assert!(err.contains(named), "{err}");
        }
    }

    #[test]
    fn search_finds_an_id_email_or_name_from_its_start_through_indexes() {
        let conn = crate::db::migrated_in_memory();
        conn.execute_batch(
            "INSERT OR IGNORE INTO tenants (id, uuid, customer_id, name, created, updated)
             VALUES (1, 't1', 'default', 'Default', 0, 0), (2, 't2', 'other', 'Other', 0, 0)",
        )
        .expect("tenants");
        user(&conn, "ada", Some("Ada@Example.com"), Some("Ada Lovelace"));
        user(&conn, "adam", None, Some("Adam Smith"));
        user(&conn, "u-7", Some("grace@navy.mil"), Some("Grace Hopper"));
        user(&conn, "u-8", Some("adele@example.com"), None);
        let search = |q: &str, limit| ids(super::search(&conn, T1, q, limit).expect("search"));
        assert_eq!(search("ada", 10), ["ada", "adam"]);
        assert_eq!(search("ad", 10), ["ada", "adam", "u-8"]);
        assert_eq!(search("GRACE", 10), ["u-7"]);
        assert_eq!(search("grace hop", 10), ["u-7"]);
        assert_eq!(search("u-", 10), ["u-7", "u-8"]);
        assert_eq!(search("u-", 1), ["u-7"]);
        assert_eq!(search("nobody", 10), Vec::<String>::new());
        assert_eq!(search("", 2), ["u-8", "u-7"]);
        assert!(super::search(&conn, T2, "ada", 10)
            .expect("search")
            .is_empty());
        for column in ["email", "name"] {
            let sql = format!("{column} COLLATE NOCASE >= 'a' AND {column} COLLATE NOCASE < 'b'");
            let plan: String = conn
                .query_row(
                    &format!(
                        "EXPLAIN QUERY PLAN SELECT id FROM users WHERE tenant_id = 1 AND {sql}"
                    ),
                    [],
                    |r| r.get(3),
                )
                .expect("plan");
            assert!(
                plan.contains(&format!("INDEX users_by_{column} ")),
                "{sql}: {plan}"
            );
        }
    }
}
