//! A points trigger: what fires it, how many points, and for whom. The one shape trophy.toml
//! declares (`[[points.triggers]]`), the `definitions` row stores (this type serialized is
//! the row's body), the catalog runs and the Admin API edits (its items are patches applied
//! onto this). Adding a field is a change here and where a surface names it.

use serde::{Deserialize, Serialize};

use super::attribute_pairs;
use super::{Definition, Problem};
use crate::domain::choices::choices;

choices! {
    /// The unit of a time trigger's interval.
    #[derive(Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum TimeUnit {
        Hours = "hours",
        Days = "days",
    }
}

choices! {
    /// Whether a trigger awards points now. Kept in the row's status column, not the body.
    pub enum TriggerStatus {
        Active = "active",
        Inactive = "inactive",
    }
}

/// What fires a trigger, with what that kind needs; stored flat beside `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TriggerKind {
    /// `points` for every `threshold` units of the metric (by key).
    Metric { metric: String, threshold: u32 },
    /// `points` once, when the achievement (by key) completes.
    Achievement { achievement: String },
    /// `points` each time the streak reaches a multiple of `length`.
    Streak {
        #[serde(rename = "streakLength")]
        length: u32,
    },
    /// `points` every `interval` units since the user was created.
    Time {
        #[serde(rename = "timeUnit")]
        unit: TimeUnit,
        #[serde(rename = "timeInterval")]
        interval: u32,
    },
    /// `points` once, when the user is created.
    UserCreation,
}

impl TriggerKind {
    /// The `type` name.
    pub fn name(&self) -> &'static str {
        match self {
            TriggerKind::Metric { .. } => "metric",
            TriggerKind::Achievement { .. } => "achievement",
            TriggerKind::Streak { .. } => "streak",
            TriggerKind::Time { .. } => "time",
            TriggerKind::UserCreation => "user_creation",
        }
    }

    pub const NAMES: [&'static str; 5] =
        ["metric", "achievement", "streak", "time", "user_creation"];
}

/// A points trigger of the points system `system` (by key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerDef {
    pub system: String,
    #[serde(flatten)]
    pub kind: TriggerKind,
    /// Non-zero; negative deducts.
    pub points: i64,
    /// The user attributes (key, value) a user must have.
    #[serde(default, with = "attribute_pairs")]
    pub user_attributes: Vec<(String, String)>,
    /// The event attributes an event must carry; metric triggers only.
    #[serde(default, with = "attribute_pairs")]
    pub event_attributes: Vec<(String, String)>,
    /// A deducting metric trigger refuses the event that would take the user below zero.
    #[serde(default)]
    pub block_if_out_of_points: bool,
    /// What the trigger is for, shown to operators; trophyd's own (1.21.1 has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

super::fields! {
    /// Where a [`Problem`] of a trigger is: each surface names it its own way.
    pub enum Field {
        Points = "points",
        Threshold = "threshold",
        StreakLength = "streakLength",
        TimeInterval = "timeInterval",
        EventAttributes = "eventAttributes",
    }
}

impl Definition for TriggerDef {
    type Field = Field;

    /// The rules a trigger obeys whatever declared it. References (the metric, the
    /// achievement, the attributes) are checked where they are named, against the catalog.
    fn validate(&self) -> Vec<Problem<Field>> {
        let mut problems = Vec::new();
        if self.points == 0 {
            problems.push(Problem::new(
                Field::Points,
                "must not be 0 (a negative number deducts)",
            ));
        }
        let at_least_one = |field, value: u32, problems: &mut Vec<_>| {
            if value < 1 {
                problems.push(Problem::new(field, "must be at least 1"));
            }
        };
        match &self.kind {
            TriggerKind::Metric { threshold, .. } => {
                at_least_one(Field::Threshold, *threshold, &mut problems);
            }
            TriggerKind::Streak { length } => {
                at_least_one(Field::StreakLength, *length, &mut problems);
            }
            TriggerKind::Time { interval, .. } => {
                at_least_one(Field::TimeInterval, *interval, &mut problems);
            }
            TriggerKind::Achievement { .. } | TriggerKind::UserCreation => {}
        }
        if !self.event_attributes.is_empty() && !matches!(self.kind, TriggerKind::Metric { .. }) {
            problems.push(Problem::new(
                Field::EventAttributes,
                "are only for metric triggers",
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn metric() -> TriggerDef {
        TriggerDef {
            system: "xp".into(),
            kind: TriggerKind::Metric {
                metric: "lessons".into(),
                threshold: 2,
            },
            points: 5,
            user_attributes: vec![("plan".into(), "pro".into())],
            event_attributes: Vec::new(),
            block_if_out_of_points: false,
            description: None,
        }
    }

    #[test]
    fn the_stored_body_is_flat_with_its_type() {
        let body = serde_json::to_value(metric()).expect("serializes");
        assert_eq!(
            body,
            json!({
                "system": "xp", "type": "metric", "metric": "lessons", "threshold": 2,
                "points": 5, "userAttributes": [{"key": "plan", "value": "pro"}],
                "eventAttributes": [], "blockIfOutOfPoints": false,
            })
        );
        let back: TriggerDef = serde_json::from_value(body).expect("reads back");
        assert_eq!(back, metric());
    }

    #[test]
    fn older_bodies_read_with_defaults_and_time_units_by_name() {
        let t: TriggerDef = serde_json::from_value(json!({
            "system": "xp", "type": "time", "timeUnit": "hours", "timeInterval": 6, "points": 1,
        }))
        .expect("reads");
        assert_eq!(
            t.kind,
            TriggerKind::Time {
                unit: TimeUnit::Hours,
                interval: 6
            }
        );
        assert!(!t.block_if_out_of_points && t.user_attributes.is_empty());
        let unknown = serde_json::from_value::<TriggerDef>(
            json!({"system": "xp", "type": "weekly", "points": 1}),
        );
        assert!(unknown.is_err());
    }

    #[test]
    fn validate_names_each_broken_rule_by_field() {
        let mut t = metric();
        assert!(t.validate().is_empty());
        t.points = 0;
        t.kind = TriggerKind::Streak { length: 0 };
        t.event_attributes = vec![("source".into(), "web".into())];
        let fields: Vec<Field> = t.validate().iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [Field::Points, Field::StreakLength, Field::EventAttributes]
        );
    }
}
