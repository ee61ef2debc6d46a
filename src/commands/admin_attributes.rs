//! Admin writes to user and event attributes (`/admin/v1/attributes`,
//! docs/behaviour/admin-api.md#definitions): create, rename (key and type never change) and
//! archive, as patches onto [`AttributeDef`].

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Value};

use super::admin_definitions::PlainKind;
use crate::domain::attributes::AttributeType;
use crate::domain::choices::Choice;
use crate::model::attribute::AttributeDef;
use crate::model::{Definition, FieldName};
use crate::store::definitions::Kind;

/// An attribute item of the Admin API (`CreateAttributeRequestItem`,
/// `UpdateAttributeRequestItem`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributePatch {
    #[serde(rename = "id")]
    _id: Option<IgnoredAny>,
    key: Option<String>,
    name: Option<String>,
    /// Read as text so the issue can name the choices.
    #[serde(rename = "type")]
    kind: Option<String>,
}

pub struct Attributes;

impl PlainKind for Attributes {
    type Model = AttributeDef;
    type Patch = AttributePatch;
    const KIND: Kind = Kind::Attribute;
    const MISSING: &'static str = "Attribute not found by ID";
    const NOT_FOUND: &'static str = "Attribute not found";

    fn key(patch: &AttributePatch) -> Option<&str> {
        patch.key.as_deref()
    }

    fn apply(patch: AttributePatch, base: Option<&AttributeDef>) -> Result<AttributeDef, String> {
        let kind = match (base, patch.kind.as_deref()) {
            (Some(_), Some(_)) => return Err("type cannot be changed".into()),
            (Some(_), _) if patch.key.is_some() => return Err("key cannot be changed".into()),
            (Some(b), None) => b.kind,
            (None, text) => text
                .and_then(AttributeType::parse)
                .ok_or("type must be \"user\" or \"event\"")?,
        };
        let attribute = AttributeDef {
            name: patch
                .name
                .map(|n| n.trim().to_owned())
                .or_else(|| base.map(|b| b.name.clone()))
                .unwrap_or_default(),
            kind,
        };
        attribute.checked(FieldName::stored_name)
    }

    /// One key names one attribute, whatever its type (they share a namespace).
    fn key_taken(existing: &AttributeDef, new: &AttributeDef) -> &'static str {
        if existing.kind == new.kind {
            "Key already in use by another attribute of this type"
        } else {
            "Key already in use by another attribute"
        }
    }

    /// The SDK's `AdminAttribute`.
    fn view(uuid: &str, key: &str, a: &AttributeDef) -> Value {
        json!({"id": uuid, "key": key, "name": a.name, "type": a.kind.name()})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::bulk::parse_item;

    fn apply(item: Value, base: Option<&AttributeDef>) -> Result<AttributeDef, String> {
        Attributes::apply(parse_item(&item)?, base)
    }

    #[test]
    fn a_rename_keeps_the_type_and_nothing_else_changes() {
        let base = apply(
            json!({"key": "device", "name": "Device", "type": "event"}),
            None,
        )
        .expect("creates");
        let renamed = apply(json!({"id": "x", "name": "Platform"}), Some(&base)).expect("renames");
        assert_eq!(
            (renamed.name.as_str(), renamed.kind),
            ("Platform", AttributeType::Event)
        );
        assert_eq!(
            apply(json!({"id": "x", "type": "user"}), Some(&base)),
            Err("type cannot be changed".into())
        );
        assert_eq!(
            apply(json!({"key": "k", "name": "K", "type": "both"}), None),
            Err("type must be \"user\" or \"event\"".into())
        );
    }
}
