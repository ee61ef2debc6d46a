//! A leaderboard: users ranked by a metric, a points system or the streak. One shape for
//! `[[leaderboards]]`, the stored body, the catalog and the Admin API's leaderboard items.
//! The key and the status are the row's, not the body's; references are by key.

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use super::{Definition, Problem};
use crate::domain::choices::choices;
use crate::rules::leaderboard_runs::RunUnit;
use crate::rules::time_window::TimeWindow;

/// Trophy's cap on a board's size, and a board's size when none is given.
pub const MAX_PARTICIPANTS: u32 = 1000;

/// What a board ranks by, stored flat beside `rankBy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rankBy", rename_all = "lowercase")]
pub enum RankBy {
    Metric {
        metric: String,
    },
    Points {
        #[serde(rename = "pointsSystem")]
        points_system: String,
    },
    Streak,
}

impl RankBy {
    /// The `rankBy` name.
    pub fn name(&self) -> &'static str {
        match self {
            RankBy::Metric { .. } => "metric",
            RankBy::Points { .. } => "points",
            RankBy::Streak => "streak",
        }
    }
}

choices! {
    /// How ties are numbered (docs/behaviour/leaderboards.md#ranking). Either way ties are
    /// ordered by who reached the value first, then by user id, and that order decides who
    /// is dropped from a full board; only the rank numbers differ.
    #[derive(Default, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum RankStyle {
        /// 1, 2, 3, 4: every participant has their own rank.
        #[default]
        Unique = "unique",
        /// 1, 2, 2, 4: a participant's rank is one more than the number of participants
        /// with a strictly higher value.
        Competition = "competition",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaderboardDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(flatten)]
    pub rank_by: RankBy,
    /// `None`: the day the definition was first stored.
    #[serde(default)]
    pub start: Option<NaiveDate>,
    #[serde(default)]
    pub end: Option<NaiveDate>,
    /// With `run_interval`, for a board that repeats; neither for a perpetual one.
    #[serde(default)]
    pub run_unit: Option<RunUnit>,
    #[serde(default)]
    pub run_interval: Option<u32>,
    #[serde(default = "max_participants")]
    pub max_participants: u32,
    /// User attribute keys whose values split the board into groups.
    #[serde(default)]
    pub breakdown_attributes: Vec<String>,
    #[serde(default, rename = "ranking")]
    pub rank_style: RankStyle,
    /// The local times of day whose activity counts; left out of the body when unset, so
    /// bodies written before windows existed read as unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time_of_day")]
    pub start_time: Option<NaiveTime>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time_of_day")]
    pub end_time: Option<NaiveTime>,
}

fn max_participants() -> u32 {
    MAX_PARTICIPANTS
}

impl LeaderboardDef {
    /// `(unit, interval)` of a repeating board.
    pub fn run(&self) -> Option<(RunUnit, u32)> {
        self.run_unit.zip(self.run_interval)
    }

    /// The window of activity that counts (none on a streak board).
    pub fn window(&self) -> TimeWindow {
        match self.rank_by {
            RankBy::Streak => TimeWindow::default(),
            _ => TimeWindow::new(self.start_time, self.end_time).unwrap_or_default(),
        }
    }
}

super::fields! {
    /// Where a [`Problem`] of a leaderboard is.
    pub enum Field {
        Name = "name",
        End = "end",
        RunUnit = "runUnit",
        RunInterval = "runInterval",
        MaxParticipants = "maxParticipants",
        StartTime = "startTime",
        EndTime = "endTime",
    }
}

impl Definition for LeaderboardDef {
    type Field = Field;

