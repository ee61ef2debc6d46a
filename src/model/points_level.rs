//! A level of a points system: a name for the totals from `points` up. One shape for
//! `[[points.levels]]`, the stored body, the catalog and the Admin API's level items.

use serde::{Deserialize, Serialize};

use super::{Definition, Problem};
use crate::domain::bulk::valid_key;

/// A level of the points system `system` (by key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LevelDef {
    pub system: String,
    /// Unique within its system, and fixed once created.
    pub key: String,
    pub name: String,
    /// The lowest total at this level; not negative.
    pub points: i64,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub badge_url: Option<String>,
}

super::fields! {
    /// Where a [`Problem`] of a level is.
    pub enum Field {
        Key = "key",
        Name = "name",
        Points = "points",
    }
}

impl Definition for LevelDef {
    type Field = Field;

    fn validate(&self) -> Vec<Problem<Field>> {
        let mut problems = Vec::new();
        if !valid_key(&self.key) {
            problems.push(Problem::new(
                Field::Key,
                "may only contain letters, digits, \"-\" and \"_\"",
            ));
        }
        problems.extend(super::name_problems(Field::Name, &self.name, false));
        if self.points < 0 {
            problems.push(Problem::new(Field::Points, "must not be negative"));
        }
        problems
    }
}
