//! An Admin API points-trigger item (`POST` and `PATCH /admin/v1/points/{id}/triggers`, and
//! the `triggers` of a created system), applied onto the stored [`TriggerDef`]. References
//! arrive as UUIDs and are stored by key, as trophy.toml names them; the rules every
//! trigger obeys are [`TriggerDef::validate`]'s.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::catalog::Catalog;
use crate::config::AttributeType;
use crate::domain::bulk::{parse_item, patched, present, AttributeRef};
use crate::domain::choices::Choice;
use crate::domain::ids::TenantId;
use crate::model::points_trigger::{Field, TimeUnit, TriggerDef, TriggerKind};
use crate::model::Definition;
use crate::model::FieldName;

/// Every field optional (an update sends what changes); a field the API does not have is
/// refused rather than ignored. `null` for an attribute list clears it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TriggerPatch {
    /// The trigger an update is for: its command reads it from the item.
    #[serde(rename = "id")]
    _id: Option<IgnoredAny>,
    #[serde(rename = "type")]
    kind: Option<String>,
    points: Option<i64>,
    /// The status is the row's, not the model's: its command reads it from the item.
    #[serde(rename = "status")]
    _status: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "present")]
    user_attributes: Option<Option<Vec<AttributeRef>>>,
    metric_id: Option<String>,
    metric_threshold: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    event_attributes: Option<Option<Vec<AttributeRef>>>,
    achievement_id: Option<String>,
    streak_length: Option<i64>,
    time_unit: Option<String>,
    time_interval: Option<i64>,
    block_if_out_of_points: Option<bool>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
}

/// The Admin API's name for a field of the model: the stored name, but for the metric
/// trigger's threshold.
fn api_name(field: Field) -> &'static str {
    match field {
        Field::Threshold => "metricThreshold",
        other => other.stored_name(),
    }
}

/// A whole number of at least 1 that fits the model's `u32`.
fn count(value: i64, field: &str) -> Result<u32, String> {
    u32::try_from(value)
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| format!("{field} must be at least 1 and at most {}", u32::MAX))
}

/// What a surface needs to resolve the patch's references.
pub struct Scope<'c> {
    pub catalog: &'c Catalog,
    pub tenant: TenantId,
    /// The points system's key.
    pub system: &'c str,
}

impl TriggerPatch {
    /// The trigger this item makes of `base` (`None` when creating). `locked`: the trigger
    /// is active and stays so, and an active trigger keeps its type.
    fn apply(
        &self,
        base: Option<&TriggerDef>,
        scope: &Scope<'_>,
        locked: bool,
    ) -> Result<TriggerDef, String> {
        let name = match (&self.kind, base) {
            (Some(name), _) => name.as_str(),
            (None, Some(b)) => b.kind.name(),
            (None, None) => return Err("type is required".into()),
        };
        if !TriggerKind::NAMES.contains(&name) {
            return Err(format!(
                "type must be one of {}",
                TriggerKind::NAMES.join(", ")
            ));
        }
        // The base's type-specific fields carry over only while the type stays.
        let same = base.filter(|b| b.kind.name() == name);
        if base.is_some() && same.is_none() && locked {
            return Err("The trigger type can only change while the trigger is inactive".into());
        }
        let points = self
            .points
            .or(base.map(|b| b.points))
            .ok_or("points is required")?;
        let user_attributes = match &self.user_attributes {
            Some(list) => self.resolve(list.as_deref(), scope, AttributeType::User)?,
            None => base.map(|b| b.user_attributes.clone()).unwrap_or_default(),
        };
        let event_attributes = match &self.event_attributes {
            Some(list) => self.resolve(list.as_deref(), scope, AttributeType::Event)?,
            None => same.map(|b| b.event_attributes.clone()).unwrap_or_default(),
        };
        let kind = self.kind_named(name, same.map(|b| &b.kind), scope)?;
        let def = TriggerDef {
            system: scope.system.to_owned(),
            kind,
            points,
            user_attributes,
            event_attributes,
            block_if_out_of_points: self
                .block_if_out_of_points
                .or(base.map(|b| b.block_if_out_of_points))
                .unwrap_or(false),
            description: patched(&self.description, || base?.description.clone()),
        };
        def.checked(api_name)
    }

