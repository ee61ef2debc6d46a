//! `trophyd tenant export --tenant ID FILE`: the tenant's rows of a (possibly live) node's
//! database, read in one read transaction (a consistent snapshot: WAL lets the node go on
//! writing meanwhile), into a new SQLite file. The source is opened read-only.

use std::path::Path;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::{
    column_list, file_uri, Error, MovedTenant, Result, APPLICATION_ID, FORMAT, FORMAT_VERSION,
    TABLES,
};
use crate::domain::ids::TenantId;
use crate::store::tenants::DEFAULT_TENANT;

/// What was written: the tenant, and the rows of each table.
pub type ExportReport = MovedTenant;

/// Writes tenant `customer_id` of the database at `data` to `file` (which must not exist).
pub fn export(data: &Path, customer_id: &str, file: &Path) -> Result<ExportReport> {
    if !data.exists() {
        return Err(Error(format!("no database at {}", data.display())));
    }
    if file.exists() {
        return Err(Error(format!(
            "{} already exists; not overwriting it",
            file.display()
        )));
    }
    let mut partial = file.as_os_str().to_owned();
    partial.push(".partial");
    let partial = std::path::PathBuf::from(partial);
    let _ = std::fs::remove_file(&partial);
    let result = write(data, customer_id, &partial);
    match result {
        Ok(report) => {
            std::fs::rename(&partial, file)
                .map_err(|e| Error(format!("could not write {}: {e}", file.display())))?;
            Ok(report)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

fn write(data: &Path, customer_id: &str, out: &Path) -> Result<ExportReport> {
    let mut conn = Connection::open_with_flags(
        out,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI,
    )
    .map_err(|e| Error(format!("could not create {}: {e}", out.display())))?;
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = OFF;
         PRAGMA synchronous = FULL;
         PRAGMA busy_timeout = 5000;
         PRAGMA application_id = {APPLICATION_ID};"
    ))?;
    crate::db::migrate(&mut conn).map_err(|e| Error(e.to_string()))?;
    conn.execute_batch(
        "CREATE TABLE tenant_export (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
    )?;
    conn.execute("ATTACH DATABASE ?1 AS src", [file_uri(data, "mode=ro")?])?;

    let tx = conn.transaction()?;
    let source_version: i64 = tx
        .query_row("PRAGMA src.user_version", [], |r| r.get(0))
        .map_err(|e| Error(format!("cannot read {}: {e}", data.display())))?;
    let ours = crate::db::schema_version() as i64;
    if source_version != ours {
        return Err(Error(format!(
            "{} is at schema version {source_version}, this trophyd's is {ours}: export with the \
             trophyd that runs the node (start the node once with this one to migrate it)",
            data.display()
        )));
    }
    let tenant: Option<(TenantId, String, String)> = tx
        .query_row(
            "SELECT id, name, status FROM src.tenants WHERE customer_id = ?1",
            [customer_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((tenant_id, name, status)) = tenant else {
        return Err(Error(format!(
            "no tenant with customer id \"{customer_id}\" in {}",
            data.display()
        )));
    };
    if tenant_id == DEFAULT_TENANT {
        return Err(Error(
            "the default tenant (single-tenant mode) is the whole database: copy it with \
             `trophyd backup` instead"
                .into(),
        ));
    }

    let mut counts = Vec::new();
    for table in TABLES {
        let columns = column_list(table);
        let rows = table.rows.replace("$T", &tenant_id.to_string());
        let n = tx.execute(
            &format!(
                "INSERT INTO main.{name} ({columns}) SELECT {columns} FROM src.{name} WHERE ({rows})",
                name = table.name
            ),
            [],
        )?;
        counts.push((table.name, n as i64));
    }

    let mut info: Vec<(String, String)> = vec![
        ("format".into(), FORMAT.into()),
        ("format_version".into(), FORMAT_VERSION.to_string()),
        ("schema_version".into(), ours.to_string()),
        ("customer_id".into(), customer_id.into()),
        ("trophyd_version".into(), env!("CARGO_PKG_VERSION").into()),
        ("exported_at".into(), chrono::Utc::now().to_rfc3339()),
        ("source".into(), data.display().to_string()),
    ];
    for (table, n) in &counts {
        info.push((format!("rows.{table}"), n.to_string()));
    }
    for (key, value) in &info {
        tx.execute(
            "INSERT INTO main.tenant_export (key, value) VALUES (?1, ?2)",
            params![key, value],
        )?;
    }
    tx.commit()?;
    conn.execute_batch("DETACH DATABASE src;")?;
    conn.close().map_err(|(_, e)| Error::from(e))?;
    Ok(MovedTenant {
        customer_id: customer_id.to_owned(),
        name,
        status,
        counts,
    })
}
