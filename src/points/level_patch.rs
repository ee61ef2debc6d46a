//! An Admin API level item (`POST` and `PATCH /admin/v1/points/{id}/levels`, and the
//! `levels` of a created system), applied onto the stored [`LevelDef`].

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::bulk::{parse_item, patched, present, Badge};
use crate::model::points_level::LevelDef;
use crate::model::Definition;
use crate::model::FieldName;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LevelPatch {
    /// The level an update is for: its command reads it from the item.
    #[serde(rename = "id")]
    _id: Option<IgnoredAny>,
    key: Option<String>,
    name: Option<String>,
    points: Option<i64>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    badge: Option<Option<Badge>>,
}

impl LevelPatch {
    fn apply(&self, base: Option<&LevelDef>, system: &str) -> Result<LevelDef, String> {
        let key = match (base, &self.key) {
            (Some(b), Some(k)) if *k != b.key => {
                return Err("A level's key cannot be changed".into())
            }
            (Some(b), _) => b.key.clone(),
            (None, Some(k)) => k.clone(),
            (None, None) => return Err("key is required".into()),
        };
        let level = LevelDef {
            system: system.to_owned(),
            key,
            name: self
                .name
                .clone()
                .or_else(|| base.map(|b| b.name.clone()))
                .ok_or("name is required")?,
            points: self
                .points
                .or(base.map(|b| b.points))
                .ok_or("points is required")?,
            description: patched(&self.description, || base?.description.clone()),
            badge_url: patched(&Badge::url_of(&self.badge), || base?.badge_url.clone()),
        };
        level.checked(|f| f.stored_name())
    }
}

/// The stored body an Admin API level item makes over `base`, the stored body (none on
/// create).
pub fn body(
    item: &Value,
    base: Option<&Map<String, Value>>,
    system: &str,
) -> Result<Map<String, Value>, String> {
    let patch: LevelPatch = parse_item(item)?;
    let base = base.map(LevelDef::from_body).transpose()?;
    Ok(patch.apply(base.as_ref(), system)?.body())
}
