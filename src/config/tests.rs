//! Whole-file tests of `parse`: each validation rule, and that problems come with the right lines.

use super::*;

/// `(line, message)` of every problem, or a panic if the text is valid.
fn problems(text: &str) -> Vec<(usize, String)> {
    match parse(text) {
        Ok(_) => panic!("expected problems in:\n{text}"),
        Err(found) => found.into_iter().map(|p| (p.line, p.message)).collect(),
    }
}

/// Asserts that the text has exactly one problem, on `line`, whose message contains `part`.
#[track_caller]
fn one_problem(text: &str, line: usize, part: &str) {
    let found = problems(text);
    assert_eq!(
        found.len(),
        1,
        "expected one problem, got {found:#?}\nin:\n{text}"
    );
    assert_eq!(found[0].0, line, "wrong line for {:?}", found[0].1);
    assert!(
        found[0].1.contains(part),
        "{:?} does not contain {part:?}",
        found[0].1
    );
}

#[track_caller]
fn valid(text: &str) -> Config {
    match parse(text) {
        Ok(config) => config,
        Err(found) => panic!("unexpected problems: {found:#?}\nin:\n{text}"),
    }
}

/// Definitions that the other snippets refer to.
const BASE: &str = r#"
[[attributes]]
key = "plan"
name = "Plan"
type = "user"

[[attributes]]
key = "source"
name = "Source"
type = "event"

[[metrics]]
key = "lessons"
name = "Lessons"

[[achievements]]
key = "first"
name = "First"
trigger = "api"

[[points]]
key = "xp"
name = "XP"
"#;

/// BASE plus `extra`; problems in `extra` are on line `BASE_LINES + n` for its line n.
fn with_base(extra: &str) -> String {
    format!("{BASE}{extra}")
}

const BASE_LINES: usize = 23;

#[test]
fn base_is_valid_and_has_the_expected_length() {
    valid(BASE);
    assert_eq!(BASE.lines().count(), BASE_LINES);
}

// ----- the shipped files -----------------------------------------------------------------------

#[test]
fn example_parses_cleanly() {
    let config = valid(EXAMPLE_CONFIG);
    assert!(
        config.auth.api_keys.is_empty(),
        "a starter file must not ship a usable key"
    );
    assert!(config.auth.admin_keys.is_empty());
    assert_eq!(config.metrics.len(), 2);
    assert!(config.streaks.is_some());
}

/// The webhook block is commented out in the starter file (a dead endpoint would only log
/// failures); uncommented it must be valid too.
fn example_with_webhook() -> String {
    let mut text = EXAMPLE_CONFIG.to_owned();
    let mut in_block = false;
    for line in EXAMPLE_CONFIG.lines() {
        if line == "# [[webhooks]]" {
            in_block = true;
            text.push('\n');
        }
        // Only the commented-out TOML: `# [table]` and `# key = value` lines, not the prose.
        let toml_line = |l: &str| {
            l.starts_with('[')
                || l.split_once(" = ")
                    .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        };
        if in_block {
            if let Some(uncommented) = line.strip_prefix("# ").filter(|l| toml_line(l)) {
                text.push_str(uncommented);
                text.push('\n');
            }
        }
    }
    assert!(in_block, "the example has a commented [[webhooks]] block");
    text
}

#[test]
fn example_webhook_block_is_valid_when_uncommented() {
    let config = valid(&example_with_webhook());
    assert_eq!(config.webhooks.len(), 1);
    assert_eq!(config.webhooks[0].max_concurrency, 4);
}

#[test]
fn example_shows_every_key_of_every_section() {
    use toml::de::{DeTable, DeValue};

    fn keys_at<'t>(table: &'t DeTable<'t>, path: &[&str]) -> Vec<&'t str> {
        let Some((first, rest)) = path.split_first() else {
            return table.iter().map(|(k, _)| k.get_ref().as_ref()).collect();
        };
        match table.get(*first).map(|v| v.get_ref()) {
            Some(DeValue::Table(t)) => keys_at(t, rest),
            Some(DeValue::Array(items)) => items
                .iter()
                .filter_map(|item| item.get_ref().as_table())
                .flat_map(|t| keys_at(t, rest))
                .collect(),
            _ => Vec::new(),
        }
    }

    let text = example_with_webhook();
    let root = DeTable::parse(&text).expect("example parses");
    let sections: [(&[&str], &[&str]); 23] = [
        (&[], TOP_KEYS),
        (&["server"], server::SERVER_KEYS),
        (&["auth"], server::AUTH_KEYS),
        (&["limits"], server::LIMITS_KEYS),
        (&["attributes"], attributes::KEYS),
        (&["metrics"], metrics::KEYS),
        (&["streaks"], streaks::KEYS),
        (&["streaks", "metrics"], streaks::CONDITION_KEYS),
        (&["streaks", "freezes"], streaks::FREEZE_KEYS),
        (&["achievements"], achievements::KEYS),
        (&["points"], points::KEYS),
        (&["points", "triggers"], points::TRIGGER_KEYS),
        (&["points", "levels"], points::LEVEL_KEYS),
        (&["points", "boosts"], points::BOOST_KEYS),
        (&["leaderboards"], leaderboards::KEYS),
        (&["webhooks"], webhooks::KEYS),
        (&["emails"], notifications::EMAILS_KEYS),
        (
            &["emails", "achievement"],
            &["subject", "text_template", "html_template"],
        ),
        (&["emails", "streak_reminder"], &["local_hour"]),
        (&["emails", "recap"], &["frequency", "local_hour"]),
        (&["emails", "reactivation"], &["after_days"]),
        (&["push"], notifications::PUSH_KEYS),
        (
            &["push", "apns"],
            &["key_file", "key_id", "team_id", "bundle_id", "url"],
        ),
    ];
    for (path, keys) in sections {
        let shown = keys_at(root.get_ref(), path);
        for key in keys {
            assert!(shown.contains(key), "example lacks {path:?} {key}");
        }
    }
    // Every enum value, too, at least in a comment.
    for word in [
        "\"normal\"",
        "\"currency\"",
        "\"weekly\"",
        "\"monthly\"",
        "\"AND\"",
        "\"locked\"",
        "\"inactive\"",
        "\"nearest\"",
        "\"up\"",
        "\"hours\"",
        "\"month\"",
        "\"year\"",
        "\"finished\"",
        "\"event\"",
        "\"yearly\"",
        "\"daily\"",
    ] {
        assert!(
            EXAMPLE_CONFIG.contains(word),
            "example never mentions {word}"
        );
    }
}

