//! `trophyd tenant import FILE`: adds the tenant of an export file to a stopped node's
//! database, in one transaction, or changes nothing.
//!
//! The node must be stopped: the server keeps definitions, tenants, keys and rank indexes
//! in memory and only reads them at start. The database is opened in SQLite's exclusive
//! locking mode, so a running trophyd (or any other process holding the database open,
//! such as Litestream or an export) makes the import refuse, and a trophyd started
//! meanwhile waits and then fails instead of reading a half-imported state.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension};

use super::{
    column_list, file_uri, Col, Error, MovedTenant, Result, Table, FORMAT, FORMAT_VERSION, TABLES,
};

/// How `import` may deviate from the strict default.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Import even though shared definitions have other UUIDs on the target than on the
    /// source (so the tenant's clients will see new ids for them).
    pub accept_new_definition_ids: bool,
    /// Leave the WAL for another process to checkpoint (`checkpoints = "external"`).
    pub no_checkpoint_on_close: bool,
}

/// What was imported.
#[derive(Debug)]
pub struct ImportReport {
    /// The tenant, and the rows inserted per table (`definitions`: the tenant's own only).
    pub tenant: MovedTenant,
    /// Shared definitions of the file mapped to the target's by kind and key.
    pub shared_definitions: i64,
    /// Snapshots of points triggers the target already had.
    pub snapshots_reused: i64,
    /// Differences between the nodes' shared definitions that did not stop the import.
    pub warnings: Vec<String>,
}

