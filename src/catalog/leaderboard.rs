//! A leaderboard definition as the engine and the routes use it, read back from its stored
//! body (written by `sync` for trophy.toml and by the Admin API). References are by key.
//! Points systems are resolved through the `definitions` rows of kind `points_system`.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::{json, Value};

use crate::config::{LeaderboardDef, LeaderboardStatus, RankBy, RankStyle, RunUnit};
use crate::rules::leaderboard_runs::Schedule;
use crate::rules::time_window::{format_time_of_day, parse_time_of_day, TimeWindow};

/// What a board ranks by; points systems carry their definition id and name.
#[derive(Debug, Clone, PartialEq)]
pub enum Ranking {
    Metric {
        key: String,
    },
    Points {
        system_id: i64,
        uuid: String,
        key: String,
        name: String,
    },
    Streak,
}

#[derive(Debug, Clone)]
pub struct Leaderboard {
    pub id: i64,
    pub uuid: String,
    /// Owning tenant, or 0 when shared by every tenant.
    pub owner: i64,
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub ranking: Ranking,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    pub repeat: Option<(RunUnit, u32)>,
    pub max_participants: u32,
    pub breakdown_attributes: Vec<String>,
    /// As stored: active (shown as `scheduled` before its start), inactive or finished.
    pub stored_status: LeaderboardStatus,
    pub managed: bool,
    pub rank_style: RankStyle,
    /// Local times of day whose activity counts (never set on streak boards).
    pub window: TimeWindow,
}

/// The status the API shows on `today` (UTC): scheduled before the start, finished after
/// the end or when finished by hand.
pub fn status_on(board: &Leaderboard, today: NaiveDate) -> &'static str {
    match board.stored_status {
        LeaderboardStatus::Inactive => "inactive",
        LeaderboardStatus::Finished => "finished",
        LeaderboardStatus::Active if today < board.start => "scheduled",
        LeaderboardStatus::Active if board.end.is_some_and(|end| today > end) => "finished",
        LeaderboardStatus::Active => "active",
    }
}

impl Leaderboard {
    pub fn schedule(&self) -> Schedule {
        Schedule {
            start: self.start,
            end: self.end,
            repeat: self.repeat,
        }
    }

    /// Whether events still count: stored active (runs decide the dates).
    pub fn tracking(&self) -> bool {
        self.stored_status == LeaderboardStatus::Active
    }

    pub fn rank_by(&self) -> &'static str {
        match self.ranking {
            Ranking::Metric { .. } => "metric",
            Ranking::Points { .. } => "points",
            Ranking::Streak => "streak",
        }
    }
}

pub fn unit_name(unit: RunUnit) -> &'static str {
    match unit {
        RunUnit::Day => "day",
        RunUnit::Month => "month",
        RunUnit::Year => "year",
    }
}

pub fn parse_unit(text: &str) -> Option<RunUnit> {
    match text {
        "day" => Some(RunUnit::Day),
        "month" => Some(RunUnit::Month),
        "year" => Some(RunUnit::Year),
        _ => None,
    }
}

/// The stored body of a board from trophy.toml (`start: null` means "the day the
/// definition was first loaded", resolved from its `created` time).
pub fn body_from_config(l: &LeaderboardDef) -> Value {
    let (rank_by, metric, points) = match &l.rank_by {
        RankBy::Metric(m) => ("metric", Some(m.as_str()), None),
        RankBy::Points(p) => ("points", None, Some(p.as_str())),
        RankBy::Streak => ("streak", None, None),
    };
    let mut body = json!({
        "name": l.name,
        "description": l.description,
        "rankBy": rank_by,
        "metric": metric,
        "pointsSystem": points,
        "start": l.start.map(|d| d.to_string()),
        "end": l.end.map(|d| d.to_string()),
        "runUnit": l.run.map(|(u, _)| unit_name(u)),
        "runInterval": l.run.map(|(_, i)| i),
        "maxParticipants": l.max_participants,
        "breakdownAttributes": l.breakdown_attributes,
        "ranking": l.rank_style.name(),
    });
    // Only when set: bodies of boards without a window stay as earlier versions wrote
    // them, so an upgrade does not count as a change of every board.
    for (field, time) in [("startTime", l.window.start()), ("endTime", l.window.end())] {
        if let (Some(time), Some(o)) = (time, body.as_object_mut()) {
            o.insert(field.into(), json!(format_time_of_day(time)));
        }
    }
    body
}

