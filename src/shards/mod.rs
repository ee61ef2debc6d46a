//! Tenants as shards: `trophyd tenant export` writes one tenant's whole state to a file and
//! `trophyd tenant import` adds it to another node's database (README, "Tenants as shards").
//!
//! The file is a SQLite database with trophyd's own schema (the migrations of the exporting
//! binary) holding only the tenant's rows, plus `tenant_export`: the format, its version, the
//! schema version, the tenant and the number of rows of each table. Rows keep the ids of
//! the source; import renumbers every surrogate id (users, events, definitions, ...) past
//! the target's, maps the definitions shared by every tenant (trophy.toml's) by kind and
//! key, and rewrites the leaderboard group names that embed the tenant's row id.
//!
//! [`TABLES`] says, for every table of the schema that holds tenant data, which rows are
//! the tenant's and what each column refers to; [`NOT_MOVED`] lists the others and why. A
//! unit test fails when a migration adds a table to neither.

mod export;
mod import;

pub use export::{export, ExportReport};
pub use import::{import, ImportOptions, ImportReport};

/// Why an export or import did not happen: a message for the operator.
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error(format!("SQLite: {e}"))
    }
}

impl From<String> for Error {
    fn from(e: String) -> Self {
        Error(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Rows per table, in [`TABLES`] order.
pub type Counts = Vec<(&'static str, i64)>;

/// The tenant an export or import moved, as its report names it, and its rows per table.
#[derive(Debug)]
pub struct MovedTenant {
    pub customer_id: String,
    pub name: String,
    pub status: String,
    pub counts: Counts,
}

/// `tenant_export.format`: what the file is.
pub const FORMAT: &str = "trophyd-tenant-export";
/// `tenant_export.format_version`. Import refuses any other.
pub const FORMAT_VERSION: i64 = 1;
/// `PRAGMA application_id` of an export file ("TRPH").
const APPLICATION_ID: i64 = 0x5452_5048;

/// What a column holds, and so how import rewrites it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    /// Copied as it is.
    Keep,
    /// The tenant's row id (`tenants.id`).
    Tenant,
    /// A `users.id`.
    User,
    /// A `definitions.id`: the tenant's own definitions are renumbered, shared ones are
    /// mapped to the target's definition of the same kind and key.
    Def,
    /// A `definitions.id` of a points level, or 0 (below every level).
    LevelDef,
    /// An `events.id`.
    Event,
    /// A `leaderboard_history.id`.
    History,
    /// A `points_trigger_snapshots.id`.
    Snapshot,
    /// This table's own `INTEGER PRIMARY KEY`, renumbered past the target's.
    Own,
    /// A leaderboard group name, `"{tenant row id}\u{1e}{breakdown values}"`.
    Group,
}

/// One table that holds tenant data.
struct Table {
    name: &'static str,
    cols: &'static [(&'static str, Col)],
    /// The tenant's rows in the source, as a condition on the table in schema `src`;
    /// `$T` is the tenant's row id.
    rows: &'static str,
    /// Columns that are UNIQUE on their own: a row of the file already on the target
    /// refuses the import.
    unique: &'static [&'static str],
}

const TENANT_USERS: &str = "user_id IN (SELECT id FROM src.users WHERE tenant_id = $T)";

/// [`TABLES`] written compactly: a table is `name [rows] unique(columns) { columns }`, with
/// `unique(...)` left out when no column is, and a column `name: Kind` (a [`Col`]), or just
/// `name` for one copied as it is.
macro_rules! tables {
    (@col) => {
        Col::Keep
    };
    (@col $kind:ident) => {
        Col::$kind
    };
    ($($name:ident [$rows:expr] $(unique($($unique:ident),*))? {
        $($col:ident $(: $kind:ident)?),*
    })*) => {
        [$(Table {
            name: stringify!($name),
            cols: &[$((stringify!($col), tables!(@col $($kind)?))),*],
            rows: $rows,
            unique: &[$($(stringify!($unique)),*)?],
        }),*]
    };
}

