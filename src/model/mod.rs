//! Definitions as typed models, one per kind, shared by trophy.toml, the stored bodies, the
//! catalog and the Admin API. A leaf: it imports nothing of the crate.

pub mod points_trigger;

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
