//! A points system's own fields (its triggers, levels and boosts are rows of their own).
//! The key is the row's, not the body's.

use serde::{Deserialize, Serialize};

use super::Problem;
use crate::domain::limits::MAX_DEFINITION_NAME_CHARS;

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

/// Where a [`Problem`] of a system is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    MaxPoints,
}

impl Field {
    pub fn stored_name(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::MaxPoints => "maxPoints",
        }
    }
}

impl SystemDef {
    pub fn body(&self) -> serde_json::Map<String, serde_json::Value> {
        super::body_of(self)
    }

    pub fn from_body(
        body: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<SystemDef, String> {
        super::read_body(body, SystemDef::validate, Field::stored_name)
    }

    pub fn validate(&self) -> Vec<Problem<Field>> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() {
            problems.push(Problem::new(Field::Name, "must be a non-empty string"));
        } else if self.name.chars().count() > MAX_DEFINITION_NAME_CHARS {
            problems.push(Problem::new(Field::Name, "must be at most 255 characters"));
        }
        if self.max_points.is_some_and(|m| m < 1) {
            problems.push(Problem::new(Field::MaxPoints, "must be at least 1"));
        }
        problems
    }
}