#[test]
fn demo_parses_cleanly_and_has_what_the_interface_promises() {
    let config = demo();
    assert!(config.auth.api_keys.is_empty() && config.auth.admin_keys.is_empty());
    assert_eq!(config.server.data, std::path::PathBuf::from("trophy.db"));
    assert_eq!(config.server.listen, "127.0.0.1:8080");
    assert!(config.metrics.len() >= 2);
    assert!(config
        .attributes
        .iter()
        .any(|a| a.key == "source" && a.def.kind == AttributeType::Event));
    assert!(config
        .attributes
        .iter()
        .any(|a| a.key == "plan" && a.def.kind == AttributeType::User));

    let streak = config.streaks.as_ref().expect("a streak");
    assert_eq!(streak.frequency, Frequency::Daily);
    let freezes = streak.freezes.as_ref().expect("freezes");
    assert_eq!((freezes.start_count, freezes.max_count), (1, 3));
    assert_eq!(
        (freezes.auto_earn_interval_days, freezes.auto_earn_amount),
        (Some(7), Some(1))
    );

    let triggers: Vec<_> = config.achievements.iter().map(|a| &a.def.trigger).collect();
    assert!(triggers
        .iter()
        .any(|t| matches!(t, AchievementTrigger::Metric { .. })));
    assert!(triggers
        .iter()
        .any(|t| matches!(t, AchievementTrigger::Streak { .. })));
    assert!(triggers
        .iter()
        .any(|t| matches!(t, AchievementTrigger::Api)));
    assert!(triggers
        .iter()
        .any(|t| matches!(t, AchievementTrigger::Composite { .. })));

    let xp = &config.points[0];
    assert!(xp.levels.len() >= 3);
    for wanted in ["metric", "achievement", "streak", "user_creation"] {
        let found = xp.triggers.iter().any(|t| {
            matches!(
                (&t.def.kind, wanted),
                (TriggerKind::Metric { .. }, "metric")
                    | (TriggerKind::Achievement { .. }, "achievement")
                    | (TriggerKind::Streak { .. }, "streak")
                    | (TriggerKind::UserCreation, "user_creation")
            )
        });
        assert!(found, "demo lacks a {wanted} points trigger");
    }

    let board = &config.leaderboards[0];
    assert_eq!(
        board.def.rank_by,
        RankBy::Metric {
            metric: "lessons".to_owned()
        }
    );
    assert_eq!(board.def.run(), Some((RunUnit::Day, 7)));
}

#[test]
fn empty_file_means_all_defaults() {
    for text in ["", "\n# only a comment\n"] {
        let config = valid(text);
        assert_eq!(config.server.listen, "127.0.0.1:8080");
        assert_eq!(config.server.durability, Durability::Full);
        assert_eq!(config.server.default_timezone, chrono_tz::UTC);
        assert_eq!(config.limits.points_changed_window_seconds, 60);
        assert_eq!(config.limits.leaderboard_changed_window_seconds, 0);
        assert!(config.metrics.is_empty() && config.streaks.is_none());
    }
}

#[test]
fn defaults_fill_what_a_definition_leaves_out() {
    let config = valid(&with_base(
        r#"
[[leaderboards]]
key = "all-time"
name = "All time"
rank_by = "streak"

[[webhooks]]
url = "https://example.com/hook"
secret = "s"
"#,
    ));
    let board = &config.leaderboards[0];
    assert_eq!(board.def.max_participants, 1000);
    assert_eq!(board.status, LeaderboardStatus::Active);
    assert_eq!(
        (board.def.start, board.def.end, board.def.run()),
        (None, None, None)
    );
    let hook = &config.webhooks[0];
    assert_eq!(hook.events, None);
    assert_eq!(
        (
            hook.timeout_seconds,
            hook.retry_for_hours,
            hook.initial_backoff_seconds,
            hook.max_concurrency
        ),
        (60, 24, 60, 4)
    );
    assert_eq!(config.metrics[0].def.unit_type, UnitType::Number);
    assert_eq!(config.achievements[0].status, AchievementStatus::Active);
}

// ----- all problems at once ----------------------------------------------------------------------

#[test]
fn every_problem_is_reported_with_its_line() {
    let text = r#"[server]
listen = "nowhere"
durability = "sometimes"
colour = "blue"

[[metrics]]
key = "lessons"
name = "Lessons"

[[metrics]]
key = "lessons"
name = "Again"

[[achievements]]
key = "a"
name = "A"
trigger = "metric"
metric = "lesons"
metric_value = 1

[[leaderboards]]
key = "board"
name = "Board"
rank_by = "metric"
metric = "lessons"
start = "2025-13-01"
"#;
    let found = problems(text);
    let lines: Vec<usize> = found.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, vec![2, 3, 4, 11, 18, 26], "{found:#?}");
    assert!(found[2].1.contains("unknown key \"colour\" in [server]"));
    assert!(found[3].1.contains("duplicate metric key \"lessons\""));
    assert!(found[4]
        .1
        .contains("unknown metric \"lesons\" (did you mean \"lessons\"?)"));
    assert!(found[5].1.contains("YYYY-MM-DD"));
}

#[test]
fn columns_point_at_the_value() {
    let err = parse("[server]\nlisten =   42\n").unwrap_err();
    assert_eq!((err[0].line, err[0].column), (2, 12));
    assert_eq!(
        err[0].to_string(),
        "line 2, column 12: \"listen\" must be a string, found an integer"
    );
}