/// Imports the tenant exported to `file` into the database at `data`.
pub fn import(data: &Path, file: &Path, options: ImportOptions) -> Result<ImportReport> {
    if !file.exists() {
        return Err(Error(format!("no file {}", file.display())));
    }
    if !data.exists() {
        return Err(Error(format!(
            "no database at {}: start the node once (with its trophy.toml) so that it creates \
             its database and its shared definitions, stop it, then import",
            data.display()
        )));
    }
    let mut conn = Connection::open_with_flags(
        data,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|e| Error(format!("cannot open {}: {e}", data.display())))?;
    conn.execute_batch(
        "PRAGMA busy_timeout = 1000;
         PRAGMA foreign_keys = ON;
         PRAGMA synchronous = FULL;
         PRAGMA temp_store = MEMORY;",
    )?;
    if options.no_checkpoint_on_close {
        crate::db::no_checkpoint_on_close(&conn)?;
    }
    conn.execute("ATTACH DATABASE ?1 AS exp", [file_uri(file, "mode=ro")?])
        .map_err(|e| {
            Error(format!(
                "{} is not a trophyd tenant export ({e}); nothing was imported",
                file.display()
            ))
        })?;
    let info = check_file(&conn, file)?;

    // Exclusive from the first read on: nobody else may have the database open.
    conn.execute_batch("PRAGMA main.locking_mode = EXCLUSIVE;")?;
    let in_use = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error(format!(
            "{} is in use by another process (a running trophyd, Litestream, an export?): stop \
             the node first; import only into a stopped node",
            data.display()
        )),
        _ => Error::from(e),
    };
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(in_use)?;
    let target_version: i64 = tx
        .query_row("PRAGMA main.user_version", [], |r| r.get(0))
        .map_err(in_use)?;
    tx.query_row("SELECT count(*) FROM main.tenants", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(in_use)?;
    let ours = crate::db::schema_version() as i64;
    if target_version != ours || info.schema_version != ours {
        return Err(Error(format!(
            "schema versions differ: the file {}, the database {target_version}, this trophyd \
             {ours}; run the same trophyd on both nodes (start the node once to migrate it)",
            info.schema_version
        )));
    }

    let (tenant_uuid, name, status): (String, String, String) =
        tx.query_row("SELECT uuid, name, status FROM exp.tenants", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    let existing: Option<String> = tx
        .query_row(
            "SELECT status FROM main.tenants WHERE customer_id = ?1 OR uuid = ?2",
            params![info.customer_id, tenant_uuid],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(existing) = existing {
        return Err(Error(format!(
            "tenant \"{}\" already exists in {} ({existing}); refusing to import over it",
            info.customer_id,
            data.display()
        )));
    }

    let mut warnings = Vec::new();
    let shared_definitions = map_definitions(&tx, options, &mut warnings)?;
    check_unique(&tx)?;

    let offsets = Offsets::new(&tx)?;
    let mut counts = Vec::new();
    let mut snapshots_reused = 0;
    for t in TABLES {
        let n = if t.name == "points_trigger_snapshots" {
            let (inserted, reused) = snapshots(&tx)?;
            snapshots_reused = reused;
            inserted
        } else {
            copy(&tx, t, &offsets)?
        };
        let in_file = info.rows.get(t.name).copied().unwrap_or(0);
        let expected = match t.name {
            "definitions" => in_file - shared_definitions_in_file(&tx)?,
            "points_trigger_snapshots" => in_file - snapshots_reused,
            _ => in_file,
        };
        if n != expected {
            return Err(Error(format!(
                "{}: {n} rows imported, the file announces {expected}; nothing was imported",
                t.name
            )));
        }
        counts.push((t.name, n));
    }
    tx.commit()?;
    Ok(ImportReport {
        tenant: MovedTenant {
            customer_id: info.customer_id,
            name,
            status,
            counts,
        },
        shared_definitions,
        snapshots_reused,
        warnings,
    })
}

/// What `tenant_export` says about the file.
struct FileInfo {
    customer_id: String,
    schema_version: i64,
    rows: HashMap<String, i64>,
}

/// Refuses anything but an intact export file of the format this trophyd reads, whose
/// tables hold the rows it announces.
fn check_file(conn: &Connection, file: &Path) -> Result<FileInfo> {
    let not_export = |why: String| {
        Error(format!(
            "{} is not a trophyd tenant export ({why}); nothing was imported",
            file.display()
        ))
    };
    let check: String = conn
        .query_row("PRAGMA exp.quick_check", [], |r| r.get(0))
        .map_err(|e| not_export(e.to_string()))?;
    if check != "ok" {
        return Err(not_export(format!("damaged: {check}")));
    }
    let has_info: bool = conn
        .query_row(
            "SELECT count(*) FROM exp.sqlite_master WHERE type = 'table' AND name = 'tenant_export'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| not_export(e.to_string()))?;
    if !has_info {
        return Err(not_export("no tenant_export table".into()));
    }
    let mut info: HashMap<String, String> = HashMap::new();
    {
        let mut stmt = conn.prepare("SELECT key, value FROM exp.tenant_export")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        for row in rows {
            let (k, v) = row?;
            info.insert(k, v);
        }
    }
    if info.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(not_export(format!("format is not {FORMAT}")));
    }
    let version = info.get("format_version").cloned().unwrap_or_default();
    if version != FORMAT_VERSION.to_string() {
        return Err(Error(format!(
            "{} is of export format version {version}; this trophyd reads version {FORMAT_VERSION}",
            file.display()
        )));
    }
    let schema_version = info
        .get("schema_version")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| not_export("no schema_version".into()))?;
    let customer_id = info
        .get("customer_id")
        .cloned()
        .ok_or_else(|| not_export("no customer_id".into()))?;
    let mut rows = HashMap::new();
    for t in TABLES {
        let announced: i64 = info
            .get(&format!("rows.{}", t.name))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| not_export(format!("no row count for {}", t.name)))?;
        let actual: i64 = conn
            .query_row(&format!("SELECT count(*) FROM exp.{}", t.name), [], |r| {
                r.get(0)
            })
            .map_err(|e| not_export(e.to_string()))?;
        if actual != announced {
            return Err(not_export(format!(
                "{} holds {actual} rows, {announced} announced",
                t.name
            )));
        }
        rows.insert(t.name.to_owned(), announced);
    }
    let tenants: (i64, Option<String>) = conn.query_row(
        "SELECT count(*), max(customer_id) FROM exp.tenants",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if tenants != (1, Some(customer_id.clone())) {
        return Err(not_export(format!(
            "it must hold exactly tenant \"{customer_id}\""
        )));
    }
    Ok(FileInfo {
        customer_id,
        schema_version,
        rows,
    })
}

fn shared_definitions_in_file(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM exp.definitions WHERE tenant_id IS NULL",
        [],
        |r| r.get(0),
    )?)
}

