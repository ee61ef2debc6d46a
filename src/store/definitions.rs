//! The `definitions` table: every metric, attribute, achievement, points system (with its
//! triggers, levels and boosts) and leaderboard, one row each with its JSON body, and the
//! streak settings stored through the Admin API (one shared row, [`STREAK_SETTINGS_KEY`]).
//! The only module with SQL on this table.
//!
//! A body that does not read back as a JSON object is an error naming the row
//! ([`Error::Unreadable`]), never a definition quietly left out: the server refuses to
//! start on it, and an Admin API write that meets it fails whole.

use std::collections::HashMap;
use std::fmt;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use crate::domain::ids::{DefinitionId, TenantId};
use crate::error::ApiError;

/// What a row defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Metric,
    Attribute,
    Achievement,
    PointsSystem,
    PointsTrigger,
    PointsLevel,
    PointsBoost,
    Leaderboard,
    /// The streak settings `PATCH /admin/v1/streaks/settings` stored: one row for the
    /// whole server ([`streak_settings`]), read by the streaks feature, not the catalog.
    StreakSettings,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Metric,
        Kind::Attribute,
        Kind::Achievement,
        Kind::PointsSystem,
        Kind::PointsTrigger,
        Kind::PointsLevel,
        Kind::PointsBoost,
        Kind::Leaderboard,
        Kind::StreakSettings,
    ];

    /// As stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Metric => "metric",
            Kind::Attribute => "attribute",
            Kind::Achievement => "achievement",
            Kind::PointsSystem => "points_system",
            Kind::PointsTrigger => "points_trigger",
            Kind::PointsLevel => "points_level",
            Kind::PointsBoost => "points_boost",
            Kind::Leaderboard => "leaderboard",
            Kind::StreakSettings => "streak_settings",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn is_points(self) -> bool {
        matches!(
            self,
            Kind::PointsSystem | Kind::PointsTrigger | Kind::PointsLevel | Kind::PointsBoost
        )
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A row's stored status. What each kind shows for it (a leaderboard's `scheduled` or
/// `finished`, say) is the catalog's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Inactive,
    /// Achievements only: shown, not completable.
    Locked,
    /// Leaderboards only: ended by an operator.
    Finished,
    /// Kept for history (awards and runs refer to it), invisible to the API.
    Archived,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Inactive => "inactive",
            Status::Locked => "locked",
            Status::Finished => "finished",
            Status::Archived => "archived",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        [
            Status::Active,
            Status::Inactive,
            Status::Locked,
            Status::Finished,
            Status::Archived,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// The kind named `text` by a caller that wrote it itself; an unknown one is a bug.
pub fn kind(text: &str) -> std::result::Result<Kind, ApiError> {
    Kind::parse(text).ok_or_else(|| ApiError::internal(format!("unknown definition kind {text:?}")))
}

/// The status named `text` by a caller that validated it; an unknown one is a bug.
pub fn status(text: &str) -> std::result::Result<Status, ApiError> {
    Status::parse(text)
        .ok_or_else(|| ApiError::internal(format!("unknown definition status {text:?}")))
}

/// A row read back.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: DefinitionId,
    pub uuid: String,
    /// The owning tenant, `TenantId::SHARED` (0) for a definition shared by every tenant.
    pub owner: TenantId,
    pub kind: Kind,
    pub key: String,
    pub status: Status,
    /// Declared in trophy.toml.
    pub managed: bool,
    pub body: Map<String, Value>,
    pub created: i64,
    pub updated: i64,
}

impl Row {
    /// The error naming this row, for a reader of its body (the catalog) that finds a
    /// field it needs missing or of the wrong type.
    pub fn unreadable(&self, reason: impl Into<String>) -> Error {
        Error::Unreadable {
            id: self.id,
            kind: self.kind.as_str().to_owned(),
            key: self.key.clone(),
            reason: reason.into(),
        }
    }
}

#[derive(Debug)]
pub enum Error {
    Sql(rusqlite::Error),
    /// A row whose kind, status or body cannot be read.
    Unreadable {
        id: DefinitionId,
        kind: String,
        key: String,
        reason: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Sql(e) => write!(f, "{e}"),
            Error::Unreadable {
                id,
                kind,
                key,
                reason,
            } => write!(
                f,
                "definition row {id} ({kind} {key:?}) cannot be read: {reason}; the database \
                 was changed outside trophyd or is damaged (restore it from a backup, or \
                 correct the row's body with sqlite3)"
            ),
        }
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Sql(e)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e {
            Error::Sql(e) => ApiError::from(e),
            unreadable => ApiError::internal(unreadable),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

const COLUMNS: &str =
    "id, uuid, ifnull(tenant_id, 0), kind, key, status, managed, body, created, updated";

struct Raw {
    id: DefinitionId,
    uuid: String,
    owner: TenantId,
    kind: String,
    key: String,
    status: String,
    managed: bool,
    body: String,
    created: i64,
    updated: i64,
}

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
    crate::store::from_columns!(r => Raw {
        id, uuid, owner, kind, key, status, managed, body, created, updated,
    })
}

/// The body as stored: a JSON object.
pub fn parse_body(text: &str) -> std::result::Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!("the body is JSON but not an object: {other}")),
        Err(e) => Err(format!("the body is not JSON ({e})")),
    }
}