#[test]
fn syntax_errors_are_problems_with_lines() {
    let found = problems("[server]\nlisten = \"127.0.0.1:8080\"\nlisten = \"x\"\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, 3);
    assert!(found[0].1.contains("duplicate key"), "{found:?}");

    let found = problems("[server\nlisten = \n");
    assert!(!found.is_empty());
    assert_eq!(found[0].0, 1);
}

// ----- unknown keys ----------------------------------------------------------------------------

#[test]
fn unknown_keys_are_reported_everywhere() {
    one_problem("colour = 1\n", 1, "unknown key \"colour\" in the top level");
    one_problem("[auth]\napi_key = []\n", 2, "(did you mean \"api_keys\"?)");
    one_problem("[limits]\nwrites_per_second = 1\n", 2, "in [limits]");
    one_problem(
        &with_base("[[metrics]]\nkey = \"m\"\nname = \"M\"\nunit = \"km\"\n"),
        BASE_LINES + 4,
        "unknown key \"unit\" in [[metrics]] (did you mean \"units\"?)",
    );
    one_problem(
        &with_base("[streaks]\nmetrics = [{ metric = \"lessons\", treshold = 1 }]\n"),
        BASE_LINES + 2,
        "unknown key \"treshold\" in [streaks] metrics",
    );
    one_problem(
        &with_base("[streaks]\nmetrics = [{ metric = \"lessons\" }]\n[streaks.freezes]\nmax_count = 1\nmax = 2\n"),
        BASE_LINES + 5,
        "in [streaks.freezes]",
    );
    one_problem(
        &with_base("[[points.triggers]]\ntype = \"user_creation\"\npoints = 1\nevery = 2\n"),
        BASE_LINES + 4,
        "unknown key \"every\" in [[points.triggers]]",
    );
    one_problem(
        &with_base("[[points.levels]]\nkey = \"l\"\nname = \"L\"\npoints = 0\nxp = 2\n"),
        BASE_LINES + 5,
        "in [[points.levels]]",
    );
    one_problem(
        &with_base(
            "[[points.boosts]]\nname = \"b\"\nstart = \"2025-01-01\"\nmultiplier = 2\nfactor = 2\n",
        ),
        BASE_LINES + 5,
        "in [[points.boosts]]",
    );
    one_problem(
        "[[webhooks]]\nurl = \"http://h\"\nsecret = \"s\"\nretries = 3\n",
        4,
        "in [[webhooks]]",
    );
    one_problem(
        &with_base("[[leaderboards]]\nkey = \"l\"\nname = \"L\"\nrank_by = \"streak\"\nsize = 3\n"),
        BASE_LINES + 5,
        "in [[leaderboards]]",
    );
    one_problem(
        &with_base("[[attributes]]\nkey = \"k\"\nname = \"K\"\ntype = \"user\"\nkind = \"x\"\n"),
        BASE_LINES + 5,
        "in [[attributes]]",
    );
}

// ----- types -----------------------------------------------------------------------------------

#[test]
fn wrong_types_name_the_expected_type() {
    one_problem("[server]\nmulti_tenant = \"yes\"\n", 2, "must be a boolean");
    one_problem(
        "[server]\nidempotency_ttl_days = \"7\"\n",
        2,
        "must be an integer, found the string \"7\"",
    );
    one_problem(
        "[server]\ncontrol_ratio = \"half\"\n",
        2,
        "must be a number",
    );
    one_problem("server = 1\n", 1, "\"server\" must be a table");
    one_problem(
        "[metrics]\nkey = \"m\"\n",
        1,
        "must be an array of tables ([[metrics]])",
    );
    one_problem(
        "[auth]\napi_keys = \"k\"\n",
        2,
        "must be an array of strings",
    );
    one_problem(
        "[auth]\napi_keys = [\"k\", 2]\n",
        2,
        "each item of \"api_keys\" must be a string",
    );
    one_problem(
        &with_base("[[points.triggers]]\ntype = \"metric\"\npoints = 1\nmetric = \"lessons\"\nthreshold = 1.5\n"),
        BASE_LINES + 5,
        "\"threshold\" must be an integer",
    );
}

#[test]
fn integers_are_accepted_where_floats_are_expected() {
    let config = valid(&with_base(
        r#"
[server]
control_ratio = 1

[streaks]
metrics = [{ metric = "lessons", threshold = 2 }]

[[achievements]]
key = "ten"
name = "Ten"
trigger = "metric"
metric = "lessons"
metric_value = 10

[[points.boosts]]
name = "Triple"
start = "2025-01-01"
multiplier = 3
"#,
    ));
    assert_eq!(config.server.control_ratio, 1.0);
    assert_eq!(
        config.streaks.as_ref().map(|s| s.metrics[0].threshold),
        Some(2.0)
    );
    assert_eq!(
        config.achievements[1].def.trigger,
        AchievementTrigger::Metric {
            metric: "lessons".to_owned(),
            value: 10.0
        }
    );
    assert_eq!(config.points[0].boosts[0].multiplier, 3.0);
}

// ----- enums -----------------------------------------------------------------------------------

#[test]
fn unknown_enum_values_list_the_choices() {
    one_problem(
        "[server]\ndurability = \"fast\"\n",
        2,
        "one of \"full\", \"normal\", found \"fast\"",
    );
    one_problem(
        "[[attributes]]\nkey = \"a\"\nname = \"A\"\ntype = \"group\"\n",
        4,
        "\"type\" must be one of \"user\", \"event\"",
    );
    one_problem(
        "[[metrics]]\nkey = \"m\"\nname = \"M\"\nunit_type = \"money\"\n",
        4,
        "\"unit_type\"",
    );
    let streak = |key: &str, value: &str| {
        with_base(&format!(
            "[streaks]\nmetrics = [{{ metric = \"lessons\" }}]\n{key} = \"{value}\"\n"
        ))
    };
    one_problem(
        &streak("frequency", "hourly"),
        BASE_LINES + 3,
        "\"frequency\"",
    );
    one_problem(
        &streak("evaluation_mode", "XOR"),
        BASE_LINES + 3,
        "\"evaluation_mode\"",
    );
    one_problem(
        &streak("week_start", "tuesday"),
        BASE_LINES + 3,
        "\"week_start\"",
    );
    one_problem(
        &with_base("[[achievements]]\nkey = \"x\"\nname = \"X\"\ntrigger = \"time\"\n"),
        BASE_LINES + 4,
        "\"trigger\" must be one of \"metric\", \"streak\", \"api\", \"achievement\"",
    );
    one_problem(
        &with_base("[[achievements]]\nkey = \"x\"\nname = \"X\"\ntrigger = \"api\"\nstatus = \"archived\"\n"),
        BASE_LINES + 5,
        "\"status\"",
    );
    one_problem(
        &with_base("[[points.triggers]]\ntype = \"login\"\npoints = 1\n"),
        BASE_LINES + 2,
        "\"type\" must be one of",
    );
    one_problem(
        &with_base("[[points.triggers]]\ntype = \"time\"\npoints = 1\ntime_unit = \"weeks\"\ntime_interval = 1\n"),
        BASE_LINES + 4,
        "\"time_unit\" must be one of \"hours\", \"days\"",
    );
    one_problem(
        &with_base(
            "[[points.triggers]]\ntype = \"user_creation\"\npoints = 1\nstatus = \"locked\"\n",
        ),
        BASE_LINES + 4,
        "\"status\" must be one of \"active\", \"inactive\"",
    );
    one_problem(
        &with_base("[[points.boosts]]\nname = \"b\"\nstart = \"2025-01-01\"\nmultiplier = 2\nrounding = \"half\"\n"),
        BASE_LINES + 5,
        "\"rounding\"",
    );
    one_problem(
        &with_base("[[leaderboards]]\nkey = \"l\"\nname = \"L\"\nrank_by = \"level\"\n"),
        BASE_LINES + 4,
        "\"rank_by\"",
    );
    one_problem(
        &with_base("[[leaderboards]]\nkey = \"l\"\nname = \"L\"\nrank_by = \"metric\"\nmetric = \"lessons\"\nrun_unit = \"week\"\nrun_interval = 1\n"),
        BASE_LINES + 6,
        "\"run_unit\" must be one of \"day\", \"month\", \"year\"",
    );
    one_problem(
        &with_base("[[leaderboards]]\nkey = \"l\"\nname = \"L\"\nrank_by = \"streak\"\nstatus = \"scheduled\"\n"),
        BASE_LINES + 5,
        "\"status\"",
    );
    one_problem(
        "[[webhooks]]\nurl = \"http://h\"\nsecret = \"s\"\nevents = [\"streak.lost\", \"user.created\"]\n",
        4,
        "unknown webhook event type \"user.created\"",
    );
}

#[test]
fn all_is_a_synonym_of_and() {
    for mode in ["AND", "ALL"] {
        let config = valid(&with_base(&format!(
            "[streaks]\nevaluation_mode = \"{mode}\"\nmetrics = [{{ metric = \"lessons\" }}]\n"
        )));
        assert_eq!(
            config.streaks.map(|s| s.evaluation_mode),
            Some(EvaluationMode::And)
        );
    }
}

// ----- required keys, key syntax, duplicates ---------------------------------------------------

#[test]
fn missing_required_keys_are_reported_at_the_table() {
    let found = problems("\n[[metrics]]\nunits = \"km\"\n");
    assert_eq!(
        found,
        vec![
            (2, "missing key \"key\" in [[metrics]]".to_owned()),
            (2, "missing key \"name\" in [[metrics]]".to_owned()),
        ]
    );
    let found = problems("[[achievements]]\nkey = \"a\"\n");
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().any(|(_, m)| m.contains("\"name\"")));
    assert!(found.iter().any(|(_, m)| m.contains("\"trigger\"")));
    one_problem(
        "[[webhooks]]\nurl = \"http://h\"\n",
        1,
        "missing key \"secret\"",
    );
    one_problem(
        &with_base("[[achievements]]\nkey = \"x\"\nname = \"X\"\ntrigger = \"metric\"\nmetric = \"lessons\"\n"),
        BASE_LINES + 1,
        "missing key \"metric_value\" in [[achievements]]",
    );
}

#[test]
fn keys_must_be_url_safe() {
    one_problem(
        "[[metrics]]\nkey = \"lessons done\"\nname = \"L\"\n",
        2,
        "may only contain letters, digits, \"-\" and \"_\"",
    );
    one_problem(
        "[[attributes]]\nkey = \"a.b\"\nname = \"A\"\ntype = \"user\"\n",
        2,
        "attribute key",
    );
    one_problem(
        &with_base("[[points.levels]]\nkey = \"\"\nname = \"L\"\npoints = 0\n"),
        BASE_LINES + 2,
        "level key",
    );
}

