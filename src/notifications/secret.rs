//! The node's key for unsubscribe links: 32 random bytes made at the first start and kept
//! in `meta`, so links in emails already sent keep working across restarts. (A tenant
//! moved to another node gets that node's key: its older links stop working, and the
//! preferences link in the next email works again.)

use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{Connection, OptionalExtension};

const META_KEY: &str = "notifications_secret";

/// The key, made now if the database has none. Call on the write connection before the
/// writer starts.
pub fn ensure(conn: &Connection) -> Result<Vec<u8>, String> {
    if let Some(key) = load(conn)? {
        return Ok(key);
    }
    let mut key = vec![0u8; 32];
    SystemRandom::new()
        .fill(&mut key)
        .map_err(|_| "no randomness for the unsubscribe key".to_owned())?;
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)",
        rusqlite::params![META_KEY, hex::encode(&key)],
    )
    .map_err(|e| format!("could not store the unsubscribe key: {e}"))?;
    Ok(key)
}

pub fn load(conn: &Connection) -> Result<Option<Vec<u8>>, String> {
    let stored: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [META_KEY], |r| {
            r.get(0)
        })
        .optional()
        .map_err(|e| format!("could not read the unsubscribe key: {e}"))?;
    stored
        .map(|hex_key| {
            hex::decode(hex_key).map_err(|_| "the stored unsubscribe key is not hex".to_owned())
        })
        .transpose()
}