impl Raw {
    fn read(self) -> Result<Row> {
        let unreadable = |reason: String| Error::Unreadable {
            id: self.id,
            kind: self.kind.clone(),
            key: self.key.clone(),
            reason,
        };
        let kind =
            Kind::parse(&self.kind).ok_or_else(|| unreadable("an unknown kind".to_owned()))?;
        let status = Status::parse(&self.status)
            .ok_or_else(|| unreadable(format!("an unknown status {:?}", self.status)))?;
        let body = parse_body(&self.body).map_err(unreadable)?;
        Ok(Row {
            id: self.id,
            uuid: self.uuid,
            owner: self.owner,
            kind,
            key: self.key,
            status,
            managed: self.managed,
            body,
            created: self.created,
            updated: self.updated,
        })
    }
}

fn collect(conn: &Connection, sql: &str) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let raws = stmt
        .query_map([], raw)?
        .collect::<rusqlite::Result<Vec<Raw>>>()?;
    raws.into_iter().map(Raw::read).collect()
}

/// Every row that is not archived, oldest first: what the catalog is built from.
pub fn live(conn: &Connection) -> Result<Vec<Row>> {
    collect(
        conn,
        &format!("SELECT {COLUMNS} FROM definitions WHERE status != 'archived' ORDER BY id"),
    )
}

/// The shared rows trophy.toml manages (archived ones included), by kind and key.
pub fn managed_shared(conn: &Connection) -> Result<Vec<Row>> {
    collect(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM definitions WHERE tenant_id IS NULL AND managed = 1 ORDER BY id"
        ),
    )
}

/// One row by id.
pub fn by_id(conn: &Connection, id: DefinitionId) -> Result<Option<Row>> {
    let raw = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM definitions WHERE id = ?1"))?
        .query_row([id], raw)
        .optional()?;
    raw.map(Raw::read).transpose()
}

/// One row by id that the caller knows exists (the catalog named it in this command).
pub fn existing(conn: &Connection, id: DefinitionId) -> std::result::Result<Row, ApiError> {
    by_id(conn, id)?.ok_or_else(|| ApiError::internal(format!("definition row {id} is gone")))
}

/// A page of the active rows of `kind` that `tenant` sees (its own and the shared ones),
/// oldest first.
pub fn active_page(
    conn: &Connection,
    kind: Kind,
    tenant: TenantId,
    limit: i64,
    skip: i64,
) -> Result<Vec<Row>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM definitions
          WHERE kind = ?1 AND status = 'active' AND ifnull(tenant_id, 0) IN (0, ?2)
          ORDER BY id LIMIT ?3 OFFSET ?4"
    ))?;
    let raws = stmt
        .query_map(params![kind.as_str(), tenant, limit, skip], raw)?
        .collect::<rusqlite::Result<Vec<Raw>>>()?;
    raws.into_iter().map(Raw::read).collect()
}