#[test]
fn duplicate_keys_are_reported_at_the_second_one() {
    one_problem(
        "[[attributes]]\nkey = \"a\"\nname = \"A\"\ntype = \"user\"\n[[attributes]]\nkey = \"a\"\nname = \"B\"\ntype = \"event\"\n",
        6,
        "duplicate attribute key \"a\"",
    );
    one_problem(
        &with_base("[[achievements]]\nkey = \"first\"\nname = \"Again\"\ntrigger = \"api\"\n"),
        BASE_LINES + 2,
        "duplicate achievement key \"first\"",
    );
    one_problem(
        &with_base("[[points]]\nkey = \"xp\"\nname = \"Again\"\n"),
        BASE_LINES + 2,
        "duplicate points system key \"xp\"",
    );
    let board = "[[leaderboards]]\nkey = \"b\"\nname = \"B\"\nrank_by = \"streak\"\n";
    one_problem(
        &format!("{board}{board}"),
        6,
        "duplicate leaderboard key \"b\"",
    );
    // Levels are unique within their system only.
    let level = "[[points.levels]]\nkey = \"gold\"\nname = \"Gold\"\npoints = 10\n";
    let two_systems = format!(
        "[[points]]\nkey = \"a\"\nname = \"A\"\n{level}[[points]]\nkey = \"b\"\nname = \"B\"\n{level}"
    );
    valid(&two_systems);
    one_problem(
        &format!("[[points]]\nkey = \"a\"\nname = \"A\"\n{level}{level}"),
        9,
        "duplicate level key \"gold\"",
    );
}

// ----- references ------------------------------------------------------------------------------

#[test]
fn references_must_name_declared_definitions() {
    one_problem(
        &with_base("[streaks]\nmetrics = [{ metric = \"minutes\" }]\n"),
        BASE_LINES + 2,
        "unknown metric \"minutes\"",
    );
    one_problem(
        &with_base(
            "[[points.triggers]]\ntype = \"metric\"\npoints = 1\nmetric = \"xp\"\nthreshold = 1\n",
        ),
        BASE_LINES + 4,
        "unknown metric \"xp\"",
    );
    one_problem(
        &with_base(
            "[[points.triggers]]\ntype = \"achievement\"\npoints = 1\nachievement = \"second\"\n",
        ),
        BASE_LINES + 4,
        "unknown achievement \"second\"",
    );
    one_problem(
        &with_base("[[leaderboards]]\nkey = \"l\"\nname = \"L\"\nrank_by = \"points\"\npoints_system = \"coins\"\n"),
        BASE_LINES + 5,
        "unknown points system \"coins\"",
    );
    one_problem(
        &with_base("[[leaderboards]]\nkey = \"l\"\nname = \"L\"\nrank_by = \"metric\"\nmetric = \"lesson\"\n"),
        BASE_LINES + 5,
        "unknown metric \"lesson\" (did you mean \"lessons\"?)",
    );
}

#[test]
fn definitions_may_refer_to_ones_written_later() {
    valid(
        r#"
[[achievements]]
key = "both"
name = "Both"
trigger = "achievement"
prerequisites = ["one", "two"]

[[achievements]]
key = "one"
name = "One"
trigger = "metric"
metric = "lessons"
metric_value = 1

[[achievements]]
key = "two"
name = "Two"
trigger = "api"

[[metrics]]
key = "lessons"
name = "Lessons"
"#,
    );
}

#[test]
fn attribute_filters_check_declaration_and_type() {
    let achievement = |filters: &str| {
        with_base(&format!(
            "[[achievements]]\nkey = \"x\"\nname = \"X\"\ntrigger = \"metric\"\nmetric = \"lessons\"\nmetric_value = 1\n{filters}\n"
        ))
    };
    let config = valid(&achievement(
        "user_attributes = { plan = \"pro\" }\nevent_attributes = { source = \"ios\" }",
    ));
    assert_eq!(
        config.achievements[1].def.user_attributes,
        vec![("plan".to_owned(), "pro".to_owned())]
    );
    one_problem(
        &achievement("user_attributes = { source = \"ios\" }"),
        BASE_LINES + 7,
        "\"source\" is an event attribute, but \"user_attributes\" takes user attributes",
    );
    one_problem(
        &achievement("event_attributes = { plan = \"pro\" }"),
        BASE_LINES + 7,
        "\"plan\" is a user attribute, but \"event_attributes\" takes event attributes",
    );
    one_problem(
        &achievement("user_attributes = { country = \"fr\" }"),
        BASE_LINES + 7,
        "unknown user attribute \"country\"",
    );
    one_problem(
        &achievement("user_attributes = { plan = 1 }"),
        BASE_LINES + 7,
        "must be a string",
    );
    one_problem(
        &with_base("[[leaderboards]]\nkey = \"l\"\nname = \"L\"\nrank_by = \"streak\"\nbreakdown_attributes = [\"source\"]\n"),
        BASE_LINES + 5,
        "\"breakdown_attributes\" takes user attributes",
    );
    one_problem(
        &with_base("[[points.boosts]]\nname = \"b\"\nstart = \"2025-01-01\"\nmultiplier = 2\nuser_attributes = { source = \"ios\" }\n"),
        BASE_LINES + 5,
        "takes user attributes",
    );
}

#[test]
fn attribute_filters_keep_file_order() {
    let config = valid(
        "[[attributes]]\nkey = \"z\"\nname = \"Z\"\ntype = \"user\"\n\
         [[attributes]]\nkey = \"a\"\nname = \"A\"\ntype = \"user\"\n\
         [[achievements]]\nkey = \"x\"\nname = \"X\"\ntrigger = \"api\"\nuser_attributes = { z = \"1\", a = \"2\" }\n",
    );
    let keys: Vec<&str> = config.achievements[0]
        .def
        .user_attributes
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(keys, ["z", "a"]);
}

// ----- trigger-specific keys -------------------------------------------------------------------

#[test]
fn achievement_keys_belong_to_their_trigger() {
    let achievement = |body: &str| {
        with_base(&format!(
            "[[achievements]]\nkey = \"x\"\nname = \"X\"\n{body}\n"
        ))
    };
    one_problem(
        &achievement("trigger = \"streak\"\nstreak_length = 7\nmetric_value = 3"),
        BASE_LINES + 6,
        "\"metric_value\" is only allowed with trigger = \"metric\"",
    );
    one_problem(
        &achievement("trigger = \"api\"\nprerequisites = [\"first\"]"),
        BASE_LINES + 5,
        "\"prerequisites\" is only allowed with trigger = \"achievement\"",
    );
    one_problem(
        &achievement("trigger = \"api\"\nevent_attributes = { source = \"ios\" }"),
        BASE_LINES + 5,
        "\"event_attributes\" is only allowed with trigger = \"metric\"",
    );
    one_problem(
        &achievement(
            "trigger = \"metric\"\nmetric = \"lessons\"\nmetric_value = 1\nstreak_length = 2",
        ),
        BASE_LINES + 7,
        "\"streak_length\" is only allowed with trigger = \"streak\"",
    );
    one_problem(
        &achievement("trigger = \"streak\"\nstreak_length = 0"),
        BASE_LINES + 5,
        "\"streak_length\" must be at least 1",
    );
    one_problem(
        &achievement("trigger = \"metric\"\nmetric = \"lessons\"\nmetric_value = 0"),
        BASE_LINES + 6,
        "greater than 0",
    );
    one_problem(
        &achievement("trigger = \"achievement\""),
        BASE_LINES + 1,
        "missing key \"prerequisites\"",
    );
    one_problem(
        &achievement("trigger = \"achievement\"\nprerequisites = []"),
        BASE_LINES + 5,
        "must name at least one achievement",
    );
    one_problem(
        &achievement("trigger = \"achievement\"\nprerequisites = [\"first\", \"first\"]"),
        BASE_LINES + 5,
        "prerequisite \"first\" is listed twice",
    );
}

