//! The streak configuration in force: `[streaks]` from trophy.toml when the file declares it
//! (then the Admin API may only read it), otherwise what `PATCH /admin/v1/streaks/settings`
//! stored in the database. Also the `StreakSettings` JSON shape of the Admin API.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Map, Value};

use crate::config::{EvaluationMode, FreezeDef, Frequency, StreakCondition, StreakDef, WeekStart};
use crate::domain::number::json_number;
use crate::error::{echo, ApiError};
use crate::rules::periods::{self, PeriodKind};
use crate::rules::streak::Mode;
pub use crate::settings::StreakSettings;

/// `meta` key of the settings stored through the Admin API.
const SETTINGS_KEY: &str = "streak_settings";
/// `meta` key of the fingerprint of the settings the stored streak state was computed with.
const FINGERPRINT_KEY: &str = "streak_fingerprint";
const FREEZE_FINGERPRINT_KEY: &str = "streak_freeze_fingerprint";
/// Documented limit on freezes a user can hold.
const MAX_FREEZES: u32 = 100;

/// Settles what is in force at start: the file's `[streaks]` (as the config now says),
/// or else the settings stored in the database.
pub(crate) fn load(
    settings: &StreakSettings,
    conn: &Connection,
    file: Option<&StreakDef>,
) -> Result<(), ApiError> {
    settings.set_file_managed(file.is_some());
    match file {
        Some(def) => settings.replace(Some(def.clone())),
        None => settings.replace(stored(conn)?),
    }
    Ok(())
}

/// The settings stored through the Admin API, if any.
pub fn stored(conn: &Connection) -> Result<Option<StreakDef>, ApiError> {
    let text: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([SETTINGS_KEY], |r| r.get(0))
        .optional()?;
    let Some(text) = text else { return Ok(None) };
    let value: Value = serde_json::from_str(&text).map_err(ApiError::internal)?;
    if value.is_null() {
        return Ok(None);
    }
    from_json(&value, None)
        .map(Some)
        .map_err(ApiError::internal)
}

pub fn store(conn: &Connection, def: &StreakDef) -> Result<(), ApiError> {
    set_meta(conn, SETTINGS_KEY, &to_json(Some(def)).to_string())
}

/// A string that changes whenever a change of settings changes which periods are met, so
/// the stored streaks must be recomputed from the events. Freezes are apart
/// (`freeze_fingerprint`): changing them reschedules grants but rewrites no history.
pub fn fingerprint(def: Option<&StreakDef>) -> String {
    match def {
        Some(d) => json!({
            "frequency": frequency_name(Some(d)),
            "weekStart": week_start_name(d.week_start),
            "evaluationMode": mode_name(d.evaluation_mode),
            "daysOff": d.days_off,
            "metrics": d.metrics.iter().map(|m| json!([m.metric, m.threshold])).collect::<Vec<_>>(),
        })
        .to_string(),
        None => "none".to_owned(),
    }
}

/// The freeze settings, for rescheduling auto-earn when they change.
pub fn freeze_fingerprint(def: Option<&StreakDef>) -> String {
    to_json(def)["freezes"].to_string()
}

/// The fingerprints (`fingerprint`, `freeze_fingerprint`) the stored state was computed with.
pub fn stored_fingerprints(
    conn: &Connection,
) -> Result<(Option<String>, Option<String>), ApiError> {
    let mut stmt = conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?;
    let rules = stmt.query_row([FINGERPRINT_KEY], |r| r.get(0)).optional()?;
    let freezes = stmt
        .query_row([FREEZE_FINGERPRINT_KEY], |r| r.get(0))
        .optional()?;
    Ok((rules, freezes))
}

pub fn store_fingerprints(conn: &Connection, def: Option<&StreakDef>) -> Result<(), ApiError> {
    set_meta(conn, FINGERPRINT_KEY, &fingerprint(def))?;
    set_meta(conn, FREEZE_FINGERPRINT_KEY, &freeze_fingerprint(def))
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), ApiError> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}

pub fn period_kind(def: Option<&StreakDef>) -> PeriodKind {
    match def.map(|s| (s.frequency, s.week_start)) {
        Some((Frequency::Weekly, WeekStart::Monday)) => {
            PeriodKind::Weekly(periods::WeekStart::Monday)
        }
        Some((Frequency::Weekly, WeekStart::Sunday)) => {
            PeriodKind::Weekly(periods::WeekStart::Sunday)
        }
        Some((Frequency::Monthly, _)) => PeriodKind::Monthly,
        Some((Frequency::Daily, _)) | None => PeriodKind::Daily,
    }
}

pub fn frequency_name(def: Option<&StreakDef>) -> &'static str {
    match def.map(|s| s.frequency) {
        Some(Frequency::Weekly) => "weekly",
        Some(Frequency::Monthly) => "monthly",
        Some(Frequency::Daily) | None => "daily",
    }
}

pub fn mode(def: &StreakDef) -> Mode {
    match def.evaluation_mode {
        EvaluationMode::Or => Mode::Or,
        EvaluationMode::And => Mode::And,
    }
}

