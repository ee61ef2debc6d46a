//! The keys a file declares, so that later definitions can refer to them by key.
//!
//! A key is registered as soon as it is readable, even when the rest of its definition has
//! problems: a typo in a metric's `unit_type` should not also make every achievement on that metric
//! report "unknown metric".

use std::collections::{HashMap, HashSet};

use super::model::{AttributeFilter, AttributeType};
use super::reader::{closest, Sink, Table};
use crate::domain::choices::Choice;

#[derive(Debug, Default)]
pub(crate) struct Catalog {
    /// `None`: declared, but its `type` is unreadable, so any use of it is accepted.
    attributes: HashMap<String, Option<AttributeType>>,
    metrics: HashSet<String>,
    achievements: HashSet<String>,
    points: HashSet<String>,
}

/// Keys end up in URLs (`/metrics/{key}/event`), hence the same alphabet as Trophy's Admin API.
pub(crate) fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Reads the `key` of a definition and claims it in `seen`; a duplicate is reported at the
/// second occurrence, which is the one a person just added.
pub(crate) fn read_key(
    table: &Table<'_, '_>,
    sink: &mut Sink,
    seen: &mut HashSet<String>,
    what: &str,
) -> Option<String> {
    let key = table.req_str(sink, "key")?;
    let at = table.value_at("key");
    if !is_valid_key(key) {
        sink.report(
            at,
            format!("{what} key \"{key}\" may only contain letters, digits, \"-\" and \"_\""),
        );
        return None;
    }
    if !seen.insert(key.to_owned()) {
        sink.report(at, format!("duplicate {what} key \"{key}\""));
    }
    Some(key.to_owned())
}

impl Catalog {
    pub(crate) fn attributes_mut(&mut self) -> &mut HashMap<String, Option<AttributeType>> {
        &mut self.attributes
    }

    pub(crate) fn metrics_mut(&mut self) -> &mut HashSet<String> {
        &mut self.metrics
    }

    pub(crate) fn achievements_mut(&mut self) -> &mut HashSet<String> {
        &mut self.achievements
    }

    pub(crate) fn points_mut(&mut self) -> &mut HashSet<String> {
        &mut self.points
    }

    pub(crate) fn check_metric(&self, sink: &mut Sink, key: &str, at: usize) -> bool {
        check(sink, &self.metrics, "metric", key, at)
    }

    pub(crate) fn check_achievement(&self, sink: &mut Sink, key: &str, at: usize) -> bool {
        check(sink, &self.achievements, "achievement", key, at)
    }

    pub(crate) fn check_points(&self, sink: &mut Sink, key: &str, at: usize) -> bool {
        check(sink, &self.points, "points system", key, at)
    }

    /// The metric `t` names at `metric`: required, and reported when none is declared by
    /// that key (still returned, so that the rest of the table is read and reported too).
    pub(crate) fn req_metric<'a>(&self, t: &Table<'a, '_>, sink: &mut Sink) -> Option<&'a str> {
        required(t, sink, "metric", |sink, key, at| {
            self.check_metric(sink, key, at)
        })
    }

    /// The achievement `t` names at `achievement`, like [`Catalog::req_metric`].
    pub(crate) fn req_achievement<'a>(
        &self,
        t: &Table<'a, '_>,
        sink: &mut Sink,
    ) -> Option<&'a str> {
        required(t, sink, "achievement", |sink, key, at| {
            self.check_achievement(sink, key, at)
        })
    }

    /// The points system `t` names at `points_system`, like [`Catalog::req_metric`].
    pub(crate) fn req_points<'a>(&self, t: &Table<'a, '_>, sink: &mut Sink) -> Option<&'a str> {
        required(t, sink, "points_system", |sink, key, at| {
            self.check_points(sink, key, at)
        })
    }

    /// An attribute used where only one type makes sense (`user_attributes`, `breakdown_attributes`).
    pub(crate) fn check_attribute(
        &self,
        sink: &mut Sink,
        key: &str,
        at: usize,
        want: AttributeType,
        used_as: &str,
    ) -> bool {
        match self.attributes.get(key) {
            Some(Some(kind)) if *kind != want => {
                let is = match kind {
                    AttributeType::User => "a user",
                    AttributeType::Event => "an event",
                };
                let wanted = want.name();
                sink.report(
                    at,
                    format!(
                        "\"{key}\" is {is} attribute, but \"{used_as}\" takes {wanted} attributes"
                    ),
                );
                false
            }
            Some(_) => true,
            None => {
                let hint = hint(key, self.attributes.keys());
                let kind = want.name();
                sink.report(at, format!("unknown {kind} attribute \"{key}\"{hint}"));
                false
            }
        }
    }

    /// `user_attributes = { plan = "pro" }`: declared attributes of the right type, string values,
    /// kept in file order.
    pub(crate) fn read_filter(
        &self,
        table: &Table<'_, '_>,
        sink: &mut Sink,
        key: &str,
        want: AttributeType,
    ) -> AttributeFilter {
        let Some(filter) = table.opt_table(sink, key, "an attribute filter") else {
            return AttributeFilter::new();
        };
        let mut pairs = AttributeFilter::new();
        for (name, at, value) in filter.entries() {
            self.check_attribute(sink, name, at, want, key);
            match value.get_ref().as_str() {
                Some(text) => pairs.push((name.to_owned(), text.to_owned())),
                None => sink.report(
                    value.span().start,
                    format!("the value of attribute \"{name}\" in \"{key}\" must be a string"),
                ),
            }
        }
        pairs
    }
}

/// The text at `key` of `t`, required; `check` reports it where it names nothing declared.
fn required<'a>(
    t: &Table<'a, '_>,
    sink: &mut Sink,
    key: &str,
    check: impl FnOnce(&mut Sink, &str, usize) -> bool,
) -> Option<&'a str> {
    let text = t.req_str(sink, key);
    if let Some(text) = text {
        check(sink, text, t.value_at(key));
    }
    text
}

fn check(sink: &mut Sink, declared: &HashSet<String>, what: &str, key: &str, at: usize) -> bool {
    if declared.contains(key) {
        return true;
    }
    let hint = hint(key, declared.iter());
    sink.report(at, format!("unknown {what} \"{key}\"{hint}"));
    false
}

fn hint<'k>(key: &str, declared: impl Iterator<Item = &'k String>) -> String {
    let mut names: Vec<&str> = declared.map(String::as_str).collect();
    // Sorted so that the suggestion does not depend on hash order.
    names.sort_unstable();
    closest(key, &names)
        .map(|known| format!(" (did you mean \"{known}\"?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::is_valid_key;

    #[test]
    fn keys_use_letters_digits_dash_and_underscore() {
        assert!(is_valid_key("first-lesson_2"));
        for bad in ["", "a b", "a.b", "é", "a/b"] {
            assert!(!is_valid_key(bad), "{bad}");
        }
    }
}