#[test]
fn points_trigger_keys_belong_to_their_type() {
    let trigger = |body: &str| with_base(&format!("[[points.triggers]]\npoints = 5\n{body}\n"));
    let config = valid(&trigger(
        "type = \"time\"\ntime_unit = \"hours\"\ntime_interval = 24",
    ));
    assert_eq!(
        config.points[0].triggers[0].def.kind,
        TriggerKind::Time {
            unit: TimeUnit::Hours,
            interval: 24
        }
    );
    one_problem(
        &trigger("type = \"metric\"\nmetric = \"lessons\"\nthreshold = 0"),
        BASE_LINES + 5,
        "\"threshold\" must be at least 1",
    );
    one_problem(
        &trigger("type = \"metric\"\nmetric = \"lessons\""),
        BASE_LINES + 1,
        "missing key \"threshold\"",
    );
    one_problem(
        &trigger("type = \"achievement\""),
        BASE_LINES + 1,
        "missing key \"achievement\"",
    );
    one_problem(
        &trigger("type = \"streak\"\nstreak_length = 0"),
        BASE_LINES + 4,
        "at least 1",
    );
    one_problem(
        &trigger("type = \"time\"\ntime_unit = \"days\""),
        BASE_LINES + 1,
        "missing key \"time_interval\"",
    );
    one_problem(
        &trigger("type = \"time\"\ntime_unit = \"days\"\ntime_interval = 0"),
        BASE_LINES + 5,
        "\"time_interval\" must be at least 1",
    );
    one_problem(
        &trigger("type = \"user_creation\"\nmetric = \"lessons\""),
        BASE_LINES + 4,
        "\"metric\" is only allowed with type = \"metric\"",
    );
    one_problem(
        &trigger("type = \"streak\"\nstreak_length = 3\nevent_attributes = {}"),
        BASE_LINES + 5,
        "\"event_attributes\" is only allowed with type = \"metric\"",
    );
    one_problem(
        &with_base("[[points.triggers]]\ntype = \"user_creation\"\npoints = 0\n"),
        BASE_LINES + 3,
        "\"points\" must not be 0",
    );
    one_problem(
        &with_base("[[points.triggers]]\ntype = \"user_creation\"\n"),
        BASE_LINES + 1,
        "missing key \"points\"",
    );
    let negative = valid(&with_base(
        "[[points.triggers]]\ntype = \"user_creation\"\npoints = -3\n",
    ));
    assert_eq!(negative.points[0].triggers[0].def.points, -3);
}

// ----- prerequisite cycles ---------------------------------------------------------------------

#[test]
fn prerequisite_cycles_are_reported_once_with_their_path() {
    let text = r#"[[achievements]]
key = "a"
name = "A"
trigger = "achievement"
prerequisites = ["b"]

[[achievements]]
key = "b"
name = "B"
trigger = "achievement"
prerequisites = ["a"]
"#;
    assert_eq!(
        problems(text),
        vec![(5, "prerequisite cycle: a -> b -> a".to_owned())]
    );

    one_problem(
        "[[achievements]]\nkey = \"me\"\nname = \"Me\"\ntrigger = \"achievement\"\nprerequisites = [\"me\"]\n",
        5,
        "prerequisite cycle: me -> me",
    );
}

// ----- dates and time zones --------------------------------------------------------------------

#[test]
fn dates_are_checked_and_ordered() {
    let boost = |dates: &str| {
        with_base(&format!(
            "[[points.boosts]]\nname = \"b\"\nmultiplier = 2\n{dates}\n"
        ))
    };
    let config = valid(&boost("start = \"2025-01-15\"\nend = \"2025-01-15\""));
    assert_eq!(
        config.points[0].boosts[0].end,
        chrono::NaiveDate::from_ymd_opt(2025, 1, 15)
    );
    // A bare TOML date works as well as a string.
    valid(&boost("start = 2025-01-15"));
    one_problem(
        &boost("start = \"15/01/2025\""),
        BASE_LINES + 4,
        "YYYY-MM-DD",
    );
    one_problem(
        &boost("start = \"2025-02-30\""),
        BASE_LINES + 4,
        "YYYY-MM-DD",
    );
    one_problem(
        &boost("start = 2025-01-15T10:00:00"),
        BASE_LINES + 4,
        "without a time",
    );
    one_problem(
        &boost("start = \"2025-01-15\"\nend = \"2025-01-14\""),
        BASE_LINES + 5,
        "\"end\" must not be before start",
    );
    one_problem(&boost(""), BASE_LINES + 1, "missing key \"start\"");
    one_problem(
        &with_base("[[leaderboards]]\nkey = \"l\"\nname = \"L\"\nrank_by = \"streak\"\nstart = \"2025-06-01\"\nend = \"2025-05-31\"\n"),
        BASE_LINES + 6,
        "\"end\" must not be before start",
    );
}

#[test]
fn default_timezone_must_be_an_iana_name() {
    let config = valid("[server]\ndefault_timezone = \"Europe/Paris\"\n");
    assert_eq!(config.server.default_timezone, chrono_tz::Europe::Paris);
    one_problem(
        "[server]\ndefault_timezone = \"Paris\"\n",
        2,
        "unknown time zone \"Paris\"",
    );
}

// ----- streaks ---------------------------------------------------------------------------------

#[test]
fn streak_rules() {
    let streak = |body: &str| with_base(&format!("[streaks]\n{body}\n"));
    let cond = "metrics = [{ metric = \"lessons\" }]";
    let config = valid(&streak(&format!("{cond}\ndays_off = [0, 6]")));
    let def = config.streaks.expect("streak");
    assert_eq!(def.days_off, [0, 6]);
    assert_eq!(def.metrics[0].threshold, 1.0);
    assert!(def.freezes.is_none());

    one_problem(
        &streak("frequency = \"daily\""),
        BASE_LINES + 1,
        "missing key \"metrics\"",
    );
    one_problem(
        &streak("metrics = []"),
        BASE_LINES + 2,
        "at least one metric",
    );
    one_problem(
        &streak("metrics = [{ metric = \"lessons\", threshold = 0 }]"),
        BASE_LINES + 2,
        "\"threshold\" must be greater than 0",
    );
    one_problem(
        &streak("metrics = [{ metric = \"lessons\" }, { metric = \"lessons\" }]"),
        BASE_LINES + 2,
        "listed twice",
    );
    one_problem(
        &streak(&format!("{cond}\ndays_off = [7]")),
        BASE_LINES + 3,
        "0 (Sunday) to 6",
    );
    one_problem(
        &streak(&format!("{cond}\ndays_off = [1, 1]")),
        BASE_LINES + 3,
        "day 1 is listed twice",
    );

    let freezes = |body: &str| streak(&format!("{cond}\n[streaks.freezes]\n{body}"));
    one_problem(
        &freezes("max_count = 101"),
        BASE_LINES + 4,
        "\"max_count\" must be at most 100",
    );
    one_problem(
        &freezes("start_count = 4\nmax_count = 3"),
        BASE_LINES + 4,
        "\"start_count\" (4) must not exceed \"max_count\" (3)",
    );
    one_problem(
        &freezes("max_count = 3\nauto_earn_amount = 1"),
        BASE_LINES + 5,
        "\"auto_earn_amount\" needs \"auto_earn_interval_days\"",
    );
    one_problem(
        &freezes("max_count = 3\nauto_earn_interval_days = 0\nauto_earn_amount = 1"),
        BASE_LINES + 5,
        "at least 1",
    );
    one_problem(
        &freezes("max_count = 3\nauto_earn_interval_days = 7\nauto_earn_amount = 0"),
        BASE_LINES + 6,
        "at least 1",
    );
    one_problem(
        &freezes("start_count = 1"),
        BASE_LINES + 3,
        "missing key \"max_count\"",
    );
}

