//! The Admin API's settings document (`GET/PATCH /admin/v1/settings`: branding,
//! experimentation, the recap period), one JSON value in `meta`. Read by the settings
//! routes, by new users' control-group draw and by the notification worker's branding.

use rusqlite::{Connection, OptionalExtension};
use serde_json::{json, Value};

use crate::config::Config;

const META_KEY: &str = "admin_settings";

/// The settings before any PATCH: the file's control ratio, neutral branding.
pub fn defaults(config: &Config) -> Value {
    json!({
        "branding": {
            "appName": "",
            "appUrl": "",
            "brandColor": "#000000",
            "font": "MODERN_SANS",
            "logo": null,
            "appIcon": null,
        },
        "experimentation": {
            "controlRatio": (config.server.control_ratio * 100.0).round() as i64,
            "userActivationWindow": 7,
        },
        "aggregationPeriod": "weekly",
    })
}

/// The settings in force: the stored document, or the defaults before any PATCH. A stored
/// document that does not parse is an error, not the defaults in its place.
pub fn load(conn: &Connection, config: &Config) -> rusqlite::Result<Value> {
    let stored: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [META_KEY], |r| {
            r.get(0)
        })
        .optional()?;
    match stored {
        Some(text) => super::stored_json(&text, "the Admin API settings (meta admin_settings)"),
        None => Ok(defaults(config)),
    }
}

/// The share (0..=1) of new users to place in the control group.
pub fn control_ratio(conn: &Connection, config: &Config) -> rusqlite::Result<f64> {
    let settings = load(conn, config)?;
    Ok(settings["experimentation"]["controlRatio"]
        .as_f64()
        .map_or(config.server.control_ratio, |percent| percent / 100.0))
}

/// Replaces the stored document.
pub fn save(conn: &Connection, settings: &Value) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        rusqlite::params![META_KEY, settings.to_string()],
    )?;
    Ok(())
}
