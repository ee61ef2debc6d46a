//! `[[attributes]]`: the user and event attribute keys that filters and breakdowns may name.

use super::catalog::{read_key, Catalog};
use super::model::{AttributeDef, AttributeType, Keyed};
use super::reader::{Sink, Table};
use crate::domain::choices::Choice;
use crate::model::{Definition, FieldName};

pub(crate) const KEYS: &[&str] = &["key", "name", "type"];

pub(crate) fn read(
    root: &Table<'_, '_>,
    sink: &mut Sink,
    catalog: &mut Catalog,
) -> Vec<Keyed<AttributeDef>> {
    let mut defs = Vec::new();
    let mut seen = Default::default();
    for t in root.tables(sink, "attributes", "[[attributes]]", KEYS) {
        let key = read_key(&t, sink, &mut seen, "attribute");
        let name = t.req_nonempty(sink, "name");
        let kind = t.req_choice(sink, "type", AttributeType::CHOICES);
        if let Some(key) = &key {
            catalog.attributes_mut().entry(key.clone()).or_insert(kind);
        }
        if let (Some(key), Some(name), Some(kind)) = (key, name, kind) {
            let def = AttributeDef {
                name: name.to_owned(),
                kind,
            };
            if t.report_problems(sink, def.validate(), FieldName::stored_name) {
                defs.push(Keyed { key, def });
            }
        }
    }
    defs
}
