//! Admin writes to metrics (`/admin/v1/metrics`, docs/behaviour/admin-api.md#definitions):
//! create, update (name, unit type, units; the key never changes) and archive, as patches
//! onto [`MetricDef`]. An archived metric leaves the catalog, so its events answer 404 from
//! the next request on.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Value};

use super::admin_definitions::PlainKind;
use crate::domain::bulk::{patched, present};
use crate::domain::choices::Choice;
use crate::model::metric::{MetricDef, UnitType};
use crate::model::{Definition, FieldName};
use crate::store::definitions::Kind;

/// A metric item of the Admin API (`CreateMetricRequestItem`, `UpdateMetricRequestItem`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricPatch {
    #[serde(rename = "id")]
    _id: Option<IgnoredAny>,
    key: Option<String>,
    name: Option<String>,
    /// Read as text so the issue can name the choices.
    unit_type: Option<String>,
    #[serde(default, deserialize_with = "present")]
    units: Option<Option<String>>,
}

pub struct Metrics;

impl PlainKind for Metrics {
    type Model = MetricDef;
    type Patch = MetricPatch;
    const KIND: Kind = Kind::Metric;
    const MISSING: &'static str = "Metric not found by ID";
    const NOT_FOUND: &'static str = "Metric not found";

    fn key(patch: &MetricPatch) -> Option<&str> {
        patch.key.as_deref()
    }

    fn apply(patch: MetricPatch, base: Option<&MetricDef>) -> Result<MetricDef, String> {
        if base.is_some() && patch.key.is_some() {
            return Err("key cannot be changed".into());
        }
        let unit_type = match patch.unit_type.as_deref() {
            None => base.map(|b| b.unit_type).unwrap_or_default(),
            Some(text) => {
                UnitType::parse(text).ok_or("unitType must be \"number\" or \"currency\"")?
            }
        };
        let metric = MetricDef {
            name: patch
                .name
                .map(|n| n.trim().to_owned())
                .or_else(|| base.map(|b| b.name.clone()))
                .unwrap_or_default(),
            units: patched(&patch.units, || base?.units.clone()),
            unit_type,
        };
        metric.checked(FieldName::stored_name)
    }

    fn key_taken(_: &MetricDef, _: &MetricDef) -> &'static str {
        "Key already in use by another metric"
    }

    /// The SDK's `CreatedMetric`.
    fn view(uuid: &str, key: &str, m: &MetricDef) -> Value {
        json!({
            "id": uuid,
            "key": key,
            "name": m.name,
            "unitType": m.unit_type.name(),
            "units": m.units.as_deref().unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::bulk::parse_item;

    fn apply(item: Value, base: Option<&MetricDef>) -> Result<MetricDef, String> {
        Metrics::apply(parse_item(&item)?, base)
    }

    #[test]
    fn an_update_keeps_what_it_does_not_name() {
        let base = apply(
            json!({"key": "spend", "name": " Spend ", "unitType": "currency", "units": "USD"}),
            None,
        )
        .expect("creates");
        assert_eq!(base.name, "Spend");
        let renamed = apply(json!({"id": "x", "name": "Spent"}), Some(&base)).expect("updates");
        assert_eq!(
            (renamed.unit_type, renamed.units.as_deref()),
            (UnitType::Currency, Some("USD"))
        );
        let cleared = apply(json!({"id": "x", "units": null}), Some(&base)).expect("updates");
        assert_eq!(cleared.units, None);
    }

    #[test]
    fn refusals_name_the_field() {
        let base = apply(json!({"key": "w", "name": "W"}), None).expect("creates");
        for (item, message) in [
            (json!({"key": "w"}), "name must be a non-empty string"),
            (
                json!({"key": "w", "name": "W", "unitType": "euros"}),
                "unitType must be \"number\" or \"currency\"",
            ),
            (
                json!({"key": "w", "name": 5}),
                "name: invalid type: integer `5`, expected a string",
            ),
        ] {
            assert_eq!(apply(item, None), Err(message.into()));
        }
        let unknown = apply(json!({"key": "w", "name": "W", "colour": "red"}), None);
        assert!(
            unknown
                .as_ref()
                .is_err_and(|e| e.starts_with("colour: unknown field `colour`")),
            "{unknown:?}"
        );
        assert_eq!(
            apply(json!({"id": "x", "key": "v"}), Some(&base)),
            Err("key cannot be changed".into())
        );
    }
}