// ----- points ----------------------------------------------------------------------------------

#[test]
fn points_system_levels_and_boosts() {
    one_problem(
        "[[points]]\nkey = \"xp\"\nname = \"XP\"\nmax_points = 0\n",
        4,
        "\"max_points\" must be at least 1",
    );
    one_problem(
        "[[points]]\nkey = \"xp\"\nname = \"XP\"\n[[points.levels]]\nkey = \"l\"\nname = \"L\"\npoints = -1\n",
        7,
        "\"points\" must not be negative",
    );
    let boost = |body: &str| {
        with_base(&format!(
            "[[points.boosts]]\nname = \"b\"\nstart = \"2025-01-01\"\n{body}\n"
        ))
    };
    for (multiplier, part) in [
        ("1", "must not be 1"),
        ("1.0", "must not be 1"),
        ("0", "greater than 0"),
        ("-2", "greater than 0"),
        ("100", "less than 100"),
    ] {
        one_problem(
            &boost(&format!("multiplier = {multiplier}")),
            BASE_LINES + 4,
            part,
        );
    }
    one_problem(
        &boost("multiplier = 2\nuser = \"u1\"\nuser_attributes = { plan = \"pro\" }"),
        BASE_LINES + 5,
        "cannot be used together",
    );
    let config = valid(&boost("multiplier = 2\nuser = \"u1\""));
    assert!(matches!(&config.points[0].boosts[0].target, BoostTarget::User(u) if u == "u1"));
    let long_name = "n".repeat(256);
    one_problem(
        &with_base(&format!(
            "[[points.boosts]]\nname = \"{long_name}\"\nstart = \"2025-01-01\"\nmultiplier = 2\n"
        )),
        BASE_LINES + 2,
        "at most 255 characters",
    );
}

// ----- leaderboards ----------------------------------------------------------------------------

#[test]
fn leaderboard_rules() {
    let board = |body: &str| {
        with_base(&format!(
            "[[leaderboards]]\nkey = \"l\"\nname = \"L\"\n{body}\n"
        ))
    };
    one_problem(
        &board("rank_by = \"metric\""),
        BASE_LINES + 1,
        "missing key \"metric\"",
    );
    one_problem(
        &board("rank_by = \"points\""),
        BASE_LINES + 1,
        "missing key \"points_system\"",
    );
    one_problem(
        &board("rank_by = \"points\"\npoints_system = \"xp\"\nmetric = \"lessons\""),
        BASE_LINES + 6,
        "\"metric\" is only allowed with rank_by = \"metric\"",
    );
    one_problem(
        &board("rank_by = \"streak\"\npoints_system = \"xp\""),
        BASE_LINES + 5,
        "\"points_system\" is only allowed with rank_by = \"points\"",
    );
    one_problem(
        &board("rank_by = \"streak\"\nrun_unit = \"day\"\nrun_interval = 7"),
        BASE_LINES + 5,
        "ranked by streak must be perpetual",
    );
    one_problem(
        &board("rank_by = \"streak\"\nrun_interval = 7"),
        BASE_LINES + 5,
        "ranked by streak must be perpetual",
    );
    one_problem(
        &board("rank_by = \"metric\"\nmetric = \"lessons\"\nrun_unit = \"day\""),
        BASE_LINES + 6,
        "\"run_unit\" needs \"run_interval\" as well",
    );
    one_problem(
        &board("rank_by = \"metric\"\nmetric = \"lessons\"\nrun_interval = 7"),
        BASE_LINES + 6,
        "\"run_interval\" needs \"run_unit\" as well",
    );
    one_problem(
        &board(
            "rank_by = \"metric\"\nmetric = \"lessons\"\nrun_unit = \"month\"\nrun_interval = 0",
        ),
        BASE_LINES + 7,
        "\"run_interval\" must be at least 1",
    );
    one_problem(
        &board("rank_by = \"streak\"\nmax_participants = 0"),
        BASE_LINES + 5,
        "at least 1",
    );
    one_problem(
        &board("rank_by = \"streak\"\nmax_participants = 1001"),
        BASE_LINES + 5,
        "at most 1000",
    );
    let config = valid(&board(
        "rank_by = \"metric\"\nmetric = \"lessons\"\nrun_unit = \"month\"\nrun_interval = 1\nmax_participants = 10\nbreakdown_attributes = [\"plan\"]",
    ));
    let def = &config.leaderboards[0].def;
    assert_eq!(def.run(), Some((RunUnit::Month, 1)));
    assert_eq!(def.max_participants, 10);
    assert_eq!(def.breakdown_attributes, ["plan"]);
    assert_eq!(def.rank_style, crate::config::RankStyle::Unique);
    one_problem(
        &board("rank_by = \"streak\"\nranking = \"dense\""),
        BASE_LINES + 5,
        "\"unique\"",
    );
    let config = valid(&board("rank_by = \"streak\"\nranking = \"competition\""));
    assert_eq!(
        config.leaderboards[0].def.rank_style,
        crate::config::RankStyle::Competition
    );
}

#[test]
fn leaderboard_time_windows() {
    let board = |body: &str| {
        with_base(&format!(
            "[[leaderboards]]\nkey = \"l\"\nname = \"L\"\nrank_by = \"metric\"\nmetric = \"lessons\"\n{body}\n"
        ))
    };
    let t = |s: &str| crate::rules::time_window::parse_time_of_day(s).expect("time");
    let window = |body: &str| valid(&board(body)).leaderboards[0].def.window();
    let both = window("start_time = \"09:00\"\nend_time = \"17:30:15\"");
    assert_eq!(
        (both.start(), both.end()),
        (Some(t("09:00")), Some(t("17:30:15")))
    );
    let from = window("start_time = \"18:00\"");
    assert_eq!((from.start(), from.end()), (Some(t("18:00")), None));
    assert!(!window("").is_restricted());
    one_problem(
        &board("start_time = \"9:00\""),
        BASE_LINES + 6,
        "\"start_time\" must be a time of day written \"HH:mm\" or \"HH:mm:ss\" (00:00 to 23:59:59), found \"9:00\"",
    );
    one_problem(
        &board("end_time = 1700"),
        BASE_LINES + 6,
        "\"end_time\" must be a time of day written \"HH:mm\" or \"HH:mm:ss\" (00:00 to 23:59:59), found an integer",
    );
    one_problem(
        &board("end_time = \"24:00\""),
        BASE_LINES + 6,
        "found \"24:00\"",
    );
    one_problem(
        &board("start_time = \"22:00\"\nend_time = \"06:00\""),
        BASE_LINES + 7,
        "\"end_time\" must be after \"start_time\" (a window cannot wrap past midnight",
    );
    one_problem(
        &board("start_time = \"09:00\"\nend_time = \"09:00\""),
        BASE_LINES + 7,
        "must be after",
    );
    one_problem(
        &board("end_time = \"00:00\""),
        BASE_LINES + 6,
        "end_time = \"00:00\" alone would count nothing",
    );
    one_problem(
        &with_base(
            "[[leaderboards]]\nkey = \"l\"\nname = \"L\"\nrank_by = \"streak\"\nend_time = \"17:00\"\n",
        ),
        BASE_LINES + 5,
        "a leaderboard ranked by streak cannot have a time window",
    );
}

// ----- webhooks --------------------------------------------------------------------------------

