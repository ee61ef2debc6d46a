//! An attribute: a user or event attribute key that filters and breakdowns may name. One
//! shape for `[[attributes]]`, the stored body, the catalog and the Admin API's attribute
//! items. The key is the row's, not the body's; the type never changes.

use serde::{Deserialize, Serialize};

use super::{Definition, NameField, Problem};
use crate::domain::attributes::AttributeType;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeDef {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: AttributeType,
}

impl Definition for AttributeDef {
    type Field = NameField;

    fn validate(&self) -> Vec<Problem<NameField>> {
        super::name_problems(NameField, &self.name, true)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_type_is_stored_as_type() {
        let a = AttributeDef {
            name: "Device".into(),
            kind: AttributeType::Event,
        };
        let body = a.body();
        assert_eq!(
            serde_json::Value::Object(body.clone()),
            json!({"name": "Device", "type": "event"})
        );
        assert_eq!(AttributeDef::from_body(&body), Ok(a));
        assert!(
            serde_json::from_value::<AttributeDef>(json!({"name": "X", "type": "both"})).is_err()
        );
    }
}
