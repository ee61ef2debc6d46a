//! Expo's push service: Expo forwards to APNs/FCM with the app's own credentials, so
//! trophyd needs at most an access token, and the answer is a *push ticket* per message.
//!
//! Only the ticket is read. A later delivery *receipt* can still say `DeviceNotRegistered`
//! for a token Expo accepted; tracking receipts needs state across sends and belongs to
//! the caller, if anywhere. A `200` whose ticket cannot be read is retried: it is
//! ambiguous, and a rare duplicate beats a silently lost notification.

use reqwest::header::{ACCEPT, AUTHORIZATION};
use serde_json::{json, Value};

use super::http::{self, Answer};
use super::{PushMessage, PushOutcome};
use crate::config::ExpoDef;

pub(super) struct Expo {
    client: reqwest::Client,
    url: String,
    access_token: Option<String>,
}

impl Expo {
    pub fn new(def: &ExpoDef) -> Result<Expo, String> {
        Ok(Expo {
            client: http::client(false).map_err(|e| format!("[push.expo]: {e}"))?,
            url: def.url.clone(),
            access_token: def.access_token.clone(),
        })
    }

    pub async fn send(&self, token: &str, message: &PushMessage) -> PushOutcome {
        let body = json!([{
            "to": token,
            "title": message.title,
            "body": message.body,
            "data": message.data_strings(),
            "sound": "default",
        }]);
        let mut request = self
            .client
            .post(&self.url)
            .header(ACCEPT, "application/json")
            .json(&body);
        if let Some(access_token) = &self.access_token {
            request = request.header(AUTHORIZATION, format!("Bearer {access_token}"));
        }
        match request.send().await {
            Ok(response) => outcome(&Answer::read(response).await),
            Err(e) => http::transport_failure("Expo", &e),
        }
    }
}

/// The outcome an answer from Expo stands for.
pub(super) fn outcome(answer: &Answer) -> PushOutcome {
    if answer.is_transient() {
        return PushOutcome::Retry(format!("Expo: {}", answer.reason()));
    }
    if !(200..300).contains(&answer.status) {
        return PushOutcome::Failed(format!("Expo: {}", answer.reason()));
    }
    // One message sent as an array: one ticket back, in an array (an object if sent alone).
    let ticket = answer.json().and_then(|json| match json.get("data") {
        Some(Value::Array(tickets)) => tickets.first().cloned(),
        Some(ticket @ Value::Object(_)) => Some(ticket.clone()),
        _ => None,
    });
    let Some(ticket) = ticket else {
        return PushOutcome::Retry(format!("Expo: no push ticket in {}", answer.reason()));
    };
    match ticket.get("status").and_then(Value::as_str) {
        Some("ok") => PushOutcome::Sent,
        Some("error") => {
            let error = ticket
                .pointer("/details/error")
                .and_then(Value::as_str)
                .unwrap_or("");
            let text = ticket.get("message").and_then(Value::as_str).unwrap_or("");
            let reason: String = format!("Expo: {error} {text}")
                .trim()
                .chars()
                .take(200)
                .collect();
            match error {
                "DeviceNotRegistered" => PushOutcome::InvalidToken(reason),
                "MessageRateExceeded" => PushOutcome::Retry(reason),
                // MessageTooBig, InvalidCredentials, MismatchSenderId, unknown codes.
                _ => PushOutcome::Failed(reason),
            }
        }
        _ => PushOutcome::Retry(format!(
            "Expo: unreadable push ticket in {}",
            answer.reason()
        )),
    }
}
