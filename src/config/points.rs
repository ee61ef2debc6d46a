//! `[[points]]`: points systems with their triggers, levels and boosts.

use std::collections::HashSet;

use super::catalog::{read_key, Catalog};
use super::model::{
    AttributeType, BoostDef, BoostTarget, LevelDef, PointsDef, PointsTriggerDef, Rounding,
    SystemDef, TimeUnit, TriggerDef, TriggerKind, TriggerStatus,
};
use super::reader::{Sink, Table};
use crate::domain::choices::{choices, Choice};
use crate::model::Definition;
use crate::model::FieldName;

choices! {
    enum Kind {
        Metric = "metric",
        Achievement = "achievement",
        Streak = "streak",
        Time = "time",
        UserCreation = "user_creation",
    }
}

/// The keys each trigger type owns; they are errors with any other type.
const KIND_KEYS: [(Kind, &[&str]); 4] = [
    (Kind::Metric, &["metric", "threshold", "event_attributes"]),
    (Kind::Achievement, &["achievement"]),
    (Kind::Streak, &["streak_length"]),
    (Kind::Time, &["time_unit", "time_interval"]),
];

pub(crate) const KEYS: &[&str] = &[
    "key",
    "name",
    "description",
    "badge_url",
    "max_points",
    "triggers",
    "levels",
    "boosts",
];

pub(crate) const TRIGGER_KEYS: &[&str] = &[
    "type",
    "points",
    "metric",
    "threshold",
    "achievement",
    "streak_length",
    "time_unit",
    "time_interval",
    "user_attributes",
    "event_attributes",
    "block_if_out_of_points",
    "status",
    "description",
];

pub(crate) const LEVEL_KEYS: &[&str] = &["key", "name", "points", "description", "badge_url"];

pub(crate) const BOOST_KEYS: &[&str] = &[
    "name",
    "start",
    "end",
    "multiplier",
    "rounding",
    "user_attributes",
    "user",
];

pub(crate) fn read(root: &Table<'_, '_>, sink: &mut Sink, catalog: &mut Catalog) -> Vec<PointsDef> {
    let mut defs = Vec::new();
    for t in root.tables(sink, "points", "[[points]]", KEYS) {
        let key = read_key(&t, sink, catalog.points_mut(), "points system");
        let name = t.req_nonempty(sink, "name");
        let def = name.map(|name| SystemDef {
            name: name.to_owned(),
            description: t.opt_text(sink, "description"),
            badge_url: t.opt_text(sink, "badge_url"),
            max_points: t.opt_int(sink, "max_points", i64::MIN..=i64::MAX),
        });
        let def = def.filter(|def| t.report_problems(sink, def.validate(), |f| f.stored_name()));
        let system = key.as_deref();
        let triggers = t
            .tables(sink, "triggers", "[[points.triggers]]", TRIGGER_KEYS)
            .iter()
            .filter_map(|trigger| read_trigger(trigger, sink, catalog, system))
            .collect();
        let levels = read_levels(&t, sink, system);
        let boosts = t
            .tables(sink, "boosts", "[[points.boosts]]", BOOST_KEYS)
            .iter()
            .filter_map(|boost| read_boost(boost, sink, catalog, system))
            .collect();
        if let (Some(key), Some(def)) = (key, def) {
            defs.push(PointsDef {
                key,
                def,
                triggers,
                levels,
                boosts,
            });
        }
    }
    defs
}

fn read_trigger(
    t: &Table<'_, '_>,
    sink: &mut Sink,
    catalog: &Catalog,
    system: Option<&str>,
) -> Option<PointsTriggerDef> {
    let points = t.req_int(sink, "points", i64::MIN..=i64::MAX);
    let user_attributes = catalog.read_filter(t, sink, "user_attributes", AttributeType::User);
    let event_attributes = catalog.read_filter(t, sink, "event_attributes", AttributeType::Event);
    let block_if_out_of_points = t.opt_bool(sink, "block_if_out_of_points").unwrap_or(false);
    let status = t
        .opt_choice(sink, "status", TriggerStatus::CHOICES)
        .unwrap_or(TriggerStatus::Active);
    let kind = read_kind(t, sink, catalog)?;
    // Event attributes on another type were reported by `only_with` in `read_kind`.
    let event_attributes = match kind {
        TriggerKind::Metric { .. } => event_attributes,
        _ => Vec::new(),
    };
    let def = TriggerDef {
        system: system?.to_owned(),
        kind,
        points: points?,
        user_attributes,
        event_attributes,
        block_if_out_of_points,
        description: t.opt_text(sink, "description"),
    };
    t.report_problems(sink, def.validate(), |f| f.stored_name())
        .then_some(PointsTriggerDef { def, status })
}