pub struct Row {
    pub id: i64,
    pub uuid: String,
    pub owner: i64,
    pub key: String,
    pub status: String,
    pub managed: bool,
    pub created_ms: i64,
}

/// A points system as boards see it: (owner, key) → (id, uuid, name).
pub type PointsSystems = HashMap<(i64, String), (i64, String, String)>;

fn date(body: &Value, field: &str) -> Option<NaiveDate> {
    body.get(field)?.as_str()?.parse().ok()
}

/// The stored window; both writers validate it, so a bad one can only come from a body
/// edited by hand, and then the board counts all day rather than disappearing.
fn window(body: &Value) -> TimeWindow {
    let time = |field: &str| {
        body.get(field)
            .and_then(Value::as_str)
            .and_then(parse_time_of_day)
    };
    TimeWindow::new(time("startTime"), time("endTime")).unwrap_or_default()
}

/// Builds the definition from its row; `None` for a body it cannot use.
pub fn from_row(row: Row, body: &Value, systems: &PointsSystems) -> Option<Leaderboard> {
    let text = |field: &str| body.get(field).and_then(Value::as_str).map(str::to_owned);
    let ranking = match body.get("rankBy")?.as_str()? {
        "metric" => Ranking::Metric {
            key: text("metric")?,
        },
        "points" => {
            let key = text("pointsSystem")?;
            let (system_id, uuid, name) = systems
                .get(&(row.owner, key.clone()))
                .or_else(|| systems.get(&(0, key.clone())))?
                .clone();
            Ranking::Points {
                system_id,
                uuid,
                key,
                name,
            }
        }
        "streak" => Ranking::Streak,
        _ => return None,
    };
    let repeat = match (
        text("runUnit").as_deref().and_then(parse_unit),
        body.get("runInterval")
            .and_then(Value::as_u64)
            .and_then(|i| u32::try_from(i).ok())
            .filter(|i| *i >= 1),
    ) {
        (Some(unit), Some(interval)) => Some((unit, interval)),
        _ => None,
    };
    let start = date(body, "start").or_else(|| {
        chrono::DateTime::from_timestamp_millis(row.created_ms).map(|t| t.date_naive())
    })?;
    let stored_status = match row.status.as_str() {
        "active" => LeaderboardStatus::Active,
        "finished" => LeaderboardStatus::Finished,
        _ => LeaderboardStatus::Inactive,
    };
    let window = if ranking == Ranking::Streak {
        TimeWindow::default()
    } else {
        window(body)
    };
    Some(Leaderboard {
        id: row.id,
        uuid: row.uuid,
        owner: row.owner,
        name: text("name").unwrap_or_else(|| row.key.clone()),
        key: row.key,
        description: text("description"),
        ranking,
        start,
        end: date(body, "end"),
        repeat,
        max_participants: body
            .get("maxParticipants")
            .and_then(Value::as_u64)
            .and_then(|m| u32::try_from(m).ok())
            .unwrap_or(crate::config::DEFAULT_MAX_PARTICIPANTS),
        breakdown_attributes: body
            .get("breakdownAttributes")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        stored_status,
        managed: row.managed,
        rank_style: text("ranking")
            .and_then(|r| RankStyle::parse(&r))
            .unwrap_or_default(),
        window,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(status: &str) -> Row {
        Row {
            id: 1,
            uuid: "u".into(),
            owner: 0,
            key: "weekly".into(),
            status: status.into(),
            managed: true,
            created_ms: 1_930_000_000_000,
        }
    }

    #[test]
    fn body_round_trips_and_status_follows_the_dates() {
        let config = crate::config::parse(
            "[[metrics]]\nkey = \"m\"\nname = \"M\"\n[[leaderboards]]\nkey = \"weekly\"\nname = \"W\"\nrank_by = \"metric\"\nmetric = \"m\"\nstart = \"2031-03-03\"\nend = \"2031-03-30\"\nrun_unit = \"day\"\nrun_interval = 7\n",
        )
        .expect("config");
        let body = body_from_config(&config.leaderboards[0]);
        let board = from_row(row("active"), &body, &PointsSystems::new()).expect("board");
        assert_eq!(board.ranking, Ranking::Metric { key: "m".into() });
        assert_eq!(board.repeat, Some((RunUnit::Day, 7)));
        let d = |s: &str| s.parse::<NaiveDate>().expect("date");
        assert_eq!(status_on(&board, d("2031-03-02")), "scheduled");
        assert_eq!(status_on(&board, d("2031-03-03")), "active");
        assert_eq!(status_on(&board, d("2031-03-31")), "finished");
        let inactive = from_row(row("inactive"), &body, &PointsSystems::new()).expect("board");
        assert_eq!(status_on(&inactive, d("2031-03-10")), "inactive");
    }

    #[test]
    fn time_windows_round_trip_and_streak_boards_never_have_one() {
        let config = crate::config::parse(
            "[[metrics]]\nkey = \"m\"\nname = \"M\"\n[[leaderboards]]\nkey = \"w\"\nname = \"W\"\nrank_by = \"metric\"\nmetric = \"m\"\nstart_time = \"09:00:00\"\nend_time = \"17:30:15\"\n",
        )
        .expect("config");
        let body = body_from_config(&config.leaderboards[0]);
        assert_eq!(
            (&body["startTime"], &body["endTime"]),
            (&json!("09:00"), &json!("17:30:15"))
        );
        let board = from_row(row("active"), &body, &PointsSystems::new()).expect("board");
        assert_eq!(board.window, config.leaderboards[0].window);
        let unset = json!({"name": "M", "rankBy": "metric", "metric": "m"});
        let board = from_row(row("active"), &unset, &PointsSystems::new()).expect("board");
        assert!(!board.window.is_restricted());
        let wrapped = json!({"name": "M", "rankBy": "metric", "metric": "m",
            "startTime": "22:00", "endTime": "06:00"});
        let board = from_row(row("active"), &wrapped, &PointsSystems::new()).expect("board");
        assert!(!board.window.is_restricted());
        let streak = json!({"name": "S", "rankBy": "streak", "startTime": "09:00"});
        let board = from_row(row("active"), &streak, &PointsSystems::new()).expect("board");
        assert!(!board.window.is_restricted());
    }

    #[test]
    fn missing_start_is_the_creation_day_and_unknown_points_systems_are_skipped() {
        let body = json!({"name": "S", "rankBy": "streak", "start": null});
        let board = from_row(row("active"), &body, &PointsSystems::new()).expect("board");
        assert_eq!(board.start.to_string(), "2031-02-27");
        let points = json!({"name": "P", "rankBy": "points", "pointsSystem": "xp"});
        assert!(from_row(row("active"), &points, &PointsSystems::new()).is_none());
        let mut systems = PointsSystems::new();
        systems.insert((0, "xp".into()), (7, "p-uuid".into(), "XP".into()));
        let board = from_row(row("active"), &points, &systems).expect("board");
        assert_eq!(
            board.ranking,
            Ranking::Points {
                system_id: 7,
                uuid: "p-uuid".into(),
                key: "xp".into(),
                name: "XP".into()
            }
        );
    }
}
