//! An Admin API achievement item (`POST` and `PATCH /admin/v1/achievements`), applied onto
//! the stored [`AchievementDef`]. References arrive as UUIDs and are stored by key, like
//! trophy.toml's, so one catalog reads both.

use serde::Deserialize;

use crate::catalog::Catalog;
use crate::domain::attributes::AttributeType;
use crate::domain::bulk::{patched, present, AttributeRef, Badge};
use crate::domain::ids::TenantId;
use crate::error::echo;
use crate::model::achievement::{AchievementDef, AchievementTrigger};
use crate::model::{Definition, FieldName};
use crate::rules::anniversary::MAX_YEARS;
use crate::store::definitions::Status;

/// One item of a create or update (`CreateAchievementRequestItem`,
/// `UpdateAchievementRequestItem`); on update every field but `id` is optional.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AchievementPatch {
    pub id: Option<String>,
    pub key: Option<String>,
    pub name: Option<String>,
    trigger: Option<String>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    status: Option<String>,
    #[serde(default, deserialize_with = "present")]
    badge: Option<Option<Badge>>,
    /// `null` clears them.
    #[serde(default, deserialize_with = "present")]
    user_attributes: Option<Option<Vec<AttributeRef>>>,
    metric_id: Option<String>,
    metric_value: Option<f64>,
    #[serde(default, deserialize_with = "present")]
    event_attributes: Option<Option<Vec<AttributeRef>>>,
    streak_length: Option<i64>,
    anniversary_years: Option<i64>,
    achievement_ids: Option<Vec<String>>,
}

/// Who the references of an item are resolved for.
pub struct Scope<'a> {
    pub catalog: &'a Catalog,
    pub tenant: TenantId,
}

impl AchievementPatch {
    /// The achievement this item makes over `base` (none on create), or the first thing
    /// wrong with it.
    pub fn apply(
        &self,
        base: Option<&AchievementDef>,
        scope: &Scope<'_>,
    ) -> Result<AchievementDef, String> {
        let trigger = match (&self.trigger, base) {
            (Some(name), _) => name.as_str(),
            (None, Some(b)) => b.trigger.name(),
            (None, None) => return Err("trigger is required".into()),
        };
        // The base's trigger fields carry over only while the trigger stays.
        let same = base.map(|b| &b.trigger).filter(|t| t.name() == trigger);
        let trigger = self.trigger_named(trigger, same, scope)?;
        let user_attributes = match &self.user_attributes {
            Some(list) => resolve(list.as_deref(), scope, AttributeType::User)?,
            None => base.map(|b| b.user_attributes.clone()).unwrap_or_default(),
        };
        let event_attributes = match &self.event_attributes {
            Some(list) => resolve(list.as_deref(), scope, AttributeType::Event)?,
            None if same.is_some() => base.map(|b| b.event_attributes.clone()).unwrap_or_default(),
            None => Vec::new(),
        };
        let def = AchievementDef {
            name: self
                .name
                .clone()
                .or_else(|| base.map(|b| b.name.clone()))
                .unwrap_or_default(),
            description: patched(&self.description, || base?.description.clone()),
            badge_url: patched(&Badge::url_of(&self.badge), || base?.badge_url.clone()),
            trigger,
            user_attributes,
            event_attributes,
        };
        def.checked(FieldName::stored_name)
    }

    /// The status the item sets, else `current`.
    pub fn status(&self, current: Status) -> Result<Status, String> {
        match self.status.as_deref() {
            None => Ok(current),
            Some("active") => Ok(Status::Active),
            Some("inactive") => Ok(Status::Inactive),
            Some("locked") => Ok(Status::Locked),
            Some(other) => Err(format!(
                "status must be \"active\", \"inactive\" or \"locked\", not \"{}\"",
                echo(other)
            )),
        }
    }

