//! Brings the `definitions` table in line with trophy.toml at start. A key keeps its UUID
//! across restarts; a definition dropped from the file is archived, never deleted, so
//! history that points at it stays valid.

use std::collections::HashMap;

use rusqlite::Connection;
use serde_json::{Map, Value};

use crate::config::{AchievementStatus, Config, LeaderboardStatus, TriggerStatus};
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
    for a in &config.attributes {
        out.push(Declared {
            kind: Kind::Attribute,
            key: a.key.clone(),
            status: Status::Active,
            body: Value::Object(a.def.body()),
        });
    }
    for m in &config.metrics {
        out.push(Declared {
            kind: Kind::Metric,
            key: m.key.clone(),
            status: Status::Active,
            body: Value::Object(m.def.body()),
        });
    }
    for a in &config.achievements {
        out.push(Declared {
            kind: Kind::Achievement,
            key: a.key.clone(),
            status: match a.status {
                AchievementStatus::Active => Status::Active,
                AchievementStatus::Inactive => Status::Inactive,
                AchievementStatus::Locked => Status::Locked,
            },
            body: Value::Object(a.def.body()),
        });
    }
    for p in &config.points {
        out.push(Declared {
            kind: Kind::PointsSystem,
            key: p.key.clone(),
            status: Status::Active,
            body: Value::Object(p.def.body()),
        });
        // Triggers and boosts have no key in the file: their position is their identity.
        for (i, t) in p.triggers.iter().enumerate() {
            out.push(Declared {
                kind: Kind::PointsTrigger,
                key: format!("{}/trigger/{i}", p.key),
                status: match t.status {
                    TriggerStatus::Active => Status::Active,
                    TriggerStatus::Inactive => Status::Inactive,
                },
                body: Value::Object(t.def.body()),
            });
        }
        for l in &p.levels {
            out.push(Declared {
                kind: Kind::PointsLevel,
                key: format!("{}/level/{}", p.key, l.key),
                status: Status::Active,
                body: Value::Object(l.body()),
            });
        }
        for (i, b) in p.boosts.iter().enumerate() {
            out.push(Declared {
                kind: Kind::PointsBoost,
                key: format!("{}/boost/{i}", p.key),
                status: Status::Active,
                body: Value::Object(b.body()),
            });
        }
    }
    for l in &config.leaderboards {
        out.push(Declared {
            kind: Kind::Leaderboard,
            key: l.key.clone(),
            status: match l.status {
                LeaderboardStatus::Active => Status::Active,
                LeaderboardStatus::Inactive => Status::Inactive,
                LeaderboardStatus::Finished => Status::Finished,
            },
            body: Value::Object(l.def.body()),
        });
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

    fn db() -> Connection {
        crate::db::migrated_in_memory()
    }

    fn uuid_of(conn: &Connection, kind: &str, key: &str) -> (String, String) {
        let kind = Kind::parse(kind).expect("kind");
        let row = definitions::by_key(conn, 0, kind, key)
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
