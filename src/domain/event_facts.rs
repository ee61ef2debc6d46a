//! What a recorded event changed, as the engines that react to it (achievements, points)
//! read it: one description, built once per event by `commands::record_event`.

use std::collections::BTreeMap;

use super::ids::DefinitionId;

pub struct EventFacts<'a> {
    pub metric_key: &'a str,
    pub metric_id: DefinitionId,
    /// The metric total after the event.
    pub total: f64,
    pub value: f64,
    pub attributes: &'a BTreeMap<String, String>,
    /// The streak length after the event, when the event raised it.
    pub streak_length: Option<u32>,
}