    /// The trigger `name` from the item's fields over `same` (the base's trigger when it
    /// stays); a field of another trigger is refused.
    fn trigger_named(
        &self,
        name: &str,
        same: Option<&AchievementTrigger>,
        scope: &Scope<'_>,
    ) -> Result<AchievementTrigger, String> {
        let owned: [(&str, bool, &str); 6] = [
            ("metricId", self.metric_id.is_some(), "metric"),
            ("metricValue", self.metric_value.is_some(), "metric"),
            ("eventAttributes", self.event_attributes.is_some(), "metric"),
            ("streakLength", self.streak_length.is_some(), "streak"),
            (
                "anniversaryYears",
                self.anniversary_years.is_some(),
                "anniversary",
            ),
            (
                "achievementIds",
                self.achievement_ids.is_some(),
                "achievement",
            ),
        ];
        if let Some((field, _, owner)) = owned.iter().find(|(_, sent, o)| *sent && *o != name) {
            return Err(format!("{field} is only for {owner} achievements"));
        }
        Ok(match (name, same) {
            ("metric", same) => {
                let (kept_metric, kept_value) = match same {
                    Some(AchievementTrigger::Metric { metric, value }) => {
                        (Some(metric.clone()), Some(*value))
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
                    None => kept_metric,
                };
                match (metric, self.metric_value.or(kept_value)) {
                    (Some(metric), Some(value)) => AchievementTrigger::Metric { metric, value },
                    _ => return Err("metric achievements need metricId and metricValue".into()),
                }
            }
            ("streak", same) => {
                let length = match (self.streak_length, same) {
                    (Some(l), _) => u32::try_from(l)
                        .ok()
                        .filter(|l| *l >= 1)
                        .ok_or("streakLength must be at least 1")?,
                    (None, Some(AchievementTrigger::Streak { length })) => *length,
                    (None, _) => return Err("streak achievements need streakLength".into()),
                };
                AchievementTrigger::Streak { length }
            }
            ("api", _) => AchievementTrigger::Api,
            ("achievement", same) => {
                let prerequisites = match (&self.achievement_ids, same) {
                    (Some(ids), _) => ids
                        .iter()
                        .map(|id| {
                            scope
                                .catalog
                                .achievements_for(scope.tenant)
                                .find(|a| a.uuid == *id)
                                .map(|a| a.key.clone())
                                .ok_or("Achievement not found by ID")
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                    (None, Some(AchievementTrigger::Composite { prerequisites })) => {
                        prerequisites.clone()
                    }
                    (None, _) => Vec::new(),
                };
                if prerequisites.is_empty() {
                    return Err("composite achievements need achievementIds".into());
                }
                AchievementTrigger::Composite { prerequisites }
            }
            ("anniversary", same) => {
                let years = match (self.anniversary_years, same) {
                    (Some(y), _) => u32::try_from(y)
                        .ok()
                        .filter(|y| (1..=MAX_YEARS).contains(y))
                        .ok_or_else(|| {
                            format!("anniversaryYears must be between 1 and {MAX_YEARS}")
                        })?,
                    (None, Some(AchievementTrigger::Anniversary { years })) => *years,
                    (None, _) => {
                        return Err("anniversary achievements need anniversaryYears".into())
                    }
                };
                AchievementTrigger::Anniversary { years }
            }
            (other, _) => return Err(format!("unknown trigger \"{}\"", echo(other))),
        })
    }
}

fn resolve(
    list: Option<&[AttributeRef]>,
    scope: &Scope<'_>,
    kind: AttributeType,
) -> Result<Vec<(String, String)>, String> {
    scope
        .catalog
        .attribute_keys(scope.tenant, kind, list.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::domain::bulk::parse_item;

    fn apply(item: Value, base: Option<&AchievementDef>) -> Result<AchievementDef, String> {
        let catalog = Catalog::default();
        let scope = Scope {
            catalog: &catalog,
            tenant: TenantId::SHARED,
        };
        parse_item::<AchievementPatch>(&item)?.apply(base, &scope)
    }

    #[test]
    fn an_update_keeps_the_trigger_and_clears_what_is_sent_as_null() {
        let base = apply(
            json!({"name": "Week", "trigger": "streak", "streakLength": 7,
                   "badge": {"url": "https://b/1.png"}, "description": "Seven days"}),
            None,
        )
        .expect("creates");
        let renamed = apply(
            json!({"id": "x", "name": "Full week", "badge": null}),
            Some(&base),
        )
        .expect("updates");
        assert_eq!(renamed.trigger, AchievementTrigger::Streak { length: 7 });
        assert_eq!(renamed.badge_url, None);
        assert_eq!(renamed.description.as_deref(), Some("Seven days"));
        let longer = apply(json!({"id": "x", "streakLength": 30}), Some(&base)).expect("updates");
        assert_eq!(longer.trigger, AchievementTrigger::Streak { length: 30 });
    }

    #[test]
    fn refusals_name_the_field() {
        for (item, message) in [
            (json!({"name": "A"}), "trigger is required"),
            (
                json!({"name": "A", "trigger": "streak"}),
                "streak achievements need streakLength",
            ),
            (
                json!({"name": "A", "trigger": "streak", "streakLength": 0}),
                "streakLength must be at least 1",
            ),
            (
                json!({"name": "A", "trigger": "api", "streakLength": 3}),
                "streakLength is only for streak achievements",
            ),
            (
                json!({"name": "A", "trigger": "anniversary", "anniversaryYears": 101}),
                "anniversaryYears must be between 1 and 100",
            ),
            (
                json!({"name": "A", "trigger": "metric", "metricId": "m"}),
                "Metric not found by ID",
            ),
            (
                json!({"name": " ", "trigger": "api"}),
                "name must be a non-empty string",
            ),
            (
                json!({"name": "A", "trigger": "api", "streakLength": "7"}),
                "streakLength: invalid type: string \"7\", expected i64",
            ),
        ] {
            assert_eq!(apply(item.clone(), None), Err(message.to_owned()), "{item}");
        }
    }
}
