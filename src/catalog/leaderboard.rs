//! A leaderboard definition as the engine and the routes use it: its row and its model
//! ([`LeaderboardDef`]) with the points system it ranks by resolved. References are by key.
//! Points systems are resolved through the `definitions` rows of kind `points_system`.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::config::{LeaderboardStatus, RankStyle, RunUnit};
use crate::domain::ids::{DefinitionId, TenantId};
use crate::model::leaderboard::{LeaderboardDef, RankBy};
use crate::model::Definition;
use crate::rules::leaderboard_runs::Schedule;
use crate::rules::time_window::TimeWindow;
use crate::store::definitions::{Row, Status};

/// What a board ranks by; points systems carry their definition id and name.
#[derive(Debug, Clone, PartialEq)]
pub enum Ranking {
    Metric {
        key: String,
    },
    Points {
        system_id: DefinitionId,
        uuid: String,
        key: String,
        name: String,
    },
    Streak,
}

#[derive(Debug, Clone)]
pub struct Leaderboard {
    pub id: DefinitionId,
    pub uuid: String,
    /// Owning tenant, or `TenantId::SHARED` (0) when shared by every tenant.
    pub owner: TenantId,
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

/// A points system as boards see it: (owner, key) → (id, uuid, name).
pub type PointsSystems = HashMap<(TenantId, String), (DefinitionId, String, String)>;

/// Builds the definition from its row: `Err` for a body that cannot be read or breaks a
/// rule, `Ok(None)` for a points board whose system this server no longer has.
pub fn from_row(row: &Row, systems: &PointsSystems) -> Result<Option<Leaderboard>, String> {
    let def = LeaderboardDef::from_body(&row.body)?;
    let ranking = match &def.rank_by {
        RankBy::Metric { metric } => Ranking::Metric {
            key: metric.clone(),
        },
        RankBy::Points { points_system } => {
            let found = systems
                .get(&(row.owner, points_system.clone()))
                .or_else(|| systems.get(&(TenantId::SHARED, points_system.clone())));
            let Some((system_id, uuid, name)) = found.cloned() else {
                return Ok(None);
            };
            Ranking::Points {
                system_id,
                uuid,
                key: points_system.clone(),
                name,
            }
        }
        RankBy::Streak => Ranking::Streak,
    };
    let start = match def.start {
        Some(start) => start,
        None => chrono::DateTime::from_timestamp_millis(row.created)
            .map(|t| t.date_naive())
            .ok_or("its creation time is out of range")?,
    };
    let stored_status = match row.status {
        Status::Active => LeaderboardStatus::Active,
        Status::Finished => LeaderboardStatus::Finished,
        _ => LeaderboardStatus::Inactive,
    };
    Ok(Some(Leaderboard {
        id: row.id,
        uuid: row.uuid.clone(),
        owner: row.owner,
        key: row.key.clone(),
        ranking,
        start,
        end: def.end,
        repeat: def.run(),
        window: def.window(),
        max_participants: def.max_participants,
        stored_status,
        managed: row.managed,
        rank_style: def.rank_style,
        name: def.name,
        description: def.description,
        breakdown_attributes: def.breakdown_attributes,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    use crate::domain::ids::fixtures::{D1, D7};

    fn row(status: &str, body: &Value) -> Row {
        Row {
            id: D1,
            uuid: "u".into(),
            owner: TenantId::SHARED,
            kind: crate::store::definitions::Kind::Leaderboard,
            key: "weekly".into(),
            status: Status::parse(status).expect("status"),
            managed: true,
            body: body.as_object().expect("object").clone(),
            created: 1_930_000_000_000,
            updated: 1_930_000_000_000,
        }
    }

    fn board(status: &str, body: &Value, systems: &PointsSystems) -> Option<Leaderboard> {
        from_row(&row(status, body), systems).expect("readable")
    }

    fn declared(toml: &str) -> Value {
        let config = crate::config::parse(toml).expect("config");
        Value::Object(config.leaderboards[0].def.body())
    }

    #[test]
    fn body_round_trips_and_status_follows_the_dates() {
        let body = declared(
            "[[metrics]]\nkey = \"m\"\nname = \"M\"\n[[leaderboards]]\nkey = \"weekly\"\nname = \"W\"\nrank_by = \"metric\"\nmetric = \"m\"\nstart = \"2031-03-03\"\nend = \"2031-03-30\"\nrun_unit = \"day\"\nrun_interval = 7\n",
        );
        let active = board("active", &body, &PointsSystems::new()).expect("board");
        assert_eq!(active.ranking, Ranking::Metric { key: "m".into() });
        assert_eq!(active.repeat, Some((RunUnit::Day, 7)));
        let d = |s: &str| s.parse::<NaiveDate>().expect("date");
        assert_eq!(status_on(&active, d("2031-03-02")), "scheduled");
        assert_eq!(status_on(&active, d("2031-03-03")), "active");
        assert_eq!(status_on(&active, d("2031-03-31")), "finished");
        let inactive = board("inactive", &body, &PointsSystems::new()).expect("board");
        assert_eq!(status_on(&inactive, d("2031-03-10")), "inactive");
    }

    #[test]
    fn time_windows_round_trip_and_a_broken_body_is_an_error() {
        let body = declared(
            "[[metrics]]\nkey = \"m\"\nname = \"M\"\n[[leaderboards]]\nkey = \"w\"\nname = \"W\"\nrank_by = \"metric\"\nmetric = \"m\"\nstart_time = \"09:00:00\"\nend_time = \"17:30:15\"\n",
        );
        assert_eq!(
            (&body["startTime"], &body["endTime"]),
            (&json!("09:00"), &json!("17:30:15"))
        );
        assert!(board("active", &body, &PointsSystems::new())
            .expect("board")
            .window
            .is_restricted());
        let unset = json!({"name": "M", "rankBy": "metric", "metric": "m"});
        assert!(!board("active", &unset, &PointsSystems::new())
            .expect("board")
            .window
            .is_restricted());
        // Only a body edited by hand can break a rule; the row is then refused by name.
        let wrapped = json!({"name": "M", "rankBy": "metric", "metric": "m",
            "startTime": "22:00", "endTime": "06:00"});
        let refused = from_row(&row("active", &wrapped), &PointsSystems::new());
        assert!(refused.is_err_and(|e| e.starts_with("endTime must be after startTime")));
    }

    #[test]
    fn missing_start_is_the_creation_day_and_unknown_points_systems_are_skipped() {
        let body = json!({"name": "S", "rankBy": "streak", "start": null});
        let streak = board("active", &body, &PointsSystems::new()).expect("board");
        assert_eq!(streak.start.to_string(), "2031-02-27");
        let points = json!({"name": "P", "rankBy": "points", "pointsSystem": "xp"});
        assert!(board("active", &points, &PointsSystems::new()).is_none());
        let mut systems = PointsSystems::new();
        systems.insert(
            (TenantId::SHARED, "xp".into()),
            (D7, "p-uuid".into(), "XP".into()),
        );
        assert_eq!(
            board("active", &points, &systems).expect("board").ranking,
            Ranking::Points {
                system_id: D7,
                uuid: "p-uuid".into(),
                key: "xp".into(),
                name: "XP".into()
            }
        );
    }
}