fn read_kind(t: &Table<'_, '_>, sink: &mut Sink, catalog: &Catalog) -> Option<TriggerKind> {
    match t.req_variant(sink, "type", &KIND_KEYS)? {
        Kind::Metric => {
            let metric = catalog.req_metric(t, sink);
            // Award `points` for every `threshold` units: a whole number of units.
            let threshold = t.req_u32(sink, "threshold", 0, u32::MAX);
            Some(TriggerKind::Metric {
                metric: metric?.to_owned(),
                threshold: threshold?,
            })
        }
        Kind::Achievement => Some(TriggerKind::Achievement {
            achievement: catalog.req_achievement(t, sink)?.to_owned(),
        }),
        Kind::Streak => {
            let length = t.req_u32(sink, "streak_length", 0, u32::MAX)?;
            Some(TriggerKind::Streak { length })
        }
        Kind::Time => {
            let unit = t.req_choice(sink, "time_unit", TimeUnit::CHOICES);
            let interval = t.req_u32(sink, "time_interval", 0, u32::MAX);
            Some(TriggerKind::Time {
                unit: unit?,
                interval: interval?,
            })
        }
        Kind::UserCreation => Some(TriggerKind::UserCreation),
    }
}

fn read_levels(system: &Table<'_, '_>, sink: &mut Sink, system_key: Option<&str>) -> Vec<LevelDef> {
    // Level keys are unique within their system only.
    let mut seen = HashSet::new();
    let mut levels = Vec::new();
    for t in system.tables(sink, "levels", "[[points.levels]]", LEVEL_KEYS) {
        let key = read_key(&t, sink, &mut seen, "level");
        let name = t.req_nonempty(sink, "name");
        let points = t.req_int(sink, "points", i64::MIN..=i64::MAX);
        let description = t.opt_text(sink, "description");
        let badge_url = t.opt_text(sink, "badge_url");
        if let (Some(system), Some(key), Some(name), Some(points)) = (system_key, key, name, points)
        {
            let level = LevelDef {
                system: system.to_owned(),
                key,
                name: name.to_owned(),
                points,
                description,
                badge_url,
            };
            if t.report_problems(sink, level.validate(), |f| f.stored_name()) {
                levels.push(level);
            }
        }
    }
    levels
}

fn read_boost(
    t: &Table<'_, '_>,
    sink: &mut Sink,
    catalog: &Catalog,
    system: Option<&str>,
) -> Option<BoostDef> {
    let name = t.req_nonempty(sink, "name");
    let start = t.req_date(sink, "start");
    let end = t.opt_date(sink, "end");
    let multiplier = t.req_float(sink, "multiplier");
    let rounding = t
        .opt_choice(sink, "rounding", Rounding::CHOICES)
        .unwrap_or(Rounding::Down);
    let user_attributes = catalog.read_filter(t, sink, "user_attributes", AttributeType::User);
    let user = t.opt_str(sink, "user");
    if user.is_some() && t.has("user_attributes") {
        sink.report(
            t.key_at("user"),
            "\"user\" and \"user_attributes\" cannot be used together: a boost is for one user or for everyone matching the attributes",
        );
        return None;
    }
    let boost = BoostDef {
        system: system?.to_owned(),
        name: name?.to_owned(),
        start: start?,
        end,
        multiplier: multiplier?,
        rounding,
        target: match user {
            Some(user) => BoostTarget::User(user.to_owned()),
            None => BoostTarget::Global(user_attributes),
        },
    };
    // The model's field for the user is `userId`; the file's key is `user`.
    let key_of = |f: crate::model::points_boost::Field| match f {
        crate::model::points_boost::Field::UserId => "user",
        other => other.stored_name(),
    };
    t.report_problems(sink, boost.validate(), key_of)
        .then_some(boost)
}