/// The ids of every row of `kind` named `key`, whoever owns it and whatever its status,
/// as a JSON array (for `IN (SELECT value FROM json_each(?))` in another table's query).
pub fn ids_named(conn: &Connection, kind: Kind, key: &str) -> rusqlite::Result<String> {
    conn.prepare_cached(
        "SELECT json_group_array(id) FROM definitions WHERE kind = ?1 AND key = ?2",
    )?
    .query_row(params![kind.as_str(), key], |r| r.get(0))
}

/// One row by its UUID.
pub fn by_uuid(conn: &Connection, uuid: &str) -> Result<Option<Row>> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM definitions WHERE uuid = ?1"
        ))?
        .query_row([uuid], raw)
        .optional()?;
    raw.map(Raw::read).transpose()
}

/// One row by owner, kind and key, whatever its status.
pub fn by_key(conn: &Connection, owner: TenantId, kind: Kind, key: &str) -> Result<Option<Row>> {
    let raw = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM definitions
              WHERE ifnull(tenant_id, 0) = ?1 AND kind = ?2 AND key = ?3"
        ))?
        .query_row(params![owner, kind.as_str(), key], raw)
        .optional()?;
    raw.map(Raw::read).transpose()
}

/// Whether `owner` has a row of `kind` named `key`, archived ones included (keys are not
/// reused).
pub fn key_taken(
    conn: &Connection,
    owner: TenantId,
    kind: Kind,
    key: &str,
) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM definitions
                         WHERE ifnull(tenant_id, 0) = ?1 AND kind = ?2 AND key = ?3)",
    )?
    .query_row(params![owner, kind.as_str(), key], |r| r.get(0))
}

/// The key of the active points system with `uuid` that `tenant` sees.
pub fn active_points_system_key(
    conn: &Connection,
    uuid: &str,
    tenant: TenantId,
) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT key FROM definitions WHERE kind = 'points_system' AND status = 'active'
            AND uuid = ?1 AND (tenant_id IS NULL OR tenant_id = ?2)",
    )?
    .query_row(params![uuid, tenant], |r| r.get(0))
    .optional()
}

/// The keys of every row of `kind` by id, archived ones included (names for stored
/// history).
pub fn keys_by_id(
    conn: &Connection,
    kind: Kind,
) -> rusqlite::Result<HashMap<DefinitionId, String>> {
    let mut stmt = conn.prepare_cached("SELECT id, key FROM definitions WHERE kind = ?1")?;
    let rows = stmt.query_map([kind.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// How many distinct active keys of each kind `tenant` sees (its own and shared).
pub fn active_counts(conn: &Connection, tenant: TenantId) -> rusqlite::Result<Vec<(Kind, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, count(DISTINCT key) FROM definitions
          WHERE status = 'active' AND ifnull(tenant_id, 0) IN (0, ?1)
          GROUP BY kind",
    )?;
    let rows = stmt.query_map([tenant], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, n) = row?;
        if let Some(kind) = Kind::parse(&kind) {
            out.push((kind, n));
        }
    }
    Ok(out)
}

/// A row to insert.
pub struct New<'a> {
    pub uuid: &'a str,
    /// None: shared by every tenant.
    pub tenant: Option<TenantId>,
    pub kind: Kind,
    pub key: &'a str,
    pub status: Status,
    pub managed: bool,
    pub body: &'a Map<String, Value>,
    pub now_ms: i64,
}

/// Inserts a row; returns its id.
pub fn insert(conn: &Connection, new: &New<'_>) -> rusqlite::Result<DefinitionId> {
    conn.prepare_cached(
        "INSERT INTO definitions (uuid, tenant_id, kind, key, status, managed, body, created, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
    )?
    .execute(params![
        new.uuid,
        new.tenant,
        new.kind.as_str(),
        new.key,
        new.status.as_str(),
        new.managed,
        Value::Object(new.body.clone()).to_string(),
        new.now_ms
    ])?;
    Ok(DefinitionId::from_raw(conn.last_insert_rowid()))
}

