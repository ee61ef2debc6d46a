//! The body of `PATCH /admin/v1/streaks/settings` (the `StreakSettings` keys, each
//! optional), applied onto the settings in force. Unknown keys and wrong JSON types are
//! refused when the body is read (400); what breaks a rule is the 422 the caller answers.
//! Metric keys are checked against the catalog by the caller.

use serde::Deserialize;

use crate::config::{EvaluationMode, FreezeDef, Frequency, StreakCondition, StreakDef, WeekStart};
use crate::domain::bulk::present;
use crate::error::echo;
use crate::model::streak_settings::{Field, NEEDS_A_KEY};
use crate::model::{Definition, FieldName, Problem};

/// A key left out (or sent as `null`, `freezes` aside) keeps its value; with no settings
/// stored yet it takes the default.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StreakSettingsPatch {
    /// Names are read here so that an unknown one is a 422 naming the choices.
    frequency: Option<String>,
    evaluation_mode: Option<String>,
    week_start: Option<String>,
    customization_enabled: Option<bool>,
    /// Repeated days are folded; any integer is read so that one out of range is a 422.
    days_off: Option<Vec<i64>>,
    /// Replaces the list.
    metrics: Option<Vec<MetricItem>>,
    /// Replaces the freezes; `null` removes them.
    #[serde(default, deserialize_with = "present")]
    freezes: Option<Option<FreezesItem>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricItem {
    key: Option<String>,
    /// Left out or `null`: 1.
    threshold: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FreezesItem {
    start_count: Option<u32>,
    max_count: Option<u32>,
    auto_earn_interval: Option<u32>,
    auto_earn_amount: Option<u32>,
}

impl StreakSettingsPatch {
    /// The settings this patch makes over `base` (none stored yet), or the message of the
    /// first thing wrong.
    pub fn apply(&self, base: Option<&StreakDef>) -> Result<StreakDef, String> {
        let kept = base.cloned().unwrap_or_default();
        let def = StreakDef {
            frequency: choice(
                &self.frequency,
                &Frequency::CHOICES,
                kept.frequency,
                "frequency must be daily, weekly or monthly",
            )?,
            evaluation_mode: choice(
                &self.evaluation_mode,
                &EvaluationMode::CHOICES,
                kept.evaluation_mode,
                "evaluationMode must be OR or AND",
            )?,
            week_start: choice(
                &self.week_start,
                &WeekStart::CHOICES,
                kept.week_start,
                "weekStart must be sunday or monday",
            )?,
            customization_enabled: self
                .customization_enabled
                .unwrap_or(kept.customization_enabled),
            days_off: match &self.days_off {
                None => kept.days_off,
                Some(days) => {
                    let mut folded = Vec::new();
                    for day in days.iter().map(|d| u8::try_from(*d).unwrap_or(u8::MAX)) {
                        if !folded.contains(&day) {
                            folded.push(day);
                        }
                    }
                    folded
                }
            },
            metrics: match &self.metrics {
                None => kept.metrics,
                Some(items) => items
                    .iter()
                    .map(|m| StreakCondition {
                        metric: m.key.clone().unwrap_or_default(),
                        threshold: m.threshold.unwrap_or(1.0),
                    })
                    .collect(),
            },
            freezes: match &self.freezes {
                None => kept.freezes,
                Some(None) => None,
                Some(Some(f)) => Some(FreezeDef {
                    start_count: f.start_count.unwrap_or(0),
                    max_count: f.max_count.ok_or("freezes.maxCount is required")?,
                    auto_earn_interval_days: f.auto_earn_interval,
                    auto_earn_amount: f.auto_earn_amount,
                }),
            },
        };
        match def.validate().first() {
            Some(problem) => Err(message(&def, problem)),
            None => Ok(def),
        }
    }
}

/// A named choice as sent, or the one kept.
fn choice<T: Copy>(
    sent: &Option<String>,
    choices: &[(&str, T)],
    kept: T,
    wrong: &str,
) -> Result<T, String> {
    match sent {
        None => Ok(kept),
        Some(name) => choices
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, chosen)| *chosen)
            .ok_or_else(|| wrong.to_owned()),
    }
}

