//! Push notifications: one message to one device token, through whichever provider the
//! token's shape names (Expo, FCM HTTP v1 or APNs).
//!
//! * The caller (the notification worker) decides *what* to send and *when*; this module
//!   only turns one send into a [`PushOutcome`] it can act on: drop a dead token, try
//!   again later, or give up. Every provider's many answers are folded into those four so
//!   that no provider detail leaks into the outbox.
//! * Sending never panics and never trusts the provider's answer: bodies are read up to a
//!   bound, anything unexpected becomes `Retry` or `Failed` with a short reason.
//! * Key files are read once, at start ([`Push::new`]), so a wrong path or key is a
//!   startup error naming the file rather than a failure at the first notification.

mod apns;
mod expo;
mod fcm;
mod http;
mod jwt;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::config::PushConfig;

/// The longest token accepted, in characters (FCM tokens are ~160; anything far longer is
/// not a token).
const MAX_TOKEN_CHARS: usize = 4096;

/// A push service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Expo,
    Fcm,
    Apns,
}

/// Which provider a token belongs to, by its shape: `ExponentPushToken[...]`/`ExpoPushToken[...]` → Expo;
/// exactly 64 hex digits → APNs; anything else non-empty of at most 4096 chars → FCM. None for empty.
pub fn provider_for(token: &str) -> Option<Provider> {
    if token.is_empty()
        || token.len() > MAX_TOKEN_CHARS * 4
        || token.chars().count() > MAX_TOKEN_CHARS
    {
        return None;
    }
    let expo = (token.starts_with("ExponentPushToken[") || token.starts_with("ExpoPushToken["))
        && token.ends_with(']');
    if expo {
        Some(Provider::Expo)
    } else if token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()) {
        Some(Provider::Apns)
    } else {
        Some(Provider::Fcm)
    }
}

/// One notification. `data` is an object of string values, handed to the app with the
/// notification (FCM only takes strings; other values are sent as their JSON text).
#[derive(Debug, Clone, PartialEq)]
pub struct PushMessage {
    pub title: String,
    pub body: String,
    pub data: Value,
}

impl PushMessage {
    /// `data` as an object of strings: non-string values become their JSON text, and a
    /// `data` that is not an object is empty.
    fn data_strings(&self) -> Map<String, Value> {
        let Value::Object(map) = &self.data else {
            return Map::new();
        };
        map.iter()
            .map(|(key, value)| {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (key.clone(), Value::String(text))
            })
            .collect()
    }
}

/// What became of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    Sent,
    /// The provider says the token is dead (unregistered/invalid): the caller removes it from the user.
    InvalidToken(String),
    /// Try again later (network error, 5xx, 429, auth token refresh failed...). `String` = short reason.
    Retry(String),
    /// Will never succeed as sent (4xx other than invalid token, payload too large, provider not configured...).
    Failed(String),
}

/// The configured providers, each with its own HTTP client and credentials. Cheap to
/// clone: clones share clients, the cached FCM access token and the APNs JWT.
#[derive(Clone)]
pub struct Push {
    expo: Option<Arc<expo::Expo>>,
    fcm: Option<Arc<fcm::Fcm>>,
    apns: Option<Arc<apns::Apns>>,
}

/// Names the configured providers; never prints keys or tokens.
impl std::fmt::Debug for Push {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Push")
            .field("expo", &self.expo.is_some())
            .field("fcm", &self.fcm.is_some())
            .field("apns", &self.apns.is_some())
            .finish()
    }
}

/// The client of a provider, when it is configured.
fn client<C, P>(
    config: &Option<C>,
    new: impl FnOnce(&C) -> Result<P, String>,
) -> Result<Option<Arc<P>>, String> {
    Ok(config.as_ref().map(new).transpose()?.map(Arc::new))
}

impl Push {
    /// Reads the key files (FCM service account JSON: project_id, client_email, private_key (PKCS#8 PEM), token_uri;
    /// APNs .p8 PKCS#8 EC P-256 PEM) and builds the clients. Err(String) names the file and what is wrong.
    pub fn new(config: &PushConfig) -> Result<Push, String> {
        Ok(Push {
            expo: client(&config.expo, expo::Expo::new)?,
            fcm: client(&config.fcm, fcm::Fcm::new)?,
            apns: client(&config.apns, apns::Apns::new)?,
        })
    }

    /// Whether a provider for this token is configured.
    pub fn can_send(&self, token: &str) -> bool {
        match provider_for(token) {
            Some(Provider::Expo) => self.expo.is_some(),
            Some(Provider::Fcm) => self.fcm.is_some(),
            Some(Provider::Apns) => self.apns.is_some(),
            None => false,
        }
    }

    pub async fn send(&self, token: &str, message: &PushMessage) -> PushOutcome {
        let not_configured = |name: &str| PushOutcome::Failed(format!("{name} is not configured"));
        match provider_for(token) {
            None => PushOutcome::Failed("not a device token (empty or too long)".into()),
            Some(Provider::Expo) => match &self.expo {
                Some(expo) => expo.send(token, message).await,
                None => not_configured("[push.expo]"),
            },
            Some(Provider::Fcm) => match &self.fcm {
                Some(fcm) => fcm.send(token, message).await,
                None => not_configured("[push.fcm]"),
            },
            Some(Provider::Apns) => match &self.apns {
                Some(apns) => apns.send(token, message).await,
                None => not_configured("[push.apns]"),
            },
        }
    }
}
