//! An achievement: a one-off milestone completed by one kind of trigger. One shape for
//! `[[achievements]]`, the stored body, the catalog and the Admin API. The key and the status
//! are the row's, not the body's.

use serde::{Deserialize, Serialize};

use super::attribute_pairs;
use super::{Definition, Problem};

/// What completes an achievement, with what that trigger needs; stored flat beside
/// `trigger`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "trigger", rename_all = "snake_case")]
pub enum AchievementTrigger {
    /// The metric's total reaching `value`.
    Metric {
        metric: String,
        #[serde(rename = "metricValue")]
        value: f64,
    },
    /// The streak reaching `length`.
    Streak {
        #[serde(rename = "streakLength")]
        length: u32,
    },
    /// `POST /v1/achievements/{key}/complete`.
    Api,
    /// Every prerequisite (by key) completed.
    #[serde(rename = "achievement")]
    Composite { prerequisites: Vec<String> },
    /// The user's `years`-th anniversary, by the scheduler.
    Anniversary {
        #[serde(rename = "anniversaryYears")]
        years: u32,
    },
}

impl AchievementTrigger {
    /// The `trigger` name.
    pub fn name(&self) -> &'static str {
        match self {
            AchievementTrigger::Metric { .. } => "metric",
            AchievementTrigger::Streak { .. } => "streak",
            AchievementTrigger::Api => "api",
            AchievementTrigger::Composite { .. } => "achievement",
            AchievementTrigger::Anniversary { .. } => "anniversary",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AchievementDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub badge_url: Option<String>,
    #[serde(flatten)]
    pub trigger: AchievementTrigger,
    /// The user attributes (key, value) a user must have.
    #[serde(default, with = "attribute_pairs")]
    pub user_attributes: Vec<(String, String)>,
    /// The event attributes an event must carry; metric triggers only.
    #[serde(default, with = "attribute_pairs")]
    pub event_attributes: Vec<(String, String)>,
}

super::fields! {
    /// Where a [`Problem`] of an achievement is.
    pub enum Field {
        Name = "name",
        MetricValue = "metricValue",
        StreakLength = "streakLength",
        Prerequisites = "prerequisites",
        AnniversaryYears = "anniversaryYears",
        EventAttributes = "eventAttributes",
    }
}

impl Definition for AchievementDef {
    type Field = Field;

    /// The rules whatever declared it; references (the metric, the prerequisites, the
    /// attributes) are checked where they are named, against the catalog.
    fn validate(&self) -> Vec<Problem<Field>> {
        let mut problems = super::name_problems(Field::Name, &self.name, false);
        match &self.trigger {
            AchievementTrigger::Metric { value, .. } if !(value.is_finite() && *value > 0.0) => {
                problems.push(Problem::new(Field::MetricValue, "must be greater than 0"));
            }
            AchievementTrigger::Streak { length } if *length < 1 => {
                problems.push(Problem::new(Field::StreakLength, "must be at least 1"));
            }
            AchievementTrigger::Anniversary { years } if *years < 1 => {
                problems.push(Problem::new(Field::AnniversaryYears, "must be at least 1"));
            }
            AchievementTrigger::Composite { prerequisites } if prerequisites.is_empty() => {
                problems.push(Problem::new(
                    Field::Prerequisites,
                    "must name at least one achievement",
                ));
            }
            _ => {}
        }
        if !self.event_attributes.is_empty()
            && !matches!(self.trigger, AchievementTrigger::Metric { .. })
        {
            problems.push(Problem::new(
                Field::EventAttributes,
                "are only for metric achievements",
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_stored_body_names_the_trigger_beside_its_fields() {
        let a = AchievementDef {
            name: "Ten lessons".into(),
            description: None,
            badge_url: None,
            trigger: AchievementTrigger::Metric {
                metric: "lessons".into(),
                value: 10.0,
            },
            user_attributes: Vec::new(),
            event_attributes: vec![("source".into(), "web".into())],
        };
        let body = serde_json::to_value(&a).expect("serializes");
        assert_eq!(
            body,
            json!({"name": "Ten lessons", "description": null, "badgeUrl": null,
                   "trigger": "metric", "metric": "lessons", "metricValue": 10.0,
                   "userAttributes": [], "eventAttributes": [{"key": "source", "value": "web"}]})
        );
        assert_eq!(
            serde_json::from_value::<AchievementDef>(body).expect("reads back"),
            a
        );
        let composite: AchievementDef = serde_json::from_value(json!({
            "name": "Both", "trigger": "achievement", "prerequisites": ["a", "b"],
        }))
        .expect("reads");
        assert_eq!(composite.trigger.name(), "achievement");
        assert!(composite.validate().is_empty());
    }
}
