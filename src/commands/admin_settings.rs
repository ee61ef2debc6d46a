//! `GET/PATCH /admin/v1/settings` (shapes from the Python SDK's `AdminSettings`): branding,
//! experimentation and the recap aggregation period, stored as one JSON document in `meta`.
//! The control ratio set here places new users in the control group.

use serde_json::{json, Map, Value};

use crate::error::{echo, ApiError};
use crate::store::admin_settings;
use crate::writer::{Command, WriteCtx};

const FONTS: &[&str] = &[
    "MODERN_SANS",
    "BOOK_SANS",
    "ORGANIC_SANS",
    "GEOMETRIC_SANS",
    "HEAVY_SANS",
    "ROUNDED_SANS",
    "MODERN_SERIF",
    "BOOK_SERIF",
    "MONOSPACE",
];

fn valid_color(c: &str) -> bool {
    let hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
    if let Some(h) = c.strip_prefix('#') {
        return (h.len() == 3 || h.len() == 6) && hex(h);
    }
    let inner = |prefix: &str, parts: usize| {
        c.strip_prefix(prefix)
            .and_then(|r| r.strip_suffix(')'))
            .map(|r| r.split(',').map(str::trim).collect::<Vec<_>>())
            .filter(|p| p.len() == parts)
            .is_some_and(|p| {
                p.iter().take(3).all(|v| v.parse::<u8>().is_ok())
                    && p.get(3)
                        .is_none_or(|a| a.parse::<f64>().is_ok_and(|a| (0.0..=1.0).contains(&a)))
            })
    };
    inner("rgb(", 3) || inner("rgba(", 4)
}

/// `patch` merged over `current`, or why it is refused (400 for wrong types, 422 for bad values).
pub fn merge(current: &Value, patch: &Value) -> Result<Value, ApiError> {
    let mut out = current.as_object().cloned().unwrap_or_default();
    let patch = patch
        .as_object()
        .ok_or_else(|| ApiError::bad_request("body must be a JSON object"))?;
    if let Some(b) = patch.get("branding") {
        let b = b
            .as_object()
            .ok_or_else(|| ApiError::bad_request("branding must be an object"))?;
        let mut target = section(&out, "branding");
        for (field, value) in b {
            match field.as_str() {
                "appName" | "appUrl" => {
                    let s = value.as_str().ok_or_else(|| {
                        ApiError::bad_request(format!("{field} must be a string"))
                    })?;
                    target.insert(field.clone(), json!(s));
                }
                "brandColor" => {
                    let s = value
                        .as_str()
                        .ok_or_else(|| ApiError::bad_request("brandColor must be a string"))?;
                    if !valid_color(s) {
                        return Err(ApiError::unprocessable(
                            "brandColor must be #RGB, #RRGGBB, rgb(r,g,b) or rgba(r,g,b,a)",
                        ));
                    }
                    target.insert(field.clone(), json!(s));
                }
                "font" => {
                    let s = value
                        .as_str()
                        .ok_or_else(|| ApiError::bad_request("font must be a string"))?;
                    if !FONTS.contains(&s) {
                        return Err(ApiError::unprocessable(format!(
                            "unknown font \"{}\"",
                            echo(s)
                        )));
                    }
                    target.insert(field.clone(), json!(s));
                }
                "logo" | "appIcon" => {
                    let image = match value {
                        Value::Null => Value::Null,
                        Value::Object(o) => match o.get("url").and_then(Value::as_str) {
                            Some(url) if !url.is_empty() => json!({ "url": url }),
                            _ => {
                                return Err(ApiError::bad_request(format!(
                                    "{field}.url must be a non-empty string"
                                )))
                            }
                        },
                        _ => {
                            return Err(ApiError::bad_request(format!(
                                "{field} must be an object or null"
                            )))
                        }
                    };
                    target.insert(field.clone(), image);
                }
                _ => {}
            }
        }
        out.insert("branding".into(), Value::Object(target));
    }
    if let Some(e) = patch.get("experimentation") {
        let e = e
            .as_object()
            .ok_or_else(|| ApiError::bad_request("experimentation must be an object"))?;
        let mut target = section(&out, "experimentation");
        for (field, range) in [("controlRatio", 0..=100), ("userActivationWindow", 1..=365)] {
            if let Some(v) = e.get(field) {
                let n = v
                    .as_i64()
                    .ok_or_else(|| ApiError::bad_request(format!("{field} must be an integer")))?;
                if !range.contains(&n) {
                    return Err(ApiError::unprocessable(format!(
                        "{field} must be between {} and {}",
                        range.start(),
                        range.end()
                    )));
                }
                target.insert(field.into(), json!(n));
            }
        }
        out.insert("experimentation".into(), Value::Object(target));
    }
    if let Some(p) = patch.get("aggregationPeriod") {
        match p.as_str() {
            Some(p @ ("weekly" | "monthly")) => {
                out.insert("aggregationPeriod".into(), json!(p));
            }
            Some(_) => {
                return Err(ApiError::unprocessable(
                    "aggregationPeriod must be \"weekly\" or \"monthly\"",
                ))
            }
            None => return Err(ApiError::bad_request("aggregationPeriod must be a string")),
        }
    }
    Ok(Value::Object(out))
}

