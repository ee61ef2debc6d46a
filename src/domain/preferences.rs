//! Notification preferences (`/users/{id}/preferences`). Only the types a user has set are
//! stored and returned; a missing type means "use your own default"
//! (docs/behaviour/users-and-events.md#preferences).

use serde_json::{json, Map, Value};

use super::field::Field;
use crate::error::{echo, ApiError};

/// The most metrics a user's own streak conditions may list.
pub const MAX_STREAK_METRICS: usize = 50;

pub const NOTIFICATION_TYPES: [&str; 4] = [
    "achievement_completed",
    "recap",
    "reactivation",
    "streak_reminder",
];
pub const CHANNELS: [&str; 2] = ["email", "push"];

/// A validated PATCH: for each type sent, its new channel list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PreferencesPatch {
    pub notifications: Vec<(String, Vec<String>)>,
    /// `streak.enabled` (post-1.8).
    pub streak_enabled: Option<bool>,
    /// `streak.evaluationMode`: "AND" or "OR" ("ALL" is read as "AND"); null clears it.
    pub streak_mode: Field<&'static str>,
    /// `streak.metrics` as `(key, threshold)`; null clears them.
    pub streak_metrics: Field<Vec<(String, f64)>>,
}

impl PreferencesPatch {
    pub fn parse(body: &Value) -> Result<PreferencesPatch, ApiError> {
        let object = body
            .as_object()
            .ok_or_else(|| ApiError::unprocessable("body must be a JSON object"))?;
        let mut patch = PreferencesPatch::default();
        match object.get("notifications") {
            None | Some(Value::Null) => {}
            Some(Value::Object(types)) => {
                for (kind, channels) in types {
                    if !NOTIFICATION_TYPES.contains(&kind.as_str()) {
                        return Err(ApiError::unprocessable(format!(
                            "Unknown notification type: {}",
                            echo(kind)
                        )));
                    }
                    let list = channels.as_array().ok_or_else(|| {
                        ApiError::unprocessable(format!(
                            "notifications.{} must be an array",
                            echo(kind)
                        ))
                    })?;
                    let mut parsed: Vec<String> = Vec::new();
                    for channel in list {
                        let name = channel.as_str().ok_or_else(|| {
                            ApiError::unprocessable(format!(
                                "notifications.{} must hold strings",
                                echo(kind)
                            ))
                        })?;
                        if !CHANNELS.contains(&name) {
                            return Err(ApiError::unprocessable(format!(
                                "Unknown notification channel: {}",
                                echo(name)
                            )));
                        }
                        if !parsed.iter().any(|c| c == name) {
                            parsed.push(name.to_owned());
                        }
                    }
                    patch.notifications.push((kind.clone(), parsed));
                }
            }
            Some(_) => return Err(ApiError::unprocessable("notifications must be an object")),
        }
        match object.get("streak") {
            None | Some(Value::Null) => {}
            Some(Value::Object(streak)) => {
                patch.streak_mode = match streak.get("evaluationMode") {
                    None => Field::Absent,
                    Some(Value::Null) => Field::Null,
                    Some(v) => Field::Value(match v.as_str() {
                        Some("AND" | "ALL") => "AND",
                        Some("OR") => "OR",
                        _ => {
                            return Err(ApiError::unprocessable(
                                "streak.evaluationMode must be OR or AND",
                            ))
                        }
                    }),
                };
                patch.streak_metrics = match streak.get("metrics") {
                    None => Field::Absent,
                    Some(Value::Null) => Field::Null,
                    Some(v) => Field::Value(parse_streak_metrics(v)?),
                };
                match streak.get("enabled") {
                    None | Some(Value::Null) => {}
                    Some(Value::Bool(b)) => patch.streak_enabled = Some(*b),
                    Some(_) => {
                        return Err(ApiError::unprocessable("streak.enabled must be a boolean"))
                    }
                }
            }
            Some(_) => return Err(ApiError::unprocessable("streak must be an object")),
        }
        Ok(patch)
    }

    /// Whether the patch sets the user's own streak conditions (needs customization on).
    pub fn customizes_streak(&self) -> bool {
        !(self.streak_mode.is_absent() && self.streak_metrics.is_absent())
    }

    /// Applies the patch to the stored preferences document.
    pub fn apply(&self, stored: &mut Value) {
        if !stored.is_object() {
            *stored = Value::Object(Map::new());
        }
        let Some(doc) = stored.as_object_mut() else {
            return;
        };
        let notifications = doc
            .entry("notifications")
            .or_insert_with(|| Value::Object(Map::new()));
        if !notifications.is_object() {
            *notifications = Value::Object(Map::new());
        }
        if let Some(types) = notifications.as_object_mut() {
            for (kind, channels) in &self.notifications {
                types.insert(kind.clone(), Value::from(channels.clone()));
            }
        }
        if self.streak_enabled.is_none() && !self.customizes_streak() {
            return;
        }
        let streak = doc
            .entry("streak")
            .or_insert_with(|| Value::Object(Map::new()));
        if !streak.is_object() {
            *streak = Value::Object(Map::new());
        }
        let Some(streak) = streak.as_object_mut() else {
            return;
        };
        if let Some(enabled) = self.streak_enabled {
            streak.insert("enabled".into(), json!(enabled));
        }
        self.streak_mode
            .apply_to_key(streak, "evaluationMode", |mode| json!(mode));
        self.streak_metrics.apply_to_key(streak, "metrics", |list| {
            list.iter()
                .map(|(key, threshold)| json!({ "key": key, "threshold": threshold }))
                .collect()
        });
    }
}

