//! Notification preferences (`/users/{id}/preferences`). Only the types a user has set are
//! stored and returned; a missing type means "use your own default" (behaviour.md §3.5).

use serde_json::{Map, Value};

use crate::error::{echo, ApiError};

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
    /// `streak.enabled` (post-1.8); personalised conditions are refused (403).
    pub streak_enabled: Option<bool>,
}

impl PreferencesPatch {
    pub fn parse(body: &Value) -> Result<PreferencesPatch, ApiError> {
        let object = body
            .as_object()
            .ok_or_else(|| ApiError::bad_request("body must be a JSON object"))?;
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
                        ApiError::bad_request(format!(
                            "notifications.{} must be an array",
                            echo(kind)
                        ))
                    })?;
                    let mut parsed: Vec<String> = Vec::new();
                    for channel in list {
                        let name = channel.as_str().ok_or_else(|| {
                            ApiError::bad_request(format!(
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
            Some(_) => return Err(ApiError::bad_request("notifications must be an object")),
        }
        match object.get("streak") {
            None | Some(Value::Null) => {}
            Some(Value::Object(streak)) => {
                if streak.contains_key("evaluationMode") || streak.contains_key("metrics") {
                    return Err(ApiError::Forbidden(
                        "Streak customization is not enabled for this organisation".into(),
                    ));
                }
                match streak.get("enabled") {
                    None | Some(Value::Null) => {}
                    Some(Value::Bool(b)) => patch.streak_enabled = Some(*b),
                    Some(_) => {
                        return Err(ApiError::bad_request("streak.enabled must be a boolean"))
                    }
                }
            }
            Some(_) => return Err(ApiError::bad_request("streak must be an object")),
        }
        Ok(patch)
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
        if let Some(enabled) = self.streak_enabled {
            doc.insert("streak".into(), serde_json::json!({ "enabled": enabled }));
        }
    }
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
    fn unknown_type_or_channel_is_422() {
        assert!(matches!(
            PreferencesPatch::parse(&json!({"notifications": {"sms_blast": []}})),
            Err(ApiError::Unprocessable(_))
        ));
        assert!(matches!(
            PreferencesPatch::parse(&json!({"notifications": {"recap": ["sms"]}})),
            Err(ApiError::Unprocessable(_))
        ));
        assert!(matches!(
            PreferencesPatch::parse(&json!({"notifications": {"recap": "email"}})),
            Err(ApiError::BadRequest(_))
        ));
    }

    #[test]
    fn a_new_user_has_no_preferences_set() {
        assert_eq!(to_response(&json!({})), json!({"notifications": {}}));
    }
}
