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

/// Every table holding tenant data, in the order import inserts them (referenced tables
/// first).
const TABLES: &[Table] = &[
    Table {
        name: "tenants",
        cols: &[
            ("id", Col::Own),
            ("uuid", Col::Keep),
            ("customer_id", Col::Keep),
            ("name", Col::Keep),
            ("status", Col::Keep),
            ("created", Col::Keep),
            ("updated", Col::Keep),
        ],
        rows: "id = $T",
        unique: &["uuid", "customer_id"],
    },
    // Shared definitions (tenant_id NULL) are exported too, so import can map them by kind
    // and key and compare them with the target's; only the tenant's own are inserted. The
    // streak settings row is left out: like the `meta` row it was before migration 0019 it
    // is the node's own, one for the whole server, no row refers to it and no client sees
    // its UUID, so each node keeps its own (a random UUID each, which import would refuse).
    Table {
        name: "definitions",
        cols: &[
            ("id", Col::Own),
            ("uuid", Col::Keep),
            ("tenant_id", Col::Tenant),
            ("kind", Col::Keep),
            ("key", Col::Keep),
            ("status", Col::Keep),
            ("managed", Col::Keep),
            ("body", Col::Keep),
            ("created", Col::Keep),
            ("updated", Col::Keep),
        ],
        rows: "tenant_id = $T OR (tenant_id IS NULL AND kind != 'streak_settings')",
        unique: &["uuid"],
    },
    Table {
        name: "users",
        cols: &[
            ("id", Col::Own),
            ("tenant_id", Col::Tenant),
            ("external_id", Col::Keep),
            ("email", Col::Keep),
            ("name", Col::Keep),
            ("tz", Col::Keep),
            ("device_tokens", Col::Keep),
            ("subscribe_to_emails", Col::Keep),
            ("attributes", Col::Keep),
            ("control", Col::Keep),
            ("preferences", Col::Keep),
            ("created", Col::Keep),
            ("updated", Col::Keep),
            ("sign_up_date", Col::Keep),
            ("anniversary_from", Col::Keep),
        ],
        rows: "tenant_id = $T",
        unique: &[],
    },
    Table {
        name: "api_keys",
        cols: &[
            ("id", Col::Own),
            ("uuid", Col::Keep),
            ("kind", Col::Keep),
            ("hash", Col::Keep),
            ("prefix", Col::Keep),
            ("tenant_id", Col::Tenant),
            ("user_id", Col::User),
            ("status", Col::Keep),
            ("created", Col::Keep),
        ],
        rows: "tenant_id = $T",
        unique: &["uuid", "hash"],
    },
    Table {
        name: "tenant_user_counts",
        cols: &[("tenant_id", Col::Tenant), ("users", Col::Keep)],
        rows: "tenant_id = $T",
        unique: &[],
    },
    Table {
        name: "activity_hours",
        cols: &[
            ("tenant_id", Col::Tenant),
            ("hour", Col::Keep),
            ("events", Col::Keep),
            ("active_users", Col::Keep),
            ("new_users", Col::Keep),
            ("awards", Col::Keep),
            ("points", Col::Keep),
        ],
        rows: "tenant_id = $T",
        unique: &[],
    },
    Table {
        name: "activity_returns",
        cols: &[
            ("tenant_id", Col::Tenant),
            ("day", Col::Keep),
            ("control", Col::Keep),
            ("gap", Col::Keep),
            ("users", Col::Keep),
        ],
        rows: "tenant_id = $T",
        unique: &[],
    },
    Table {
        name: "notification_outcome_days",
        cols: &[
            ("tenant_id", Col::Tenant),
            ("day", Col::Keep),
            ("sent", Col::Keep),
            ("failed", Col::Keep),
        ],
        rows: "tenant_id = $T",
        unique: &[],
    },
    Table {
        name: "events",
        cols: &[
            ("id", Col::Own),
            ("uuid", Col::Keep),
            ("user_id", Col::User),
            ("metric_id", Col::Def),
            ("value", Col::Keep),
            ("attributes", Col::Keep),
            ("at", Col::Keep),
            ("tz", Col::Keep),
        ],
        rows: TENANT_USERS,
        unique: &[],
    },
    Table {
        name: "metric_totals",
        cols: &[
            ("user_id", Col::User),
            ("metric_id", Col::Def),
            ("total", Col::Keep),
            ("last_at", Col::Keep),
        ],
        rows: TENANT_USERS,
        unique: &[],
    },
    Table {
        name: "idempotency_keys",
        cols: &[
            ("user_id", Col::User),
            ("metric_id", Col::Def),
            ("key", Col::Keep),
            ("event_id", Col::Event),
            ("created", Col::Keep),
        ],
        rows: TENANT_USERS,
        unique: &[],
    },
    Table {
        name: "streaks",
        cols: &[
            ("user_id", Col::User),
            ("tenant_id", Col::Tenant),
            ("length", Col::Keep),
            ("started", Col::Keep),
            ("last_met", Col::Keep),
            ("alive_through", Col::Keep),
            ("freezes", Col::Keep),
            ("longest", Col::Keep),
            ("longest_at", Col::Keep),
            ("extended_at", Col::Keep),
            ("last_lost_length", Col::Keep),
            ("tz", Col::Keep),
            ("next_settle_at", Col::Keep),
            ("next_freeze_earn_at", Col::Keep),
        ],
        rows: TENANT_USERS,
        unique: &[],
    },
    Table {
        name: "streak_periods",
        cols: &[
            ("user_id", Col::User),
            ("idx", Col::Keep),
            ("sums", Col::Keep),
            ("met", Col::Keep),
            ("cover", Col::Keep),
            ("length", Col::Keep),
        ],
        rows: TENANT_USERS,
        unique: &[],
    },
    Table {
        name: "notification_schedule",
        cols: &[
            ("user_id", Col::User),
            ("kind", Col::Keep),
            ("due_at", Col::Keep),
            ("step", Col::Keep),
            ("anchor", Col::Keep),
        ],
        rows: TENANT_USERS,
        unique: &[],
    },
    Table {
        name: "streak_pauses",
        cols: &[
            ("id", Col::Own),
            ("uuid", Col::Keep),
            ("user_id", Col::User),
            ("first_day", Col::Keep),
            ("last_day", Col::Keep),
            ("status", Col::Keep),
            ("created", Col::Keep),
        ],
        rows: TENANT_USERS,
        unique: &["uuid"],
    },
    Table {
        name: "achievement_completions",
        cols: &[
            ("id", Col::Own),
            ("uuid", Col::Keep),
            ("user_id", Col::User),
            ("achievement_id", Col::Def),
            ("achieved_at", Col::Keep),
            ("backdated", Col::Keep),
        ],
        rows: TENANT_USERS,
        unique: &["uuid"],
    },
    Table {
        name: "achievement_counts",
        cols: &[
            ("achievement_id", Col::Def),
            ("tenant_id", Col::Tenant),
            ("completions", Col::Keep),
        ],
        rows: "tenant_id = $T",
        unique: &[],
    },
    Table {
        name: "achievement_progress",
        cols: &[
            ("user_id", Col::User),
            ("achievement_id", Col::Def),
            ("progress", Col::Keep),
        ],
        rows: TENANT_USERS,
        unique: &[],
    },
    Table {
        name: "achievement_backdates",
        cols: &[("achievement_id", Col::Def), ("fingerprint", Col::Keep)],
        rows: "achievement_id IN (SELECT id FROM src.definitions WHERE tenant_id = $T)",
        unique: &[],
    },
    Table {
        name: "anniversary_progress",
        cols: &[("achievement_id", Col::Def), ("decided_through", Col::Keep)],
        rows: "achievement_id IN (SELECT id FROM src.definitions WHERE tenant_id = $T)",
        unique: &[],
    },
    // Inserted by `import::snapshots` (a snapshot of a shared trigger may already be on the
    // target), never by the generic copy.
    Table {
        name: "points_trigger_snapshots",
        cols: &[
            ("id", Col::Own),
            ("trigger_id", Col::Def),
            ("updated", Col::Keep),
            ("body", Col::Keep),
        ],
        rows: "id IN (SELECT snapshot_id FROM src.points_awards WHERE user_id IN
                   (SELECT id FROM src.users WHERE tenant_id = $T))
               OR trigger_id IN (SELECT id FROM src.definitions WHERE tenant_id = $T)",
        unique: &[],
    },
    Table {
        name: "points_awards",
        cols: &[
            ("id", Col::Own),
            ("uuid", Col::Keep),
            ("user_id", Col::User),
            ("system_id", Col::Def),
            ("trigger_id", Col::Def),
            ("awarded", Col::Keep),
            ("total", Col::Keep),
            ("at_ms", Col::Keep),
            ("snapshot_id", Col::Snapshot),
            ("boosts", Col::Keep),
        ],
        rows: TENANT_USERS,
        unique: &["uuid"],
    },
    Table {
        name: "points_totals",
        cols: &[
            ("user_id", Col::User),
            ("system_id", Col::Def),
            ("tenant_id", Col::Tenant),
            ("total", Col::Keep),
        ],
        rows: "tenant_id = $T",
        unique: &[],
    },
    Table {
        name: "points_metric_marks",
        cols: &[
            ("user_id", Col::User),
            ("metric_id", Col::Def),
            ("best", Col::Keep),
        ],
        rows: TENANT_USERS,
        unique: &[],
    },
    Table {
        name: "points_trigger_progress",
        cols: &[
            ("user_id", Col::User),
            ("trigger_id", Col::Def),
            ("acc", Col::Keep),
            ("best", Col::Keep),
        ],
        rows: TENANT_USERS,
        unique: &[],
    },
    Table {
        name: "points_buckets",
        cols: &[
            ("system_id", Col::Def),
            ("tenant_id", Col::Tenant),
            ("bucket", Col::Keep),
            ("users", Col::Keep),
        ],
        rows: "tenant_id = $T",
        unique: &[],
    },
    Table {
        name: "points_level_counts",
        cols: &[
            ("system_id", Col::Def),
            ("tenant_id", Col::Tenant),
            ("level_id", Col::LevelDef),
            ("users", Col::Keep),
        ],
        rows: "tenant_id = $T",
        unique: &[],
    },
    Table {
        name: "points_time_ticks",
        cols: &[
            ("user_id", Col::User),
            ("trigger_id", Col::Def),
            ("next_at", Col::Keep),
        ],
        rows: TENANT_USERS,
        unique: &[],
    },
    Table {
        name: "points_boost_notices",
        cols: &[
            ("boost_id", Col::Def),
            ("kind", Col::Keep),
            ("due_at", Col::Keep),
            ("sent", Col::Keep),
        ],
        rows: "boost_id IN (SELECT id FROM src.definitions WHERE tenant_id = $T)",
        unique: &[],
    },
    Table {
        name: "leaderboard_values",
        cols: &[
            ("leaderboard_id", Col::Def),
            ("run_start", Col::Keep),
            ("user_id", Col::User),
            ("grp", Col::Group),
            ("value", Col::Keep),
            ("reached_at", Col::Keep),
            ("ranked", Col::Keep),
        ],
        rows: TENANT_USERS,
        unique: &[],
    },
    Table {
        name: "leaderboard_history",
        cols: &[
            ("id", Col::Own),
            ("leaderboard_id", Col::Def),
            ("run_start", Col::Keep),
            ("run_end", Col::Keep),
            ("user_id", Col::User),
            ("at_ms", Col::Keep),
            ("previous_rank", Col::Keep),
            ("rank", Col::Keep),
            ("previous_value", Col::Keep),
            ("value", Col::Keep),
            ("grp", Col::Group),
            ("previous_grp", Col::Group),
        ],
        rows: TENANT_USERS,
        unique: &[],
    },
    Table {
        name: "leaderboard_history_moves",
        cols: &[
            ("leaderboard_id", Col::Def),
            ("run_start", Col::Keep),
            ("grp", Col::Group),
            ("history_id", Col::History),
        ],
        rows: "history_id IN (SELECT id FROM src.leaderboard_history WHERE user_id IN
                   (SELECT id FROM src.users WHERE tenant_id = $T))",
        unique: &[],
    },
    Table {
        name: "leaderboard_notices",
        cols: &[
            ("leaderboard_id", Col::Def),
            ("run_start", Col::Keep),
            ("kind", Col::Keep),
        ],
        rows: "leaderboard_id IN (SELECT id FROM src.definitions WHERE tenant_id = $T)",
        unique: &[],
    },
    Table {
        name: "wrapped_days",
        cols: &[
            ("user_id", Col::User),
            ("source_id", Col::Def),
            ("attr_key", Col::Keep),
            ("attr_value", Col::Keep),
            ("day", Col::Keep),
            ("events", Col::Keep),
            ("amount", Col::Keep),
        ],
        rows: TENANT_USERS,
        unique: &[],
    },
    Table {
        name: "wrapped_periods",
        cols: &[
            ("user_id", Col::User),
            ("source_id", Col::Def),
            ("attr_key", Col::Keep),
            ("attr_value", Col::Keep),
            ("period", Col::Keep),
            ("tenant_id", Col::Tenant),
            ("amount", Col::Keep),
            ("previous", Col::Keep),
        ],
        rows: "tenant_id = $T",
        unique: &[],
    },
    Table {
        name: "wrapped_period_values",
        cols: &[
            ("tenant_id", Col::Tenant),
            ("source_id", Col::Def),
            ("attr_key", Col::Keep),
            ("attr_value", Col::Keep),
            ("period", Col::Keep),
            ("amount", Col::Keep),
            ("users", Col::Keep),
        ],
        rows: "tenant_id = $T",
        unique: &[],
    },
    Table {
        name: "wrapped_period_users",
        cols: &[
            ("tenant_id", Col::Tenant),
            ("source_id", Col::Def),
            ("attr_key", Col::Keep),
            ("attr_value", Col::Keep),
            ("period", Col::Keep),
            ("users", Col::Keep),
        ],
        rows: "tenant_id = $T",
        unique: &[],
    },
];

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

    fn schema() -> rusqlite::Connection {
        let mut conn = rusqlite::Connection::open_in_memory().expect("db");
        crate::db::migrate(&mut conn).expect("migrate");
        conn
    }

    /// A migration that adds a table must say whether it moves with a tenant.
    #[test]
    fn every_table_is_moved_or_said_not_to_be() {
        let conn = schema();
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
        let conn = schema();
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
