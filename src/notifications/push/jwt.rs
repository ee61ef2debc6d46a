//! The signed JWTs the providers take as credentials: RS256 for Google's OAuth2 token
//! exchange (FCM), ES256 for APNs' provider tokens.
//!
//! Signed with *ring*, which the server already links, instead of a JWT crate: both
//! providers need one fixed header and a few claims, and the only delicate part, the
//! signature encoding, is what ring's `RSA_PKCS1_SHA256` and `ECDSA_P256_SHA256_FIXED_SIGNING`
//! (raw `r || s`, as JWS wants, not DER) already produce. PEM is decoded by hand for the
//! same reason: strip the armour lines, base64-decode the rest.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use serde_json::{json, Value};

/// The DER inside a PEM block (`-----BEGIN ...-----` ... `-----END ...-----`).
pub(super) fn pem_to_der(pem: &str) -> Result<Vec<u8>, String> {
    let begin = pem
        .find("-----BEGIN ")
        .ok_or("no `-----BEGIN` line: not a PEM file")?;
    let rest = &pem[begin..];
    let end = rest.find("-----END ").ok_or("no `-----END` line")?;
    let base64: String = rest[..end]
        .lines()
        .skip(1)
        .flat_map(|line| line.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    if base64.is_empty() {
        return Err("empty PEM block".into());
    }
    STANDARD
        .decode(base64)
        .map_err(|e| format!("bad base64 in the PEM block: {e}"))
}

pub(super) fn rsa_key(pem: &str) -> Result<RsaKeyPair, String> {
    let der = pem_to_der(pem)?;
    RsaKeyPair::from_pkcs8(&der).map_err(|e| format!("not a PKCS#8 RSA private key ({e})"))
}

pub(super) fn ec_key(pem: &str) -> Result<EcdsaKeyPair, String> {
    let der = pem_to_der(pem)?;
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &SystemRandom::new())
        .map_err(|e| format!("not a PKCS#8 EC P-256 private key ({e})"))
}

/// `header.claims` in base64url, the part a JWS signs.
fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// A JWT signed with RS256.
pub(super) fn rs256(key: &RsaKeyPair, claims: &Value) -> Result<String, String> {
    let input = signing_input(&json!({"alg": "RS256", "typ": "JWT"}), claims);
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "RS256 signing failed".to_string())?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// A JWT signed with ES256, with `kid` in its header (APNs names the key by it).
pub(super) fn es256(key: &EcdsaKeyPair, kid: &str, claims: &Value) -> Result<String, String> {
    let input = signing_input(&json!({"alg": "ES256", "kid": kid}), claims);
    let signature = key
        .sign(&SystemRandom::new(), input.as_bytes())
        .map_err(|_| "ES256 signing failed".to_string())?;
    Ok(format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(signature.as_ref())
    ))
}
