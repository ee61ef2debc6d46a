//! Notification preferences (`/users/{id}/preferences`). Only the types a user has set are
//! stored and returned; a missing type means "use your own default" (behaviour.md §3.5).

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
        match &self.streak_mode {
            Field::Absent => {}
            Field::Null => {
                streak.remove("evaluationMode");
            }
            Field::Value(mode) => {
                streak.insert("evaluationMode".into(), json!(mode));
            }
        }
        match &self.streak_metrics {
            Field::Absent => {}
            Field::Null => {
                streak.remove("metrics");
            }
            Field::Value(list) => {
                let items: Vec<Value> = list
                    .iter()
                    .map(|(key, threshold)| json!({ "key": key, "threshold": threshold }))
                    .collect();
                streak.insert("metrics".into(), Value::Array(items));
            }
        }
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
}
