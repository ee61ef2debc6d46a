//! An Admin API points-system item (`POST` and `PATCH /admin/v1/points`), applied onto the
//! stored [`SystemDef`]. A created system's `key` and children are its command's.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::domain::bulk::{parse_item, patched, present, Badge};
use crate::model::points_system::SystemDef;
use crate::model::Definition;
use crate::model::FieldName;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SystemPatch {
    // Read by the commands from the item: the system an update is for, a created
    // system's key and children.
    #[serde(rename = "id")]
    _id: Option<IgnoredAny>,
    #[serde(rename = "key")]
    _key: Option<IgnoredAny>,
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    badge: Option<Option<Badge>>,
    #[serde(default, deserialize_with = "present")]
    max_points: Option<Option<i64>>,
    #[serde(rename = "triggers")]
    _triggers: Option<IgnoredAny>,
    #[serde(rename = "levels")]
    _levels: Option<IgnoredAny>,
    #[serde(rename = "boosts")]
    _boosts: Option<IgnoredAny>,
}

impl SystemPatch {
    fn apply(&self, base: Option<&SystemDef>) -> Result<SystemDef, String> {
        let system = SystemDef {
            name: self
                .name
                .clone()
                .or_else(|| base.map(|b| b.name.clone()))
                .ok_or("name must be a non-empty string")?,
            description: patched(&self.description, || base?.description.clone()),
            badge_url: patched(&Badge::url_of(&self.badge), || base?.badge_url.clone()),
            max_points: patched(&self.max_points, || base?.max_points),
        };
        system.checked(|f| f.stored_name())
    }
}

/// The stored body an Admin API system item makes over `base` (the stored body on update,
/// empty on create).
pub fn body(item: &Value, base: Option<&Map<String, Value>>) -> Result<Map<String, Value>, String> {
    let patch: SystemPatch = parse_item(item)?;
    let base = base.map(SystemDef::from_body).transpose()?;
    Ok(patch.apply(base.as_ref())?.body())
}