#[test]
fn webhook_rules() {
    let hook = |body: &str| format!("[[webhooks]]\n{body}\n");
    one_problem(
        &hook("url = \"ftp://h\"\nsecret = \"s\""),
        2,
        "must start with http:// or https://",
    );
    one_problem(
        &hook("url = \"https://\"\nsecret = \"s\""),
        2,
        "has no host",
    );
    one_problem(
        &hook("url = \"http://h\"\nsecret = \"\""),
        3,
        "\"secret\" must not be empty",
    );
    one_problem(
        &hook("url = \"http://h\"\nsecret = \"s\"\nevents = []"),
        4,
        "omit it to receive every event type",
    );
    for key in [
        "timeout_seconds",
        "retry_for_hours",
        "initial_backoff_seconds",
        "max_concurrency",
    ] {
        one_problem(
            &hook(&format!("url = \"http://h\"\nsecret = \"s\"\n{key} = 0")),
            4,
            &format!("\"{key}\" must be at least 1"),
        );
    }
    let config = valid(&hook(
        "url = \"https://h/x\"\nsecret = \"s\"\nevents = [\"points.changed\"]\ntimeout_seconds = 5",
    ));
    assert_eq!(
        config.webhooks[0].events,
        Some(vec!["points.changed".to_owned()])
    );
    assert_eq!(config.webhooks[0].timeout_seconds, 5);
}

// ----- auth, limits, server --------------------------------------------------------------------

#[test]
fn auth_keys_in_the_file() {
    let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let config = valid(&format!(
        "[auth]\napi_keys = [\"plain\", \"sha256:{hash}\"]\nadmin_keys = [\"root\"]\n"
    ));
    assert_eq!(config.auth.api_keys[0], ApiKey::Plain("plain".to_owned()));
    let Some(ApiKey::Sha256(bytes)) = config.auth.api_keys.get(1) else {
        panic!("second key is a hash");
    };
    assert_eq!(hex::encode(bytes), hash);
    assert_eq!(config.auth.admin_keys, [ApiKey::Plain("root".to_owned())]);

    let found = problems("[auth]\napi_keys = [\"ok\",\n  \"sha256:abc\"]\nadmin_keys = [\"\"]\n");
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, 3);
    assert!(found[0].1.contains("exactly 64 hexadecimal digits"));
    assert_eq!(found[1].0, 4);
    assert!(found[1].1.contains("must not be empty"));
}

#[test]
fn limits_and_server_ranges() {
    let config = valid("[limits]\nevents_per_second = 10\npoints_changed_window_seconds = 0\n");
    assert_eq!(config.limits.events_per_second, 10);
    assert_eq!(config.limits.points_changed_window_seconds, 0);
    one_problem(
        "[limits]\nreads_per_second = -1\n",
        2,
        "\"reads_per_second\" must not be negative",
    );
    one_problem(
        "[limits]\nevents_per_second = 5000000000\n",
        2,
        "at most 4294967295",
    );
    one_problem(
        "[server]\nidempotency_ttl_days = -1\n",
        2,
        "must not be negative",
    );
    one_problem("[server]\ncontrol_ratio = 1.5\n", 2, "between 0 and 1");
    one_problem("[server]\ncontrol_ratio = -0.1\n", 2, "between 0 and 1");
    one_problem(
        "[server]\nlisten = \"8080\"\n",
        2,
        "\"listen\" must be an address with a port",
    );
    one_problem("[server]\ndata = \"\"\n", 2, "\"data\" must not be empty");
    let config = valid(
        "[server]\nlisten = \"localhost:9000\"\ndurability = \"normal\"\nmulti_tenant = true\nmetrics_auth = true\ncontrol_ratio = 0.25\n",
    );
    assert_eq!(config.server.listen, "localhost:9000");
    assert_eq!(config.server.durability, Durability::Normal);
    assert!(config.server.multi_tenant && config.server.metrics_auth);
    assert_eq!(config.server.control_ratio, 0.25);
}

#[test]
fn checkpoints_are_our_own_unless_left_to_litestream() {
    assert_eq!(valid("").server.checkpoints, Checkpoints::OwnProcess);
    let config = valid("[server]\ncheckpoints = \"external\"\n");
    assert_eq!(config.server.checkpoints, Checkpoints::External);
    one_problem(
        "[server]\ncheckpoints = \"litestream\"\n",
        2,
        "one of \"self\", \"external\", found \"litestream\"",
    );
}

#[test]
fn currency_metrics_need_a_currency_code() {
    valid("[[metrics]]\nkey = \"r\"\nname = \"R\"\nunit_type = \"currency\"\nunits = \"EUR\"\n");
    one_problem(
        "[[metrics]]\nkey = \"r\"\nname = \"R\"\nunit_type = \"currency\"\nunits = \"euros\"\n",
        5,
        "ISO 4217",
    );
}

// ----- environment -----------------------------------------------------------------------------

fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    }
}

#[test]
fn environment_overrides_the_file() {
    let mut config =
        valid("[server]\nlisten = \"127.0.0.1:1\"\n[auth]\napi_keys = [\"from-file\"]\n");
    let hash = "ab".repeat(32);
    let keys = format!("one, sha256:{hash} ,,two");
    let env = [
        ("TROPHYD_LISTEN", "0.0.0.0:8080"),
        ("TROPHYD_DATA", "/var/lib/trophy/trophy.db"),
        ("TROPHYD_DURABILITY", "normal"),
        ("TROPHYD_MULTI_TENANT", "true"),
        ("TROPHYD_DEFAULT_TIMEZONE", "Asia/Tokyo"),
        ("TROPHYD_API_KEYS", keys.as_str()),
        ("TROPHYD_ADMIN_KEYS", "admin"),
    ];
    apply_env(&mut config, vars(&env)).expect("valid overrides");
    assert_eq!(config.server.listen, "0.0.0.0:8080");
    assert_eq!(
        config.server.data,
        std::path::PathBuf::from("/var/lib/trophy/trophy.db")
    );
    assert_eq!(config.server.durability, Durability::Normal);
    assert!(config.server.multi_tenant);
    assert_eq!(config.server.default_timezone, chrono_tz::Asia::Tokyo);
    assert_eq!(
        config.auth.api_keys,
        [
            ApiKey::Plain("one".to_owned()),
            ApiKey::Sha256([0xab; 32]),
            ApiKey::Plain("two".to_owned())
        ]
    );
    assert_eq!(config.auth.admin_keys, [ApiKey::Plain("admin".to_owned())]);
}

#[test]
fn unset_or_empty_variables_change_nothing() {
    let mut config = valid("[auth]\napi_keys = [\"from-file\"]\n");
    apply_env(
        &mut config,
        vars(&[("TROPHYD_API_KEYS", ""), ("TROPHYD_LISTEN", "  ")]),
    )
    .expect("nothing to apply");
    assert_eq!(
        config.auth.api_keys,
        [ApiKey::Plain("from-file".to_owned())]
    );
    assert_eq!(config.server.listen, "127.0.0.1:8080");
}

#[test]
fn bad_environment_values_name_the_variable_and_change_nothing() {
    let mut config = Config::default();
    let env = [
        ("TROPHYD_LISTEN", "0.0.0.0:8080"),
        ("TROPHYD_DURABILITY", "fast"),
        ("TROPHYD_MULTI_TENANT", "yes"),
        ("TROPHYD_DEFAULT_TIMEZONE", "Nowhere/City"),
        ("TROPHYD_ADMIN_KEYS", "ok,sha256:xyz"),
    ];
    let err = apply_env(&mut config, vars(&env)).expect_err("bad values");
    for name in [
        "TROPHYD_DURABILITY",
        "TROPHYD_MULTI_TENANT",
        "TROPHYD_DEFAULT_TIMEZONE",
        "TROPHYD_ADMIN_KEYS",
    ] {
        assert!(err.contains(name), "{err}");
    }
    assert!(err.contains("key 2"), "{err}");
    assert_eq!(
        config.server.listen, "127.0.0.1:8080",
        "nothing applied on error"
    );
    assert!(
        apply_env(&mut config, vars(&[("TROPHYD_LISTEN", "nowhere")]))
            .is_err_and(|e| e.starts_with("TROPHYD_LISTEN"))
    );
}