/// Fills `temp.defmap` (definition id in the file → id on the target): the tenant's own
/// definitions get ids past the target's, shared ones are the target's of the same kind and
/// key. Refuses when the tenant's data refers to a shared definition the target lacks, or
/// (unless accepted) when a shared definition has another UUID on the target. Returns how
/// many shared definitions were mapped.
fn map_definitions(
    conn: &Connection,
    options: ImportOptions,
    warnings: &mut Vec<String>,
) -> Result<i64> {
    let offset = offset(conn, "definitions", "e.tenant_id IS NOT NULL")?;
    conn.execute_batch(&format!(
        "CREATE TEMP TABLE defmap (old INTEGER PRIMARY KEY, new INTEGER NOT NULL);
         INSERT INTO temp.defmap (old, new)
              SELECT id, id + {offset} FROM exp.definitions e WHERE e.tenant_id IS NOT NULL;"
    ))?;
    let shared = conn.execute(
        "INSERT INTO temp.defmap (old, new)
              SELECT e.id, m.id FROM exp.definitions e
                JOIN main.definitions m
                  ON m.tenant_id IS NULL AND m.kind = e.kind AND m.key = e.key
               WHERE e.tenant_id IS NULL",
        [],
    )? as i64;

    // Shared definitions the tenant's rows refer to and the target lacks.
    let mut missing: Vec<i64> = Vec::new();
    for t in TABLES {
        for (col, kind) in t.cols {
            if !matches!(kind, Col::Def | Col::LevelDef) {
                continue;
            }
            let zero = if *kind == Col::LevelDef {
                "AND e.{col} != 0"
            } else {
                ""
            };
            let sql = format!(
                "SELECT DISTINCT e.{col} FROM exp.{table} e
                  WHERE e.{col} IS NOT NULL {zero}
                    AND NOT EXISTS (SELECT 1 FROM temp.defmap d WHERE d.old = e.{col})",
                table = t.name,
                zero = zero.replace("{col}", col),
            );
            let mut stmt = conn.prepare(&sql)?;
            let ids = stmt.query_map([], |r| r.get::<_, i64>(0))?;
            for id in ids {
                let id = id?;
                if !missing.contains(&id) {
                    missing.push(id);
                }
            }
        }
    }
    if !missing.is_empty() {
        let mut names = Vec::new();
        for id in &missing {
            let name: Option<(String, String)> = conn
                .query_row(
                    "SELECT kind, key FROM exp.definitions WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            names.push(match name {
                Some((kind, key)) => format!("{kind} \"{key}\""),
                None => format!("definition #{id} (not in the file)"),
            });
        }
        names.sort();
        return Err(Error(format!(
            "the target node lacks shared definitions the tenant's data refers to: {}; add \
             them to its trophy.toml (the same file as the source's) and start it once, then \
             import again",
            list(&names)
        )));
    }

    // The same definition with another UUID: clients of the tenant would see new ids.
    let mut stmt = conn.prepare(
        "SELECT e.kind, e.key, e.uuid, m.uuid FROM exp.definitions e
           JOIN main.definitions m ON m.tenant_id IS NULL AND m.kind = e.kind AND m.key = e.key
          WHERE e.tenant_id IS NULL AND e.uuid != m.uuid ORDER BY e.kind, e.key",
    )?;
    let changed: Vec<String> = stmt
        .query_map([], |r| {
            let (kind, key, source, here): (String, String, String, String) = r.try_into()?;
            Ok(format!(
                "{kind} \"{key}\" ({here} here, {source} on the source)"
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    if !changed.is_empty() {
        if !options.accept_new_definition_ids {
            return Err(Error(format!(
                "shared definitions have other UUIDs on this node than on the source, so the \
                 tenant's clients would see new ids for them: {}. Nodes whose databases were \
                 created by this trophyd with the same trophy.toml agree; older databases keep \
                 the random UUIDs they were given. Pass --accept-new-definition-ids to import \
                 anyway",
                list(&changed)
            )));
        }
        warnings.push(format!(
            "the tenant's clients will see new ids for shared definitions: {}",
            list(&changed)
        ));
    }

    // Other differences in the shared definitions: the target's trophy.toml is in force.
    // The target's streak settings are the node's own, never exported (`TABLES`).
    let mut stmt = conn.prepare(
        "SELECT e.kind, e.key,
                CASE WHEN m.id IS NULL THEN 'not on this node'
                     WHEN e.status != m.status THEN e.status || ' on the source, ' || m.status || ' here'
                     ELSE 'defined differently' END
           FROM exp.definitions e
           LEFT JOIN main.definitions m
             ON m.tenant_id IS NULL AND m.kind = e.kind AND m.key = e.key
          WHERE e.tenant_id IS NULL
            AND ((m.id IS NULL AND e.status != 'archived')
                 OR (m.id IS NOT NULL AND (e.status != m.status OR e.body != m.body)))
         UNION ALL
         SELECT m.kind, m.key, 'only on this node' FROM main.definitions m
          WHERE m.tenant_id IS NULL AND m.status != 'archived' AND m.kind != 'streak_settings'
            AND NOT EXISTS (SELECT 1 FROM exp.definitions e
                             WHERE e.tenant_id IS NULL AND e.kind = m.kind AND e.key = m.key)
          ORDER BY 1, 2",
    )?;
    let differ: Vec<String> = stmt
        .query_map([], |r| {
            let (kind, key, difference): (String, String, String) = r.try_into()?;
            Ok(format!("{kind} \"{key}\": {difference}"))
        })?
        .collect::<rusqlite::Result<_>>()?;
    if !differ.is_empty() {
        warnings.push(format!(
            "the nodes' shared definitions (trophy.toml) differ; this node's are in force for \
             the tenant now: {}",
            list(&differ)
        ));
    }
    Ok(shared)
}

/// At most ten items, then how many more.
fn list(items: &[String]) -> String {
    let mut out = items
        .iter()
        .take(10)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > 10 {
        let _ = write!(out, "; and {} more", items.len() - 10);
    }
    out
}

/// Rows of the file already on the target by a UNIQUE column (a tenant imported here
/// before and archived keeps its rows).
fn check_unique(conn: &Connection) -> Result<()> {
    for t in TABLES {
        for col in t.unique {
            if t.name == "tenants" {
                continue; // checked by customer id and uuid with its own message
            }
            let filter = file_filter(t);
            let clashes: i64 = conn.query_row(
                &format!(
                    "SELECT count(*) FROM exp.{name} e WHERE {filter}
                        AND EXISTS (SELECT 1 FROM main.{name} m WHERE m.{col} = e.{col})",
                    name = t.name
                ),
                [],
                |r| r.get(0),
            )?;
            if clashes > 0 {
                return Err(Error(format!(
                    "{clashes} {} rows of the file are already in this database (same {col}): \
                     the tenant was imported here before (an archived tenant keeps its rows); \
                     nothing was imported",
                    t.name
                )));
            }
        }
    }
    Ok(())
}

/// The rows of the file import inserts into `t`.
fn file_filter(t: &Table) -> &'static str {
    if t.name == "definitions" {
        "e.tenant_id IS NOT NULL"
    } else {
        "1"
    }
}

/// What makes the ids of the file's rows of `table` (with `filter`) follow the target's
/// highest, in the same order.
fn offset(conn: &Connection, table: &str, filter: &str) -> Result<i64> {
    Ok(conn.query_row(
        &format!(
            "SELECT ifnull((SELECT max(id) FROM main.{table}), 0) + 1
                  - ifnull((SELECT min(id) FROM exp.{table} e WHERE {filter}), 0)"
        ),
        [],
        |r| r.get(0),
    )?)
}

/// The offsets of every renumbered id, and the tenant's new row id.
struct Offsets {
    own: HashMap<&'static str, i64>,
    tenant: i64,
}

impl Offsets {
    fn new(conn: &Connection) -> Result<Offsets> {
        let mut own = HashMap::new();
        for t in TABLES {
            if t.cols.iter().any(|(_, c)| *c == Col::Own) {
                own.insert(t.name, offset(conn, t.name, file_filter(t))?);
            }
        }
        let tenant: i64 = conn.query_row("SELECT id FROM exp.tenants", [], |r| r.get(0))?;
        let tenant = tenant + own["tenants"];
        Ok(Offsets { own, tenant })
    }

    /// The SQL expression giving the target's value of `col` of a file row `e`.
    fn expr(&self, table: &Table, col: &str, kind: Col) -> String {
        let def = |c: &str| format!("(SELECT d.new FROM temp.defmap d WHERE d.old = e.{c})");
        match kind {
            Col::Keep => format!("e.{col}"),
            Col::Tenant => self.tenant.to_string(),
            Col::User => format!("e.{col} + {}", self.own["users"]),
            Col::Event => format!("e.{col} + {}", self.own["events"]),
            Col::History => format!("e.{col} + {}", self.own["leaderboard_history"]),
            Col::Own => format!("e.{col} + {}", self.own[table.name]),
            Col::Def => def(col),
            Col::LevelDef => format!("CASE WHEN e.{col} = 0 THEN 0 ELSE {} END", def(col)),
            Col::Snapshot => {
                format!("(SELECT s.new FROM temp.snapmap s WHERE s.old = e.{col})")
            }
            Col::Group => format!(
                "CASE WHEN instr(e.{col}, char(30)) > 0
                      THEN '{}' || substr(e.{col}, instr(e.{col}, char(30))) ELSE e.{col} END",
                self.tenant
            ),
        }
    }
}

/// Inserts the file's rows of `t`, rewritten; returns how many.
fn copy(conn: &Connection, t: &Table, offsets: &Offsets) -> Result<i64> {
    let exprs: Vec<String> = t
        .cols
        .iter()
        .map(|(col, kind)| offsets.expr(t, col, *kind))
        .collect();
    let order = if t.cols.iter().any(|(_, c)| *c == Col::Own) {
        " ORDER BY e.id"
    } else {
        ""
    };
    let sql = format!(
        "INSERT INTO main.{name} ({columns}) SELECT {exprs} FROM exp.{name} e WHERE {filter}{order}",
        name = t.name,
        columns = column_list(t),
        exprs = exprs.join(", "),
        filter = file_filter(t),
    );
    conn.execute(&sql, [])
        .map(|n| n as i64)
        .map_err(|e| Error(format!("{}: {e}; nothing was imported", t.name)))
}

/// Points trigger snapshots: a snapshot of a shared trigger at the same version may already
/// be on the target (the same body: reused). Fills `temp.snapmap`; returns (inserted,
/// reused).
fn snapshots(conn: &Connection) -> Result<(i64, i64)> {
    conn.execute_batch(
        "CREATE TEMP TABLE snapmap (old INTEGER PRIMARY KEY, new INTEGER NOT NULL);",
    )?;
    let rows: Vec<(i64, i64, i64, String)> = conn
        .prepare(
            "SELECT e.id, d.new, e.updated, e.body FROM exp.points_trigger_snapshots e
               JOIN temp.defmap d ON d.old = e.trigger_id ORDER BY e.id",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let (mut inserted, mut reused) = (0, 0);
    for (old, trigger, updated, body) in rows {
        let existing: Option<(i64, String)> = conn
            .query_row(
                "SELECT id, body FROM main.points_trigger_snapshots
                  WHERE trigger_id = ?1 AND updated = ?2",
                params![trigger, updated],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let new = match existing {
            Some((id, b)) if b == body => {
                reused += 1;
                id
            }
            other => {
                // Another body under the same version (clocks apart): keep it under a version
                // no definition has, so new awards never pick it.
                let updated = if other.is_some() {
                    conn.query_row(
                        "SELECT min(0, ifnull(min(updated), 0)) - 1
                           FROM main.points_trigger_snapshots WHERE trigger_id = ?1",
                        [trigger],
                        |r| r.get(0),
                    )?
                } else {
                    updated
                };
                conn.execute(
                    "INSERT INTO main.points_trigger_snapshots (trigger_id, updated, body)
                     VALUES (?1, ?2, ?3)",
                    params![trigger, updated, body],
                )?;
                inserted += 1;
                conn.last_insert_rowid()
            }
        };
        conn.execute(
            "INSERT INTO temp.snapmap (old, new) VALUES (?1, ?2)",
            params![old, new],
        )?;
    }
    Ok((inserted, reused))
}
