//! Per-user application keys through the Admin API
//! (docs/behaviour/admin-api.md#application-keys): create one per `{userId}` (the key is
//! shown only in this reply) and delete by id.

use rusqlite::params;
use serde::Deserialize;
use serde_json::{json, Value};

use super::admin_definitions::Outcome;
use crate::auth::user_keys::{self, UserKey};
use crate::auth::UserKeys;
use crate::domain::ids::TenantId;
use crate::error::ApiError;
use crate::writer::{Command, WriteCtx};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateKeyItem {
    pub user_id: Option<String>,
}

/// An issue about one user (Node's `BulkInsertIssue` needs `userId`).
fn user_issue(index: usize, user_id: &str, message: &str) -> Value {
    json!({
        "index": index,
        "userId": user_id,
        "severity": "error",
        "level": "error",
        "message": message,
        "reason": message,
    })
}

/// After the change commits, the directory holds exactly the active keys.
fn refresh_after_commit(ctx: &mut WriteCtx<'_>, directory: &UserKeys) -> Result<(), ApiError> {
    let active = user_keys::active(ctx.conn)?;
    let directory = directory.clone();
    ctx.after_commit(move || directory.replace(active));
    Ok(())
}

pub struct CreateApplicationKeys {
    pub tenant: TenantId,
    pub items: Vec<CreateKeyItem>,
    pub directory: UserKeys,
}

impl Command for CreateApplicationKeys {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let mut out = Outcome::default();
        for (index, item) in self.items.iter().enumerate() {
            let user_id = item.user_id.as_deref().unwrap_or_default();
            let Some(user) = crate::store::users::find(ctx.conn, self.tenant, user_id)? else {
                out.issues
                    .push(user_issue(index, user_id, "User does not exist"));
                continue;
            };
            let (key, prefix) = user_keys::generate()
                .map_err(|_| ApiError::internal("the system random source failed"))?;
            let owner = UserKey {
                uuid: uuid::Uuid::new_v4().to_string(),
                tenant: self.tenant,
                user_id: user.id.clone(),
            };
            ctx.conn.execute(
                "INSERT INTO api_keys (uuid, kind, hash, prefix, tenant_id, user_id, status, created)
                 VALUES (?1, 'user', ?2, ?3, ?4, ?5, 'active', ?6)",
                params![
                    owner.uuid,
                    crate::auth::user_keys::digest(&key).to_vec(),
                    prefix,
                    self.tenant,
                    user.row_id,
                    ctx.now.timestamp_millis()
                ],
            )?;
            out.items.push(json!({
                "id": owner.uuid,
                "userId": owner.user_id,
                "key": key,
                "prefix": prefix,
            }));
        }
        refresh_after_commit(ctx, &self.directory)?;
        Ok(out)
    }
}

pub struct DeleteApplicationKeys {
    pub tenant: TenantId,
    pub ids: Vec<String>,
    pub directory: UserKeys,
}

impl Command for DeleteApplicationKeys {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let mut out = Outcome::default();
        for (index, id) in self.ids.iter().enumerate() {
            let deleted = ctx.conn.execute(
                "DELETE FROM api_keys WHERE uuid = ?1 AND kind = 'user' AND tenant_id = ?2",
                params![id, self.tenant],
            )?;
            if deleted == 1 {
                out.items.push(json!({ "id": id }));
            } else {
                out.issues.push(super::admin_definitions::issue(
                    index,
                    Some(id),
                    "Application API key not found by ID",
                ));
            }
        }
        refresh_after_commit(ctx, &self.directory)?;
        Ok(out)
    }
}
