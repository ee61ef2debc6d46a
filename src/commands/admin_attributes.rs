//! Admin writes to user and event attributes (`/admin/v1/attributes`,
//! docs/behaviour/admin-api.md#definitions): create, rename (key and type never change) and
//! archive.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::admin_definitions::{self as defs, issue, Outcome};
use crate::error::ApiError;
use crate::writer::{Command, WriteCtx};

#[derive(Debug, Deserialize)]
pub struct CreateAttributeItem {
    pub name: Option<String>,
    pub key: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct UpdateAttributeItem {
    pub id: Option<String>,
    pub name: Option<String>,
}

/// The SDK's `AdminAttribute` from a stored definition.
pub fn view(uuid: &str, key: &str, body: &Map<String, Value>) -> Value {
    let text = |f: &str| body.get(f).and_then(Value::as_str).map(str::to_owned);
    json!({
        "id": uuid,
        "key": key,
        "name": text("name").unwrap_or_else(|| key.to_owned()),
        "type": text("type").unwrap_or_else(|| "user".into()),
    })
}

pub struct CreateAttributes {
    pub tenant: i64,
    pub items: Vec<CreateAttributeItem>,
}

impl Command for CreateAttributes {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let mut out = Outcome::default();
        for (index, item) in self.items.iter().enumerate() {
            let name = match defs::name_of(item.name.as_deref()) {
                Ok(n) => n,
                Err(m) => {
                    out.issues.push(issue(index, None, m));
                    continue;
                }
            };
            let Some(key) = item.key.as_deref().filter(|k| defs::valid_key(k)) else {
                out.issues.push(issue(
                    index,
                    None,
                    "key may only contain letters, digits, \"-\" and \"_\"",
                ));
                continue;
            };
            let kind = match item.kind.as_deref() {
                Some(k @ ("user" | "event")) => k,
                _ => {
                    out.issues
                        .push(issue(index, None, "type must be \"user\" or \"event\""));
                    continue;
                }
            };
            if let Some(existing) = defs::existing_with_key(ctx, self.tenant, "attribute", key)? {
                // One key names one attribute, whatever its type (they share a namespace).
                let same_type = existing.get("type").and_then(Value::as_str) == Some(kind);
                out.issues.push(issue(
                    index,
                    None,
                    if same_type {
                        "Key already in use by another attribute of this type"
                    } else {
                        "Key already in use by another attribute"
                    },
                ));
                continue;
            }
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            body.insert("type".into(), json!(kind));
            let uuid = defs::insert(ctx, self.tenant, "attribute", key, &body)?;
            out.items.push(view(&uuid, key, &body));
        }
        ctx.reload_catalog_after_commit()?;
        Ok(out)
    }
}

pub struct UpdateAttributes {
    pub tenant: i64,
    pub items: Vec<UpdateAttributeItem>,
}

impl defs::UpdateItem for UpdateAttributeItem {
    fn id(&self) -> &str {
        self.id.as_deref().unwrap_or_default()
    }

    fn change(&self, stored: &mut defs::Stored) -> Result<(), &'static str> {
        defs::rename(stored, self.name.as_deref())
    }
}

impl Command for UpdateAttributes {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let kind = ("attribute", "Attribute not found by ID");
        defs::update_each(ctx, self.tenant, kind, &self.items, view)
    }
}
