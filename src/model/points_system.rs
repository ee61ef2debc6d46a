//! A points system's own fields (its triggers, levels and boosts are rows of their own).
//! The key is the row's, not the body's.

use serde::{Deserialize, Serialize};

use super::{Definition, Problem};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub badge_url: Option<String>,
    /// The highest total a user can reach; at least 1.
    #[serde(default)]
    pub max_points: Option<i64>,
}

super::fields! {
    /// Where a [`Problem`] of a system is.
    pub enum Field {
        Name = "name",
        MaxPoints = "maxPoints",
    }
}

impl Definition for SystemDef {
    type Field = Field;

    fn validate(&self) -> Vec<Problem<Field>> {
        let mut problems = super::name_problems(Field::Name, &self.name, true);
        if self.max_points.is_some_and(|m| m < 1) {
            problems.push(Problem::new(Field::MaxPoints, "must be at least 1"));
        }
        problems
    }
}