/// Replaces a row's status and body, and its key when `key` is given.
pub fn update(
    conn: &Connection,
    id: DefinitionId,
    key: Option<&str>,
    status: Status,
    body: &Map<String, Value>,
    now_ms: i64,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE definitions SET key = ifnull(?1, key), status = ?2, body = ?3, updated = ?4
          WHERE id = ?5",
    )?
    .execute(params![
        key,
        status.as_str(),
        Value::Object(body.clone()).to_string(),
        now_ms,
        id
    ])?;
    Ok(())
}

/// Replaces a row's body without counting it as an update of the definition (a composite's
/// prerequisite renamed with the achievement it names).
pub fn rewrite_body(
    conn: &Connection,
    id: DefinitionId,
    body: &Map<String, Value>,
) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE definitions SET body = ?1 WHERE id = ?2")?
        .execute(params![Value::Object(body.clone()).to_string(), id])?;
    Ok(())
}

/// Takes a shared row of `kind` and `key` under trophy.toml's management (an Admin API
/// definition the file now declares); false when there is none.
pub fn adopt(
    conn: &Connection,
    kind: Kind,
    key: &str,
    status: Status,
    body: &Map<String, Value>,
    now_ms: i64,
) -> rusqlite::Result<bool> {
    let updated = conn
        .prepare_cached(
            "UPDATE definitions SET managed = 1, status = ?1, body = ?2, updated = ?3
              WHERE tenant_id IS NULL AND kind = ?4 AND key = ?5",
        )?
        .execute(params![
            status.as_str(),
            Value::Object(body.clone()).to_string(),
            now_ms,
            kind.as_str(),
            key
        ])?;
    Ok(updated > 0)
}

/// The key of the one [`Kind::StreakSettings`] row. The streak settings are one for the
/// whole server, as `[streaks]` is one table of trophy.toml (a PATCH sent with a
/// `Tenant-ID` changes them for every tenant), so the row is shared (`tenant_id` NULL,
/// owner 0), active, not managed (a file's `[streaks]` is held in memory and leaves the row
/// alone), and always has this key. Migration 0019 moved it here from the `meta` row
/// `streak_settings`.
pub const STREAK_SETTINGS_KEY: &str = "streak";

/// The streak settings stored through the Admin API, if any. A body that is not a JSON
/// object is an error naming the row, as for every kind.
pub fn streak_settings(conn: &Connection) -> Result<Option<Row>> {
    by_key(
        conn,
        TenantId::SHARED,
        Kind::StreakSettings,
        STREAK_SETTINGS_KEY,
    )
}

/// Stores the streak settings' body: replaces it in the row, or inserts the row (with a
/// new UUID) the first time. The row before is not read, so this cannot fail on it.
pub fn store_streak_settings(
    conn: &Connection,
    body: &Map<String, Value>,
    now_ms: i64,
) -> rusqlite::Result<()> {
    let replaced = conn
        .prepare_cached(
            "UPDATE definitions SET body = ?1, updated = ?2
              WHERE tenant_id IS NULL AND kind = ?3 AND key = ?4",
        )?
        .execute(params![
            Value::Object(body.clone()).to_string(),
            now_ms,
            Kind::StreakSettings.as_str(),
            STREAK_SETTINGS_KEY
        ])?;
    if replaced == 0 {
        insert(
            conn,
            &New {
                uuid: &uuid::Uuid::new_v4().to_string(),
                tenant: None,
                kind: Kind::StreakSettings,
                key: STREAK_SETTINGS_KEY,
                status: Status::Active,
                managed: false,
                body,
                now_ms,
            },
        )?;
    }
    Ok(())
}

pub fn archive(conn: &Connection, id: DefinitionId, now_ms: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE definitions SET status = 'archived', updated = ?1 WHERE id = ?2")?
        .execute(params![now_ms, id])?;
    Ok(())
}

