//! The streak settings: the one streak every user has, and its freezes
//! (docs/behaviour/streaks.md#configuration). One shape for `[streaks]`, the stored body
//! (the shared `definitions` row of kind `streak_settings`), the settings holder and the
//! Admin API's `StreakSettings` (`GET /admin/v1/streaks/settings` shows the body; PATCH is
//! a patch, `streaks/patch.rs`, applied onto it). Metric references are by key; that they
//! exist is checked where they are named, against the catalog.

use serde::{Deserialize, Serialize};

use super::{Definition, FieldName, Problem};
use crate::rules::periods::{self, PeriodKind};
use crate::rules::streak::Mode;

/// Documented limit on freezes a user can hold.
pub const MAX_FREEZES: u32 = 100;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Frequency {
    #[default]
    Daily,
    Weekly,
    Monthly,
}

impl Frequency {
    pub const CHOICES: [(&'static str, Frequency); 3] = [
        ("daily", Frequency::Daily),
        ("weekly", Frequency::Weekly),
        ("monthly", Frequency::Monthly),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Frequency::Daily => "daily",
            Frequency::Weekly => "weekly",
            Frequency::Monthly => "monthly",
        }
    }
}

/// How the conditions combine. Trophy's own docs at 1.8 call `AND` "ALL"; it is read as a
/// synonym and written `AND`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum EvaluationMode {
    #[default]
    #[serde(rename = "OR")]
    Or,
    #[serde(rename = "AND", alias = "ALL")]
    And,
}

impl EvaluationMode {
    pub const CHOICES: [(&'static str, EvaluationMode); 3] = [
        ("OR", EvaluationMode::Or),
        ("AND", EvaluationMode::And),
        ("ALL", EvaluationMode::And),
    ];

    pub fn name(self) -> &'static str {
        match self {
            EvaluationMode::Or => "OR",
            EvaluationMode::And => "AND",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeekStart {
    #[default]
    Sunday,
    Monday,
}

impl WeekStart {
    pub const CHOICES: [(&'static str, WeekStart); 2] =
        [("sunday", WeekStart::Sunday), ("monday", WeekStart::Monday)];

    pub fn name(self) -> &'static str {
        match self {
            WeekStart::Sunday => "sunday",
            WeekStart::Monday => "monday",
        }
    }
}

/// A metric whose total within one period must reach `threshold`; stored `{key, threshold}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreakCondition {
    #[serde(rename = "key")]
    pub metric: String,
    /// 1 is the common "did anything" case.
    #[serde(default = "one", serialize_with = "crate::domain::number::serialize")]
    pub threshold: f64,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreezeDef {
    #[serde(default)]
    pub start_count: u32,
    pub max_count: u32,
    /// Both `Some` or both `None`; left out of the body when `None`.
    #[serde(
        default,
        rename = "autoEarnInterval",
        skip_serializing_if = "Option::is_none"
    )]
    pub auto_earn_interval_days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_earn_amount: Option<u32>,
}

/// The settings. `Default` is what the Admin API shows with no streak configured: daily,
/// `OR`, no metrics, no freezes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreakDef {
    #[serde(default)]
    pub frequency: Frequency,
    #[serde(default)]
    pub evaluation_mode: EvaluationMode,
    /// Our extension: the first day of a weekly period.
    #[serde(default)]
    pub week_start: WeekStart,
    #[serde(default)]
    pub metrics: Vec<StreakCondition>,
    /// Weekdays from 0 (Sunday) to 6 (Saturday) that a daily streak skips.
    #[serde(default)]
    pub days_off: Vec<u8>,
    #[serde(default)]
    pub freezes: Option<FreezeDef>,
    /// Whether users may set their own conditions in their preferences.
    #[serde(default)]
    pub customization_enabled: bool,
}

impl StreakDef {
    /// The periods the streak is counted in.
    pub fn period_kind(&self) -> PeriodKind {
        match (self.frequency, self.week_start) {
            (Frequency::Daily, _) => PeriodKind::Daily,
            (Frequency::Weekly, WeekStart::Sunday) => {
                PeriodKind::Weekly(periods::WeekStart::Sunday)
            }
            (Frequency::Weekly, WeekStart::Monday) => {
                PeriodKind::Weekly(periods::WeekStart::Monday)
            }
            (Frequency::Monthly, _) => PeriodKind::Monthly,
        }
    }

