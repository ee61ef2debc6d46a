//! An achievement definition as the engine uses it, read back from its stored body.

use serde_json::Value;

use crate::config::AchievementStatus;

#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    Metric {
        metric: String,
        value: f64,
    },
    Streak {
        length: u32,
    },
    Api,
    /// Prerequisites by key.
    Composite {
        prerequisites: Vec<String>,
    },
    /// Completed on the user's `years`-th anniversary, by the scheduler.
    Anniversary {
        years: u32,
    },
}

#[derive(Debug, Clone)]
pub struct Achievement {
    pub id: i64,
    pub uuid: String,
    /// Owning tenant, or 0 when shared by every tenant.
    pub owner: i64,
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub badge_url: Option<String>,
    pub trigger: Trigger,
    pub status: AchievementStatus,
    pub user_attributes: Vec<(String, String)>,
    pub event_attributes: Vec<(String, String)>,
    pub managed: bool,
}

fn pairs(body: &Value, field: &str) -> Vec<(String, String)> {
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

pub struct Row {
    pub id: i64,
    pub uuid: String,
    pub owner: i64,
    pub key: String,
    pub status: String,
    pub managed: bool,
}

/// Builds the definition from its row; `None` for a body that names no known trigger.
pub fn from_row(row: Row, body: &Value) -> Option<Achievement> {
    let trigger = match body.get("trigger").and_then(Value::as_str)? {
        "metric" => Trigger::Metric {
            metric: text(body, "metric")?,
            value: body.get("metricValue").and_then(Value::as_f64)?,
        },
        "streak" => Trigger::Streak {
            length: u32::try_from(body.get("streakLength").and_then(Value::as_u64)?).ok()?,
        },
        "api" => Trigger::Api,
        "achievement" => Trigger::Composite {
            prerequisites: body
                .get("prerequisites")
                .and_then(Value::as_array)?
                .iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect(),
        },
        "anniversary" => Trigger::Anniversary {
            years: u32::try_from(body.get("anniversaryYears").and_then(Value::as_u64)?).ok()?,
        },
        _ => return None,
    };
    let status = match row.status.as_str() {
        "active" => AchievementStatus::Active,
        "locked" => AchievementStatus::Locked,
        "inactive" => AchievementStatus::Inactive,
        _ => return None,
    };
    Some(Achievement {
        id: row.id,
        uuid: row.uuid,
        owner: row.owner,
        name: text(body, "name").unwrap_or_else(|| row.key.clone()),
        key: row.key,
        description: text(body, "description"),
        badge_url: text(body, "badgeUrl"),
        trigger,
        status,
        user_attributes: pairs(body, "userAttributes"),
        event_attributes: pairs(body, "eventAttributes"),
        managed: row.managed,
    })
}
