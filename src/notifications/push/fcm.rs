//! Firebase Cloud Messaging, HTTP v1 API.
//!
//! FCM v1 takes a short-lived OAuth2 access token, not the service account key itself:
//! the key signs a JWT that Google's token endpoint trades for an access token valid about
//! an hour. Fetching one costs a round trip per send, so it is cached, shared by all
//! sends, and renewed a few minutes before it expires. The cache sits behind an async
//! mutex held across the fetch, so a burst of sends after expiry makes one token request,
//! not one each.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::header::AUTHORIZATION;
use ring::signature::RsaKeyPair;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::http::{self, Answer};
use super::{jwt, PushMessage, PushOutcome};
use crate::config::FcmDef;

const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The JWT's lifetime (Google accepts at most an hour).
const ASSERTION_SECONDS: i64 = 3600;
/// An access token is renewed this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);
/// Assumed when the token endpoint does not say (its tokens last an hour).
const DEFAULT_EXPIRES_IN: u64 = 3600;

#[derive(Deserialize)]
struct ServiceAccount {
    project_id: String,
    client_email: String,
    private_key: String,
    token_uri: Option<String>,
}

struct AccessToken {
    value: String,
    renew_at: Instant,
}

pub(super) struct Fcm {
    client: reqwest::Client,
    send_url: String,
    token_uri: String,
    client_email: String,
    key: RsaKeyPair,
    access_token: Mutex<Option<AccessToken>>,
}

impl Fcm {
    pub fn new(def: &FcmDef) -> Result<Fcm, String> {
        let path = &def.service_account_file;
        let account = read_service_account(path)?;
        let key = jwt::rsa_key(&account.private_key)
            .map_err(|e| format!("{}: private_key: {e}", path.display()))?;
        Ok(Fcm {
            client: http::client(false).map_err(|e| format!("[push.fcm]: {e}"))?,
            send_url: format!(
                "{}/v1/projects/{}/messages:send",
                def.url, account.project_id
            ),
            token_uri: account
                .token_uri
                .filter(|uri| !uri.is_empty())
                .unwrap_or_else(|| DEFAULT_TOKEN_URI.to_string()),
            client_email: account.client_email,
            key,
            access_token: Mutex::new(None),
        })
    }

    pub async fn send(&self, token: &str, message: &PushMessage) -> PushOutcome {
        let access_token = match self.access_token().await {
            Ok(access_token) => access_token,
            Err(outcome) => return outcome,
        };
        let body = json!({"message": {
            "token": token,
            "notification": {"title": message.title, "body": message.body},
            "data": message.data_strings(),
        }});
        let request = self
            .client
            .post(&self.send_url)
            .header(AUTHORIZATION, format!("Bearer {access_token}"))
            .json(&body);
        let answer = match request.send().await {
            Ok(response) => Answer::read(response).await,
            Err(e) => return http::transport_failure("FCM", &e),
        };
        let outcome = outcome(&answer);
        if answer.status == 401 {
            // Revoked or expired early: the next send fetches a new one.
            *self.access_token.lock().await = None;
        }
        outcome
    }

    /// The cached access token, or a new one. `Err` is the outcome to report (always
    /// `Retry`: the key was good enough to start with, so a refusal is most likely clock
    /// skew, a revoked key being replaced, or Google being down).
    async fn access_token(&self) -> Result<String, PushOutcome> {
        let mut cached = self.access_token.lock().await;
        if let Some(token) = cached.as_ref() {
            if Instant::now() < token.renew_at {
                return Ok(token.value.clone());
            }
        }
        let fresh = self
            .fetch_access_token()
            .await
            .map_err(|e| PushOutcome::Retry(format!("FCM: cannot get an access token: {e}")))?;
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    async fn fetch_access_token(&self) -> Result<AccessToken, String> {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + ASSERTION_SECONDS,
        });
        let assertion = jwt::rs256(&self.key, &claims)?;
        let started = Instant::now();
        let response = self
            .client
            .post(&self.token_uri)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(|e| http::transport_reason("token endpoint", &e))?;
        let answer = Answer::read(response).await;
        if answer.status != 200 {
            return Err(answer.reason());
        }
        let json = answer
            .json()
            .ok_or_else(|| format!("not JSON: {}", answer.reason()))?;
        let value = json
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| format!("no access_token in {}", answer.reason()))?;
        let expires_in = json
            .get("expires_in")
            .and_then(Value::as_u64)
            .unwrap_or(DEFAULT_EXPIRES_IN);
        let lifetime = Duration::from_secs(expires_in).saturating_sub(RENEW_BEFORE);
        Ok(AccessToken {
            value: value.to_string(),
            // From when it was asked for: the answer's trip only makes it older.
            renew_at: started + lifetime,
        })
    }
}

fn read_service_account(path: &Path) -> Result<ServiceAccount, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a Google service account JSON file: {e}",
            path.display()
        )
    })
}

/// The outcome an answer to `messages:send` stands for.
pub(super) fn outcome(answer: &Answer) -> PushOutcome {
    if (200..300).contains(&answer.status) {
        return PushOutcome::Sent;
    }
    let reason = format!("FCM: {}", answer.reason());
    let error = answer
        .json()
        .and_then(|json| json.get("error").cloned())
        .unwrap_or(Value::Null);
    let status = error.get("status").and_then(Value::as_str).unwrap_or("");
    // The FCM-specific code is in `details[].errorCode`, the google.rpc one in `status`.
    let codes: Vec<&str> = error
        .get("details")
        .and_then(Value::as_array)
        .map(|details| {
            details
                .iter()
                .filter_map(|detail| detail.get("errorCode").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let has = |code: &str| status == code || codes.contains(&code);
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_ascii_lowercase();
    let unregistered = answer.status == 404 || has("UNREGISTERED");
    // A malformed token is INVALID_ARGUMENT too, told from other bad fields by the message.
    let malformed = answer.status == 400 && has("INVALID_ARGUMENT") && message.contains("token");
    if unregistered || malformed {
        PushOutcome::InvalidToken(reason)
    } else if answer.status == 401 || answer.is_transient() {
        PushOutcome::Retry(reason)
    } else {
        PushOutcome::Failed(reason)
    }
}