    pub fn mode(&self) -> Mode {
        match self.evaluation_mode {
            EvaluationMode::Or => Mode::Or,
            EvaluationMode::And => Mode::And,
        }
    }
}

/// Where a [`Problem`] of the settings is; the index is the item's in its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The list as a whole.
    Metrics,
    /// An item's metric key.
    Metric(usize),
    Threshold(usize),
    DayOff(usize),
    StartCount,
    MaxCount,
    AutoEarnInterval,
    AutoEarnAmount,
}

impl FieldName for Field {
    fn stored_name(self) -> &'static str {
        match self {
            Field::Metrics | Field::Metric(_) | Field::Threshold(_) => "metrics",
            Field::DayOff(_) => "daysOff",
            Field::StartCount => "freezes.startCount",
            Field::MaxCount => "freezes.maxCount",
            Field::AutoEarnInterval => "freezes.autoEarnInterval",
            Field::AutoEarnAmount => "freezes.autoEarnAmount",
        }
    }
}

/// `Field::Metric`'s rule for a repeated key, and `Field::DayOff`'s for a repeated day.
pub const LISTED_TWICE: &str = "is listed twice";
/// `Field::Metric`'s rule for an empty key.
pub const NEEDS_A_KEY: &str = "needs a key";

impl Definition for StreakDef {
    type Field = Field;

    /// In the order the Admin API has always reported them: days off, then each metric,
    /// then the list, then the freezes.
    fn validate(&self) -> Vec<Problem<Field>> {
        let mut problems = Vec::new();
        for (i, day) in self.days_off.iter().enumerate() {
            if *day > 6 {
                problems.push(Problem::new(
                    Field::DayOff(i),
                    "takes weekdays from 0 (Sunday) to 6 (Saturday)",
                ));
            } else if self.days_off[..i].contains(day) {
                problems.push(Problem::new(Field::DayOff(i), LISTED_TWICE));
            }
        }
        for (i, condition) in self.metrics.iter().enumerate() {
            if condition.metric.is_empty() {
                problems.push(Problem::new(Field::Metric(i), NEEDS_A_KEY));
            }
            if !(condition.threshold.is_finite() && condition.threshold > 0.0) {
                problems.push(Problem::new(Field::Threshold(i), "must be greater than 0"));
            }
            if !condition.metric.is_empty()
                && self.metrics[..i]
                    .iter()
                    .any(|earlier| earlier.metric == condition.metric)
            {
                problems.push(Problem::new(Field::Metric(i), LISTED_TWICE));
            }
        }
        // A streak nothing can extend is certainly a mistake; "no streak" is said by
        // declaring none.
        if self.metrics.is_empty() {
            problems.push(Problem::new(
                Field::Metrics,
                "must list at least one metric",
            ));
        }
        if let Some(freezes) = &self.freezes {
            problems.extend(freezes.problems());
        }
        problems
    }
}

impl FreezeDef {
    fn problems(&self) -> Vec<Problem<Field>> {
        let mut problems = Vec::new();
        if self.max_count > MAX_FREEZES {
            problems.push(Problem::new(
                Field::MaxCount,
                "must be an integer from 0 to 100",
            ));
        }
        if self.start_count > MAX_FREEZES {
            problems.push(Problem::new(
                Field::StartCount,
                "must be an integer from 0 to 100",
            ));
        } else if self.start_count > self.max_count {
            problems.push(Problem::new(
                Field::StartCount,
                "must not exceed freezes.maxCount",
            ));
        }
        if self.auto_earn_interval_days == Some(0) {
            problems.push(Problem::new(
                Field::AutoEarnInterval,
                "must be an integer from 1 to 4294967295",
            ));
        }
        if self
            .auto_earn_amount
            .is_some_and(|amount| !(1..=MAX_FREEZES).contains(&amount))
        {
            problems.push(Problem::new(
                Field::AutoEarnAmount,
                "must be an integer from 1 to 100",
            ));
        }
        if self.auto_earn_interval_days.is_some() != self.auto_earn_amount.is_some() {
            problems.push(Problem::new(
                Field::AutoEarnInterval,
                "and freezes.autoEarnAmount go together",
            ));
        }
        problems
    }
}

