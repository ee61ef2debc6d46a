//! A JSON field that may be absent, explicitly `null`, or set. Trophy treats the three
//! differently on user updates: absent leaves a value alone, `null` clears it.

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, PartialEq)]
pub enum Field<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<T> Field<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Field::Absent)
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Field<U> {
        match self {
            Field::Absent => Field::Absent,
            Field::Null => Field::Null,
            Field::Value(v) => Field::Value(f(v)),
        }
    }

    /// Applies the field to `slot`: absent keeps it, null clears it, a value replaces it.
    pub fn apply_to(self, slot: &mut Option<T>) {
        match self {
            Field::Absent => {}
            Field::Null => *slot = None,
            Field::Value(v) => *slot = Some(v),
        }
    }

    /// Applies the field to `object[key]`, a value written as `shown`: absent keeps the
    /// key, null removes it, a value replaces it.
    pub fn apply_to_key(
        &self,
        object: &mut Map<String, Value>,
        key: &str,
        shown: impl FnOnce(&T) -> Value,
    ) {
        match self {
            Field::Absent => {}
            Field::Null => {
                object.remove(key);
            }
            Field::Value(v) => {
                object.insert(key.into(), shown(v));
            }
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            Some(v) => Field::Value(v),
            None => Field::Null,
        })
    }
}
