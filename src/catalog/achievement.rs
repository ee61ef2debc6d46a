//! An achievement definition as the engine uses it: its row and its model.

use serde_json::{Map, Value};

use crate::config::AchievementStatus;
use crate::model::Definition;

pub use crate::model::achievement::{AchievementDef, AchievementTrigger as Trigger};

#[derive(Debug, Clone)]
pub struct Achievement {
    pub id: i64,
    pub uuid: String,
    /// Owning tenant, or 0 when shared by every tenant.
    pub owner: i64,
    pub key: String,
    pub def: AchievementDef,
    pub status: AchievementStatus,
    pub managed: bool,
}

impl std::ops::Deref for Achievement {
    type Target = AchievementDef;
    fn deref(&self) -> &AchievementDef {
        &self.def
    }
}

pub struct Row {
    pub id: i64,
    pub uuid: String,
    pub owner: i64,
    pub key: String,
    pub status: String,
    pub managed: bool,
}

/// Builds the definition from its row; `Err` says what of the body or status is wrong.
pub fn from_row(row: Row, body: &Map<String, Value>) -> Result<Achievement, String> {
    let status = match row.status.as_str() {
        "active" => AchievementStatus::Active,
        "locked" => AchievementStatus::Locked,
        "inactive" => AchievementStatus::Inactive,
        other => return Err(format!("status {other:?} is not an achievement's")),
    };
    Ok(Achievement {
        id: row.id,
        uuid: row.uuid,
        owner: row.owner,
        key: row.key,
        def: AchievementDef::from_body(body)?,
        status,
        managed: row.managed,
    })
}
