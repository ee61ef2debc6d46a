//! API keys as written in `[auth]` or `TROPHYD_API_KEYS`: either the key itself, or
//! `sha256:<64 hex digits>` so that the file need not hold a usable secret.

use super::model::ApiKey;

const HASH_PREFIX: &str = "sha256:";

pub(crate) fn parse_api_key(text: &str) -> Result<ApiKey, String> {
    if text.is_empty() {
        return Err("an API key must not be empty".to_owned());
    }
    if let Some(digits) = text.strip_prefix(HASH_PREFIX) {
        let mut hash = [0u8; 32];
        return match hex::decode_to_slice(digits, &mut hash) {
            Ok(()) => Ok(ApiKey::Sha256(hash)),
            Err(_) => Err(format!(
                "\"{HASH_PREFIX}\" must be followed by exactly 64 hexadecimal digits (the SHA-256 of the key), found {} characters",
                digits.chars().count()
            )),
        };
    }
    // Clients send the key in a header, where surrounding blanks are trimmed: such a key could
    // never match.
    if text.trim() != text {
        return Err("an API key must not start or end with whitespace".to_owned());
    }
    if text.chars().any(char::is_control) {
        return Err("an API key must not contain control characters".to_owned());
    }
    Ok(ApiKey::Plain(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_keys_are_kept_as_written() {
        assert_eq!(
            parse_api_key("tr_live_abc"),
            Ok(ApiKey::Plain("tr_live_abc".to_owned()))
        );
    }

    #[test]
    fn sha256_keys_hold_the_32_raw_bytes() {
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let Ok(ApiKey::Sha256(bytes)) = parse_api_key(&format!("sha256:{hex}")) else {
            panic!("not parsed as a hash");
        };
        assert_eq!(bytes[0], 0x9f);
        assert_eq!(bytes[31], 0x08);
        // Upper-case hex is the same hash.
        assert_eq!(
            parse_api_key(&format!("sha256:{}", hex.to_uppercase())),
            Ok(ApiKey::Sha256(bytes))
        );
    }

    #[test]
    fn malformed_hashes_and_empty_keys_are_rejected() {
        let short = "sha256:abcd";
        let long = format!("sha256:{}", "a".repeat(66));
        let not_hex = format!("sha256:{}", "g".repeat(64));
        for bad in ["", "sha256:", short, &long, &not_hex, " padded", "a\nb"] {
            assert!(parse_api_key(bad).is_err(), "{bad:?}");
        }
    }
}
