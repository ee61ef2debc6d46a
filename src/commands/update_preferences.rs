//! `PATCH /users/{id}/preferences`.

use serde_json::Value;

use crate::domain::field::Field;
use crate::domain::ids::TenantId;
use crate::domain::preferences::{to_response, PreferencesPatch};
use crate::domain::user_id::UserId;
use crate::error::{echo, ApiError};
use crate::store;
use crate::writer::{Command, WriteCtx};

pub struct UpdatePreferences {
    pub tenant: TenantId,
    pub user: UserId,
    pub patch: PreferencesPatch,
}

impl Command for UpdatePreferences {
    type Output = Value;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Value, ApiError> {
        let user = store::users::existing(ctx.conn, self.tenant, self.user.as_str())?;
        if self.patch.customizes_streak() {
            let enabled = ctx
                .env
                .settings
                .streaks
                .current()
                .is_some_and(|d| d.customization_enabled);
            if !enabled {
                return Err(ApiError::Forbidden(
                    "Streak customization is not enabled for this organisation".into(),
                ));
            }
            if let Field::Value(metrics) = &self.patch.streak_metrics {
                for (key, _) in metrics {
                    if ctx.catalog.metric(self.tenant, key).is_none() {
                        return Err(ApiError::unprocessable(format!(
                            "streak.metrics: unknown metric \"{}\"",
                            echo(key)
                        )));
                    }
                }
            }
        }
        let mut prefs = store::users::preferences(ctx.conn, user.row_id)?;
        self.patch.apply(&mut prefs);
        store::users::set_preferences(ctx.conn, user.row_id, &prefs, ctx.now.timestamp_millis())?;
        Ok(to_response(&prefs))
    }
}
