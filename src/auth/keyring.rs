//! API keys held as SHA-256 digests and checked in constant time.

use ring::digest::{digest, SHA256};

use crate::config::ApiKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Application,
    Admin,
}

#[derive(Debug, Default, Clone)]
pub struct KeyRing {
    keys: Vec<([u8; 32], KeyKind)>,
}

pub fn sha256(key: &str) -> [u8; 32] {
    let d = digest(&SHA256, key.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

impl KeyRing {
    pub fn add(&mut self, key: &ApiKey, kind: KeyKind) {
        let hash = match key {
            ApiKey::Plain(text) => sha256(text),
            ApiKey::Sha256(hash) => *hash,
        };
        self.add_hash(hash, kind);
    }

    pub fn add_hash(&mut self, hash: [u8; 32], kind: KeyKind) {
        self.keys.push((hash, kind));
    }

    pub fn has(&self, kind: KeyKind) -> bool {
        self.keys.iter().any(|(_, k)| *k == kind)
    }

    /// What kind of key `presented` is, if any. The presented key is hashed with ring and
    /// every stored digest is compared in full, so the timing depends neither on how much
    /// of a key matched nor on which key it was.
    pub fn check(&self, presented: &str) -> Option<KeyKind> {
        let hash = sha256(presented);
        let mut found = None;
        for (stored, kind) in &self.keys {
            if digests_equal(stored, &hash) && found.is_none() {
                found = Some(*kind);
            }
        }
        found
    }
}

/// Constant-time equality of two digests (ring's own helper is deprecated for outside use).
fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_hashed_keys_both_match() {
        let mut ring = KeyRing::default();
        ring.add(&ApiKey::Plain("app-key".into()), KeyKind::Application);
        ring.add(&ApiKey::Sha256(sha256("admin-key")), KeyKind::Admin);
        assert_eq!(ring.check("app-key"), Some(KeyKind::Application));
        assert_eq!(ring.check("admin-key"), Some(KeyKind::Admin));
        assert_eq!(ring.check("nope"), None);
        assert_eq!(ring.check(""), None);
    }
}
