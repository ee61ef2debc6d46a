//! The streak configuration in force: `[streaks]` from trophy.toml when the file declares it
//! (then the Admin API may only read it), otherwise what `PATCH /admin/v1/streaks/settings`
//! stored in the database: the [`StreakDef`] model's body in the one shared `definitions`
//! row of kind `streak_settings` (`store::definitions::streak_settings`), which is also the
//! Admin API's `StreakSettings`. The fingerprints the stored streak state was computed with
//! are engine state, not a definition: they stay in `meta`.

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{json, Value};

use crate::config::StreakDef;
use crate::error::ApiError;
use crate::model::Definition;
use crate::rules::periods::PeriodKind;
use crate::rules::streak::Mode;
pub use crate::settings::StreakSettings;
use crate::store::definitions;

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
/// breaks a rule) is an error naming its row, never the defaults in its place.
pub fn stored(conn: &Connection) -> Result<Option<StreakDef>, ApiError> {
    let Some(row) = definitions::streak_settings(conn)? else {
        return Ok(None);
    };
    let def = StreakDef::from_body(&row.body).map_err(|e| row.unreadable(e))?;
    Ok(Some(def))
}

/// Stores `def` as the settings of the Admin API: the model's body, as `view` shows it.
pub fn store(conn: &Connection, def: &StreakDef, now_ms: i64) -> Result<(), ApiError> {
    definitions::store_streak_settings(conn, &def.body(), now_ms)?;
    Ok(())
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

    /// A database from before migration 0019 (the settings in the `meta` row
    /// `streak_settings`, as `store` wrote them) reads back the same settings, whose
    /// fingerprints are those stored: nothing is recomputed at start.
    #[test]
    fn settings_stored_in_meta_before_0019_read_back_with_their_fingerprints() {
        let mut conn = crate::db::in_memory_before("0019_streak_settings_definition");
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('streak_settings', ?1)",
            [view(Some(&def())).to_string()],
        )
        .expect("settings");
        store_fingerprints(&conn, Some(&def())).expect("fingerprints");
        crate::db::migrate(&mut conn).expect("migrate");
        assert_eq!(stored(&conn).expect("read"), Some(def()));
        assert_eq!(
            stored_fingerprints(&conn).expect("fingerprints"),
            (
                Some(fingerprint(Some(&def()))),
                Some(freeze_fingerprint(Some(&def())))
            )
        );
    }

    #[test]
    fn stored_settings_read_back_and_damage_is_named() {
        let conn = crate::db::migrated_in_memory();
        assert_eq!(stored(&conn).expect("none"), None);
        store(&conn, &def(), 1).expect("store");
        assert_eq!(stored(&conn).expect("read"), Some(def()));
        let row = definitions::streak_settings(&conn)
            .expect("read")
            .expect("row");
        assert_eq!(Value::Object(row.body), view(Some(&def())));
        let no_metrics = definitions::parse_body(r#"{"metrics": []}"#).expect("object");
        definitions::store_streak_settings(&conn, &no_metrics, 2).expect("set");
        let err = stored(&conn).expect_err("no metrics").to_string();
        assert!(
            err.contains(&format!(
                "definition row {} (streak_settings \"streak\")",
                row.id
            )),
            "{err}"
        );
        assert!(err.contains("metrics"), "{err}");
    }
}
