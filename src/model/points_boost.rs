//! A points boost: a multiplier on a system's awards between two dates, for everyone
//! matching some user attributes or for one user. One shape for `[[points.boosts]]`, the
//! stored body, the catalog and the Admin API's boost items.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::attribute_pairs;
use super::{Definition, Problem};
use crate::domain::choices::choices;

choices! {
    /// How a boosted award that is not whole is rounded.
    #[derive(Default, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Rounding {
        #[default]
        Down = "down",
        Up = "up",
        Nearest = "nearest",
    }
}

/// Whom a boost is for. Stored as `userId` (null for everyone) and `userAttributes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "TargetFields", into = "TargetFields")]
pub enum BoostTarget {
    /// Everyone matching the (possibly empty) user-attribute filter.
    Global(Vec<(String, String)>),
    /// One user, by the customer's user id.
    User(String),
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TargetFields {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default, with = "attribute_pairs")]
    user_attributes: Vec<(String, String)>,
}

impl From<TargetFields> for BoostTarget {
    fn from(f: TargetFields) -> BoostTarget {
        match f.user_id {
            Some(user) => BoostTarget::User(user),
            None => BoostTarget::Global(f.user_attributes),
        }
    }
}

impl From<BoostTarget> for TargetFields {
    fn from(t: BoostTarget) -> TargetFields {
        match t {
            BoostTarget::User(user) => TargetFields {
                user_id: Some(user),
                user_attributes: Vec::new(),
            },
            BoostTarget::Global(filters) => TargetFields {
                user_id: None,
                user_attributes: filters,
            },
        }
    }
}

/// A boost of the points system `system` (by key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoostDef {
    pub system: String,
    pub name: String,
    pub start: NaiveDate,
    /// Inclusive; `None` for open-ended.
    #[serde(default)]
    pub end: Option<NaiveDate>,
    pub multiplier: f64,
    #[serde(default)]
    pub rounding: Rounding,
    #[serde(flatten)]
    pub target: BoostTarget,
}

super::fields! {
    /// Where a [`Problem`] of a boost is.
    pub enum Field {
        Name = "name",
        End = "end",
        Multiplier = "multiplier",
        UserId = "userId",
    }
}

impl Definition for BoostDef {
    type Field = Field;

    fn validate(&self) -> Vec<Problem<Field>> {
        let mut problems = super::name_problems(Field::Name, &self.name, true);
        if self.end.is_some_and(|end| end < self.start) {
            problems.push(Problem::new(Field::End, "must not be before start"));
        }
        let m = self.multiplier;
        let multiplier = if m.is_nan() || m <= 0.0 {
            Some("must be greater than 0")
        } else if m >= 100.0 {
            Some("must be less than 100")
        } else if m == 1.0 {
            Some("must not be 1, which would change nothing")
        } else {
            None
        };
        if let Some(rule) = multiplier {
            problems.push(Problem::new(Field::Multiplier, rule));
        }
        if matches!(&self.target, BoostTarget::User(user) if user.is_empty()) {
            problems.push(Problem::new(Field::UserId, "must not be empty"));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_target_is_stored_as_a_user_id_or_attributes() {
        let boost = BoostDef {
            system: "xp".into(),
            name: "Double".into(),
            start: NaiveDate::from_ymd_opt(2031, 3, 1).expect("date"),
            end: None,
            multiplier: 2.0,
            rounding: Rounding::Up,
            target: BoostTarget::Global(vec![("plan".into(), "pro".into())]),
        };
        let body = serde_json::to_value(&boost).expect("serializes");
        assert_eq!(
            body,
            json!({"system": "xp", "name": "Double", "start": "2031-03-01", "end": null,
                   "multiplier": 2.0, "rounding": "up", "userId": null,
                   "userAttributes": [{"key": "plan", "value": "pro"}]})
        );
        let back: BoostDef = serde_json::from_value(body).expect("reads back");
        assert_eq!(back, boost);
        let one = BoostDef {
            target: BoostTarget::User("ann".into()),
            ..boost
        };
        let back: BoostDef =
            serde_json::from_value(serde_json::to_value(&one).expect("serializes"))
                .expect("reads back");
        assert_eq!(back.target, BoostTarget::User("ann".into()));
    }

    #[test]
    fn multipliers_of_one_or_out_of_range_are_refused() {
        let mut boost = BoostDef {
            system: "xp".into(),
            name: "b".into(),
            start: NaiveDate::from_ymd_opt(2031, 3, 1).expect("date"),
            end: NaiveDate::from_ymd_opt(2031, 2, 1),
            multiplier: 1.0,
            rounding: Rounding::Down,
            target: BoostTarget::Global(Vec::new()),
        };
        let fields = |b: &BoostDef| b.validate().iter().map(|p| p.field).collect::<Vec<_>>();
        assert_eq!(fields(&boost), [Field::End, Field::Multiplier]);
        for bad in [0.0, -2.0, 100.0, f64::NAN] {
            boost.multiplier = bad;
            assert!(fields(&boost).contains(&Field::Multiplier), "{bad}");
        }
    }
}
