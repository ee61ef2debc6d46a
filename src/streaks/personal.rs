//! Per-user streak conditions (docs/behaviour/streaks.md#personal-conditions,
//! 1.21.1 `StreakPreferences`): with
//! `customizationEnabled` in the streak settings, a user's preferences may replace the
//! evaluation mode and the metrics with their thresholds. Only the conditions a period is
//! met by change; frequency, days off and freezes stay the organisation's.
//!
//! A change applies from the next event on: periods already met stay met, and sums of a
//! metric the user had not tracked before start from the change.

use serde_json::Value;

use crate::config::{EvaluationMode, StreakCondition, StreakDef};

/// `def` with the user's own conditions, or None when they have none or customization is
/// off (then their stored conditions are kept but not used).
pub fn conditions(def: &StreakDef, preferences: &Value) -> Option<StreakDef> {
    if !def.customization_enabled {
        return None;
    }
    let streak = preferences.get("streak")?;
    let mode = streak.get("evaluationMode").and_then(Value::as_str);
    let metrics = streak.get("metrics").and_then(Value::as_array);
    if mode.is_none() && metrics.is_none() {
        return None;
    }
    let mut personal = def.clone();
    match mode {
        Some("AND") => personal.evaluation_mode = EvaluationMode::And,
        Some("OR") => personal.evaluation_mode = EvaluationMode::Or,
        _ => {}
    }
    if let Some(list) = metrics {
        personal.metrics = list
            .iter()
            .filter_map(|m| {
                Some(StreakCondition {
                    metric: m.get("key")?.as_str()?.to_owned(),
                    threshold: m.get("threshold")?.as_f64()?,
                })
            })
            .collect();
    }
    Some(personal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Frequency, WeekStart};
    use serde_json::json;

    fn def(customization_enabled: bool) -> StreakDef {
        StreakDef {
            frequency: Frequency::Daily,
            evaluation_mode: EvaluationMode::Or,
            week_start: WeekStart::Sunday,
            metrics: vec![StreakCondition {
                metric: "lessons".into(),
                threshold: 1.0,
            }],
            days_off: vec![],
            freezes: None,
            customization_enabled,
        }
    }

    #[test]
    fn the_users_mode_and_metrics_replace_the_organisations() {
        let prefs = json!({"streak": {"evaluationMode": "AND",
            "metrics": [{"key": "minutes", "threshold": 20}, {"key": "lessons", "threshold": 2}]}});
        let p = conditions(&def(true), &prefs).expect("personal");
        assert_eq!(p.evaluation_mode, EvaluationMode::And);
        assert_eq!(
            p.metrics,
            vec![
                StreakCondition {
                    metric: "minutes".into(),
                    threshold: 20.0
                },
                StreakCondition {
                    metric: "lessons".into(),
                    threshold: 2.0
                },
            ]
        );
        let only_mode = conditions(&def(true), &json!({"streak": {"evaluationMode": "AND"}}))
            .expect("personal");
        assert_eq!(only_mode.metrics, def(true).metrics);
    }

    #[test]
    fn nothing_personal_without_customization_or_conditions() {
        let prefs = json!({"streak": {"evaluationMode": "AND"}});
        assert!(conditions(&def(false), &prefs).is_none());
        assert!(conditions(&def(true), &json!({"streak": {"enabled": true}})).is_none());
        assert!(conditions(&def(true), &json!({})).is_none());
    }
}
