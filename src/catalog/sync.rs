//! Brings the `definitions` table in line with trophy.toml at start. A key keeps its UUID
//! across restarts; a definition dropped from the file is archived, never deleted, so
//! history that points at it stays valid.

use std::collections::HashMap;

use rusqlite::Connection;
use serde_json::{Map, Value};

use crate::config::Config;
use crate::domain::choices::Choice;
use crate::model::Definition;
use crate::store::definitions::{self, Kind, Status};

/// One definition as the file declares it.
struct Declared {
    kind: Kind,
    key: String,
    status: Status,
    body: Value,
}

fn declared(config: &Config) -> Vec<Declared> {
    let mut out = Vec::new();
    let mut declare = |kind, key, status, body| {
        out.push(Declared {
            kind,
            key,
            status,
            body: Value::Object(body),
        })
    };
    // A status of the file is the stored status of the same name.
    let stored = |name| Status::parse(name).unwrap_or(Status::Active);
    for a in &config.attributes {
        declare(Kind::Attribute, a.key.clone(), Status::Active, a.def.body());
    }
    for m in &config.metrics {
        declare(Kind::Metric, m.key.clone(), Status::Active, m.def.body());
    }
    for a in &config.achievements {
        let status = stored(a.status.name());
        declare(Kind::Achievement, a.key.clone(), status, a.def.body());
    }
    for p in &config.points {
        declare(
            Kind::PointsSystem,
            p.key.clone(),
            Status::Active,
            p.def.body(),
        );
        // Triggers and boosts have no key in the file: their position is their identity.
        for (i, t) in p.triggers.iter().enumerate() {
            let key = format!("{}/trigger/{i}", p.key);
            let status = stored(t.status.name());
            declare(Kind::PointsTrigger, key, status, t.def.body());
        }
        for l in &p.levels {
            let key = format!("{}/level/{}", p.key, l.key);
            declare(Kind::PointsLevel, key, Status::Active, l.body());
        }
        for (i, b) in p.boosts.iter().enumerate() {
            let key = format!("{}/boost/{i}", p.key);
            declare(Kind::PointsBoost, key, Status::Active, b.body());
        }
    }
    for l in &config.leaderboards {
        let status = stored(l.status.name());
        declare(Kind::Leaderboard, l.key.clone(), status, l.def.body());
    }
    out
}

/// The UUID a definition declared in trophy.toml gets when it is first stored: derived from
/// its kind and key (UUIDv5), so every node running the same file shows the same ids and a
/// tenant moved between nodes (`trophyd tenant import`) reads the same. Databases created
/// before this keep the random UUIDs they were given; a key keeps its UUID either way.
pub fn managed_uuid(kind: &str, key: &str) -> String {
    const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5d1f_0c6e_7a3b_4e0f_9a51_2b8c_6d4e_7f10);
    uuid::Uuid::new_v5(&NAMESPACE, format!("{kind}\u{0}{key}").as_bytes()).to_string()
}

/// Upserts every definition of `config` and archives file-managed ones no longer declared.
pub fn sync_definitions(
    conn: &mut Connection,
    config: &Config,
    now_ms: i64,
) -> definitions::Result<()> {
    let tx = conn.transaction()?;
    let mut existing: HashMap<(Kind, String), definitions::Row> = definitions::managed_shared(&tx)?
        .into_iter()
        .map(|row| ((row.kind, row.key.clone()), row))
        .collect();
    for d in declared(config) {
        let body = match d.body {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        match existing.remove(&(d.kind, d.key.clone())) {
            Some(row) => {
                if row.status != d.status || row.body != body {
                    definitions::update(&tx, row.id, None, d.status, &body, now_ms)?;
                }
                if d.kind == Kind::Achievement && row.body != body {
                    // Filtered progress summed under the old definition is recomputed from
                    // the stored events when next needed.
                    tx.execute(
                        "DELETE FROM achievement_progress WHERE achievement_id = ?1",
                        [row.id],
                    )?;
                }
            }
            None => {
                // A definition created through the Admin API with the same key becomes
                // file-managed rather than duplicated.
                if !definitions::adopt(&tx, d.kind, &d.key, d.status, &body, now_ms)? {
                    definitions::insert(
                        &tx,
                        &definitions::New {
                            uuid: &managed_uuid(d.kind.as_str(), &d.key),
                            tenant: None,
                            kind: d.kind,
                            key: &d.key,
                            status: d.status,
                            managed: true,
                            body: &body,
                            now_ms,
                        },
                    )?;
                }
            }
        }
    }
    for row in existing.into_values() {
        if row.status != Status::Archived {
            definitions::archive(&tx, row.id, now_ms)?;
        }
    }
    Ok(tx.commit()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::domain::ids::TenantId;

    fn db() -> Connection {
        crate::db::migrated_in_memory()
    }

    fn uuid_of(conn: &Connection, kind: &str, key: &str) -> (String, String) {
        let kind = Kind::parse(kind).expect("kind");
        let row = definitions::by_key(conn, TenantId::SHARED, kind, key)
            .expect("read")
            .expect("definition row");
        (row.uuid, row.status.as_str().to_owned())
    }

    #[test]
    fn same_key_keeps_its_uuid_and_dropped_definitions_are_archived() {
        let mut conn = db();
        let first = config::parse(
            "[[metrics]]\nkey = \"a\"\nname = \"A\"\n[[metrics]]\nkey = \"b\"\nname = \"B\"\n",
        )
        .expect("config");
        sync_definitions(&mut conn, &first, 1).expect("sync");
        let (a_id, _) = uuid_of(&conn, "metric", "a");
        let second = config::parse("[[metrics]]\nkey = \"a\"\nname = \"A2\"\n").expect("config");
        sync_definitions(&mut conn, &second, 2).expect("sync again");
        let (a_again, a_status) = uuid_of(&conn, "metric", "a");
        assert_eq!(a_id, a_again);
        assert_eq!(a_status, "active");
        assert_eq!(uuid_of(&conn, "metric", "b").1, "archived");
        sync_definitions(&mut conn, &first, 3).expect("restore");
        assert_eq!(uuid_of(&conn, "metric", "b").1, "active");
    }

    #[test]
    fn two_databases_with_the_same_file_give_its_definitions_the_same_uuids() {
        let config = config::parse(
            "[[metrics]]\nkey = \"a\"\nname = \"A\"\n[[achievements]]\nkey = \"a\"\nname = \"A\"\ntrigger = \"api\"\n",
        )
        .expect("config");
        let (mut one, mut two) = (db(), db());
        sync_definitions(&mut one, &config, 1).expect("sync");
        sync_definitions(&mut two, &config, 2).expect("sync");
        for kind in ["metric", "achievement"] {
            assert_eq!(uuid_of(&one, kind, "a").0, uuid_of(&two, kind, "a").0);
            assert_eq!(uuid_of(&one, kind, "a").0, managed_uuid(kind, "a"));
        }
        assert_ne!(
            managed_uuid("metric", "a"),
            managed_uuid("achievement", "a")
        );
    }
}
