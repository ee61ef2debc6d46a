//! An Admin API leaderboard item (`POST` and `PATCH /admin/v1/leaderboards`), applied onto
//! the stored [`LeaderboardDef`]. References arrive as UUIDs and are stored by key, like
//! trophy.toml's, so one catalog reads both. The status is the row's: `admin.rs` decides it.

use std::sync::Arc;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::catalog::Catalog;
use crate::domain::attributes::AttributeType;
use crate::domain::bulk::{patched, present};
use crate::domain::ids::TenantId;
use crate::error::echo;
use crate::model::leaderboard::{LeaderboardDef, RankBy, MAX_PARTICIPANTS};
use crate::model::{Definition, FieldName};
use crate::rules::leaderboard_runs::RunUnit;
use crate::rules::time_window::parse_time_of_day;

/// One item of a create or update (`CreateLeaderboardRequestItem`,
/// `UpdateLeaderboardRequestItem`); on update every field but `id` is optional.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LeaderboardPatch {
    pub id: Option<String>,
    pub key: Option<String>,
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    pub status: Option<String>,
    pub rank_by: Option<String>,
    metric_id: Option<String>,
    points_system_id: Option<String>,
    /// `null`: Trophy's cap.
    #[serde(default, deserialize_with = "present")]
    max_participants: Option<Option<i64>>,
    start: Option<String>,
    #[serde(default, deserialize_with = "present")]
    end: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    start_time: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    end_time: Option<Option<String>>,
    breakdown_attributes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    run_unit: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    run_interval: Option<Option<i64>>,
}

/// The key of the active points system with a UUID, or why it could not be read.
pub type PointsSystemKey<'a> = Box<dyn Fn(&str) -> Result<Option<String>, String> + 'a>;

/// What an item's references and defaults are resolved against.
pub struct Scope<'a> {
    pub catalog: Arc<Catalog>,
    pub tenant: TenantId,
    /// The key of the active points system with a UUID, if the tenant sees one.
    pub points_system: PointsSystemKey<'a>,
    /// A new board's start when none is given.
    pub today: NaiveDate,
}

impl LeaderboardPatch {
    /// The board this item makes over `base` (none on create), or the first thing wrong.
    pub fn apply(
        &self,
        base: Option<&LeaderboardDef>,
        scope: &Scope<'_>,
    ) -> Result<LeaderboardDef, String> {
        let time = |sent: &Option<Option<String>>, field: &str, kept: Option<_>| match sent {
            None => Ok(kept),
            Some(None) => Ok(None),
            Some(Some(text)) => parse_time_of_day(text).map(Some).ok_or_else(|| {
                format!(
                    "{field} must be a time of day written HH:mm or HH:mm:ss (00:00 to 23:59:59)"
                )
            }),
        };
        let start_time = time(
            &self.start_time,
            "startTime",
            base.and_then(|b| b.start_time),
        )?;
        let end_time = time(&self.end_time, "endTime", base.and_then(|b| b.end_time))?;
        let rank_by = self.rank_by_over(base.map(|b| &b.rank_by), scope)?;
        let max_participants = match self.max_participants {
            None => base.map_or(MAX_PARTICIPANTS, |b| b.max_participants),
            Some(None) => MAX_PARTICIPANTS,
            Some(Some(max)) => u32::try_from(max)
                .ok()
                .filter(|m| (1..=MAX_PARTICIPANTS).contains(m))
                .ok_or_else(|| {
                    format!("maxParticipants must be between 1 and {MAX_PARTICIPANTS}")
                })?,
        };
        let start = match &self.start {
            Some(text) => Some(date(text, "start")?),
            None => base.and_then(|b| b.start).or(Some(scope.today)),
        };
        let end = match &self.end {
            None => base.and_then(|b| b.end),
            Some(None) => None,
            Some(Some(text)) => Some(date(text, "end")?),
        };
        let breakdown_attributes = match &self.breakdown_attributes {
            None => base
                .map(|b| b.breakdown_attributes.clone())
                .unwrap_or_default(),
            Some(ids) => ids
                .iter()
                .map(|id| {
                    scope
                        .catalog
                        .attribute_by_uuid(scope.tenant, id)
                        .filter(|a| a.kind == AttributeType::User)
                        .map(|a| a.key.clone())
                        .ok_or("Attribute not found by ID")
                })
                .collect::<Result<_, _>>()?,
        };
        let run_unit = match &self.run_unit {
            None => base.and_then(|b| b.run_unit),
            Some(None) => None,
            Some(Some(text)) => Some(RunUnit::parse(text).ok_or_else(|| {
                format!(
                    "runUnit must be \"day\", \"month\" or \"year\", not \"{}\"",
                    echo(text)
                )
            })?),
        };
        let run_interval = match self.run_interval {
            None => base.and_then(|b| b.run_interval),
            Some(None) => None,
            Some(Some(i)) => Some(
                u32::try_from(i)
                    .ok()
                    .filter(|i| *i >= 1)
                    .ok_or("runInterval must be at least 1")?,
            ),
        };
        let board = LeaderboardDef {
            name: self
                .name
                .clone()
                .or_else(|| base.map(|b| b.name.clone()))
                .unwrap_or_default(),
            description: patched(&self.description, || base?.description.clone()),
            rank_by,
            start,
            end,
            run_unit,
            run_interval,
            max_participants,
            breakdown_attributes,
            rank_style: base.map(|b| b.rank_style).unwrap_or_default(),
            start_time,
            end_time,
        };
        board.checked(FieldName::stored_name)
    }

    /// What the board ranks by: the item's `rankBy` and reference over `base`'s (kept while
    /// `rankBy` stays); a reference for another ranking is refused.
    fn rank_by_over(&self, base: Option<&RankBy>, scope: &Scope<'_>) -> Result<RankBy, String> {
        let name = match (&self.rank_by, base) {
            (Some(name), _) => name.as_str(),
            (None, Some(b)) => b.name(),
            (None, None) => return Err("rankBy is required".into()),
        };
        let same = base.filter(|b| b.name() == name);
        for (field, sent, owner) in [
            ("metricId", self.metric_id.is_some(), "metric"),
            ("pointsSystemId", self.points_system_id.is_some(), "points"),
        ] {
            if sent && owner != name {
                return Err(format!(
                    "{field} is only for leaderboards ranked by {owner}"
                ));
            }
        }
        Ok(match name {
            "metric" => match (&self.metric_id, same) {
                (Some(id), _) => RankBy::Metric {
                    metric: scope
                        .catalog
                        .metric_by_uuid(scope.tenant, id)
                        .ok_or("Metric not found by ID")?
                        .key
                        .clone(),
                },
                (None, Some(kept)) => kept.clone(),
                (None, None) => return Err("metric leaderboards need metricId".into()),
            },
            "points" => match (&self.points_system_id, same) {
                (Some(id), _) => RankBy::Points {
                    points_system: (scope.points_system)(id)?
                        .ok_or("Points system not found by ID")?,
                },
                (None, Some(kept)) => kept.clone(),
                (None, None) => return Err("points leaderboards need pointsSystemId".into()),
            },
            "streak" => RankBy::Streak,
            other => {
                return Err(format!(
                    "rankBy must be \"metric\", \"points\" or \"streak\", not \"{}\"",
                    echo(other)
                ))
            }
        })
    }
}

fn date(text: &str, field: &str) -> Result<NaiveDate, String> {
    text.parse()
        .map_err(|_| format!("{field} must be a date (YYYY-MM-DD)"))
}
