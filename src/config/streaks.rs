//! `[streaks]`: the one streak every user has, and its freezes, read into the
//! [`StreakDef`] model; the model's rules are reported at the lines of their keys.

use super::catalog::Catalog;
use super::model::{EvaluationMode, FreezeDef, Frequency, StreakCondition, StreakDef, WeekStart};
use super::reader::{Sink, Table};
use crate::model::streak_settings::{Field, MAX_FREEZES};
use crate::model::{Definition, Problem};

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
    let t = root.section(sink, "streaks", "[streaks]", KEYS)?;
    let frequency = t
        .opt_choice(sink, "frequency", &Frequency::CHOICES)
        .unwrap_or_default();
    let evaluation_mode = t
        .opt_choice(sink, "evaluation_mode", &EvaluationMode::CHOICES)
        .unwrap_or_default();
    let week_start = t
        .opt_choice(sink, "week_start", &WeekStart::CHOICES)
        .unwrap_or_default();
    let conditions = read_conditions(&t, sink, catalog);
    let days_off = t.opt_int_list(sink, "days_off").unwrap_or_default();
    let freezes = read_freezes(&t, sink);
    let customization_enabled = t.opt_bool(sink, "customization_enabled").unwrap_or(false);
    let def = StreakDef {
        frequency,
        evaluation_mode,
        week_start,
        metrics: conditions.iter().map(|(c, _)| c.clone()).collect(),
        // Beyond a byte is beyond Saturday too: the model says so.
        days_off: days_off
            .iter()
            .map(|(day, _)| u8::try_from(*day).unwrap_or(u8::MAX))
            .collect(),
        freezes,
        customization_enabled,
    };
    for Problem { field, rule } in def.validate() {
        let (at, name) = match field {
            // A streak nothing can extend is certainly a mistake; "no streak" is said by
            // omitting [streaks]. Said once: a missing or unreadable list is reported as such.
            Field::Metrics if t.is_empty_array("metrics") => {
                (t.value_at("metrics"), "\"metrics\"".to_owned())
            }
            Field::Metrics => continue,
            Field::Metric(i) => (
                conditions[i].1.value_at("metric"),
                format!("metric \"{}\"", def.metrics[i].metric),
            ),
            Field::Threshold(i) => (
                conditions[i].1.value_at("threshold"),
                "\"threshold\"".to_owned(),
            ),
            Field::DayOff(i) => (
                days_off[i].1,
                match def.days_off[i] {
                    day @ 0..=6 => format!("day {day}"),
                    _ => "\"days_off\"".to_owned(),
                },
            ),
            // read_freezes reported these itself, with the values, and made no freezes.
            Field::StartCount
            | Field::MaxCount
            | Field::AutoEarnInterval
            | Field::AutoEarnAmount => continue,
        };
        sink.report(at, format!("{name} {rule}"));
    }
    Some(def)
}

/// The conditions whose metric was read, each with its table (where its problems are).
fn read_conditions<'a, 'i>(
    t: &Table<'a, 'i>,
    sink: &mut Sink,
    catalog: &Catalog,
) -> Vec<(StreakCondition, Table<'a, 'i>)> {
    if !t.has("metrics") {
        t.missing(sink, "metrics");
        return Vec::new();
    }
    let mut conditions = Vec::new();
    for item in t.tables(sink, "metrics", "[streaks] metrics", CONDITION_KEYS) {
        let metric = item.req_nonempty(sink, "metric");
        if let Some(metric) = metric {
            catalog.check_metric(sink, metric, item.value_at("metric"));
        }
        // The minimum total of the metric within one period.
        let threshold = item.opt_float(sink, "threshold").unwrap_or(1.0);
        if let Some(metric) = metric {
            let condition = StreakCondition {
                metric: metric.to_owned(),
                threshold,
            };
            conditions.push((condition, item));
        }
    }
    conditions
}

/// The freezes, when they read cleanly. What is wrong here is reported with the values
/// (`"start_count" (4) must not exceed "max_count" (3)`) and no freezes are made of it,
/// so the model's freeze rules find nothing more.
fn read_freezes(t: &Table<'_, '_>, sink: &mut Sink) -> Option<FreezeDef> {
    let f = t.section(sink, "freezes", "[streaks.freezes]", FREEZE_KEYS)?;
    let max_count = f.req_u32(sink, "max_count", 0, MAX_FREEZES);
    let start_count = f.opt_u32(sink, "start_count", 0, MAX_FREEZES);
    let mut clean = max_count.is_some() && (start_count.is_some() || !f.has("start_count"));
    let start_count = start_count.unwrap_or(0);
    if let Some(max) = max_count.filter(|max| start_count > *max) {
        sink.report(
            f.value_at("start_count"),
            format!("\"start_count\" ({start_count}) must not exceed \"max_count\" ({max})"),
        );
        clean = false;
    }
    let interval = f.opt_u32(sink, "auto_earn_interval_days", 1, u32::MAX);
    let amount = f.opt_u32(sink, "auto_earn_amount", 1, MAX_FREEZES);
    f.both_or_neither(sink, "auto_earn_interval_days", "auto_earn_amount");
    let asked = f.has("auto_earn_interval_days") || f.has("auto_earn_amount");
    if asked && (interval.is_none() || amount.is_none()) {
        clean = false;
    }
    if !clean {
        return None;
    }
    Some(FreezeDef {
        start_count,
        max_count: max_count?,
        auto_earn_interval_days: interval,
        auto_earn_amount: amount,
    })
}
