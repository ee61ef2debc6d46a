//! Definitions as typed models, one per kind, shared by trophy.toml, the stored bodies, the
//! catalog and the Admin API. Each model serialized is its `definitions` row's body, and its
//! `validate` holds the rules every surface applies. It imports only `domain`.

pub mod achievement;
pub mod points_boost;
pub mod points_level;
pub mod points_system;
pub mod points_trigger;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

/// A model's stored body.
fn body_of<T: Serialize>(model: &T) -> Map<String, Value> {
    match serde_json::to_value(model) {
        Ok(Value::Object(body)) => body,
        // Plain fields and string keys only: serde_json cannot refuse a model.
        other => unreachable!("a model serializes to a JSON object, not {other:?}"),
    }
}

/// A model read back from a stored body; `Err` says what is missing or which rule it breaks.
fn read_body<T: DeserializeOwned, F: Copy>(
    body: &Map<String, Value>,
    validate: impl Fn(&T) -> Vec<Problem<F>>,
    name: impl Fn(F) -> &'static str,
) -> Result<T, String> {
    let model: T =
        serde_json::from_value(Value::Object(body.clone())).map_err(|e| e.to_string())?;
    match validate(&model).first() {
        Some(problem) => Err(format!("{} {}", name(problem.field), problem.rule)),
        None => Ok(model),
    }
}

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
}
