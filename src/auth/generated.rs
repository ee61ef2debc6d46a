//! First start without keys: generate them, print them once, keep only their hashes.

use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{params, Connection};

use super::keyring::{sha256, KeyKind, KeyRing};
use crate::config::AuthConfig;

/// The key ring, plus the keys generated on this start.
pub type Keys = (KeyRing, Vec<(KeyKind, String)>);

/// Builds the key ring from the config and the database. A kind with no key anywhere
/// gets a fresh one; the returned list holds the keys to show the operator once.
pub fn ensure_keys(
    conn: &Connection,
    auth: &AuthConfig,
    now_ms: i64,
) -> Result<Keys, Box<dyn std::error::Error + Send + Sync>> {
    let mut ring = KeyRing::default();
    for key in &auth.api_keys {
        ring.add(key, KeyKind::Application);
    }
    for key in &auth.admin_keys {
        ring.add(key, KeyKind::Admin);
    }
    let mut stmt = conn.prepare("SELECT hash, kind FROM api_keys WHERE status = 'active' AND kind IN ('application', 'admin')")?;
    let stored = stmt.query_map([], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
    })?;
    for row in stored {
        let (hash, kind) = row?;
        if let Ok(hash) = <[u8; 32]>::try_from(hash.as_slice()) {
            ring.add_hash(
                hash,
                if kind == "admin" {
                    KeyKind::Admin
                } else {
                    KeyKind::Application
                },
            );
        }
    }
    let mut fresh = Vec::new();
    for (kind, prefix, name) in [
        (KeyKind::Application, "tr_live_", "application"),
        (KeyKind::Admin, "tr_admin_", "admin"),
    ] {
        if ring.has(kind) {
            continue;
        }
        let key = format!(
            "{prefix}{}",
            random_token().map_err(|_| "the system random source failed")?
        );
        let hash = sha256(&key);
        conn.execute(
            "INSERT INTO api_keys (uuid, kind, hash, prefix, status, created) VALUES (?1, ?2, ?3, ?4, 'active', ?5)",
            params![uuid::Uuid::new_v4().to_string(), name, hash.to_vec(), &key[..prefix.len() + 4], now_ms],
        )?;
        ring.add_hash(hash, kind);
        fresh.push((kind, key));
    }
    Ok((ring, fresh))
}

fn random_token() -> Result<String, ring::error::Unspecified> {
    let mut bytes = [0u8; 24];
    SystemRandom::new().fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}
