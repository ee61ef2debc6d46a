//! An attribute: a user or event attribute key that filters and breakdowns may name. One
//! shape for `[[attributes]]`, the stored body, the catalog and the Admin API's attribute
//! items. The key is the row's, not the body's; the type never changes.

use serde::{Deserialize, Serialize};

use crate::domain::attributes::AttributeType;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributeDef {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: AttributeType,
}

super::name_only!(AttributeDef);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::assert_stored_as;

    #[test]
    fn the_type_is_stored_as_type() {
        let a = AttributeDef {
            name: "Device".into(),
            kind: AttributeType::Event,
        };
        assert_stored_as(a, json!({"name": "Device", "type": "event"}));
        assert!(
            serde_json::from_value::<AttributeDef>(json!({"name": "X", "type": "both"})).is_err()
        );
    }
}
