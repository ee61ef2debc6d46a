//! Admin writes to metrics (`/admin/v1/metrics`, docs/behaviour/admin-api.md#definitions):
//! bulk create, update (name, unit type, units; the key never changes) and archive. An
//! archived metric leaves the catalog, so its events answer 404 from the next request on.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::admin_definitions::{self as defs, issue, Outcome};
use crate::error::ApiError;
use crate::writer::{Command, WriteCtx};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateMetricItem {
    pub name: Option<String>,
    pub key: Option<String>,
    pub unit_type: Option<String>,
    pub units: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateMetricItem {
    pub id: Option<String>,
    pub name: Option<String>,
    pub unit_type: Option<String>,
    pub units: Option<String>,
}

/// The SDK's `CreatedMetric` from a stored definition.
pub fn view(uuid: &str, key: &str, body: &Map<String, Value>) -> Value {
    let text = |f: &str| body.get(f).and_then(Value::as_str).map(str::to_owned);
    json!({
        "id": uuid,
        "key": key,
        "name": text("name").unwrap_or_else(|| key.to_owned()),
        "unitType": text("unitType").unwrap_or_else(|| "number".into()),
        "units": text("units").unwrap_or_default(),
    })
}

fn unit_type(raw: Option<&str>) -> Result<Option<&'static str>, &'static str> {
    match raw {
        None => Ok(None),
        Some("number") => Ok(Some("number")),
        Some("currency") => Ok(Some("currency")),
        Some(_) => Err("unitType must be \"number\" or \"currency\""),
    }
}

pub struct CreateMetrics {
    pub tenant: i64,
    pub items: Vec<CreateMetricItem>,
}

impl Command for CreateMetrics {
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
            let key = match item.key.as_deref() {
                Some(k) if defs::valid_key(k) => k.to_owned(),
                _ => {
                    out.issues.push(issue(
                        index,
                        None,
                        "key may only contain letters, digits, \"-\" and \"_\"",
                    ));
                    continue;
                }
            };
            let kind = match unit_type(item.unit_type.as_deref()) {
                Ok(k) => k.unwrap_or("number"),
                Err(m) => {
                    out.issues.push(issue(index, None, m));
                    continue;
                }
            };
            if defs::existing_with_key(ctx, self.tenant, "metric", &key)?.is_some() {
                out.issues
                    .push(issue(index, None, "Key already in use by another metric"));
                continue;
            }
            let mut body = Map::new();
            body.insert("name".into(), json!(name));
            body.insert("units".into(), json!(item.units));
            body.insert("unitType".into(), json!(kind));
            let uuid = defs::insert(ctx, self.tenant, "metric", &key, &body)?;
            out.items.push(view(&uuid, &key, &body));
        }
        ctx.reload_catalog_after_commit()?;
        Ok(out)
    }
}

pub struct UpdateMetrics {
    pub tenant: i64,
    pub items: Vec<UpdateMetricItem>,
}

impl defs::UpdateItem for UpdateMetricItem {
    fn id(&self) -> &str {
        self.id.as_deref().unwrap_or_default()
    }

    fn change(&self, stored: &mut defs::Stored) -> Result<(), &'static str> {
        defs::rename(stored, self.name.as_deref())?;
        if let Some(kind) = unit_type(self.unit_type.as_deref())? {
            stored.body.insert("unitType".into(), json!(kind));
        }
        if let Some(units) = &self.units {
            stored.body.insert("units".into(), json!(units));
        }
        Ok(())
    }
}

impl Command for UpdateMetrics {
    type Output = Outcome;

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<Outcome, ApiError> {
        let kind = ("metric", "Metric not found by ID");
        defs::update_each(ctx, self.tenant, kind, &self.items, view)
    }
}
