//! The streak configuration in force: `[streaks]` from trophy.toml when the file declares it
//! (then the Admin API may only read it), otherwise what `PATCH /admin/v1/streaks/settings`
//! stored in the database: the [`StreakDef`] model's body in the `meta` row
//! `streak_settings`, which is also the Admin API's `StreakSettings`.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

use crate::config::StreakDef;
use crate::error::ApiError;
use crate::model::Definition;
use crate::rules::periods::PeriodKind;
use crate::rules::streak::Mode;
pub use crate::settings::StreakSettings;

/// `meta` key of the settings stored through the Admin API.
const SETTINGS_KEY: &str = "streak_settings";
/// `meta` key of the fingerprint of the settings the stored streak state was computed with.
const FINGERPRINT_KEY: &str = "streak_fingerprint";
const FREEZE_FINGERPRINT_KEY: &str = "streak_freeze_fingerprint";

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

/// The settings stored through the Admin API, if any. A body that does not read back (or
/// breaks a rule) is an error naming it, never the defaults in its place.
pub fn stored(conn: &Connection) -> Result<Option<StreakDef>, ApiError> {
    let text: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([SETTINGS_KEY], |r| r.get(0))
        .optional()?;
    let Some(text) = text else { return Ok(None) };
    let damaged = |why: String| ApiError::internal(format!("meta row {SETTINGS_KEY}: {why}"));
    match serde_json::from_str(&text).map_err(|e| damaged(e.to_string()))? {
        Value::Null => Ok(None),
        Value::Object(body) => StreakDef::from_body(&body).map(Some).map_err(damaged),
        _ => Err(damaged("not a JSON object".into())),
    }
}

pub fn store(conn: &Connection, def: &StreakDef) -> Result<(), ApiError> {
    set_meta(conn, SETTINGS_KEY, &view(Some(def)).to_string())
}

/// The Admin API's `StreakSettings` (plus `weekStart`, our extension): the model's body.
/// With no streak configured it shows the defaults with no metrics.
pub fn view(def: Option<&StreakDef>) -> Value {
    Value::Object(match def {
        Some(def) => def.body(),
        None => StreakDef::default().body(),
    })
}

/// A string that changes whenever a change of settings changes which periods are met, so
/// the stored streaks must be recomputed from the events. Freezes are apart
/// (`freeze_fingerprint`): changing them reschedules grants but rewrites no history.
/// Stored, so its text must not change: a database would recompute every streak at start.
pub fn fingerprint(def: Option<&StreakDef>) -> String {
    match def {
        Some(d) => json!({
            "frequency": d.frequency.name(),
            "weekStart": d.week_start.name(),
            "evaluationMode": d.evaluation_mode.name(),
            "daysOff": d.days_off,
            "metrics": d.metrics.iter().map(|m| json!([m.metric, m.threshold])).collect::<Vec<_>>(),
        })
        .to_string(),
        None => "none".to_owned(),
    }
}

/// The freeze settings, for rescheduling auto-earn when they change.
pub fn freeze_fingerprint(def: Option<&StreakDef>) -> String {
    view(def)["freezes"].to_string()
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

/// The periods of `def`, daily with no streak configured.
pub fn period_kind(def: Option<&StreakDef>) -> PeriodKind {
    def.map_or(PeriodKind::Daily, StreakDef::period_kind)
}

pub fn frequency_name(def: Option<&StreakDef>) -> &'static str {
    def.map_or(Default::default(), |d| d.frequency).name()
}

pub fn mode(def: &StreakDef) -> Mode {
    def.mode()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Frequency;

    fn def() -> StreakDef {
        crate::model::streak_settings::sample()
    }

    #[test]
    fn fingerprints_keep_their_stored_text() {
        assert_eq!(
            fingerprint(Some(&def())),
            r#"{"daysOff":[0,6],"evaluationMode":"AND","frequency":"weekly","metrics":[["lessons",2.0]],"weekStart":"monday"}"#
        );
        assert_eq!(
            freeze_fingerprint(Some(&def())),
            r#"{"autoEarnAmount":1,"autoEarnInterval":7,"maxCount":3,"startCount":1}"#
        );
        assert_eq!(freeze_fingerprint(None), "null");
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

    #[test]
    fn stored_settings_read_back_and_damage_is_named() {
        let conn = Connection::open_in_memory().expect("db");
        conn.execute_batch("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            .expect("table");
        assert_eq!(stored(&conn).expect("none"), None);
        store(&conn, &def()).expect("store");
        assert_eq!(stored(&conn).expect("read"), Some(def()));
        set_meta(&conn, SETTINGS_KEY, r#"{"metrics": []}"#).expect("set");
        let err = stored(&conn).expect_err("no metrics");
        assert!(format!("{err:?}").contains("streak_settings"), "{err:?}");
    }
}
