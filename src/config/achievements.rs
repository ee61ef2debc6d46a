//! `[[achievements]]`: one-off milestones, each completed by one kind of trigger.

use std::collections::HashSet;

use super::catalog::{read_key, Catalog};
use super::model::{
    AchievementDef, AchievementStatus, AchievementTrigger, AttributeType, DeclaredAchievement,
};
use super::prerequisites::{report_cycles, Composite};
use super::reader::{Sink, Table};
use crate::domain::choices::{choices, Choice};
use crate::model::Definition;
use crate::model::FieldName;
use crate::rules::anniversary::MAX_YEARS;

choices! {
    enum Trigger {
        Metric = "metric",
        Streak = "streak",
        Api = "api",
        Achievement = "achievement",
        Anniversary = "anniversary",
    }
}

/// The keys each trigger owns; they are errors with any other trigger.
const TRIGGER_KEYS: [(Trigger, &[&str]); 4] = [
    (
        Trigger::Metric,
        &["metric", "metric_value", "event_attributes"],
    ),
    (Trigger::Streak, &["streak_length"]),
    (Trigger::Achievement, &["prerequisites"]),
    (Trigger::Anniversary, &["anniversary_years"]),
];

pub(crate) const KEYS: &[&str] = &[
    "key",
    "name",
    "description",
    "badge_url",
    "trigger",
    "metric",
    "metric_value",
    "streak_length",
    "prerequisites",
    "anniversary_years",
    "status",
    "user_attributes",
    "event_attributes",
];

pub(crate) fn read(
    root: &Table<'_, '_>,
    sink: &mut Sink,
    catalog: &mut Catalog,
) -> Vec<DeclaredAchievement> {
    let tables = root.tables(sink, "achievements", "[[achievements]]", KEYS);
    // Every key first: prerequisites may name achievements written further down.
    let keys: Vec<Option<String>> = tables
        .iter()
        .map(|t| read_key(t, sink, catalog.achievements_mut(), "achievement"))
        .collect();
    let mut defs = Vec::new();
    let mut composites = Vec::new();
    for (t, key) in tables.iter().zip(keys) {
        let name = t.req_nonempty(sink, "name");
        let description = t.opt_text(sink, "description");
        let badge_url = t.opt_text(sink, "badge_url");
        let status = t
            .opt_choice(sink, "status", AchievementStatus::CHOICES)
            .unwrap_or(AchievementStatus::Active);
        let user_attributes = catalog.read_filter(t, sink, "user_attributes", AttributeType::User);
        let event_attributes =
            catalog.read_filter(t, sink, "event_attributes", AttributeType::Event);
        let trigger = read_trigger(t, sink, catalog);
        if let (Some(key), Some(AchievementTrigger::Composite { prerequisites })) = (&key, &trigger)
        {
            composites.push(Composite {
                key: key.clone(),
                at: t.value_at("prerequisites"),
                prerequisites: prerequisites.clone(),
            });
        }
        if let (Some(key), Some(name), Some(trigger)) = (key, name, trigger) {
            // Event attributes on another trigger were reported by `only_with` above.
            let event_attributes = match trigger {
                AchievementTrigger::Metric { .. } => event_attributes,
                _ => Vec::new(),
            };
            let def = AchievementDef {
                name: name.to_owned(),
                description,
                badge_url,
                trigger,
                user_attributes,
                event_attributes,
            };
            if t.report_problems(sink, def.validate(), |f| f.stored_name()) {
                defs.push(DeclaredAchievement { key, status, def });
            }
        }
    }
    report_cycles(&composites, sink);
    defs
}

fn read_trigger(
    t: &Table<'_, '_>,
    sink: &mut Sink,
    catalog: &Catalog,
) -> Option<AchievementTrigger> {
    match t.req_variant(sink, "trigger", &TRIGGER_KEYS)? {
        Trigger::Metric => {
            let metric = catalog.req_metric(t, sink);
            let value = t.req_float(sink, "metric_value");
            Some(AchievementTrigger::Metric {
                metric: metric?.to_owned(),
                value: value?,
            })
        }
        Trigger::Streak => {
            let length = t.req_u32(sink, "streak_length", 0, u32::MAX)?;
            Some(AchievementTrigger::Streak { length })
        }
        Trigger::Api => Some(AchievementTrigger::Api),
        Trigger::Anniversary => {
            let years = t.req_u32(sink, "anniversary_years", 1, MAX_YEARS)?;
            Some(AchievementTrigger::Anniversary { years })
        }
        Trigger::Achievement => {
            let Some(listed) = t.opt_str_list(sink, "prerequisites") else {
                if !t.has("prerequisites") {
                    t.missing(sink, "prerequisites");
                }
                return None;
            };
            // None listed is the model's problem to report; none left after the checks
            // above has been reported name by name.
            let listed_any = !listed.is_empty();
            let mut seen = HashSet::new();
            let mut prerequisites = Vec::new();
            for (name, at) in listed {
                if !catalog.check_achievement(sink, name, at) {
                    continue;
                }
                if seen.insert(name) {
                    prerequisites.push(name.to_owned());
                } else {
                    sink.report(at, format!("prerequisite \"{name}\" is listed twice"));
                }
            }
            if listed_any && prerequisites.is_empty() {
                return None;
            }
            Some(AchievementTrigger::Composite { prerequisites })
        }
    }
}
