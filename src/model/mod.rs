//! Definitions as typed models, one per kind, shared by trophy.toml, the stored bodies, the
//! catalog and the Admin API. Each model serialized is its `definitions` row's body (the
//! streak settings': the one shared row of kind `streak_settings`, read by the streaks
//! feature rather than the catalog), and its `validate` holds the rules every surface
//! applies. It imports only `domain` and `rules`.

pub mod achievement;
pub mod attribute;
pub mod leaderboard;
pub mod metric;
pub mod points_boost;
pub mod points_level;
pub mod points_system;
pub mod points_trigger;
pub mod streak_settings;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

/// What every model is: its stored body (the model serialized) and the rules it obeys.
/// The fields of a model that a [`Problem`] can be about.
pub trait FieldName: Copy {
    /// The field's name in the stored body (and in the Admin API where it has one).
    fn stored_name(self) -> &'static str;
}

pub trait Definition: Serialize + DeserializeOwned {
    /// Names the fields a [`Problem`] can be about.
    type Field: FieldName;

    /// The rules whatever declared the model; the first problem of each field.
    fn validate(&self) -> Vec<Problem<Self::Field>>;

    /// The stored body of the model's `definitions` row.
    fn body(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(body)) => body,
            // Plain fields and string keys only: serde_json cannot refuse a model.
            other => unreachable!("a model serializes to a JSON object, not {other:?}"),
        }
    }

    /// A model read back from a stored body; `Err` says what is missing or which rule it
    /// breaks.
    fn from_body(body: &Map<String, Value>) -> Result<Self, String> {
        let model: Self =
            serde_json::from_value(Value::Object(body.clone())).map_err(|e| e.to_string())?;
        model.checked(FieldName::stored_name)
    }

    /// The model if it breaks no rule, else its first problem, the field named by `name`.
    fn checked(self, name: impl Fn(Self::Field) -> &'static str) -> Result<Self, String> {
        match self.validate().first() {
            Some(problem) => Err(format!("{} {}", name(problem.field), problem.rule)),
            None => Ok(self),
        }
    }
}

/// The rule a name breaks, if any: not empty, and at most 255 characters where the Admin
/// API's spec caps it.
fn name_rule(name: &str, capped: bool) -> Option<&'static str> {
    if name.trim().is_empty() {
        Some("must be a non-empty string")
    } else if capped && name.chars().count() > crate::domain::limits::MAX_DEFINITION_NAME_CHARS {
        Some("must be at most 255 characters")
    } else {
        None
    }
}

/// The field of a kind whose only rule is on its name (metrics, attributes): see
/// [`name_only`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameField;

impl FieldName for NameField {
    fn stored_name(self) -> &'static str {
        "name"
    }
}

/// The problems of a model's name, `field`: where every model's list of problems starts.
fn name_problems<F>(field: F, name: &str, capped: bool) -> Vec<Problem<F>> {
    name_rule(name, capped)
        .map(|rule| Problem::new(field, rule))
        .into_iter()
        .collect()
}

/// `Definition` for a kind whose only rule is on its name (metrics, attributes): not
/// empty, and at most as long as the Admin API's spec allows.
macro_rules! name_only {
    ($model:ty) => {
        impl super::Definition for $model {
            type Field = super::NameField;

            fn validate(&self) -> Vec<super::Problem<super::NameField>> {
                super::name_problems(super::NameField, &self.name, true)
            }
        }
    };
}

use name_only;

/// A model's `Field` enum: each field a rule can be about, with its stored name.
macro_rules! fields {
    ($(#[$meta:meta])* pub enum Field { $($variant:ident = $text:literal,)+ }) => {
        crate::domain::choices::choices! {
            $(#[$meta])*
            pub enum Field { $($variant = $text,)+ }
        }

        impl super::FieldName for Field {
            fn stored_name(self) -> &'static str {
                crate::domain::choices::Choice::name(self)
            }
        }
    };
}

use fields;

/// A broken rule of a definition: the field it is about and what is wrong, worded so that
/// each surface can put its own name for the field in front (`"points" must not be 0` in
/// trophy.toml, `points must not be 0` in an Admin API issue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem<F> {
    pub field: F,
    pub rule: &'static str,
}

impl<F> Problem<F> {
    fn new(field: F, rule: &'static str) -> Problem<F> {
        Problem { field, rule }
    }
}

/// `(key, value)` attribute filters stored as `[{"key": …, "value": …}]`.
pub(crate) mod attribute_pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct Pair {
        key: String,
        value: String,
    }

    pub fn serialize<S: Serializer>(pairs: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(pairs.iter().map(|(key, value)| Pair {
            key: key.clone(),
            value: value.clone(),
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        let pairs = Option::<Vec<Pair>>::deserialize(d)?.unwrap_or_default();
        Ok(pairs.into_iter().map(|p| (p.key, p.value)).collect())
    }

    /// The pairs as stored, which is also how the application API shows them.
    pub fn json(pairs: &[(String, String)]) -> serde_json::Value {
        pairs
            .iter()
            .map(|(key, value)| serde_json::json!({ "key": key, "value": value }))
            .collect()
    }
}

/// Asserts that `model` is stored as `body` and reads back from it as it was.
#[cfg(test)]
pub(crate) fn assert_stored_as<M>(model: M, body: Value)
where
    M: Definition + PartialEq + std::fmt::Debug,
{
    let stored = model.body();
    assert_eq!(Value::Object(stored.clone()), body);
    assert_eq!(M::from_body(&stored), Ok(model));
}