/// `[{key, threshold}]`: 1 to `MAX_STREAK_METRICS` distinct keys, thresholds finite and
/// greater than 0 (the metric keys are checked against the catalog by the writer).
fn parse_streak_metrics(v: &Value) -> Result<Vec<(String, f64)>, ApiError> {
    let list = v
        .as_array()
        .ok_or_else(|| ApiError::unprocessable("streak.metrics must be an array"))?;
    if list.is_empty() || list.len() > MAX_STREAK_METRICS {
        return Err(ApiError::unprocessable(format!(
            "streak.metrics must list 1 to {MAX_STREAK_METRICS} metrics"
        )));
    }
    let mut out: Vec<(String, f64)> = Vec::with_capacity(list.len());
    for item in list {
        let key = item
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(|| ApiError::unprocessable("each of streak.metrics needs a string key"))?;
        let threshold = item
            .get("threshold")
            .and_then(Value::as_f64)
            .filter(|t| t.is_finite() && *t > 0.0)
            .ok_or_else(|| {
                ApiError::unprocessable(
                    "each streak.metrics threshold must be a number greater than 0",
                )
            })?;
        if out.iter().any(|(k, _)| k == key) {
            return Err(ApiError::unprocessable(
                "streak.metrics lists a metric twice",
            ));
        }
        out.push((key.to_owned(), threshold));
    }
    Ok(out)
}

/// Whether the stored preferences let `notification_type` reach the user by `channel`: a
/// type the user never set allows every channel (docs/behaviour/users-and-events.md#preferences).
pub fn allows(stored: &Value, notification_type: &str, channel: &str) -> bool {
    match stored["notifications"].get(notification_type) {
        Some(Value::Array(channels)) => channels.iter().any(|c| c == channel),
        _ => true,
    }
}

/// Whether the user turned their streak off (`streak.enabled: false`), which silences its
/// reminders like its webhooks.
pub fn streak_disabled(stored: &Value) -> bool {
    stored["streak"]["enabled"] == Value::Bool(false)
}

/// The stored preferences with `channel` taken off `notification_type` (an unsubscribe
/// link): the type keeps its other channels, every one when it was never set.
pub fn without_channel(stored: &Value, notification_type: &str, channel: &str) -> Value {
    let mut doc = match stored {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    let remaining: Vec<Value> = CHANNELS
        .iter()
        .filter(|c| **c != channel && allows(stored, notification_type, c))
        .map(|c| json!(c))
        .collect();
    let notifications = doc
        .entry("notifications")
        .or_insert_with(|| Value::Object(Map::new()));
    if !notifications.is_object() {
        *notifications = Value::Object(Map::new());
    }
    if let Some(types) = notifications.as_object_mut() {
        types.insert(notification_type.to_owned(), Value::Array(remaining));
    }
    Value::Object(doc)
}

/// The response body: `notifications` always present, `streak` when the user set it.
pub fn to_response(stored: &Value) -> Value {
    let mut out = Map::new();
    out.insert(
        "notifications".into(),
        stored
            .get("notifications")
            .filter(|v| v.is_object())
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new())),
    );
    if let Some(streak) = stored.get("streak").filter(|v| v.is_object()) {
        out.insert("streak".into(), streak.clone());
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patch_replaces_sent_types_and_keeps_others() {
        let mut stored = json!({"notifications": {"recap": ["email"], "reactivation": ["push"]}});
        let patch =
            PreferencesPatch::parse(&json!({"notifications": {"recap": []}})).expect("parse");
        patch.apply(&mut stored);
        assert_eq!(
            to_response(&stored),
            json!({"notifications": {"recap": [], "reactivation": ["push"]}})
        );
    }

    #[test]
    fn unknown_type_or_channel_or_a_wrong_type_is_422() {
        assert!(matches!(
            PreferencesPatch::parse(&json!({"notifications": {"sms_blast": []}})),
            Err(ApiError::Unprocessable(_))
        ));
        assert!(matches!(
            PreferencesPatch::parse(&json!({"notifications": {"recap": ["sms"]}})),
            Err(ApiError::Unprocessable(_))
        ));
        // A wrong JSON type too: the spec of PATCH /users/{id}/preferences lists no 400.
        assert!(matches!(
            PreferencesPatch::parse(&json!({"notifications": {"recap": "email"}})),
            Err(ApiError::Unprocessable(_))
        ));
    }

    #[test]
    fn a_new_user_has_no_preferences_set() {
        assert_eq!(to_response(&json!({})), json!({"notifications": {}}));
    }

    #[test]
    fn channels_default_to_allowed_and_unsubscribing_keeps_the_others() {
        let none = json!({});
        assert!(allows(&none, "recap", "email") && allows(&none, "recap", "push"));
        let stored = json!({"notifications": {"recap": ["push"]}, "streak": {"enabled": false}});
        assert!(!allows(&stored, "recap", "email"));
        assert!(allows(&stored, "reactivation", "email"));
        assert!(streak_disabled(&stored) && !streak_disabled(&none));
        let off = without_channel(&none, "streak_reminder", "email");
        assert_eq!(off["notifications"]["streak_reminder"], json!(["push"]));
        let off = without_channel(&stored, "recap", "push");
        assert_eq!(off["notifications"]["recap"], json!([]));
        assert_eq!(off["streak"]["enabled"], json!(false));
    }
}
