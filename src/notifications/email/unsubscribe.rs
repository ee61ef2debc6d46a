//! Signed unsubscribe tokens, so that the link in an email works without a login and
//! without a table of issued links: the token carries who and what, and an HMAC over it
//! proves trophyd wrote it.
//!
//! Tokens never expire on purpose: a link in a years-old email must still unsubscribe
//! (RFC 8058 one-click and the anti-spam laws expect it to keep working), and all it can
//! do is turn emails off. Rotating the secret invalidates every outstanding link.
//!
//! The layout is binary and fixed-size (version, tenant, user, kind, tag: 50 bytes, 67
//! characters of URL-safe base64) because it ends up in a `List-Unsubscribe` header and a
//! URL, where short is kind to mail clients. The MAC input starts with a context string,
//! so a tag made with the same secret for another purpose (webhook signatures) is never a
//! valid unsubscribe token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::hmac;

use crate::domain::ids::{TenantId, UserRow};
use crate::notifications::Kind;

/// Whose emails, and which, a link turns off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub tenant_id: TenantId,
    pub user_id: UserRow,
    /// `None`: all emails.
    pub kind: Option<Kind>,
}

/// The longest text `verify` looks at; a real token is 67 characters.
pub const MAX_LEN: usize = 512;

const VERSION: u8 = 1;
const CONTEXT: &[u8] = b"trophyd unsubscribe v1\0";
const PAYLOAD_LEN: usize = 1 + 8 + 8 + 1;
const TAG_LEN: usize = 32;

fn payload(token: &Token) -> [u8; PAYLOAD_LEN] {
    let mut out = [0u8; PAYLOAD_LEN];
    out[0] = VERSION;
    out[1..9].copy_from_slice(&token.tenant_id.get().to_be_bytes());
    out[9..17].copy_from_slice(&token.user_id.get().to_be_bytes());
    out[17] = match token.kind {
        None => 0,
        Some(kind) => kind_code(kind),
    };
    out
}

fn kind_code(kind: Kind) -> u8 {
    match kind {
        Kind::Achievement => 1,
        Kind::StreakReminder => 2,
        Kind::Recap => 3,
        Kind::Reactivation => 4,
    }
}

fn key(secret: &[u8]) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, secret)
}

fn mac_input(payload: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(CONTEXT.len() + payload.len());
    input.extend_from_slice(CONTEXT);
    input.extend_from_slice(payload);
    input
}

/// The token as URL-safe base64 without padding; it needs no escaping in a query string.
pub fn sign(secret: &[u8], token: &Token) -> String {
    let payload = payload(token);
    let tag = hmac::sign(&key(secret), &mac_input(&payload));
    let mut bytes = Vec::with_capacity(PAYLOAD_LEN + TAG_LEN);
    bytes.extend_from_slice(&payload);
    bytes.extend_from_slice(tag.as_ref());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The token `text` carries, if `secret` signed it; `None` for anything else.
pub fn verify(secret: &[u8], text: &str) -> Option<Token> {
    if text.len() > MAX_LEN {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
    if bytes.len() != PAYLOAD_LEN + TAG_LEN {
        return None;
    }
    let (payload, tag) = bytes.split_at(PAYLOAD_LEN);
    hmac::verify(&key(secret), &mac_input(payload), tag).ok()?;
    if payload[0] != VERSION {
        return None;
    }
    let tenant_id = TenantId::from_raw(i64::from_be_bytes(payload[1..9].try_into().ok()?));
    let user_id = UserRow::from_raw(i64::from_be_bytes(payload[9..17].try_into().ok()?));
    let kind = match payload[17] {
        0 => None,
        code => Some(Kind::ALL.into_iter().find(|k| kind_code(*k) == code)?),
    };
    Some(Token {
        tenant_id,
        user_id,
        kind,
    })
}
