//! `[streaks]`: the one streak every user has, and its freezes.

use std::collections::HashSet;

use super::catalog::Catalog;
use super::model::{EvaluationMode, FreezeDef, Frequency, StreakCondition, StreakDef, WeekStart};
use super::reader::{Sink, Table};

/// Trophy's own docs at 1.8 call it "ALL"; the file format documents "AND".
const EVALUATION_MODES: [(&str, EvaluationMode); 3] = [
    ("OR", EvaluationMode::Or),
    ("AND", EvaluationMode::And),
    ("ALL", EvaluationMode::And),
];

const FREQUENCIES: [(&str, Frequency); 3] = [
    ("daily", Frequency::Daily),
    ("weekly", Frequency::Weekly),
    ("monthly", Frequency::Monthly),
];

const WEEK_STARTS: [(&str, WeekStart); 2] =
    [("sunday", WeekStart::Sunday), ("monday", WeekStart::Monday)];

/// Documented limit on freezes a user can hold.
const MAX_FREEZES: u32 = 100;

pub(crate) const KEYS: &[&str] = &[
    "frequency",
    "evaluation_mode",
    "week_start",
    "metrics",
    "days_off",
    "freezes",
    "customization_enabled",
];

pub(crate) const CONDITION_KEYS: &[&str] = &["metric", "threshold"];

pub(crate) const FREEZE_KEYS: &[&str] = &[
    "start_count",
    "max_count",
    "auto_earn_interval_days",
    "auto_earn_amount",
];

pub(crate) fn read(root: &Table<'_, '_>, sink: &mut Sink, catalog: &Catalog) -> Option<StreakDef> {
    let t = root.opt_table(sink, "streaks", "[streaks]")?;
    t.deny_unknown(sink, KEYS);
    let frequency = t
        .opt_choice(sink, "frequency", &FREQUENCIES)
        .unwrap_or(Frequency::Daily);
    let evaluation_mode = t
        .opt_choice(sink, "evaluation_mode", &EVALUATION_MODES)
        .unwrap_or(EvaluationMode::Or);
    let week_start = t
        .opt_choice(sink, "week_start", &WEEK_STARTS)
        .unwrap_or(WeekStart::Sunday);
    let metrics = read_conditions(&t, sink, catalog);
    let days_off = read_days_off(&t, sink);
    let freezes = read_freezes(&t, sink);
    let customization_enabled = t.opt_bool(sink, "customization_enabled").unwrap_or(false);
    Some(StreakDef {
        frequency,
        evaluation_mode,
        week_start,
        metrics,
        days_off,
        freezes,
        customization_enabled,
    })
}

fn read_conditions(t: &Table<'_, '_>, sink: &mut Sink, catalog: &Catalog) -> Vec<StreakCondition> {
    if !t.has("metrics") {
        // A streak nothing can extend is certainly a mistake; "no streak" is said by omitting [streaks].
        t.missing(sink, "metrics");
        return Vec::new();
    }
    let items = t.tables(sink, "metrics", "[streaks] metrics");
    if t.is_empty_array("metrics") {
        sink.report(
            t.value_at("metrics"),
            "\"metrics\" must list at least one metric",
        );
    }
    let mut conditions = Vec::new();
    let mut seen = HashSet::new();
    for item in items {
        item.deny_unknown(sink, CONDITION_KEYS);
        let metric = item.req_str(sink, "metric");
        if let Some(metric) = metric {
            let at = item.value_at("metric");
            if catalog.check_metric(sink, metric, at) && !seen.insert(metric) {
                sink.report(
                    at,
                    format!("metric \"{metric}\" is listed twice in the streak conditions"),
                );
            }
        }
        // The minimum total of the metric within one period; 1 is the common "did anything" case.
        let threshold = item.opt_float(sink, "threshold").unwrap_or(1.0);
        if threshold <= 0.0 {
            sink.report(
                item.value_at("threshold"),
                "\"threshold\" must be greater than 0",
            );
        }
        if let Some(metric) = metric {
            conditions.push(StreakCondition {
                metric: metric.to_owned(),
                threshold,
            });
        }
    }
    conditions
}

fn read_days_off(t: &Table<'_, '_>, sink: &mut Sink) -> Vec<u8> {
    let Some(array) = t.opt_int_list(sink, "days_off") else {
        return Vec::new();
    };
    let mut days = Vec::new();
    for (day, at) in array {
        match u8::try_from(day) {
            Ok(day) if day <= 6 => {
                if days.contains(&day) {
                    sink.report(at, format!("day {day} is listed twice in \"days_off\""));
                } else {
                    days.push(day);
                }
            }
            _ => sink.report(
                at,
                "\"days_off\" takes weekdays from 0 (Sunday) to 6 (Saturday)",
            ),
        }
    }
    days
}

fn read_freezes(t: &Table<'_, '_>, sink: &mut Sink) -> Option<FreezeDef> {
    let f = t.opt_table(sink, "freezes", "[streaks.freezes]")?;
    f.deny_unknown(sink, FREEZE_KEYS);
    let max_count = f.req_u32(sink, "max_count", 0, MAX_FREEZES);
    let start_count = f.opt_u32(sink, "start_count", 0, MAX_FREEZES).unwrap_or(0);
    if let Some(max) = max_count {
        if start_count > max {
            sink.report(
                f.value_at("start_count"),
                format!("\"start_count\" ({start_count}) must not exceed \"max_count\" ({max})"),
            );
        }
    }
    let interval = f.opt_u32(sink, "auto_earn_interval_days", 1, u32::MAX);
    let amount = f.opt_u32(sink, "auto_earn_amount", 1, MAX_FREEZES);
    f.both_or_neither(sink, "auto_earn_interval_days", "auto_earn_amount");
    Some(FreezeDef {
        start_count,
        max_count: max_count.unwrap_or(0),
        auto_earn_interval_days: interval,
        auto_earn_amount: amount,
    })
}