    /// The rules whatever declared it; references (the metric, the points system, the
    /// attributes) are checked where they are named, against the catalog.
    fn validate(&self) -> Vec<Problem<Field>> {
        let mut problems = super::name_problems(Field::Name, &self.name, false);
        if let (Some(start), Some(end)) = (self.start, self.end) {
            if end < start {
                problems.push(Problem::new(Field::End, "must not be before start"));
            }
        }
        match (self.run_unit, self.run_interval) {
            (Some(_), None) | (None, Some(_)) => {
                problems.push(Problem::new(Field::RunUnit, "and runInterval go together"))
            }
            (_, Some(0)) => problems.push(Problem::new(Field::RunInterval, "must be at least 1")),
            _ => {}
        }
        if !(1..=MAX_PARTICIPANTS).contains(&self.max_participants) {
            problems.push(Problem::new(
                Field::MaxParticipants,
                "must be between 1 and 1000",
            ));
        }
        if self.rank_by == RankBy::Streak {
            // A user has one streak, not one per run, and the streak's length is not
            // activity at a time of day.
            if self.run_unit.is_some() {
                problems.push(Problem::new(
                    Field::RunUnit,
                    "is not for streak leaderboards, which are perpetual",
                ));
            }
            for (field, time) in [
                (Field::StartTime, self.start_time),
                (Field::EndTime, self.end_time),
            ] {
                if time.is_some() {
                    problems.push(Problem::new(
                        field,
                        "is not for streak leaderboards: they rank the current streak length, not activity at a time of day",
                    ));
                }
            }
        } else if let Err(e) = TimeWindow::new(self.start_time, self.end_time) {
            problems.push(Problem::new(Field::EndTime, e.rule()));
        }
        problems
    }
}

/// `HH:mm` (or `HH:mm:ss`) in the stored body.
mod time_of_day {
    use chrono::NaiveTime;
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    use crate::rules::time_window::{format_time_of_day, parse_time_of_day};

    pub fn serialize<S: Serializer>(time: &Option<NaiveTime>, s: S) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => s.serialize_str(&format_time_of_day(*time)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => parse_time_of_day(&text)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("{text:?} is not a time of day"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bodies_of_every_version_read_back() {
        // As trophy.toml's sync wrote them before the model: every field, nulls included.
        let old = json!({"name": "S", "description": null, "rankBy": "streak", "metric": null,
            "pointsSystem": null, "start": null, "end": null, "runUnit": null,
            "runInterval": null, "maxParticipants": 1000, "breakdownAttributes": [],
            "ranking": "unique"});
        let board: LeaderboardDef = serde_json::from_value(old).expect("reads");
        assert_eq!(board.rank_by, RankBy::Streak);
        assert!(board.validate().is_empty());
        // As the Admin API wrote them: no ranking.
        let admin = json!({"name": "W", "rankBy": "metric", "metric": "words",
            "start": "2031-03-03", "runUnit": "day", "runInterval": 7, "maxParticipants": 10,
            "breakdownAttributes": ["plan"], "startTime": "09:00", "endTime": "17:30:15"});
        let board = LeaderboardDef::from_body(admin.as_object().expect("object")).expect("reads");
        assert_eq!(board.run(), Some((RunUnit::Day, 7)));
        assert_eq!(board.rank_style, RankStyle::Unique);
        assert!(board.window().is_restricted());
        let body = serde_json::Value::Object(board.body());
        assert_eq!(
            (&body["startTime"], &body["endTime"]),
            (&json!("09:00"), &json!("17:30:15"))
        );
        assert_eq!(body["metric"], "words");
        assert!(body.get("pointsSystem").is_none());
    }

    #[test]
    fn rules_name_their_field() {
        let board = |changes: serde_json::Value| {
            let mut body = json!({"name": "W", "rankBy": "streak"});
            for (k, v) in changes.as_object().expect("object") {
                body[k] = v.clone();
            }
            LeaderboardDef::from_body(body.as_object().expect("object"))
        };
        assert_eq!(
            board(json!({"runUnit": "day", "runInterval": 1})),
            Err("runUnit is not for streak leaderboards, which are perpetual".into())
        );
        assert_eq!(
            board(json!({"maxParticipants": 1001})),
            Err("maxParticipants must be between 1 and 1000".into())
        );
        assert_eq!(board(json!({"rankBy": "metric", "metric": "m", "startTime": "10:00", "endTime": "09:00"})),
            Err("endTime must be after startTime (a time window cannot wrap past midnight, and endTime 00:00 alone would count nothing)".into()));
        assert_eq!(
            board(json!({"start": "2031-03-03", "end": "2031-03-02"})),
            Err("end must not be before start".into())
        );
        assert!(board(json!({"startTime": "09:00"}))
            .is_err_and(|e| e.starts_with("startTime is not for streak leaderboards")));
    }
}
