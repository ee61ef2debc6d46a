//! An Admin API boost item (`POST` and `PATCH /admin/v1/points/{id}/boosts`, and the
//! `boosts` of a created system), applied onto the stored [`BoostDef`].

use chrono::NaiveDate;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::trigger_patch::Scope;
use crate::config::AttributeType;
use crate::domain::bulk::{parse_item, present, AttributeRef};
use crate::domain::choices::Choice;
use crate::model::points_boost::{BoostDef, BoostTarget, Rounding};
use crate::model::Definition;
use crate::model::FieldName;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BoostPatch {
    /// The boost an update is for: its command reads it from the item.
    #[serde(rename = "id")]
    _id: Option<IgnoredAny>,
    user_id: Option<String>,
    name: Option<String>,
    start: Option<String>,
    #[serde(default, deserialize_with = "present")]
    end: Option<Option<String>>,
    multiplier: Option<f64>,
    rounding: Option<String>,
    #[serde(default, deserialize_with = "present")]
    user_attributes: Option<Option<Vec<AttributeRef>>>,
}

fn date(text: &str, field: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{field} must be a date in YYYY-MM-DD format"))
}

impl BoostPatch {
    fn apply(&self, base: Option<&BoostDef>, scope: &Scope<'_>) -> Result<BoostDef, String> {
        let start = match &self.start {
            Some(s) => Some(date(s, "start")?),
            None => base.map(|b| b.start),
        };
        let end = match &self.end {
            Some(Some(e)) => Some(date(e, "end")?),
            Some(None) => None,
            None => base.and_then(|b| b.end),
        };
        let rounding = match &self.rounding {
            Some(r) => Rounding::parse(r).ok_or("rounding must be one of down, up, nearest")?,
            None => base.map_or(Rounding::Down, |b| b.rounding),
        };
        let filters = match &self.user_attributes {
            Some(list) => Some(scope.catalog.attribute_keys(
                scope.tenant,
                AttributeType::User,
                list.as_deref().unwrap_or_default(),
            )?),
            None => None,
        };
        let target = self.target(base.map(|b| &b.target), filters)?;
        let (Some(name), Some(multiplier)) = (
            self.name.clone().or_else(|| base.map(|b| b.name.clone())),
            self.multiplier.or(base.map(|b| b.multiplier)),
        ) else {
            return Err("name and multiplier are required".into());
        };
        let boost = BoostDef {
            system: scope.system.to_owned(),
            name,
            start: start.ok_or("start is required")?,
            end,
            multiplier,
            rounding,
            target,
        };
        boost.checked(|f| f.stored_name())
    }

    /// One user, fixed once set, or everyone matching the filters.
    fn target(
        &self,
        base: Option<&BoostTarget>,
        filters: Option<Vec<(String, String)>>,
    ) -> Result<BoostTarget, String> {
        let filtered = filters.as_ref().is_some_and(|f| !f.is_empty());
        if self.user_id.is_some() && filtered {
            return Err(
                "A boost is for one user (userId) or for users matching userAttributes, not both"
                    .into(),
            );
        }
        match (&self.user_id, base) {
            (Some(new), Some(BoostTarget::User(old))) if new != old => {
                Err("A boost's userId cannot be changed".into())
            }
            (Some(user), _) => Ok(BoostTarget::User(user.clone())),
            (None, Some(BoostTarget::User(_))) if filtered => {
                Err("A boost for one user cannot have userAttributes".into())
            }
            (None, Some(BoostTarget::User(user))) => Ok(BoostTarget::User(user.clone())),
            (None, Some(BoostTarget::Global(old))) => {
                Ok(BoostTarget::Global(filters.unwrap_or_else(|| old.clone())))
            }
            (None, None) => Ok(BoostTarget::Global(filters.unwrap_or_default())),
        }
    }
}

/// The stored body an Admin API boost item makes over `base`, the stored body (none on
/// create).
pub fn body(
    item: &Value,
    base: Option<&Map<String, Value>>,
    scope: &Scope<'_>,
) -> Result<Map<String, Value>, String> {
    let patch: BoostPatch = parse_item(item)?;
    let base = base.map(BoostDef::from_body).transpose()?;
    Ok(patch.apply(base.as_ref(), scope)?.body())
}
