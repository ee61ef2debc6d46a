//! `GET /dashboard/api/channels`: what the server sends through, as trophy.toml configures
//! it for the whole server: email (the SMTP server without its credentials, the sender, the
//! message types on), the push providers, and the webhook endpoints with the event types
//! each takes. No secret, token or key file content is shown.

use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

use super::dashboard_activity::no_store;
use crate::config::{Config, EmailsConfig};
use crate::error::ApiError;
use crate::notifications::email::shown_server;
use crate::state::AppState;

pub(super) async fn channels(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let config = &state.settings.config;
    Ok(no_store(json!({
        "email": email(&config.emails),
        "push": push(config),
        "webhooks": config.webhooks.iter().map(|w| json!({
            "url": w.url,
            "events": w.events,
            "timeoutSeconds": w.timeout_seconds,
            "retryForHours": w.retry_for_hours,
            "maxConcurrency": w.max_concurrency,
        })).collect::<Vec<_>>(),
    })))
}

/// The lifecycle messages on, each with when it goes out.
fn messages(emails: &EmailsConfig) -> Vec<Value> {
    let mut out = Vec::new();
    if emails.achievement.is_some() {
        out.push(json!({ "type": "achievement", "when": "an achievement is completed" }));
    }
    if let Some(r) = &emails.streak_reminder {
        out.push(json!({
            "type": "streak_reminder",
            "when": format!("at {}:00 local time on the last day of a streak period at risk", r.local_hour),
        }));
    }
    if let Some(r) = &emails.recap {
        out.push(json!({
            "type": "recap",
            "when": format!("{} at {}:00 local time", format!("{:?}", r.frequency).to_lowercase(), r.local_hour),
        }));
    }
    if let Some(r) = &emails.reactivation {
        let days: Vec<String> = r.after_days.iter().map(u32::to_string).collect();
        out.push(json!({
            "type": "reactivation",
            "when": format!("after {} days without activity", days.join(", ")),
        }));
    }
    out
}

fn email(emails: &EmailsConfig) -> Value {
    let smtp = emails.smtp.as_ref().map(|s| {
        let (server, credentials) = shown_server(&s.url).unwrap_or_else(|e| (e, false));
        json!({
            "server": server,
            "credentials": credentials,
            "from": s.from,
            "ratePerSecond": s.rate_per_second,
        })
    });
    json!({
        "smtp": smtp,
        "publicUrl": emails.public_url,
        "messages": messages(emails),
    })
}

fn push(config: &Config) -> Vec<Value> {
    let p = &config.push;
    [
        ("expo", p.expo.as_ref().map(|e| e.url.clone())),
        ("fcm", p.fcm.as_ref().map(|f| f.url.clone())),
        ("apns", p.apns.as_ref().map(|a| a.url.clone())),
    ]
    .into_iter()
    .map(|(provider, url)| json!({ "provider": provider, "configured": url.is_some(), "url": url }))
    .collect()
}
