//! The page cache wrapper (src/db/page_cache.rs) in a process of its own, since SQLite
//! takes a page cache only before its first use. Rebalances that reorder pages, savepoints
//! rolled back, whole transactions rolled back after the file grew, and a reopen: the data
//! must be exactly what was committed, the file must pass integrity_check, and commits
//! after a rebalance must have skipped the walk the wrapper exists to skip.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use trophyd::db::page_cache;

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn open(path: &std::path::Path) -> Connection {
    let conn = Connection::open(path).expect("open");
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -1024;
         CREATE TABLE IF NOT EXISTS t (k INTEGER NOT NULL, pad TEXT NOT NULL, v INTEGER NOT NULL,
                                       PRIMARY KEY (k, pad)) WITHOUT ROWID;",
    )
    .expect("schema");
    conn
}

fn contents(conn: &Connection) -> BTreeMap<i64, i64> {
    let mut stmt = conn.prepare("SELECT k, v FROM t").expect("prepare");
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query");
    rows.collect::<rusqlite::Result<_>>().expect("rows")
}

fn assert_intact(conn: &Connection, model: &BTreeMap<i64, i64>) {
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
    assert_eq!(&contents(conn), model);
}

#[test]
fn what_is_committed_stays_and_what_is_rolled_back_goes() {
    assert!(page_cache::install(), "installed before SQLite's first use");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("cache.db");
    let mut conn = open(&path);
    let mut model = BTreeMap::new();
    let mut rng = Lcg(7);
    let pad = "x".repeat(200);
    for round in 0..300 {
        let tx = conn.transaction().expect("begin");
        let mut pending = model.clone();
        for _ in 0..40 {
            let k = (rng.next() % 50_000) as i64;
            let v = rng.next() as i64;
            tx.execute(
                "INSERT INTO t (k, pad, v) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO UPDATE SET v = excluded.v",
                params![k, pad, v],
            )
            .expect("insert");
            pending.insert(k, v);
        }
        // A savepoint that grows the table and is taken back.
        tx.execute_batch("SAVEPOINT s").expect("savepoint");
        for i in 0..60 {
            tx.execute(
                "INSERT OR IGNORE INTO t (k, pad, v) VALUES (?1, ?2, 0)",
                params![1_000_000 + round * 100 + i, pad],
            )
            .expect("insert");
        }
        tx.execute_batch("ROLLBACK TO s; RELEASE s")
            .expect("rollback to");
        if round % 7 == 3 {
            // The whole transaction goes, after the file grew under it.
            tx.rollback().expect("rollback");
        } else {
            tx.commit().expect("commit");
            model = pending;
        }
        if round % 50 == 49 {
            assert_intact(&conn, &model);
        }
    }
    assert!(
        page_cache::truncates_skipped() > 0,
        "commits after a rebalance skipped the walk"
    );
    assert_intact(&conn, &model);
    drop(conn);
    let reopened = open(&path);
    assert_intact(&reopened, &model);
}