/// Deletes a row nothing refers to (a points level: levels hold no history).
pub fn delete(conn: &Connection, id: DefinitionId) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM definitions WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        crate::db::migrated_in_memory()
    }

    fn body(text: &str) -> Map<String, Value> {
        parse_body(text).expect("object")
    }

    #[test]
    fn rows_read_back_typed() {
        let conn = db();
        let id = insert(
            &conn,
            &New {
                uuid: "u-1",
                tenant: None,
                kind: Kind::PointsTrigger,
                key: "t1",
                status: Status::Inactive,
                managed: true,
                body: &body(r#"{"points": 5}"#),
                now_ms: 7,
            },
        )
        .expect("insert");
        let row = by_id(&conn, id).expect("read").expect("row");
        assert_eq!(
            (row.kind, row.status, row.owner, row.managed, row.created),
            (
                Kind::PointsTrigger,
                Status::Inactive,
                TenantId::SHARED,
                true,
                7
            )
        );
        assert_eq!(row.body["points"], 5);
        assert!(key_taken(&conn, TenantId::SHARED, Kind::PointsTrigger, "t1").expect("taken"));
        assert!(!key_taken(&conn, TenantId::SHARED, Kind::Metric, "t1").expect("taken"));
        assert_eq!(
            keys_by_id(&conn, Kind::PointsTrigger).expect("keys")[&id],
            "t1"
        );
        archive(&conn, id, 9).expect("archive");
        assert!(live(&conn).expect("live").is_empty());
    }

    #[test]
    fn the_streak_settings_are_one_shared_row_replaced_in_place() {
        let conn = db();
        assert!(streak_settings(&conn).expect("none").is_none());
        store_streak_settings(&conn, &body(r#"{"frequency": "daily"}"#), 5).expect("store");
        let first = streak_settings(&conn).expect("read").expect("row");
        store_streak_settings(&conn, &body(r#"{"frequency": "weekly"}"#), 9).expect("store");
        let row = streak_settings(&conn).expect("read").expect("row");
        assert_eq!(
            (row.id, &row.uuid, row.owner, row.kind, row.key.as_str()),
            (
                first.id,
                &first.uuid,
                TenantId::SHARED,
                Kind::StreakSettings,
                STREAK_SETTINGS_KEY
            )
        );
        assert_eq!((row.status, row.managed), (Status::Active, false));
        assert_eq!((row.created, row.updated), (5, 9));
        assert_eq!(row.body["frequency"], "weekly");
        assert_eq!(
            uuid::Uuid::parse_str(&row.uuid).map(|u| u.get_version_num()),
            Ok(4)
        );
        assert_eq!(Kind::parse("streak_settings"), Some(Kind::StreakSettings));
    }

    #[test]
    fn a_body_that_does_not_parse_is_an_error_naming_the_row() {
        let conn = db();
        for (key, text, reason) in [
            ("broken", "{not json", "the body is not JSON"),
            ("listy", "[1, 2]", "not an object"),
        ] {
            conn.execute(
                "INSERT INTO definitions (uuid, tenant_id, kind, key, status, managed, body, created, updated)
                 VALUES (?1, NULL, 'metric', ?1, 'active', 0, ?2, 0, 0)",
                params![key, text],
            )
            .expect("insert");
            let message = live(&conn).expect_err("refused").to_string();
            assert!(message.contains(&format!("(metric {key:?})")), "{message}");
            assert!(message.contains(reason), "{message}");
            conn.execute("DELETE FROM definitions", []).expect("clean");
        }
        conn.execute(
            "INSERT INTO definitions (uuid, tenant_id, kind, key, status, managed, body, created, updated)
             VALUES ('x', NULL, 'metric', 'm', 'sleeping', 0, '{}', 0, 0)",
            [],
        )
        .expect("insert");
        let message = live(&conn).expect_err("refused").to_string();
        assert!(message.contains("unknown status \"sleeping\""), "{message}");
    }
}
