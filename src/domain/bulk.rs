//! What every Admin API bulk write shares: the `{items, issues}` it returns, the issue
//! shape both SDKs parse, the key rule, and the refusal of file-managed definitions.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};

use super::ids::TenantId;
use crate::error::ApiError;

/// The 422 message for a change to a definition declared in trophy.toml.
pub const MANAGED: &str = "managed by trophy.toml";

/// What a bulk write did: the entities as the Admin API shows them, and the issues.
#[derive(Default)]
pub struct Outcome {
    pub items: Vec<Value>,
    pub issues: Vec<Value>,
}

/// A bulk create (`CREATES`) or update of the kind `K` (a marker type of the kind's admin
/// module, which implements the command): the tenant and the items as sent. Each item is
/// read into its patch type inside the command, so a bad one is an issue, not a 400.
pub struct Bulk<K, const CREATES: bool> {
    pub tenant: TenantId,
    pub items: Vec<Value>,
    kind: PhantomData<K>,
}

pub type Create<K> = Bulk<K, true>;
pub type Update<K> = Bulk<K, false>;

/// A bulk archive (`DELETE ?ids=`) of the kind `K`.
pub struct Archive<K> {
    pub tenant: TenantId,
    pub ids: Vec<String>,
    kind: PhantomData<K>,
}

/// A bulk create or update, made from the tenant and the items as sent.
pub trait BulkWrite {
    /// Whether it creates (answered `created`, 201 when something was) or updates.
    const CREATES: bool;
    fn new(tenant: TenantId, items: Vec<Value>) -> Self;
}

impl<K, const CREATES: bool> BulkWrite for Bulk<K, CREATES> {
    const CREATES: bool = CREATES;

    fn new(tenant: TenantId, items: Vec<Value>) -> Self {
        Bulk {
            tenant,
            items,
            kind: PhantomData,
        }
    }
}

impl<K, const CREATES: bool> Bulk<K, CREATES> {
    /// Writes each item with `write`, which takes it with its index, the request's issues and
    /// what the items before it wrote, and answers what it wrote, or `None` once it has put
    /// the item's issue in the issues. Answers what was written, in order, and the issues.
    pub fn each_item<W>(
        &self,
        write: impl FnMut(usize, &Value, &mut Vec<Value>, &[W]) -> Result<Option<W>, ApiError>,
    ) -> Result<(Vec<W>, Vec<Value>), ApiError> {
        each_item(&self.items, write)
    }
}

/// The item loop of every bulk write (see [`Bulk::each_item`]), for writes whose items
/// arrive in another shape (a points system's children).
pub fn each_item<W>(
    items: &[Value],
    mut write: impl FnMut(usize, &Value, &mut Vec<Value>, &[W]) -> Result<Option<W>, ApiError>,
) -> Result<(Vec<W>, Vec<Value>), ApiError> {
    let mut written = Vec::new();
    let mut issues = Vec::new();
    for (index, item) in items.iter().enumerate() {
        if let Some(w) = write(index, item, &mut issues, &written)? {
            written.push(w);
        }
    }
    Ok((written, issues))
}

impl<K> Archive<K> {
    pub fn new(tenant: TenantId, ids: Vec<String>) -> Self {
        Archive {
            tenant,
            ids,
            kind: PhantomData,
        }
    }
}

/// What a bulk archive answers: each id `archive` found (and archived) as `{"id"}`, each
/// other with the issue `missing`. An error from `archive` refuses the whole write.
pub fn archive_each(
    ids: &[String],
    missing: &str,
    mut archive: impl FnMut(&str) -> Result<bool, ApiError>,
) -> Result<Outcome, ApiError> {
    let mut out = Outcome::default();
    for (index, id) in ids.iter().enumerate() {
        if archive(id)? {
            out.items.push(json!({ "id": id }));
        } else {
            out.issues.push(issue(index, Some(id), missing));
        }
    }
    Ok(out)
}

/// An `AdminIssue`: Python wants `severity` and `message`, Node's `BulkInsertIssue`
/// `level` and `reason`; `index` points at the item, `id` at the definition when known.
pub fn issue(index: usize, id: Option<&str>, message: impl Into<String>) -> Value {
    let message = message.into();
    let mut v = json!({
        "index": index,
        "severity": "error",
        "level": "error",
        "message": message,
        "reason": message,
    });
    if let (Some(id), Some(o)) = (id, v.as_object_mut()) {
        o.insert("id".into(), json!(id));
    }
    v
}

/// The issue for a key [`valid_key`] refuses.
pub const BAD_KEY: &str = "key may only contain letters, digits, \"-\" and \"_\"";

/// `^[a-zA-Z\d-_]+$` (docs/behaviour/api.md#keys-and-ids).
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_documented_pattern() {
        assert!(valid_key("words-written_2"));
        assert!(!valid_key(""));
        assert!(!valid_key("a b"));
        assert!(!valid_key("é"));
    }

    #[test]
    fn issues_carry_both_sdks_keys() {
        let v = issue(2, Some("x"), "Metric not found by ID");
        for key in ["index", "severity", "level", "message", "reason", "id"] {
            assert!(v.get(key).is_some(), "{key} in {v}");
        }
        assert!(issue(0, None, "m").get("id").is_none());
    }
}

/// An attribute filter as the Admin API sends it: the attribute by UUID and the value.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttributeRef {
    pub attribute_id: String,
    pub attribute_value: String,
}

/// A `badge` as the Admin API sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Badge {
    pub url: String,
}

impl Badge {
    /// A patch's `badge` as the stored `badgeUrl`: sent, cleared (`null`) or not sent.
    pub fn url_of(badge: &Option<Option<Badge>>) -> Option<Option<String>> {
        badge.as_ref().map(|b| b.as_ref().map(|b| b.url.clone()))
    }
}

/// Reads one bulk item into its patch type; the message names the field that does not fit
/// (`points: invalid type: string "ten", expected i64`).
pub fn parse_item<T: DeserializeOwned>(item: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize(item).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        }
    })
}

/// Reads a created item into its patch type; one that does not fit is its issue in `issues`.
pub fn created_item<T: DeserializeOwned>(
    index: usize,
    item: &Value,
    issues: &mut Vec<Value>,
) -> Option<T> {
    parse_item(item)
        .map_err(|message| issues.push(issue(index, None, message)))
        .ok()
}

/// Reads an updated item into its patch type, with the `id` that names what it updates.
/// One that does not fit is its issue in `issues`, naming the `id` it sent if that is text;
/// so is one without an `id`.
pub fn updated_item<'v, T: DeserializeOwned>(
    index: usize,
    item: &'v Value,
    issues: &mut Vec<Value>,
) -> Option<(T, &'v str)> {
    let id = item.get("id").and_then(Value::as_str);
    let patch = parse_item(item)
        .map_err(|message| issues.push(issue(index, id, message)))
        .ok()?;
    // A patch type reads `id` as an optional string, so once it is read `id` is that
    // string, or the item has none.
    let Some(id) = id else {
        issues.push(issue(index, None, "id must be a valid UUID"));
        return None;
    };
    Some((patch, id))
}

/// For `#[serde(default, deserialize_with = "present")]`: tells a field sent as `null`
/// (`Some(None)`, which clears it) from one not sent (`None`, which keeps it).
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// An optional field after a patch: what was sent (`null` clears it), else what was kept.
pub fn patched<T: Clone>(sent: &Option<Option<T>>, kept: impl FnOnce() -> Option<T>) -> Option<T> {
    match sent {
        Some(value) => value.clone(),
        None => kept(),
    }
}