/// Every table holding tenant data, in the order import inserts them (referenced tables
/// first).
const TABLES: &[Table] = &tables! {
    tenants ["id = $T"] unique(uuid, customer_id) {
        id: Own, uuid, customer_id, name, status, created, updated
    }
    // Shared definitions (tenant_id NULL) are exported too, so import can map them by kind
    // and key and compare them with the target's; only the tenant's own are inserted. The
    // streak settings row is left out: like the `meta` row it was before migration 0019 it
    // is the node's own, one for the whole server, no row refers to it and no client sees
    // its UUID, so each node keeps its own (a random UUID each, which import would refuse).
    definitions ["tenant_id = $T OR (tenant_id IS NULL AND kind != 'streak_settings')"] unique(uuid) {
        id: Own, uuid, tenant_id: Tenant, kind, key, status, managed, body, created, updated
    }
    users ["tenant_id = $T"] {
        id: Own, tenant_id: Tenant, external_id, email, name, tz, device_tokens,
        subscribe_to_emails, attributes, control, preferences, created, updated, sign_up_date,
        anniversary_from
    }
    api_keys ["tenant_id = $T"] unique(uuid, hash) {
        id: Own, uuid, kind, hash, prefix, tenant_id: Tenant, user_id: User, status, created
    }
    tenant_user_counts ["tenant_id = $T"] { tenant_id: Tenant, users }
    activity_hours ["tenant_id = $T"] {
        tenant_id: Tenant, hour, events, active_users, new_users, awards, points
    }
    activity_returns ["tenant_id = $T"] { tenant_id: Tenant, day, control, gap, users }
    notification_outcome_days ["tenant_id = $T"] { tenant_id: Tenant, day, sent, failed }
    events [TENANT_USERS] {
        id: Own, uuid, user_id: User, metric_id: Def, value, attributes, at, tz
    }
    metric_totals [TENANT_USERS] { user_id: User, metric_id: Def, total, last_at }
    idempotency_keys [TENANT_USERS] { user_id: User, metric_id: Def, key, event_id: Event, created }
    streaks [TENANT_USERS] {
        user_id: User, tenant_id: Tenant, length, started, last_met, alive_through, freezes,
        longest, longest_at, extended_at, last_lost_length, tz, next_settle_at, next_freeze_earn_at
    }
    streak_periods [TENANT_USERS] { user_id: User, idx, sums, met, cover, length }
    notification_schedule [TENANT_USERS] { user_id: User, kind, due_at, step, anchor }
    streak_pauses [TENANT_USERS] unique(uuid) {
        id: Own, uuid, user_id: User, first_day, last_day, status, created
    }
    achievement_completions [TENANT_USERS] unique(uuid) {
        id: Own, uuid, user_id: User, achievement_id: Def, achieved_at, backdated
    }
    achievement_counts ["tenant_id = $T"] { achievement_id: Def, tenant_id: Tenant, completions }
    achievement_progress [TENANT_USERS] { user_id: User, achievement_id: Def, progress }
    achievement_backdates ["achievement_id IN (SELECT id FROM src.definitions WHERE tenant_id = $T)"] {
        achievement_id: Def, fingerprint
    }
    anniversary_progress ["achievement_id IN (SELECT id FROM src.definitions WHERE tenant_id = $T)"] {
        achievement_id: Def, decided_through
    }
    // Inserted by `import::snapshots` (a snapshot of a shared trigger may already be on the
    // target), never by the generic copy.
    points_trigger_snapshots ["id IN (SELECT snapshot_id FROM src.points_awards WHERE user_id IN
                   (SELECT id FROM src.users WHERE tenant_id = $T))
               OR trigger_id IN (SELECT id FROM src.definitions WHERE tenant_id = $T)"] {
        id: Own, trigger_id: Def, updated, body
    }
    points_awards [TENANT_USERS] unique(uuid) {
        id: Own, uuid, user_id: User, system_id: Def, trigger_id: Def, awarded, total, at_ms,
        snapshot_id: Snapshot, boosts
    }
    points_totals ["tenant_id = $T"] { user_id: User, system_id: Def, tenant_id: Tenant, total }
    points_metric_marks [TENANT_USERS] { user_id: User, metric_id: Def, best }
    points_trigger_progress [TENANT_USERS] { user_id: User, trigger_id: Def, acc, best }
    points_buckets ["tenant_id = $T"] { system_id: Def, tenant_id: Tenant, bucket, users }
    points_level_counts ["tenant_id = $T"] {
        system_id: Def, tenant_id: Tenant, level_id: LevelDef, users
    }
    points_time_ticks [TENANT_USERS] { user_id: User, trigger_id: Def, next_at }
    points_boost_notices ["boost_id IN (SELECT id FROM src.definitions WHERE tenant_id = $T)"] {
        boost_id: Def, kind, due_at, sent
    }
    leaderboard_values [TENANT_USERS] {
        leaderboard_id: Def, run_start, user_id: User, grp: Group, value, reached_at, ranked
    }
    leaderboard_history [TENANT_USERS] {
        id: Own, leaderboard_id: Def, run_start, run_end, user_id: User, at_ms, previous_rank, rank,
        previous_value, value, grp: Group, previous_grp: Group
    }
    leaderboard_history_moves ["history_id IN (SELECT id FROM src.leaderboard_history WHERE user_id IN
                   (SELECT id FROM src.users WHERE tenant_id = $T))"] {
        leaderboard_id: Def, run_start, grp: Group, history_id: History
    }
    leaderboard_notices ["leaderboard_id IN (SELECT id FROM src.definitions WHERE tenant_id = $T)"] {
        leaderboard_id: Def, run_start, kind
    }
    wrapped_days [TENANT_USERS] {
        user_id: User, source_id: Def, attr_key, attr_value, day, events, amount
    }
    wrapped_periods ["tenant_id = $T"] {
        user_id: User, source_id: Def, attr_key, attr_value, period, tenant_id: Tenant, amount,
        previous
    }
    wrapped_period_values ["tenant_id = $T"] {
        tenant_id: Tenant, source_id: Def, attr_key, attr_value, period, amount, users
    }
    wrapped_period_users ["tenant_id = $T"] {
        tenant_id: Tenant, source_id: Def, attr_key, attr_value, period, users
    }
};

