//! Points systems with their triggers, levels and boosts, read back from the stored bodies
//! (`catalog::sync` writes the file's, `points::admin` the Admin API's; both the same shape).
//! Children name their system by key in `body.system`.

use chrono::NaiveDate;
use serde_json::Value;

use crate::config::Rounding;
use crate::store::definitions::{self, Kind, Status};

pub use crate::model::points_trigger::{TriggerDef, TriggerKind, TriggerStatus};

/// A stored trigger: its definition, and the row it lives in. Derefs to the definition,
/// which is what the engine reads.
#[derive(Debug, Clone)]
pub struct PointsTrigger {
    pub id: i64,
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
pub struct Level {
    pub id: i64,
    pub uuid: String,
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub badge_url: Option<String>,
    pub points: i64,
    pub managed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BoostTarget {
    /// Everyone matching the (possibly empty) user-attribute filter.
    Global(Vec<(String, String)>),
    /// One user, by the customer's user id.
    User(String),
}

#[derive(Debug, Clone)]
pub struct Boost {
    pub id: i64,
    pub uuid: String,
    pub name: String,
    pub start: NaiveDate,
    /// Inclusive; `None` for open-ended.
    pub end: Option<NaiveDate>,
    pub multiplier: f64,
    pub rounding: Rounding,
    pub target: BoostTarget,
    pub managed: bool,
}

#[derive(Debug, Clone)]
pub struct PointsSystem {
    pub id: i64,
    pub uuid: String,
    /// Owning tenant, or 0 when shared by every tenant.
    pub owner: i64,
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub badge_url: Option<String>,
    pub max_points: Option<i64>,
    pub managed: bool,
    /// Active and inactive ones, in creation order.
    pub triggers: Vec<PointsTrigger>,
    /// Sorted by threshold, ascending.
    pub levels: Vec<Level>,
    pub boosts: Vec<Boost>,
}

impl PointsSystem {
    pub fn active_triggers(&self) -> impl Iterator<Item = &PointsTrigger> {
        self.triggers
            .iter()
            .filter(|t| t.status == TriggerStatus::Active)
    }
}

pub(super) fn pairs(body: &Value, field: &str) -> Vec<(String, String)> {
    body.get(field)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|p| {
                    Some((
                        p.get("key")?.as_str()?.to_owned(),
                        p.get("value")?.as_str()?.to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn text(body: &Value, field: &str) -> Option<String> {
    body.get(field).and_then(Value::as_str).map(str::to_owned)
}

pub fn parse_rounding(s: &str) -> Option<Rounding> {
    match s {
        "down" => Some(Rounding::Down),
        "up" => Some(Rounding::Up),
        "nearest" => Some(Rounding::Nearest),
        _ => None,
    }
}

/// A `definitions` row of a points kind, with its body as a JSON value.
struct Row {
    row: definitions::Row,
    body: Value,
}

impl std::ops::Deref for Row {
    type Target = definitions::Row;
    fn deref(&self) -> &definitions::Row {
        &self.row
    }
}

/// Every points system of `live` (the rows that are not archived), with its children
/// (inactive triggers included: admin reads list them). A trigger, level or boost whose
/// body lacks what it needs is an error naming its row.
pub fn load(live: &[definitions::Row]) -> definitions::Result<Vec<PointsSystem>> {
    let rows: Vec<Row> = live
        .iter()
        .filter(|row| row.kind.is_points())
        .cloned()
        .map(|row| Row {
            body: Value::Object(row.body.clone()),
            row,
        })
        .collect();
    let mut systems: Vec<PointsSystem> = rows
        .iter()
        .filter(|r| r.kind == Kind::PointsSystem)
        .map(|r| PointsSystem {
            id: r.id,
            uuid: r.uuid.clone(),
            owner: r.owner,
            key: r.key.clone(),
            name: text(&r.body, "name").unwrap_or_else(|| r.key.clone()),
            description: text(&r.body, "description"),
            badge_url: text(&r.body, "badgeUrl"),
            max_points: r.body.get("maxPoints").and_then(Value::as_i64),
            managed: r.managed,
            triggers: Vec::new(),
            levels: Vec::new(),
            boosts: Vec::new(),
        })
        .collect();
    for r in rows.iter().filter(|r| r.kind != Kind::PointsSystem) {
        let Some(system_key) = text(&r.body, "system") else {
            continue;
        };
        let Some(system) = systems
            .iter_mut()
            .find(|s| s.owner == r.owner && s.key == system_key)
        else {
            continue;
        };
        match r.kind {
            Kind::PointsTrigger => {
                let def = TriggerDef::from_body(&r.row.body).map_err(|e| r.unreadable(&e))?;
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
                let points = r
                    .body
                    .get("points")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| r.unreadable("no whole number of points"))?;
                let key = text(&r.body, "key").unwrap_or_else(|| r.key.clone());
                system.levels.push(Level {
                    id: r.id,
                    uuid: r.uuid.clone(),
                    name: text(&r.body, "name").unwrap_or_else(|| key.clone()),
                    key,
                    description: text(&r.body, "description"),
                    badge_url: text(&r.body, "badgeUrl"),
                    points,
                    managed: r.managed,
                });
            }
            Kind::PointsBoost => {
                let date = |field: &str| {
                    text(&r.body, field)
                        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
                };
                let (Some(start), Some(multiplier)) = (
                    date("start"),
                    r.body.get("multiplier").and_then(Value::as_f64),
                ) else {
                    return Err(r.unreadable("no start date or multiplier"));
                };
                let rounding = text(&r.body, "rounding")
                    .and_then(|s| parse_rounding(&s))
                    .unwrap_or(Rounding::Down);
                let target = match text(&r.body, "userId") {
                    Some(user) => BoostTarget::User(user),
                    None => BoostTarget::Global(pairs(&r.body, "userAttributes")),
                };
                system.boosts.push(Boost {
                    id: r.id,
                    uuid: r.uuid.clone(),
                    name: text(&r.body, "name").unwrap_or_default(),
                    start,
                    end: date("end"),
                    multiplier,
                    rounding,
                    target,
                    managed: r.managed,
                });
            }
            Kind::PointsSystem
            | Kind::Metric
            | Kind::Attribute
            | Kind::Achievement
            | Kind::Leaderboard => {}
        }
    }
    for s in &mut systems {
        s.levels.sort_by_key(|l| (l.points, l.id));
    }
    Ok(systems)
}
