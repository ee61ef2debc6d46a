//! Apple Push Notification service, token-based (`.p8` key) over HTTP/2.
//!
//! APNs speaks HTTP/2 only, so its client is built HTTP/2-only (ALPN `h2` on `https://`,
//! h2c with prior knowledge on `http://`, which only a test fake uses). The provider token
//! is a JWT that Apple wants reused: a new one more often than every 20 minutes is refused
//! (`TooManyProviderTokenUpdates`), one older than an hour is expired. So one JWT is shared
//! by all sends and replaced after 50 minutes, or when Apple says it is expired or invalid.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use ring::signature::EcdsaKeyPair;
use serde_json::{json, Map, Value};

use super::http::{self, Answer};
use super::{jwt, PushMessage, PushOutcome};
use crate::config::ApnsDef;

/// How long one provider token is used.
const JWT_REUSE: Duration = Duration::from_secs(50 * 60);
/// APNs refuses larger payloads (`PayloadTooLarge`); checked before sending.
pub(super) const MAX_PAYLOAD_BYTES: usize = 4096;

struct ProviderToken {
    value: String,
    made_at: Instant,
}

pub(super) struct Apns {
    client: reqwest::Client,
    url: String,
    key: EcdsaKeyPair,
    key_id: String,
    team_id: String,
    bundle_id: String,
    /// A std mutex: held only to read or replace the token, never across an await.
    jwt: Mutex<Option<ProviderToken>>,
}

impl Apns {
    pub fn new(def: &ApnsDef) -> Result<Apns, String> {
        let path = &def.key_file;
        let pem = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let key = jwt::ec_key(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Apns {
            client: http::client(true).map_err(|e| format!("[push.apns]: {e}"))?,
            url: def.url.clone(),
            key,
            key_id: def.key_id.clone(),
            team_id: def.team_id.clone(),
            bundle_id: def.bundle_id.clone(),
            jwt: Mutex::new(None),
        })
    }

    pub async fn send(&self, token: &str, message: &PushMessage) -> PushOutcome {
        let payload = payload(message).to_string();
        if payload.len() > MAX_PAYLOAD_BYTES {
            return PushOutcome::Failed(format!(
                "APNs: payload of {} bytes is over the {MAX_PAYLOAD_BYTES}-byte limit",
                payload.len()
            ));
        }
        let jwt = match self.provider_token() {
            Ok(jwt) => jwt,
            Err(e) => return PushOutcome::Failed(format!("APNs: {e}")),
        };
        // `token` is 64 hex digits (`provider_for`), safe in a path as is.
        let request = self
            .client
            .post(format!("{}/3/device/{token}", self.url))
            .header("authorization", format!("bearer {jwt}"))
            .header("apns-topic", &self.bundle_id)
            .header("apns-push-type", "alert")
            .header("apns-priority", "10")
            .header("content-type", "application/json")
            .body(payload);
        let answer = match request.send().await {
            Ok(response) => Answer::read(response).await,
            Err(e) => return http::transport_failure("APNs", &e),
        };
        let outcome = outcome(&answer);
        if matches!(
            reason_of(&answer).as_str(),
            "ExpiredProviderToken" | "InvalidProviderToken"
        ) {
            self.drop_provider_token(&jwt);
        }
        outcome
    }

    /// The shared provider token, made anew after [`JWT_REUSE`].
    fn provider_token(&self) -> Result<String, String> {
        let mut cached = self
            .jwt
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(token) = cached.as_ref() {
            if token.made_at.elapsed() < JWT_REUSE {
                return Ok(token.value.clone());
            }
        }
        let claims = json!({"iss": self.team_id, "iat": chrono::Utc::now().timestamp()});
        let value = jwt::es256(&self.key, &self.key_id, &claims)?;
        *cached = Some(ProviderToken {
            value: value.clone(),
            made_at: Instant::now(),
        });
        Ok(value)
    }

    /// Forgets `jwt` unless another send already replaced it.
    fn drop_provider_token(&self, jwt: &str) {
        let mut cached = self
            .jwt
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if cached.as_ref().is_some_and(|token| token.value == jwt) {
            *cached = None;
        }
    }
}

/// `{"aps": {...}, <data keys>}`: APNs hands the app every top-level key besides `aps`.
pub(super) fn payload(message: &PushMessage) -> Value {
    let mut payload = Map::new();
    payload.insert(
        "aps".into(),
        json!({
            "alert": {"title": message.title, "body": message.body},
            "sound": "default",
        }),
    );
    for (key, value) in message.data_strings() {
        if key != "aps" {
            payload.insert(key, value);
        }
    }
    Value::Object(payload)
}

/// APNs' `reason`, empty when the body has none.
fn reason_of(answer: &Answer) -> String {
    answer
        .json()
        .and_then(|json| {
            json.get("reason")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default()
}

/// The outcome an APNs answer stands for.
pub(super) fn outcome(answer: &Answer) -> PushOutcome {
    if answer.status == 200 {
        return PushOutcome::Sent;
    }
    let reason = format!("APNs: {}", answer.reason());
    match (answer.status, reason_of(answer).as_str()) {
        (410, _) | (400, "BadDeviceToken" | "Unregistered" | "DeviceTokenNotForTopic") => {
            PushOutcome::InvalidToken(reason)
        }
        (403, "ExpiredProviderToken" | "InvalidProviderToken") => PushOutcome::Retry(reason),
        _ if answer.is_transient() => PushOutcome::Retry(reason),
        _ => PushOutcome::Failed(reason),
    }
}