/// Tables of the schema that are not moved, and why.
pub const NOT_MOVED: &[(&str, &str)] = &[
    (
        "meta",
        "the node's own state: schema chores, the test clock, server-wide settings",
    ),
    (
        "webhook_outbox",
        "webhooks already queued are delivered by the source node, which keeps running",
    ),
    (
        "notification_outbox",
        "messages already decided are sent by the source node, which keeps running",
    ),
    (
        "webhook_outcome_days",
        "webhook deliveries are the server's (endpoints are configured per server), not a tenant's",
    ),
    (
        "webhook_windows",
        "coalescing windows open on the source close and send there",
    ),
    (
        "points_level_fingerprints",
        "holds definition ids; the target recounts a moved points system's level counts at start",
    ),
];

/// The columns of a table, comma-separated.
fn column_list(table: &Table) -> String {
    table
        .cols
        .iter()
        .map(|(c, _)| *c)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `file:` URI of a path, for ATTACH with `mode=ro`.
fn file_uri(path: &std::path::Path, query: &str) -> Result<String> {
    let absolute =
        std::path::absolute(path).map_err(|e| format!("cannot resolve {}: {e}", path.display()))?;
    let text = absolute
        .to_str()
        .ok_or_else(|| format!("{} is not valid UTF-8", path.display()))?;
    let mut uri = String::from("file:");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push('?');
    uri.push_str(query);
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// A migration that adds a table must say whether it moves with a tenant.
    #[test]
    fn every_table_is_moved_or_said_not_to_be() {
        let conn = crate::db::migrated_in_memory();
        let tables: BTreeSet<String> = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("tables");
        let known: BTreeSet<String> = TABLES
            .iter()
            .map(|t| t.name.to_owned())
            .chain(NOT_MOVED.iter().map(|(n, _)| (*n).to_owned()))
            .collect();
        assert_eq!(tables, known);
    }

    /// Every column of a moved table is copied, with its meaning declared.
    #[test]
    fn every_column_of_a_moved_table_is_declared() {
        let conn = crate::db::migrated_in_memory();
        for t in TABLES {
            let columns: Vec<String> = conn
                .prepare(&format!(
                    "SELECT name FROM pragma_table_info('{}') ORDER BY cid",
                    t.name
                ))
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .expect("columns");
            let declared: Vec<String> = t.cols.iter().map(|(c, _)| (*c).to_owned()).collect();
            assert_eq!(columns, declared, "{}", t.name);
        }
    }

    /// Each node's streak settings stay its own: they are not exported, so two nodes whose
    /// settings were stored through the Admin API (random UUIDs) still move tenants.
    #[test]
    fn streak_settings_stay_on_their_node() {
        use crate::store::{definitions, tenants};
        let dir = tempfile::tempdir().expect("tempdir");
        let node = |name: &str, frequency: &str| {
            let path = dir.path().join(name);
            let mut conn = rusqlite::Connection::open(&path).expect("db");
            crate::db::migrate(&mut conn).expect("migrate");
            tenants::ensure_default(&conn, 0).expect("default tenant");
            let body = definitions::parse_body(&format!(r#"{{"frequency": "{frequency}"}}"#))
                .expect("body");
            definitions::store_streak_settings(&conn, &body, 0).expect("streak settings");
            path
        };
        let source = node("a.db", "daily");
        let target = node("b.db", "weekly");
        tenants::insert(
            &rusqlite::Connection::open(&source).expect("db"),
            "acme",
            "Acme",
            0,
        )
        .expect("tenant");
        let file = dir.path().join("acme.trophy-tenant");
        export(&source, "acme", &file).expect("export");
        let in_file: i64 = rusqlite::Connection::open(&file)
            .and_then(|c| {
                c.query_row(
                    "SELECT count(*) FROM definitions WHERE kind = 'streak_settings'",
                    [],
                    |r| r.get(0),
                )
            })
            .expect("count");
        assert_eq!(in_file, 0);
        let report = import(&target, &file, ImportOptions::default()).expect("import");
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        let conn = rusqlite::Connection::open(&target).expect("db");
        let row = definitions::streak_settings(&conn)
            .expect("read")
            .expect("row");
        assert_eq!(row.body["frequency"], "weekly", "the target's own");
    }

    #[test]
    fn uris_escape_what_sqlite_would_read_as_syntax() {
        let uri = file_uri(std::path::Path::new("/tmp/a b?c#d%e.db"), "mode=ro").expect("uri");
        assert_eq!(uri, "file:/tmp/a%20b%3Fc%23d%25e.db?mode=ro");
    }
}
