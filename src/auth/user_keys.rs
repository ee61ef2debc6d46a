//! Per-user application keys (`app_XXXXXXXX.<secret>`,
//! docs/behaviour/api.md#application-keys): created through
//! the Admin API, stored as SHA-256 digests in `api_keys` (kind `user`), and held in
//! memory by digest so checking one costs a hash and a map lookup.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::Connection;

use super::keyring::sha256;
use crate::domain::ids::TenantId;

/// Every per-user key starts with this, so other keys never reach the directory.
pub const USER_KEY_PREFIX: &str = "app_";

/// Whom a per-user key acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserKey {
    pub uuid: String,
    pub tenant: TenantId,
    /// The user's own id (`users.external_id`).
    pub user_id: String,
}

/// Active per-user keys by digest, refreshed after every change.
#[derive(Clone, Default)]
pub struct UserKeys(Arc<RwLock<HashMap<[u8; 32], UserKey>>>);

impl UserKeys {
    /// Every active per-user key in the database.
    pub fn load(conn: &Connection) -> rusqlite::Result<UserKeys> {
        let keys = UserKeys::default();
        keys.replace(active(conn)?);
        Ok(keys)
    }

    pub fn replace(&self, keys: Vec<([u8; 32], UserKey)>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = keys.into_iter().collect();
    }

    pub fn find(&self, presented: &str) -> Option<UserKey> {
        if !presented.starts_with(USER_KEY_PREFIX) {
            return None;
        }
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&sha256(presented))
            .cloned()
    }
}

/// The active per-user keys with the users they belong to.
pub fn active(conn: &Connection) -> rusqlite::Result<Vec<([u8; 32], UserKey)>> {
    let mut stmt = conn.prepare(
        "SELECT k.hash, k.uuid, k.tenant_id, u.external_id
           FROM api_keys k JOIN users u ON u.id = k.user_id
          WHERE k.kind = 'user' AND k.status = 'active'",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            UserKey {
                uuid: r.get(1)?,
                tenant: r.get(2)?,
                user_id: r.get(3)?,
            },
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (hash, key) = row?;
        if let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) {
            out.push((hash, key));
        }
    }
    Ok(out)
}

/// What is stored of a key.
pub fn digest(key: &str) -> [u8; 32] {
    sha256(key)
}

/// A fresh key: `(whole key, prefix)`. The prefix (before the dot) is safe to show.
pub fn generate() -> Result<(String, String), ring::error::Unspecified> {
    let rng = SystemRandom::new();
    let mut id = [0u8; 4];
    rng.fill(&mut id)?;
    let mut secret = [0u8; 24];
    rng.fill(&mut secret)?;
    let prefix = format!("{USER_KEY_PREFIX}{}", hex::encode(id));
    Ok((format!("{prefix}.{}", hex::encode(secret)), prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::ids::fixtures::T1;

    #[test]
    fn generated_keys_have_the_app_prefix_and_differ() {
        let (a, prefix) = generate().expect("random");
        let (b, _) = generate().expect("random");
        assert!(a.starts_with(&format!("{prefix}.")));
        assert_eq!(prefix.len(), USER_KEY_PREFIX.len() + 8);
        assert_ne!(a, b);
    }

    #[test]
    fn only_registered_app_keys_are_found() {
        let keys = UserKeys::default();
        let (key, _) = generate().expect("random");
        let owner = UserKey {
            uuid: "k".into(),
            tenant: T1,
            user_id: "alice".into(),
        };
        keys.replace(vec![(sha256(&key), owner.clone())]);
        assert_eq!(keys.find(&key), Some(owner));
        assert_eq!(keys.find("app_00000000.nope"), None);
        assert_eq!(keys.find("admin-key"), None);
    }
}
