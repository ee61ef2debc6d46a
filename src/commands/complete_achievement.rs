//! `POST /achievements/{key}/complete` (docs/behaviour/achievements.md#completing-through-the-api).

use std::collections::HashSet;

use serde_json::{json, Value};

use super::upsert_user::{upsert, Touch};
use crate::achievements::engine::{complete, composites};
use crate::achievements::{store, view};
use crate::catalog::AchievementTrigger;
use crate::config::AchievementStatus;
use crate::domain::ids::{DefinitionId, TenantId};
use crate::domain::user::UserUpsert;
use crate::error::ApiError;
use crate::rules::achievements::filters_match;
use crate::writer::{Command, WriteCtx};

pub struct CompleteAchievement {
    pub tenant: TenantId,
    pub key: String,
    pub user: UserUpsert,
}

impl Command for CompleteAchievement {
    type Output = Value;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Value, ApiError> {
        let catalog = ctx.catalog.clone();
        let achievement = catalog
            .achievement(self.tenant, &self.key)
            .filter(|a| a.status != AchievementStatus::Inactive)
            .ok_or_else(|| ApiError::not_found("Achievement not found"))?;
        if achievement.trigger != AchievementTrigger::Api {
            return Err(ApiError::unprocessable(
                "Only achievements with the api trigger can be completed through the API",
            ));
        }
        // The user is upserted even for a repeat; errors below roll the upsert back.
        let upserted = upsert(ctx, self.tenant, &self.user, Touch::Row)?;
        let (user, mut points) = (upserted.user, upserted.points);
        if let Some(existing) = store::completion(ctx.conn, user.row_id, achievement.id)? {
            let points = crate::points::finish(ctx, &user, points)?;
            return Ok(json!({
                "completionId": existing.uuid,
                "achievement": view::user_achievement(achievement, &catalog, self.tenant, Some(existing.achieved_at)),
                "points": points.response,
            }));
        }
        if achievement.status == AchievementStatus::Locked {
            return Err(ApiError::unprocessable("This achievement is locked"));
        }
        if !filters_match(&achievement.user_attributes, &user.attributes) {
            return Err(ApiError::unprocessable(
                "The user's attributes do not match this achievement's filters",
            ));
        }
        let completed = complete(ctx, &user, achievement, true)?;
        let mut done: HashSet<DefinitionId> = store::completed(ctx.conn, user.row_id)?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        done.insert(achievement.id);
        // Composites this unlocks are completed (with their webhooks) but, as the response
        // has no field for them, not listed.
        let cascaded = composites(ctx, &user, &done, true)?;
        let ids: Vec<DefinitionId> = std::iter::once(achievement.id)
            .chain(cascaded.iter().map(|c| c.achievement.id))
            .collect();
        crate::points::on_achievements(ctx, &mut points, &user, &ids)?;
        let points = crate::points::finish(ctx, &user, points)?;
        Ok(json!({
            "completionId": completed.completion_id,
            "achievement": view::user_achievement(achievement, &catalog, self.tenant, Some(completed.achieved_at)),
            "points": points.response,
        }))
    }
}