// ----- files -----------------------------------------------------------------------------------

#[test]
fn load_file_reports_path_line_and_column() {
    let dir = std::env::temp_dir().join(format!("trophyd-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("trophy.toml");
    std::fs::write(&path, "[server]\ndurability = \"x\"\nfoo = 1\n").expect("write");
    let err = load_file(&path).expect_err("invalid");
    let shown = err.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 2, "{shown}");
    assert!(
        lines[0].starts_with(&format!("{}:2:14: ", path.display())),
        "{shown}"
    );
    assert!(
        lines[1].starts_with(&format!("{}:3:1: unknown key \"foo\"", path.display())),
        "{shown}"
    );

    std::fs::write(&path, "[server]\nlisten = \"127.0.0.1:9\"\n").expect("write");
    assert_eq!(
        load_file(&path).expect("valid").server.listen,
        "127.0.0.1:9"
    );

    let missing = dir.join("absent.toml");
    assert!(matches!(load_file(&missing), Err(LoadError::Io(p, _)) if p == missing));
    std::fs::remove_dir_all(&dir).ok();
}

// ----- robustness ------------------------------------------------------------------------------

#[test]
fn no_input_makes_the_parser_panic() {
    let text = example_with_webhook();
    // Every prefix (cut mid-token, mid-table, mid-string) and every file with one line removed.
    let cuts: Vec<usize> = (0..=text.len())
        .filter(|i| text.is_char_boundary(*i))
        .step_by(3)
        .collect();
    for cut in cuts {
        let _ = parse(&text[..cut]);
    }
    let lines: Vec<&str> = text.lines().collect();
    for skip in 0..lines.len() {
        let without: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, l)| *l)
            .collect();
        let _ = parse(&without.join("\n"));
    }
    for odd in [
        "\u{feff}[server]\n",
        "a = 0x7fffffffffffffff\n[server]\nidempotency_ttl_days = 0x7fffffffffffffff\n",
        "[server]\ncontrol_ratio = nan\n",
        "[server]\ncontrol_ratio = inf\n",
        "[[points]]\nkey=\"x\"\nname=\"x\"\nmax_points = 9223372036854775807\n",
        "[[achievements]]\n[[achievements]]\n[[achievements]]\n",
        "streaks = []\nachievements = 1\npoints = [1, {}]\n",
        "[streaks]\nmetrics = [1, \"x\", []]\ndays_off = [\"a\", -1, 300]\n",
    ] {
        let _ = parse(odd);
    }
}

#[test]
fn body_timeout_is_bounded() {
    assert_eq!(
        crate::config::Config::default().limits.body_timeout_ms,
        10_000
    );
    let config = valid("[limits]\nbody_timeout_ms = 250\n");
    assert_eq!(config.limits.body_timeout_ms, 250);
    for bad in ["0", "99", "600001", "-1", "\"10s\"", "1.5"] {
        let text = format!("[limits]\nbody_timeout_ms = {bad}\n");
        assert!(
            crate::config::parse(&text).is_err(),
            "body_timeout_ms = {bad} must be refused"
        );
    }
}

#[test]
fn writer_queue_is_bounded_and_at_least_one() {
    assert_eq!(crate::config::Config::default().limits.writer_queue, 10_000);
    let config = valid("[limits]\nwriter_queue = 50\n");
    assert_eq!(config.limits.writer_queue, 50);
    for bad in ["0", "1000001", "-3", "\"many\""] {
        let text = format!("[limits]\nwriter_queue = {bad}\n");
        assert!(
            crate::config::parse(&text).is_err(),
            "writer_queue = {bad} must be refused"
        );
    }
}

#[test]
fn the_issue_s_notification_config_parses_with_its_defaults() {
    let config = valid(
        r#"
[emails]
smtp_url = "smtp://user:secret@127.0.0.1:2525"
from = "Acme <streaks@acme.test>"
public_url = "https://gamify.acme.test/"

[emails.achievement]
[emails.streak_reminder]
[emails.recap]
frequency = "weekly"
[emails.reactivation]

[push.expo]
access_token = "tok"
[push.fcm]
service_account_file = "fcm.json"
[push.apns]
key_file = "AuthKey.p8"
key_id = "K"
team_id = "T"
bundle_id = "com.acme"

[[webhooks]]
url = "http://127.0.0.1:9/h"
secret = "s"
events = ["emails.achievement_due", "emails.recap_due"]
"#,
    );
    let emails = &config.emails;
    let smtp = emails.smtp.as_ref().expect("smtp");
    assert_eq!(smtp.rate_per_second, 10);
    assert_eq!(
        emails.public_url.as_deref(),
        Some("https://gamify.acme.test")
    );
    assert_eq!(
        emails.streak_reminder.as_ref().map(|s| s.local_hour),
        Some(18)
    );
    assert_eq!(
        emails.recap.as_ref().map(|r| (r.frequency, r.local_hour)),
        Some((RecapFrequency::Weekly, 9))
    );
    assert_eq!(
        emails.reactivation.as_ref().map(|r| r.after_days.clone()),
        Some(vec![3, 7, 14, 30])
    );
    assert!(emails.achievement.is_some());
    assert_eq!(
        config.push.expo.as_ref().map(|e| e.url.as_str()),
        Some(notifications::DEFAULT_EXPO_URL)
    );
    assert_eq!(
        config.push.apns.as_ref().map(|a| a.url.as_str()),
        Some(notifications::DEFAULT_APNS_URL)
    );
    assert!(config.push.fcm.is_some());
}

#[test]
fn notification_config_problems_are_named_with_their_line() {
    one_problem(
        "[emails]\nsmtp_url = \"smtp://h:25\"\n",
        1,
        "missing key \"from\"",
    );
    one_problem(
        "[emails]\nsmtp_url = \"http://h:25\"\nfrom = \"a@b\"\n",
        2,
        "must start with smtp:// or smtps://",
    );
    one_problem(
        "[emails]\nsmtp_url = \"smtp://h:99999\"\nfrom = \"a@b\"\n",
        2,
        "invalid port",
    );
    one_problem(
        "[emails]\nsmtp_url = \"smtp://h\"\nfrom = \"Acme <nobody>\"\n",
        3,
        "no valid address",
    );
    one_problem(
        "[emails]\nfrom = \"a@b\"\n",
        2,
        "only allowed with \"smtp_url\"",
    );
    one_problem("[emails.recap]\nfrequency = \"hourly\"\n", 2, "frequency");
    one_problem("[emails.recap]\n", 1, "missing key \"frequency\"");
    one_problem(
        "[emails.streak_reminder]\nlocal_hour = 24\n",
        2,
        "local_hour",
    );
    one_problem(
        "[emails.reactivation]\nafter_days = [7, 3]\n",
        2,
        "must increase",
    );
    one_problem(
        "[emails.reactivation]\nafter_days = [0]\n",
        2,
        "between 1 and 365",
    );
    one_problem("[emails.reactivation]\nafter_days = []\n", 2, "is empty");
    one_problem("[emails.achievment]\n", 1, "achievment");
    one_problem(
        "[push.apns]\nkey_file = \"k.p8\"\nkey_id = \"K\"\nteam_id = \"T\"\n",
        1,
        "bundle_id",
    );
    one_problem("[push.expo]\nurl = \"ftp://x\"\n", 2, "http://");
    one_problem(
        "[[webhooks]]\nurl = \"http://h/\"\nsecret = \"s\"\nevents = [\"emails.due\"]\n",
        4,
        "unknown webhook event type",
    );
}