fn mode_name(mode: EvaluationMode) -> &'static str {
    match mode {
        EvaluationMode::Or => "OR",
        EvaluationMode::And => "AND",
    }
}

fn week_start_name(w: WeekStart) -> &'static str {
    match w {
        WeekStart::Sunday => "sunday",
        WeekStart::Monday => "monday",
    }
}

/// The Admin API's `StreakSettings` (plus `weekStart`, our extension). With no streak
/// configured it shows the defaults with no metrics.
pub fn to_json(def: Option<&StreakDef>) -> Value {
    let Some(d) = def else {
        return json!({
            "frequency": "daily",
            "evaluationMode": "OR",
            "customizationEnabled": false,
            "daysOff": [],
            "metrics": [],
            "weekStart": "sunday",
            "freezes": null,
        });
    };
    let freezes = d.freezes.as_ref().map(|f| {
        let mut m = Map::new();
        m.insert("startCount".into(), json!(f.start_count));
        m.insert("maxCount".into(), json!(f.max_count));
        if let (Some(interval), Some(amount)) = (f.auto_earn_interval_days, f.auto_earn_amount) {
            m.insert("autoEarnInterval".into(), json!(interval));
            m.insert("autoEarnAmount".into(), json!(amount));
        }
        Value::Object(m)
    });
    json!({
        "frequency": frequency_name(Some(d)),
        "evaluationMode": mode_name(d.evaluation_mode),
        "customizationEnabled": d.customization_enabled,
        "daysOff": d.days_off,
        "metrics": d.metrics.iter()
            .map(|m| json!({ "key": m.metric, "threshold": json_number(m.threshold) }))
            .collect::<Vec<_>>(),
        "weekStart": week_start_name(d.week_start),
        "freezes": freezes,
    })
}

/// Reads a `StreakSettings` body. Fields left out keep their value in `base` (a PATCH);
/// with no base, they take the file format's defaults. `metrics` must end up non-empty.
/// The error is the message of a 422.
pub fn from_json(body: &Value, base: Option<&StreakDef>) -> Result<StreakDef, String> {
    let obj = body
        .as_object()
        .ok_or_else(|| "the body must be a JSON object".to_owned())?;
    let present = |k: &str| obj.get(k).filter(|v| !v.is_null());
    let frequency = match present("frequency") {
        None => base.map_or(Frequency::Daily, |b| b.frequency),
        Some(v) => match v.as_str() {
            Some("daily") => Frequency::Daily,
            Some("weekly") => Frequency::Weekly,
            Some("monthly") => Frequency::Monthly,
            _ => return Err("frequency must be daily, weekly or monthly".into()),
        },
    };
    let evaluation_mode = match present("evaluationMode") {
        None => base.map_or(EvaluationMode::Or, |b| b.evaluation_mode),
        Some(v) => match v.as_str() {
            Some("OR") => EvaluationMode::Or,
            Some("AND") | Some("ALL") => EvaluationMode::And,
            _ => return Err("evaluationMode must be OR or AND".into()),
        },
    };
    let week_start = match present("weekStart") {
        None => base.map_or(WeekStart::Sunday, |b| b.week_start),
        Some(v) => match v.as_str() {
            Some("sunday") => WeekStart::Sunday,
            Some("monday") => WeekStart::Monday,
            _ => return Err("weekStart must be sunday or monday".into()),
        },
    };
    let customization_enabled = match present("customizationEnabled") {
        None => base.is_some_and(|b| b.customization_enabled),
        Some(v) => v
            .as_bool()
            .ok_or_else(|| "customizationEnabled must be a boolean".to_owned())?,
    };
    let days_off = match present("daysOff") {
        None => base.map(|b| b.days_off.clone()).unwrap_or_default(),
        Some(v) => parse_days_off(v)?,
    };
    let metrics = match present("metrics") {
        None => base.map(|b| b.metrics.clone()).unwrap_or_default(),
        Some(v) => parse_metrics(v)?,
    };
    if metrics.is_empty() {
        return Err("metrics must list at least one metric".into());
    }
    let freezes = match obj.get("freezes") {
        None => base.and_then(|b| b.freezes.clone()),
        Some(Value::Null) => None,
        Some(v) => Some(parse_freezes(v)?),
    };
    Ok(StreakDef {
        frequency,
        evaluation_mode,
        week_start,
        metrics,
        days_off,
        freezes,
        customization_enabled,
    })
}

fn parse_days_off(v: &Value) -> Result<Vec<u8>, String> {
    let list = v
        .as_array()
        .ok_or_else(|| "daysOff must be an array of weekdays".to_owned())?;
    let mut days = Vec::new();
    for d in list {
        let day = d
            .as_u64()
            .and_then(|d| u8::try_from(d).ok())
            .filter(|d| *d <= 6)
            .ok_or_else(|| "daysOff takes weekdays from 0 (Sunday) to 6 (Saturday)".to_owned())?;
        if !days.contains(&day) {
            days.push(day);
        }
    }
    Ok(days)
}