/// Weekly, AND, two days off and freezes: the fixture the tests share.
#[cfg(test)]
pub(crate) fn sample() -> StreakDef {
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

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn def() -> StreakDef {
        sample()
    }

    fn first_problem(d: &StreakDef) -> Option<String> {
        d.clone().checked(FieldName::stored_name).err()
    }

    #[test]
    fn the_body_is_the_admin_apis_shape_and_reads_back() {
        let body = Value::Object(def().body());
        assert_eq!(
            body.to_string(),
            r#"{"customizationEnabled":false,"daysOff":[0,6],"evaluationMode":"AND","freezes":{"autoEarnAmount":1,"autoEarnInterval":7,"maxCount":3,"startCount":1},"frequency":"weekly","metrics":[{"key":"lessons","threshold":2}],"weekStart":"monday"}"#
        );
        assert_eq!(StreakDef::from_body(&def().body()), Ok(def()));
        // With no streak configured the Admin API shows the defaults.
        assert_eq!(
            Value::Object(StreakDef::default().body()),
            json!({"frequency": "daily", "evaluationMode": "OR", "customizationEnabled": false,
                   "daysOff": [], "metrics": [], "weekStart": "sunday", "freezes": null})
        );
        // Freezes without auto-earn leave the pair out; "ALL" reads as AND.
        let stored = json!({"frequency": "daily", "evaluationMode": "ALL",
            "customizationEnabled": true, "daysOff": [], "weekStart": "sunday",
            "metrics": [{"key": "m", "threshold": 0.5}], "freezes": {"startCount": 0, "maxCount": 2}});
        let read = StreakDef::from_body(stored.as_object().expect("object")).expect("reads");
        assert_eq!(read.evaluation_mode, EvaluationMode::And);
        assert_eq!(
            Value::Object(read.body())["freezes"],
            json!({"startCount": 0, "maxCount": 2})
        );
    }

    #[test]
    fn every_rule_names_its_field() {
        assert!(def().validate().is_empty());
        let with = |change: fn(&mut StreakDef)| {
            let mut d = def();
            change(&mut d);
            first_problem(&d)
        };
        let freezes = |change: fn(&mut FreezeDef)| {
            let mut d = def();
            change(d.freezes.as_mut().expect("freezes"));
            first_problem(&d)
        };
        for (found, expected) in [
            (
                with(|d| d.metrics.clear()),
                "metrics must list at least one metric",
            ),
            (
                with(|d| d.metrics[0].threshold = 0.0),
                "metrics must be greater than 0",
            ),
            (
                with(|d| d.metrics[0].threshold = f64::NAN),
                "metrics must be greater than 0",
            ),
            (
                with(|d| d.metrics.push(d.metrics[0].clone())),
                "metrics is listed twice",
            ),
            (with(|d| d.metrics[0].metric.clear()), "metrics needs a key"),
            (
                with(|d| d.days_off.push(7)),
                "daysOff takes weekdays from 0 (Sunday) to 6 (Saturday)",
            ),
            (with(|d| d.days_off.push(0)), "daysOff is listed twice"),
            (
                freezes(|f| f.max_count = 101),
                "freezes.maxCount must be an integer from 0 to 100",
            ),
            (
                freezes(|f| f.start_count = 4),
                "freezes.startCount must not exceed freezes.maxCount",
            ),
            (
                freezes(|f| f.auto_earn_amount = None),
                "freezes.autoEarnInterval and freezes.autoEarnAmount go together",
            ),
            (
                freezes(|f| f.auto_earn_interval_days = Some(0)),
                "freezes.autoEarnInterval must be an integer from 1 to 4294967295",
            ),
            (
                freezes(|f| f.auto_earn_amount = Some(101)),
                "freezes.autoEarnAmount must be an integer from 1 to 100",
            ),
        ] {
            assert_eq!(found.as_deref(), Some(expected));
        }
        // Which item a problem is about.
        let mut d = def();
        d.metrics.push(StreakCondition {
            metric: "lessons".into(),
            threshold: -1.0,
        });
        assert_eq!(
            d.validate(),
            vec![
                Problem::new(Field::Threshold(1), "must be greater than 0"),
                Problem::new(Field::Metric(1), LISTED_TWICE),
            ]
        );
    }

    #[test]
    fn periods_follow_frequency_and_week_start() {
        assert_eq!(
            def().period_kind(),
            PeriodKind::Weekly(periods::WeekStart::Monday)
        );
        assert_eq!(StreakDef::default().period_kind(), PeriodKind::Daily);
        assert_eq!(def().mode(), Mode::And);
    }
}
