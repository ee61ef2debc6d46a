//! Points systems with their triggers, levels and boosts, read back from the stored bodies
//! (`catalog::sync` writes the file's, `points::admin` the Admin API's; both the same shape).
//! Children name their system by key in `body.system`.

use serde_json::Value;

use crate::domain::ids::{DefinitionId, TenantId};
use crate::model::Definition;
use crate::store::definitions::{self, Kind, Status};

pub use crate::model::points_boost::{BoostDef, BoostTarget, Rounding};
pub use crate::model::points_level::LevelDef;
pub use crate::model::points_system::SystemDef;
pub use crate::model::points_trigger::{TriggerDef, TriggerKind, TriggerStatus};

/// A stored definition: its model, and the row it lives in. Derefs to the model, which is
/// what the engine reads.
#[derive(Debug, Clone)]
pub struct Stored<D> {
    pub id: DefinitionId,
    pub uuid: String,
    pub def: D,
    pub managed: bool,
}

impl<D> std::ops::Deref for Stored<D> {
    type Target = D;
    fn deref(&self) -> &D {
        &self.def
    }
}

pub type Level = Stored<LevelDef>;
pub type Boost = Stored<BoostDef>;

/// A stored trigger, with its status and times (admin reads list inactive ones).
#[derive(Debug, Clone)]
pub struct PointsTrigger {
    pub id: DefinitionId,
    pub uuid: String,
    pub def: TriggerDef,
    pub status: TriggerStatus,
    pub managed: bool,
    pub created: i64,
    pub updated: i64,
}

impl std::ops::Deref for PointsTrigger {
    type Target = TriggerDef;
    fn deref(&self) -> &TriggerDef {
        &self.def
    }
}

#[derive(Debug, Clone)]
pub struct PointsSystem {
    pub id: DefinitionId,
    pub uuid: String,
    /// Owning tenant, or `TenantId::SHARED` (0) when shared by every tenant.
    pub owner: TenantId,
    pub key: String,
    pub def: SystemDef,
    pub managed: bool,
    /// Active and inactive ones, in creation order.
    pub triggers: Vec<PointsTrigger>,
    /// Sorted by threshold, ascending.
    pub levels: Vec<Level>,
    pub boosts: Vec<Boost>,
}

impl std::ops::Deref for PointsSystem {
    type Target = SystemDef;
    fn deref(&self) -> &SystemDef {
        &self.def
    }
}

impl PointsSystem {
    pub fn active_triggers(&self) -> impl Iterator<Item = &PointsTrigger> {
        self.triggers
            .iter()
            .filter(|t| t.status == TriggerStatus::Active)
    }
}

fn stored<D>(r: &definitions::Row, def: D) -> Stored<D> {
    Stored {
        id: r.id,
        uuid: r.uuid.clone(),
        def,
        managed: r.managed,
    }
}

/// Every points system of `live` (the rows that are not archived), with its children
/// (inactive triggers included: admin reads list them). A trigger, level or boost whose
/// body lacks what it needs is an error naming its row.
pub fn load(live: &[definitions::Row]) -> definitions::Result<Vec<PointsSystem>> {
    let rows: Vec<&definitions::Row> = live.iter().filter(|row| row.kind.is_points()).collect();
    let mut systems = Vec::new();
    for r in rows.iter().filter(|r| r.kind == Kind::PointsSystem) {
        systems.push(PointsSystem {
            id: r.id,
            uuid: r.uuid.clone(),
            owner: r.owner,
            key: r.key.clone(),
            def: SystemDef::from_body(&r.body).map_err(|e| r.unreadable(e))?,
            managed: r.managed,
            triggers: Vec::new(),
            levels: Vec::new(),
            boosts: Vec::new(),
        });
    }
    for r in rows.iter().filter(|r| r.kind != Kind::PointsSystem) {
        let Some(system_key) = r.body.get("system").and_then(Value::as_str) else {
            return Err(r.unreadable("no points system"));
        };
        // A child of an archived system stays behind with it.
        let Some(system) = systems
            .iter_mut()
            .find(|s| s.owner == r.owner && s.key == system_key)
        else {
            continue;
        };
        match r.kind {
            Kind::PointsTrigger => {
                let def = TriggerDef::from_body(&r.body).map_err(|e| r.unreadable(e))?;
                system.triggers.push(PointsTrigger {
                    id: r.id,
                    uuid: r.uuid.clone(),
                    def,
                    status: if r.status == Status::Active {
                        TriggerStatus::Active
                    } else {
                        TriggerStatus::Inactive
                    },
                    managed: r.managed,
                    created: r.created,
                    updated: r.updated,
                });
            }
            Kind::PointsLevel => {
                let def = LevelDef::from_body(&r.body).map_err(|e| r.unreadable(e))?;
                system.levels.push(stored(r, def));
            }
            Kind::PointsBoost => {
                let def = BoostDef::from_body(&r.body).map_err(|e| r.unreadable(e))?;
                system.boosts.push(stored(r, def));
            }
            Kind::PointsSystem
            | Kind::Metric
            | Kind::Attribute
            | Kind::Achievement
            | Kind::Leaderboard
            | Kind::StreakSettings => {}
        }
    }
    for s in &mut systems {
        s.levels.sort_by_key(|l| (l.points, l.id));
    }
    Ok(systems)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map, Value};

    use super::*;

    fn add(conn: &rusqlite::Connection, kind: Kind, key: &str, body: Value) {
        let Value::Object(body) = body else {
            panic!("a test body is an object")
        };
        definitions::insert(
            conn,
            &definitions::New {
                uuid: key,
                tenant: None,
                kind,
                key,
                status: Status::Active,
                managed: false,
                body: &body,
                now_ms: 0,
            },
        )
        .expect("insert");
    }

    fn loaded(conn: &rusqlite::Connection) -> definitions::Result<Vec<PointsSystem>> {
        load(&definitions::live(conn).expect("rows"))
    }

    #[test]
    fn a_child_that_breaks_a_rule_stops_the_load_naming_its_row() {
        let conn = crate::db::migrated_in_memory();
        add(&conn, Kind::PointsSystem, "xp", json!({"name": "XP"}));
        let trigger = json!({"system": "xp", "type": "streak", "streakLength": 3, "points": 2});
        add(&conn, Kind::PointsTrigger, "xp/trigger/0", trigger);
        let systems = loaded(&conn).expect("a sound system loads");
        assert_eq!(systems[0].triggers[0].points, 2);
        assert_eq!(systems[0].name, "XP");

        // A level below zero: every surface refuses one, so a stored one is damage.
        let level = json!({"system": "xp", "key": "low", "name": "Low", "points": -1});
        add(&conn, Kind::PointsLevel, "xp/level/low", level);
        let err = loaded(&conn).expect_err("refused").to_string();
        assert!(
            err.contains("xp/level/low") && err.contains("points must not be negative"),
            "{err}"
        );
    }

    #[test]
    fn a_child_without_its_system_is_an_error_not_a_skip() {
        let conn = crate::db::migrated_in_memory();
        add(&conn, Kind::PointsSystem, "xp", json!({"name": "XP"}));
        add(
            &conn,
            Kind::PointsBoost,
            "xp/boost/0",
            Value::Object(Map::new()),
        );
        let err = loaded(&conn).expect_err("refused").to_string();
        assert!(
            err.contains("xp/boost/0") && err.contains("no points system"),
            "{err}"
        );
    }
}
