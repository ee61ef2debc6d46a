//! An achievement definition as the engine uses it: its row and its model.

use crate::config::AchievementStatus;
use crate::domain::ids::{DefinitionId, TenantId};
use crate::model::Definition;
use crate::store::definitions::{Row, Status};

pub use crate::model::achievement::{AchievementDef, AchievementTrigger as Trigger};

#[derive(Debug, Clone)]
pub struct Achievement {
    pub id: DefinitionId,
    pub uuid: String,
    /// Owning tenant, or `TenantId::SHARED` (0) when shared by every tenant.
    pub owner: TenantId,
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

/// Builds the definition from its row; `Err` says what of the body or status is wrong.
pub fn from_row(row: &Row) -> Result<Achievement, String> {
    let status = match row.status {
        Status::Active => AchievementStatus::Active,
        Status::Locked => AchievementStatus::Locked,
        Status::Inactive => AchievementStatus::Inactive,
        other => {
            return Err(format!(
                "status {:?} is not an achievement's",
                other.as_str()
            ))
        }
    };
    Ok(Achievement {
        id: row.id,
        uuid: row.uuid.clone(),
        owner: row.owner,
        key: row.key.clone(),
        def: AchievementDef::from_body(&row.body)?,
        status,
        managed: row.managed,
    })
}
