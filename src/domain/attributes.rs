//! Attribute maps checked against the configured attribute keys of the right type.

use std::collections::BTreeMap;

use crate::catalog::Catalog;
use crate::config::AttributeType;
use crate::error::ApiError;

const USER_ATTRIBUTES_PAGE: &str = "https://app.trophy.so/users/attributes";
const EVENT_ATTRIBUTES_PAGE: &str = "https://app.trophy.so/metrics";

/// Refuses the whole map if any key is not a configured attribute of `kind`, with the
/// message Trophy documents (bad keys comma-separated).
pub fn check_keys(
    catalog: &Catalog,
    tenant: i64,
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
        unknown.join(", ")
    )))
}
