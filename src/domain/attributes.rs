//! Attribute maps checked against the configured attribute keys of the right type.

use std::collections::BTreeMap;

use super::ids::TenantId;
use super::limits::{check_chars, MAX_ATTRIBUTE_VALUE_CHARS};
use crate::error::{echo, ApiError};

super::choices::choices! {
    /// Whether an attribute describes users or events.
    #[derive(Hash, serde::Serialize, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum AttributeType {
        User = "user",
        Event = "event",
    }
}

const USER_ATTRIBUTES_PAGE: &str = "https://app.trophy.so/users/attributes";
const EVENT_ATTRIBUTES_PAGE: &str = "https://app.trophy.so/metrics";

/// Unknown keys named in the error; a body may hold thousands.
const LISTED_KEYS: usize = 10;

/// Which attribute keys exist: the catalog, seen from the domain without the domain
/// depending on it (the catalog is built above the domain types).
pub trait AttributeKeys {
    fn has_attribute(&self, tenant: TenantId, kind: AttributeType, key: &str) -> bool;
}

impl<T: AttributeKeys + ?Sized> AttributeKeys for std::sync::Arc<T> {
    fn has_attribute(&self, tenant: TenantId, kind: AttributeType, key: &str) -> bool {
        (**self).has_attribute(tenant, kind, key)
    }
}

/// Refuses the whole map if any key is not a configured attribute of `kind`, with the
/// message Trophy documents (bad keys comma-separated).
pub fn check_keys(
    catalog: &impl AttributeKeys,
    tenant: TenantId,
    kind: AttributeType,
    attributes: &BTreeMap<String, String>,
) -> Result<(), ApiError> {
    let unknown: Vec<&str> = attributes
        .keys()
        .filter(|k| !catalog.has_attribute(tenant, kind, k))
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let page = match kind {
        AttributeType::User => USER_ATTRIBUTES_PAGE,
        AttributeType::Event => EVENT_ATTRIBUTES_PAGE,
    };
    Err(ApiError::unprocessable(format!(
        "Invalid attribute keys: {}. Please ensure all attribute keys match those set up at {page}.",
        listed(&unknown)
    )))
}

/// Refuses an attribute value longer than [`MAX_ATTRIBUTE_VALUE_CHARS`], naming it as
/// `{field}.{key}`. Run after [`check_keys`], so the key is a configured one.
pub fn check_values(field: &str, attributes: &BTreeMap<String, String>) -> Result<(), ApiError> {
    for (key, value) in attributes {
        check_chars(
            &format!("{field}.{}", echo(key)),
            value,
            MAX_ATTRIBUTE_VALUE_CHARS,
        )
        .map_err(ApiError::Unprocessable)?;
    }
    Ok(())
}

/// The keys comma-separated as Trophy lists them, each cut by `echo` and at most
/// [`LISTED_KEYS`] of them.
fn listed(keys: &[&str]) -> String {
    let mut text = keys
        .iter()
        .take(LISTED_KEYS)
        .map(|k| echo(k))
        .collect::<Vec<_>>()
        .join(", ");
    if keys.len() > LISTED_KEYS {
        text.push_str(&format!(" and {} more", keys.len() - LISTED_KEYS));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_listed_cut_and_counted() {
        assert_eq!(listed(&["pln"]), "pln");
        assert_eq!(listed(&["a", "b"]), "a, b");
        let long = "k".repeat(1000);
        assert!(listed(&[long.as_str()]).chars().count() <= crate::error::ECHO_CHARS + 1);
        let many: Vec<String> = (0..25).map(|i| format!("k{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let text = listed(&many);
        assert!(text.starts_with("k0, k1,"));
        assert!(text.ends_with("k9 and 15 more"), "{text}");
    }

    #[test]
    fn values_are_limited_and_named() {
        let mut attributes = BTreeMap::new();
        attributes.insert("plan".to_owned(), "p".repeat(MAX_ATTRIBUTE_VALUE_CHARS));
        assert!(check_values("attributes", &attributes).is_ok());
        attributes.insert("plan".to_owned(), "p".repeat(MAX_ATTRIBUTE_VALUE_CHARS + 1));
        match check_values("attributes", &attributes) {
            Err(ApiError::Unprocessable(m)) => {
                assert_eq!(m, "attributes.plan must be at most 255 characters")
            }
            other => panic!("{other:?}"),
        }
    }
}