    fn resolve(
        &self,
        list: Option<&[AttributeRef]>,
        scope: &Scope<'_>,
        kind: AttributeType,
    ) -> Result<Vec<(String, String)>, String> {
        scope
            .catalog
            .attribute_keys(scope.tenant, kind, list.unwrap_or_default())
    }

    /// The kind `name` from the item's fields over `same` (the base's kind when the type
    /// stays); a field of another type is refused.
    fn kind_named(
        &self,
        name: &str,
        same: Option<&TriggerKind>,
        scope: &Scope<'_>,
    ) -> Result<TriggerKind, String> {
        let owned: [(&str, bool, &str); 7] = [
            ("metricId", self.metric_id.is_some(), "metric"),
            ("metricThreshold", self.metric_threshold.is_some(), "metric"),
            ("eventAttributes", self.event_attributes.is_some(), "metric"),
            (
                "achievementId",
                self.achievement_id.is_some(),
                "achievement",
            ),
            ("streakLength", self.streak_length.is_some(), "streak"),
            ("timeUnit", self.time_unit.is_some(), "time"),
            ("timeInterval", self.time_interval.is_some(), "time"),
        ];
        if let Some((field, _, owner)) = owned.iter().find(|(_, sent, o)| *sent && *o != name) {
            return Err(format!("{field} is only for {owner} triggers"));
        }
        Ok(match name {
            "metric" => {
                let (base_metric, base_threshold) = match same {
                    Some(TriggerKind::Metric { metric, threshold }) => {
                        (Some(metric.clone()), Some(*threshold))
                    }
                    _ => (None, None),
                };
                let metric = match &self.metric_id {
                    Some(id) => Some(
                        scope
                            .catalog
                            .metric_by_uuid(scope.tenant, id)
                            .ok_or("Metric not found by ID")?
                            .key
                            .clone(),
                    ),
                    None => base_metric,
                };
                let threshold = self.metric_threshold.map(|t| count(t, "metricThreshold"));
                let threshold = threshold.transpose()?.or(base_threshold);
                let (Some(metric), Some(threshold)) = (metric, threshold) else {
                    return Err("metric triggers need metricId and metricThreshold".into());
                };
                TriggerKind::Metric { metric, threshold }
            }
            "achievement" => {
                let achievement = match (&self.achievement_id, same) {
                    (Some(id), _) => scope
                        .catalog
                        .achievements_for(scope.tenant)
                        .find(|a| a.uuid == *id)
                        .ok_or("Achievement not found by ID")?
                        .key
                        .clone(),
                    (None, Some(TriggerKind::Achievement { achievement })) => achievement.clone(),
                    (None, _) => return Err("achievement triggers need achievementId".into()),
                };
                TriggerKind::Achievement { achievement }
            }
            "streak" => {
                let length = match (self.streak_length, same) {
                    (Some(l), _) => count(l, "streakLength")?,
                    (None, Some(TriggerKind::Streak { length })) => *length,
                    (None, _) => return Err("streak triggers need streakLength".into()),
                };
                TriggerKind::Streak { length }
            }
            "time" => {
                let (base_unit, base_interval) = match same {
                    Some(TriggerKind::Time { unit, interval }) => (Some(*unit), Some(*interval)),
                    _ => (None, None),
                };
                let unit = self.time_unit.as_deref().map(|u| {
                    TimeUnit::parse(u).ok_or_else(|| "timeUnit must be hours or days".to_owned())
                });
                let unit = unit.transpose()?.or(base_unit);
                let interval = self.time_interval.map(|i| count(i, "timeInterval"));
                let interval = interval.transpose()?.or(base_interval);
                let (Some(unit), Some(interval)) = (unit, interval) else {
                    return Err("time triggers need timeUnit and timeInterval".into());
                };
                TriggerKind::Time { unit, interval }
            }
            _ => TriggerKind::UserCreation,
        })
    }
}

/// The stored body an Admin API trigger item makes over `base`, the stored body (none on
/// create).
pub fn body(
    item: &Value,
    base: Option<&Map<String, Value>>,
    scope: &Scope<'_>,
    locked: bool,
) -> Result<Map<String, Value>, String> {
    let patch: TriggerPatch = parse_item(item)?;
    let base = base.map(TriggerDef::from_body).transpose()?;
    Ok(patch.apply(base.as_ref(), scope, locked)?.body())
}
