//! A metric: what users do, counted by events. One shape for `[[metrics]]`, the stored
//! body, the catalog and the Admin API's metric items. The key is the row's, not the body's.

use serde::{Deserialize, Serialize};

use crate::domain::choices::choices;

choices! {
    /// How clients format a metric's totals.
    #[derive(Default, Serialize, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum UnitType {
        #[default]
        Number = "number",
        /// `units` is then the currency (trophy.toml asks for an ISO 4217 code; the Admin
        /// API, like Trophy's, takes any text).
        Currency = "currency",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricDef {
    pub name: String,
    #[serde(default)]
    pub units: Option<String>,
    #[serde(default)]
    pub unit_type: UnitType,
}

super::name_only!(MetricDef);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::{assert_stored_as, Definition, FieldName};

    #[test]
    fn a_stored_body_reads_back_and_defaults_to_a_number() {
        let m = MetricDef {
            name: "Spend".into(),
            units: Some("USD".into()),
            unit_type: UnitType::Currency,
        };
        assert_stored_as(
            m,
            json!({"name": "Spend", "units": "USD", "unitType": "currency"}),
        );
        let bare: MetricDef = serde_json::from_value(json!({"name": "Words"})).expect("reads");
        assert_eq!((bare.unit_type, bare.units), (UnitType::Number, None));
    }

    #[test]
    fn names_are_required_and_capped() {
        let named = |name: &str| MetricDef {
            name: name.into(),
            units: None,
            unit_type: UnitType::Number,
        };
        assert!(named("Words").validate().is_empty());
        assert_eq!(
            named(" ").checked(FieldName::stored_name),
            Err("name must be a non-empty string".into())
        );
        assert_eq!(
            named(&"x".repeat(256)).checked(FieldName::stored_name),
            Err("name must be at most 255 characters".into())
        );
    }
}