/// A problem as the Admin API words it: metric items by their key.
fn message(def: &StreakDef, problem: &Problem<Field>) -> String {
    let key = |i: usize| echo(&def.metrics[i].metric).into_owned();
    let name = match problem.field {
        Field::Metric(_) if problem.rule == NEEDS_A_KEY => "each metric".to_owned(),
        Field::Metric(i) => format!("metric {}", key(i)),
        Field::Threshold(i) => format!("threshold of metric {}", key(i)),
        other => other.stored_name().to_owned(),
    };
    format!("{name} {}", problem.rule)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::domain::bulk::parse_item;

    fn apply(body: Value, base: Option<&StreakDef>) -> Result<StreakDef, String> {
        parse_item::<StreakSettingsPatch>(&body)?.apply(base)
    }

    fn base() -> StreakDef {
        apply(
            json!({"frequency": "weekly", "evaluationMode": "AND", "weekStart": "monday",
                   "metrics": [{"key": "lessons", "threshold": 2}], "daysOff": [0, 6],
                   "freezes": {"startCount": 1, "maxCount": 3, "autoEarnInterval": 7,
                               "autoEarnAmount": 1}}),
            None,
        )
        .expect("valid")
    }

    #[test]
    fn a_patch_keeps_what_it_does_not_send() {
        let b = base();
        assert_eq!(b.frequency, Frequency::Weekly);
        assert_eq!(b.freezes.as_ref().and_then(|f| f.auto_earn_amount), Some(1));
        let patched =
            apply(json!({"frequency": "daily", "weekStart": null}), Some(&b)).expect("patch");
        assert_eq!(
            (patched.frequency, patched.week_start, patched.metrics.len()),
            (Frequency::Daily, WeekStart::Monday, 1)
        );
        assert_eq!(patched.freezes, b.freezes);
        let no_freezes = apply(json!({"freezes": null}), Some(&b)).expect("patch");
        assert!(no_freezes.freezes.is_none());
        // Replaced whole: counts not sent take their defaults, not the base's.
        let freezes = apply(json!({"freezes": {"maxCount": 5}}), Some(&b)).expect("patch");
        assert_eq!(
            freezes.freezes,
            Some(FreezeDef {
                start_count: 0,
                max_count: 5,
                auto_earn_interval_days: None,
                auto_earn_amount: None
            })
        );
        let folded = apply(
            json!({"daysOff": [1, 1, 2], "evaluationMode": "ALL"}),
            Some(&b),
        )
        .expect("patch");
        assert_eq!(folded.days_off, [1, 2]);
        assert_eq!(folded.evaluation_mode, EvaluationMode::And);
        let threshold = apply(json!({"metrics": [{"key": "m"}]}), None).expect("patch");
        assert_eq!(threshold.metrics[0].threshold, 1.0);
    }

    #[test]
    fn rules_and_names_are_refused_with_the_admin_apis_words() {
        let m = json!([{"key": "a", "threshold": 1}]);
        for (body, message) in [
            (json!({}), "metrics must list at least one metric"),
            (
                json!({"metrics": m, "frequency": "hourly"}),
                "frequency must be daily, weekly or monthly",
            ),
            (
                json!({"metrics": m, "evaluationMode": "XOR"}),
                "evaluationMode must be OR or AND",
            ),
            (
                json!({"metrics": m, "daysOff": [7]}),
                "daysOff takes weekdays from 0 (Sunday) to 6 (Saturday)",
            ),
            (
                json!({"metrics": m, "daysOff": [-1]}),
                "daysOff takes weekdays from 0 (Sunday) to 6 (Saturday)",
            ),
            (
                json!({"metrics": [{"key": "a", "threshold": 0}]}),
                "threshold of metric a must be greater than 0",
            ),
            (
                json!({"metrics": [{"key": "a"}, {"key": "a"}]}),
                "metric a is listed twice",
            ),
            (
                json!({"metrics": [{"threshold": 2}]}),
                "each metric needs a key",
            ),
            (
                json!({"metrics": m, "freezes": {"startCount": 4, "maxCount": 3}}),
                "freezes.startCount must not exceed freezes.maxCount",
            ),
            (
                json!({"metrics": m, "freezes": {"maxCount": 101}}),
                "freezes.maxCount must be an integer from 0 to 100",
            ),
            (
                json!({"metrics": m, "freezes": {"startCount": 1}}),
                "freezes.maxCount is required",
            ),
            (
                json!({"metrics": m, "freezes": {"maxCount": 3, "autoEarnInterval": 7}}),
                "freezes.autoEarnInterval and freezes.autoEarnAmount go together",
            ),
        ] {
            assert_eq!(
                apply(body.clone(), None).as_ref().map_err(String::as_str),
                Err(message),
                "{body}"
            );
        }
    }

    #[test]
    fn unknown_keys_and_wrong_types_do_not_read() {
        let m = json!([{"key": "a", "threshold": 1}]);
        for body in [
            json!({"metrics": m, "frequncy": "daily"}),
            json!({"metrics": [{"key": "a", "treshold": 1}]}),
            json!({"metrics": m, "freezes": {"maxCount": 3, "max": 2}}),
            json!({"metrics": m, "customizationEnabled": "yes"}),
            json!({"metrics": m, "freezes": 3}),
            json!({"metrics": m, "freezes": {"maxCount": -1}}),
        ] {
            assert!(parse_item::<StreakSettingsPatch>(&body).is_err(), "{body}");
        }
        let err = parse_item::<StreakSettingsPatch>(&json!({"colour": 1})).expect_err("unknown");
        assert!(err.contains("unknown field `colour`"), "{err}");
    }
}
