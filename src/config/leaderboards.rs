//! `[[leaderboards]]`: rankings by a metric, a points system or the streak.

use std::collections::HashSet;

use super::catalog::{read_key, Catalog};
use super::defaults::DEFAULT_MAX_PARTICIPANTS;
use super::model::{
    AttributeType, DeclaredLeaderboard, LeaderboardDef, LeaderboardStatus, RankBy, RankStyle,
    RunUnit,
};
use super::reader::{Sink, Table};
use crate::domain::choices::{choices, Choice};
use crate::model::leaderboard::MAX_PARTICIPANTS;
use crate::model::{Definition, FieldName};
use crate::rules::time_window::TimeWindow;

choices! {
    enum Rank {
        Metric = "metric",
        Points = "points",
        Streak = "streak",
    }
}

const RUN_UNITS: [(&str, RunUnit); 3] = [
    ("day", RunUnit::Day),
    ("month", RunUnit::Month),
    ("year", RunUnit::Year),
];

pub(crate) const KEYS: &[&str] = &[
    "key",
    "name",
    "description",
    "rank_by",
    "metric",
    "points_system",
    "start",
    "end",
    "run_unit",
    "run_interval",
    "max_participants",
    "breakdown_attributes",
    "status",
    "ranking",
    "start_time",
    "end_time",
];

pub(crate) fn read(
    root: &Table<'_, '_>,
    sink: &mut Sink,
    catalog: &Catalog,
) -> Vec<DeclaredLeaderboard> {
    let mut seen = HashSet::new();
    let mut defs = Vec::new();
    for t in root.tables(sink, "leaderboards", "[[leaderboards]]", KEYS) {
        let key = read_key(&t, sink, &mut seen, "leaderboard");
        let name = t.req_nonempty(sink, "name");
        let description = t.opt_text(sink, "description");
        let rank_by = read_rank_by(&t, sink, catalog);
        let start = t.opt_date(sink, "start");
        let end = t.opt_date(sink, "end");
        let run = if matches!(rank_by, Some(RankBy::Streak)) {
            forbid_run(&t, sink);
            None
        } else {
            read_run(&t, sink)
        };
        let window = read_window(&t, sink, matches!(rank_by, Some(RankBy::Streak)));
        let max_participants = t
            .opt_u32(sink, "max_participants", 1, MAX_PARTICIPANTS)
            .unwrap_or(DEFAULT_MAX_PARTICIPANTS);
        let breakdown_attributes = read_breakdown(&t, sink, catalog);
        let status = t
            .opt_choice(sink, "status", LeaderboardStatus::CHOICES)
            .unwrap_or(LeaderboardStatus::Active);
        let rank_style = t
            .opt_choice(sink, "ranking", RankStyle::CHOICES)
            .unwrap_or_default();
        if let (Some(key), Some(name), Some(rank_by)) = (key, name, rank_by) {
            let def = LeaderboardDef {
                name: name.to_owned(),
                description,
                rank_by,
                start,
                end,
                run_unit: run.map(|(unit, _)| unit),
                run_interval: run.map(|(_, interval)| interval),
                max_participants,
                breakdown_attributes,
                rank_style,
                start_time: window.start(),
                end_time: window.end(),
            };
            // The reader reported what it checked itself (the run, the window, the size)
            // at the line of each key, so the model finds nothing more there.
            if t.report_problems(sink, def.validate(), FieldName::stored_name) {
                defs.push(DeclaredLeaderboard { key, status, def });
            }
        }
    }
    defs
}

fn read_rank_by(t: &Table<'_, '_>, sink: &mut Sink, catalog: &Catalog) -> Option<RankBy> {
    let owned: [(Rank, &[&str]); 2] = [
        (Rank::Metric, &["metric"]),
        (Rank::Points, &["points_system"]),
    ];
    match t.req_variant(sink, "rank_by", &owned)? {
        Rank::Metric => Some(RankBy::Metric {
            metric: catalog.req_metric(t, sink)?.to_owned(),
        }),
        Rank::Points => Some(RankBy::Points {
            points_system: catalog.req_points(t, sink)?.to_owned(),
        }),
        Rank::Streak => Some(RankBy::Streak),
    }
}

/// A user has one streak, not one per run, so a streak board cannot repeat.
fn forbid_run(t: &Table<'_, '_>, sink: &mut Sink) {
    if let Some(key) = ["run_unit", "run_interval"].into_iter().find(|k| t.has(k)) {
        sink.report(
            t.key_at(key),
            "a leaderboard ranked by streak must be perpetual: remove \"run_unit\" and \"run_interval\"",
        );
    }
}

/// `start_time`/`end_time` (see `rules::time_window`). A streak board ranks the current
/// length of the streak, not activity that happens at a time of day, so it takes neither.
fn read_window(t: &Table<'_, '_>, sink: &mut Sink, streak: bool) -> TimeWindow {
    if streak {
        if let Some(key) = ["start_time", "end_time"].into_iter().find(|k| t.has(k)) {
            sink.report(
                t.key_at(key),
                "a leaderboard ranked by streak cannot have a time window: remove \"start_time\" and \"end_time\"",
            );
        }
        return TimeWindow::default();
    }
    let start = t.opt_time_of_day(sink, "start_time");
    let end = t.opt_time_of_day(sink, "end_time");
    match TimeWindow::new(start, end) {
        Ok(window) => window,
        Err(_) => {
            sink.report(
                t.value_at("end_time"),
                "\"end_time\" must be after \"start_time\" (a window cannot wrap past midnight, and end_time = \"00:00\" alone would count nothing)",
            );
            TimeWindow::default()
        }
    }
}

fn read_run(t: &Table<'_, '_>, sink: &mut Sink) -> Option<(RunUnit, u32)> {
    t.both_or_neither(sink, "run_unit", "run_interval");
    let unit = t.opt_choice(sink, "run_unit", &RUN_UNITS);
    let interval = t.opt_u32(sink, "run_interval", 1, u32::MAX);
    Some((unit?, interval?))
}

fn read_breakdown(t: &Table<'_, '_>, sink: &mut Sink, catalog: &Catalog) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut keys = Vec::new();
    for (name, at) in t
        .opt_str_list(sink, "breakdown_attributes")
        .unwrap_or_default()
    {
        if !catalog.check_attribute(sink, name, at, AttributeType::User, "breakdown_attributes") {
            continue;
        }
        if seen.insert(name) {
            keys.push(name.to_owned());
        } else {
            sink.report(at, format!("attribute \"{name}\" is listed twice"));
        }
    }
    keys
}
