//! `[[metrics]]`: what users do, counted by events.

use super::catalog::{read_key, Catalog};
use super::model::{MetricDef, UnitType};
use super::reader::{Sink, Table};

const UNIT_TYPES: [(&str, UnitType); 2] = [
    ("number", UnitType::Number),
    ("currency", UnitType::Currency),
];

pub(crate) const KEYS: &[&str] = &["key", "name", "units", "unit_type"];

pub(crate) fn read(root: &Table<'_, '_>, sink: &mut Sink, catalog: &mut Catalog) -> Vec<MetricDef> {
    let mut defs = Vec::new();
    for t in root.tables(sink, "metrics", "[[metrics]]") {
        t.deny_unknown(sink, KEYS);
        let key = read_key(&t, sink, catalog.metrics_mut(), "metric");
        let name = t.req_nonempty(sink, "name");
        let units = t.opt_text(sink, "units");
        let unit_type = t
            .opt_choice(sink, "unit_type", &UNIT_TYPES)
            .unwrap_or(UnitType::Number);
        // For currency metrics the units are what clients format amounts with.
        if unit_type == UnitType::Currency {
            if let Some(code) = &units {
                if !is_currency_code(code) {
                    sink.report(
                        t.value_at("units"),
                        format!("\"units\" of a currency metric must be an ISO 4217 code such as \"USD\", found \"{code}\""),
                    );
                }
            }
        }
        if let (Some(key), Some(name)) = (key, name) {
            defs.push(MetricDef {
                key,
                name: name.to_owned(),
                units,
                unit_type,
            });
        }
    }
    defs
}

fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}
