//! `PATCH /users/{id}/preferences`.

use serde_json::Value;

use crate::domain::preferences::{to_response, PreferencesPatch};
use crate::domain::user_id::UserId;
use crate::error::ApiError;
use crate::store;
use crate::writer::{Command, WriteCtx};

pub struct UpdatePreferences {
    pub tenant: i64,
    pub user: UserId,
    pub patch: PreferencesPatch,
}

impl Command for UpdatePreferences {
    type Output = Value;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Value, ApiError> {
        let user = store::users::find(ctx.conn, self.tenant, self.user.as_str())?
            .ok_or_else(|| ApiError::not_found("User not found"))?;
        let mut prefs = store::users::preferences(ctx.conn, user.row_id)?;
        self.patch.apply(&mut prefs);
        store::users::set_preferences(ctx.conn, user.row_id, &prefs, ctx.now.timestamp_millis())?;
        Ok(to_response(&prefs))
    }
}