fn parse_metrics(v: &Value) -> Result<Vec<StreakCondition>, String> {
    let list = v
        .as_array()
        .ok_or_else(|| "metrics must be an array of {key, threshold}".to_owned())?;
    let mut out: Vec<StreakCondition> = Vec::new();
    for item in list {
        let key = item
            .get("key")
            .and_then(Value::as_str)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| "each metric needs a key".to_owned())?;
        let threshold = match item.get("threshold") {
            None | Some(Value::Null) => 1.0,
            Some(t) => t
                .as_f64()
                .filter(|t| t.is_finite() && *t > 0.0)
                .ok_or_else(|| {
                    format!("threshold of metric {} must be greater than 0", echo(key))
                })?,
        };
        if out.iter().any(|m| m.metric == key) {
            return Err(format!("metric {} is listed twice", echo(key)));
        }
        out.push(StreakCondition {
            metric: key.to_owned(),
            threshold,
        });
    }
    Ok(out)
}

fn parse_freezes(v: &Value) -> Result<FreezeDef, String> {
    let count = |k: &str, min: u64, max: u64| -> Result<Option<u32>, String> {
        match v.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(x) => x
                .as_u64()
                .filter(|n| (min..=max).contains(n))
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| format!("freezes.{k} must be an integer from {min} to {max}")),
        }
    };
    if !v.is_object() {
        return Err("freezes must be an object or null".into());
    }
    let max_count = count("maxCount", 0, u64::from(MAX_FREEZES))?
        .ok_or_else(|| "freezes.maxCount is required".to_owned())?;
    let start_count = count("startCount", 0, u64::from(MAX_FREEZES))?.unwrap_or(0);
    if start_count > max_count {
        return Err("freezes.startCount must not exceed freezes.maxCount".into());
    }
    let interval = count("autoEarnInterval", 1, u64::from(u32::MAX))?;
    let amount = count("autoEarnAmount", 1, u64::from(MAX_FREEZES))?;
    if interval.is_some() != amount.is_some() {
        return Err("freezes.autoEarnInterval and freezes.autoEarnAmount go together".into());
    }
    Ok(FreezeDef {
        start_count,
        max_count,
        auto_earn_interval_days: interval,
        auto_earn_amount: amount,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def() -> StreakDef {
        StreakDef {
            frequency: Frequency::Weekly,
            evaluation_mode: EvaluationMode::And,
            week_start: WeekStart::Monday,
            metrics: vec![StreakCondition {
                metric: "lessons".into(),
                threshold: 2.0,
            }],
            days_off: vec![0, 6],
            freezes: Some(FreezeDef {
                start_count: 1,
                max_count: 3,
                auto_earn_interval_days: Some(7),
                auto_earn_amount: Some(1),
            }),
            customization_enabled: false,
        }
    }

    #[test]
    fn settings_round_trip_through_json() {
        let d = def();
        let json = to_json(Some(&d));
        assert_eq!(json["metrics"], json!([{"key": "lessons", "threshold": 2}]));
        assert_eq!(json["freezes"]["autoEarnInterval"], 7);
        let back = from_json(&json, None).expect("parse");
        assert_eq!(fingerprint(Some(&back)), fingerprint(Some(&d)));
        assert_eq!(to_json(Some(&back)), json);
    }

    #[test]
    fn a_patch_keeps_what_it_does_not_send() {
        let d = def();
        let patched = from_json(&json!({"frequency": "daily"}), Some(&d)).expect("patch");
        assert_eq!(patched.frequency, Frequency::Daily);
        assert_eq!(patched.metrics.len(), 1);
        assert!(patched.freezes.is_some());
        let no_freezes = from_json(&json!({"freezes": null}), Some(&d)).expect("patch");
        assert!(no_freezes.freezes.is_none());
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(from_json(&json!({}), None).is_err(), "no metrics");
        let m = json!([{"key": "a", "threshold": 1}]);
        for bad in [
            json!({"metrics": m, "frequency": "hourly"}),
            json!({"metrics": m, "daysOff": [7]}),
            json!({"metrics": [{"key": "a", "threshold": 0}]}),
            json!({"metrics": [{"key": "a"}, {"key": "a"}]}),
            json!({"metrics": m, "freezes": {"startCount": 4, "maxCount": 3}}),
            json!({"metrics": m, "freezes": {"maxCount": 101}}),
            json!({"metrics": m, "freezes": {"maxCount": 3, "autoEarnInterval": 7}}),
            json!({"metrics": m, "customizationEnabled": "yes"}),
        ] {
            assert!(from_json(&bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn fingerprint_ignores_freeze_counts() {
        let a = def();
        let mut b = def();
        b.freezes = None;
        assert_eq!(fingerprint(Some(&a)), fingerprint(Some(&b)));
        assert_ne!(freeze_fingerprint(Some(&a)), freeze_fingerprint(Some(&b)));
        b.frequency = Frequency::Daily;
        assert_ne!(fingerprint(Some(&a)), fingerprint(Some(&b)));
        assert_eq!(fingerprint(None), "none");
    }
}
