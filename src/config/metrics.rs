//! `[[metrics]]`: what users do, counted by events.

use super::catalog::{read_key, Catalog};
use super::model::{Keyed, MetricDef, UnitType};
use super::reader::{Sink, Table};
use crate::domain::choices::Choice;
use crate::model::{Definition, FieldName};

pub(crate) const KEYS: &[&str] = &["key", "name", "units", "unit_type"];

pub(crate) fn read(
    root: &Table<'_, '_>,
    sink: &mut Sink,
    catalog: &mut Catalog,
) -> Vec<Keyed<MetricDef>> {
    let mut defs = Vec::new();
    for t in root.tables(sink, "metrics", "[[metrics]]", KEYS) {
        let key = read_key(&t, sink, catalog.metrics_mut(), "metric");
        let name = t.req_nonempty(sink, "name");
        let units = t.opt_text(sink, "units");
        let unit_type = t
            .opt_choice(sink, "unit_type", UnitType::CHOICES)
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
            let def = MetricDef {
                name: name.to_owned(),
                units,
                unit_type,
            };
            if t.report_problems(sink, def.validate(), FieldName::stored_name) {
                defs.push(Keyed { key, def });
            }
        }
    }
    defs
}

fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}
