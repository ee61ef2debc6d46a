//! The short text of a push notification, from the payload the message was decided with.
//! (Emails have full templates: `email::Templates`.)

use serde_json::{json, Value};

use super::Kind;

pub struct PushText {
    pub title: String,
    pub body: String,
}

/// Title and body for `kind`; `app` is the branding's app name, may be empty.
pub fn push_text(kind: Kind, payload: &Value, app: &str) -> PushText {
    let name = payload["user"]["name"].as_str().filter(|n| !n.is_empty());
    let hello = name.map_or_else(String::new, |n| format!("{n}, "));
    let app = if app.is_empty() { "us" } else { app };
    match kind {
        Kind::Achievement => {
            let achievement = payload["achievement"]["name"]
                .as_str()
                .unwrap_or("an achievement");
            PushText {
                title: "Achievement unlocked".into(),
                body: format!("{hello}you earned {achievement}!"),
            }
        }
        Kind::StreakReminder => {
            let length = payload["streak"]["length"].as_u64().unwrap_or(0);
            let unit = match payload["streak"]["frequency"].as_str() {
                Some("weekly") => "week",
                Some("monthly") => "month",
                _ => "day",
            };
            PushText {
                title: format!("Your {length}-{unit} streak ends soon"),
                body: format!("{hello}keep it going: one more today saves it."),
            }
        }
        Kind::Recap => {
            let recap = &payload["recap"];
            let start = recap["periodStart"].as_str().unwrap_or("");
            let end = recap["periodEnd"].as_str().unwrap_or("");
            let period = if start == end {
                start.to_owned()
            } else {
                format!("{start} to {end}")
            };
            PushText {
                title: "Your recap is ready".into(),
                body: format!("{hello}see what you achieved, {period}."),
            }
        }
        Kind::Reactivation => {
            let days = payload["reactivation"]["daysSinceLastActive"]
                .as_i64()
                .unwrap_or(0);
            PushText {
                title: "We miss you".into(),
                body: format!("{hello}it has been {days} days. Come back to {app}!"),
            }
        }
    }
}

/// The data every push carries, for the app to route the tap.
pub fn push_data(kind: Kind, id: &str) -> Value {
    json!({ "type": kind.as_str(), "notificationId": id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_name_the_user_and_the_subject() {
        let payload = json!({"user": {"name": "Ada"}, "achievement": {"name": "First lesson"}});
        let t = push_text(Kind::Achievement, &payload, "Acme");
        assert_eq!(t.body, "Ada, you earned First lesson!");
        let payload =
            json!({"user": {"name": null}, "streak": {"length": 3, "frequency": "weekly"}});
        let t = push_text(Kind::StreakReminder, &payload, "");
        assert_eq!(t.title, "Your 3-week streak ends soon");
        assert!(t.body.starts_with("keep it going"));
        let payload = json!({"user": {}, "reactivation": {"daysSinceLastActive": 7}});
        assert!(push_text(Kind::Reactivation, &payload, "")
            .body
            .contains("7 days"));
    }
}
