//! Points systems with their triggers, levels and boosts, read back from the stored bodies
//! (`catalog::sync` writes the file's, `points::admin` the Admin API's; both the same shape).
//! Children name their system by key in `body.system`.

use chrono::NaiveDate;
use rusqlite::Connection;
use serde_json::Value;

use crate::config::{Rounding, TimeUnit};

#[derive(Debug, Clone, PartialEq)]
pub enum TriggerKind {
    Metric { metric: String, threshold: u32 },
    Achievement { achievement: String },
    Streak { length: u32 },
    Time { unit: TimeUnit, interval: u32 },
    UserCreation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerStatus {
    Active,
    Inactive,
}

#[derive(Debug, Clone)]
pub struct PointsTrigger {
    pub id: i64,
    pub uuid: String,
    pub kind: TriggerKind,
    /// Non-zero; negative deducts.
    pub points: i64,
    pub status: TriggerStatus,
    pub user_attributes: Vec<(String, String)>,
    pub event_attributes: Vec<(String, String)>,
    pub block_if_out_of_points: bool,
    pub managed: bool,
    pub created: i64,
    pub updated: i64,
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

fn small(body: &Value, field: &str) -> Option<u32> {
    u32::try_from(body.get(field).and_then(Value::as_u64)?).ok()
}

pub fn parse_rounding(s: &str) -> Option<Rounding> {
    match s {
        "down" => Some(Rounding::Down),
        "up" => Some(Rounding::Up),
        "nearest" => Some(Rounding::Nearest),
        _ => None,
    }
}

fn trigger_kind(body: &Value) -> Option<TriggerKind> {
    Some(match body.get("type").and_then(Value::as_str)? {
        "metric" => TriggerKind::Metric {
            metric: text(body, "metric")?,
            threshold: small(body, "threshold").filter(|t| *t >= 1)?,
        },
        "achievement" => TriggerKind::Achievement {
            achievement: text(body, "achievement")?,
        },
        "streak" => TriggerKind::Streak {
            length: small(body, "streakLength").filter(|l| *l >= 1)?,
        },
        "time" => TriggerKind::Time {
            unit: match body.get("timeUnit").and_then(Value::as_str)? {
                "hours" => TimeUnit::Hours,
                "days" => TimeUnit::Days,
                _ => return None,
            },
            interval: small(body, "timeInterval").filter(|i| *i >= 1)?,
        },
        "user_creation" => TriggerKind::UserCreation,
        _ => return None,
    })
}

/// One `definitions` row of a points kind.
struct Row {
    id: i64,
    uuid: String,
    owner: i64,
    kind: String,
    key: String,
    status: String,
    managed: bool,
    body: Value,
    created: i64,
    updated: i64,
}

/// Every points system that is not archived, with its children that are not archived
/// (inactive triggers included: admin reads list them).
pub fn load(conn: &Connection) -> rusqlite::Result<Vec<PointsSystem>> {
    let mut stmt = conn.prepare(
        "SELECT id, uuid, ifnull(tenant_id, 0), kind, key, status, managed, body, created, updated
           FROM definitions
          WHERE kind IN ('points_system', 'points_trigger', 'points_level', 'points_boost')
            AND status != 'archived'
          ORDER BY id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            let body: String = r.get(7)?;
            Ok(Row {
                id: r.get(0)?,
                uuid: r.get(1)?,
                owner: r.get(2)?,
                kind: r.get(3)?,
                key: r.get(4)?,
                status: r.get(5)?,
                managed: r.get(6)?,
                body: serde_json::from_str(&body).unwrap_or(Value::Null),
                created: r.get(8)?,
                updated: r.get(9)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<Row>>>()?;
    let mut systems: Vec<PointsSystem> = rows
        .iter()
        .filter(|r| r.kind == "points_system")
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
    for r in rows.iter().filter(|r| r.kind != "points_system") {
        let Some(system_key) = text(&r.body, "system") else {
            continue;
        };
        let Some(system) = systems
            .iter_mut()
            .find(|s| s.owner == r.owner && s.key == system_key)
        else {
            continue;
        };
        match r.kind.as_str() {
            "points_trigger" => {
                let Some(kind) = trigger_kind(&r.body) else {
                    continue;
                };
                let Some(points) = r.body.get("points").and_then(Value::as_i64) else {
                    continue;
                };
                system.triggers.push(PointsTrigger {
                    id: r.id,
                    uuid: r.uuid.clone(),
                    kind,
                    points,
                    status: if r.status == "active" {
                        TriggerStatus::Active
                    } else {
                        TriggerStatus::Inactive
                    },
                    user_attributes: pairs(&r.body, "userAttributes"),
                    event_attributes: pairs(&r.body, "eventAttributes"),
                    block_if_out_of_points: r
                        .body
                        .get("blockIfOutOfPoints")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    managed: r.managed,
                    created: r.created,
                    updated: r.updated,
                });
            }
            "points_level" => {
                let Some(points) = r.body.get("points").and_then(Value::as_i64) else {
                    continue;
                };
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
            "points_boost" => {
                let date = |field: &str| {
                    text(&r.body, field)
                        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
                };
                let (Some(start), Some(multiplier)) = (
                    date("start"),
                    r.body.get("multiplier").and_then(Value::as_f64),
                ) else {
                    continue;
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
            _ => {}
        }
    }
    for s in &mut systems {
        s.levels.sort_by_key(|l| (l.points, l.id));
    }
    Ok(systems)
}
