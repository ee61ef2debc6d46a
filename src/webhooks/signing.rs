//! Webhook signatures.
//!
//! Both schemes use the endpoint's `secret` exactly as written in `trophy.toml`, as its
//! UTF-8 bytes, for the HMAC key. That is what Trophy documents for `X-Trophy-Signature`
//! (docs/behaviour/webhooks.md#signatures). The Standard Webhooks spec would base64-decode
//! a `whsec_` secret first; we deliberately do not, so one secret string verifies both
//! headers and a receiver needs no special decoding. Receivers using a Standard Webhooks
//! library must hand it the secret bytes accordingly (e.g. base64-encode the configured
//! string).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ring::hmac;

fn hmac_base64(secret: &str, parts: &[&[u8]]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    for part in parts {
        ctx.update(part);
    }
    BASE64.encode(ctx.sign().as_ref())
}

/// `X-Trophy-Signature`: base64(HMAC-SHA256(secret, raw body)).
pub fn trophy_signature(secret: &str, body: &[u8]) -> String {
    hmac_base64(secret, &[body])
}

/// `webhook-signature`: `v1,` + base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")).
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let signature = hmac_base64(
        secret,
        &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    );
    format!("v1,{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trophy_signature_matches_a_known_hmac_sha256_vector() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog")
        // = f7bc83f4…2d1a3cd8 (hex), here in base64.
        assert_eq!(
            trophy_signature("key", b"The quick brown fox jumps over the lazy dog"),
            "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="
        );
    }

    #[test]
    fn standard_signature_signs_id_timestamp_and_body() {
        assert_eq!(
            standard_signature(
                "whsec_example",
                "msg_1",
                1_700_000_000,
                br#"{"type":"streak.lost"}"#
            ),
            "v1,f/ncB58yE/DPIt7R7U2H6dByGAOwgfEchZYhrm6sTdo="
        );
    }
}