/// A copy of one section of the settings, to change and put back.
fn section(settings: &Map<String, Value>, name: &str) -> Map<String, Value> {
    settings
        .get(name)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

pub struct UpdateSettings(pub Value);

impl Command for UpdateSettings {
    type Output = Value;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Value, ApiError> {
        let current = admin_settings::load(ctx.conn, &ctx.env.settings.config)?;
        let merged = merge(&current, &self.0)?;
        admin_settings::save(ctx.conn, &merged)?;
        Ok(merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Value {
        admin_settings::defaults(&crate::config::parse("").expect("empty config"))
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let merged = merge(
            &base(),
            &json!({"branding": {"brandColor": "#abc", "logo": {"url": "https://x/l.png"}},
                    "experimentation": {"controlRatio": 20}, "aggregationPeriod": "monthly"}),
        )
        .expect("valid");
        assert_eq!(merged["branding"]["brandColor"], "#abc");
        assert_eq!(merged["branding"]["logo"]["url"], "https://x/l.png");
        assert_eq!(merged["branding"]["font"], "MODERN_SANS");
        assert_eq!(merged["experimentation"]["controlRatio"], 20);
        assert_eq!(merged["experimentation"]["userActivationWindow"], 7);
        assert_eq!(merged["aggregationPeriod"], "monthly");
    }

    #[test]
    fn bad_values_are_refused_with_the_right_status() {
        for (patch, unprocessable) in [
            (json!({"experimentation": {"controlRatio": 101}}), true),
            (json!({"experimentation": {"controlRatio": "x"}}), false),
            (json!({"branding": {"brandColor": "red"}}), true),
            (json!({"branding": {"font": "COMIC"}}), true),
            (json!({"aggregationPeriod": "daily"}), true),
            (json!({"branding": 3}), false),
            (json!([1]), false),
        ] {
            let err = merge(&base(), &patch).expect_err("refused");
            assert_eq!(
                matches!(err, ApiError::Unprocessable(_)),
                unprocessable,
                "{patch}"
            );
        }
    }

    #[test]
    fn colours_in_every_documented_form() {
        for ok in ["#fff", "#A0B1C2", "rgb(1, 2, 3)", "rgba(255,0,0,0.5)"] {
            assert!(valid_color(ok), "{ok}");
        }
        for bad in ["#ffff", "rgb(1,2)", "rgba(1,2,3,2)", "rgb(300,0,0)", "blue"] {
            assert!(!valid_color(bad), "{bad}");
        }
    }
}
