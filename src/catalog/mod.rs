//! Definitions (metrics, attributes, ...) held in memory so the hot path never queries
//! them. The database is the source of truth; the catalog is reloaded after any change.

mod achievement;
pub mod leaderboard;
pub mod points;
mod sync;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rusqlite::Connection;

pub use achievement::{Achievement, Trigger as AchievementTrigger};
pub use leaderboard::{Leaderboard, Ranking};
pub use points::PointsSystem;
pub use sync::sync_definitions;

use crate::config::AttributeType;
use crate::domain::ids::{DefinitionId, TenantId};
use crate::model::attribute::AttributeDef;
use crate::model::metric::MetricDef;
use crate::model::points_system::SystemDef;
use crate::model::Definition;
use crate::store::definitions::{self, Kind, Status};

/// The tenant id that owns definitions shared by every tenant.
const SHARED: TenantId = TenantId::SHARED;

#[derive(Debug, Clone)]
pub struct Metric {
    pub id: DefinitionId,
    pub uuid: String,
    pub key: String,
    pub name: String,
    pub units: Option<String>,
    pub managed: bool,
}

#[derive(Debug, Clone)]
pub struct Attribute {
    pub id: DefinitionId,
    pub uuid: String,
    pub key: String,
    pub name: String,
    pub kind: AttributeType,
}

#[derive(Debug, Default)]
pub struct Catalog {
    /// Active metrics by (owning tenant or SHARED, key), in creation order per tenant.
    metrics: HashMap<(TenantId, String), Metric>,
    metrics_by_id: HashMap<DefinitionId, (TenantId, String)>,
    attributes: HashMap<(TenantId, AttributeType, String), Attribute>,
    /// Every achievement not archived (inactive and locked included), in creation order.
    achievements: Vec<Achievement>,
    /// Points systems not archived, in creation order.
    points: Vec<PointsSystem>,
    /// Every leaderboard not archived, in creation order.
    leaderboards: Vec<Leaderboard>,
}

impl Catalog {
    /// Loads every definition in use. A row it cannot read is an error naming the row
    /// (`definitions::Error::Unreadable`), so the server refuses to start on it rather
    /// than run without the definition.
    pub fn load(conn: &Connection) -> definitions::Result<Catalog> {
        let mut catalog = Catalog::default();
        let mut points_systems = leaderboard::PointsSystems::new();
        let mut boards = Vec::new();
        let live = definitions::live(conn)?;
        for row in &live {
            let in_use = match row.kind {
                Kind::Metric | Kind::Attribute | Kind::PointsSystem => row.status == Status::Active,
                Kind::Achievement | Kind::Leaderboard => true,
                // Read with their systems, by `points::load`.
                Kind::PointsTrigger | Kind::PointsLevel | Kind::PointsBoost => false,
                // Held by the settings holder (`settings.rs`), read at start by
                // `streaks::settings`; the event path never looks them up here.
                Kind::StreakSettings => false,
            };
            if !in_use {
                continue;
            }
            let (id, uuid, tenant, key, managed) = (
                row.id,
                row.uuid.clone(),
                row.owner,
                row.key.clone(),
                row.managed,
            );
            match row.kind {
                Kind::Metric => {
                    let def = MetricDef::from_body(&row.body).map_err(|e| row.unreadable(e))?;
                    catalog.metrics_by_id.insert(id, (tenant, key.clone()));
                    catalog.metrics.insert(
                        (tenant, key.clone()),
                        Metric {
                            id,
                            uuid,
                            name: def.name,
                            units: def.units,
                            key,
                            managed,
                        },
                    );
                }
                Kind::Attribute => {
                    let def = AttributeDef::from_body(&row.body).map_err(|e| row.unreadable(e))?;
                    catalog.attributes.insert(
                        (tenant, def.kind, key.clone()),
                        Attribute {
                            id,
                            uuid,
                            name: def.name,
                            key,
                            kind: def.kind,
                        },
                    );
                }
                Kind::Achievement => {
                    let a = achievement::from_row(row).map_err(|e| row.unreadable(e))?;
                    catalog.achievements.push(a);
                }
                Kind::PointsSystem => {
                    let def = SystemDef::from_body(&row.body).map_err(|e| row.unreadable(e))?;
                    points_systems.insert((tenant, key), (id, uuid, def.name));
                }
                Kind::Leaderboard => boards.push(row),
                Kind::PointsTrigger
                | Kind::PointsLevel
                | Kind::PointsBoost
                | Kind::StreakSettings => {}
            }
        }
        catalog.points = points::load(&live)?;
        // After the loop: a board may be older than the points system it ranks by.
        let mut leaderboards = Vec::with_capacity(boards.len());
        for row in boards {
            let (id, key) = (row.id, &row.key);
            match leaderboard::from_row(row, &points_systems) {
                Ok(Some(board)) => leaderboards.push(board),
                // A reference that no longer resolves (the points system it ranks by is
                // archived), not a damaged row: the board is left out, and said so.
                Ok(None) => log::warn!("leaderboard {key:?} (definition row {id}) ranks by nothing this server has; it is left out"),
                Err(e) => return Err(row.unreadable(e)),
            }
        }
        catalog.leaderboards = leaderboards;
        Ok(catalog)
    }

    /// The active metric `key` as `tenant` sees it: its own first, then the shared one.
    pub fn metric(&self, tenant: TenantId, key: &str) -> Option<&Metric> {
        self.metrics
            .get(&(tenant, key.to_owned()))
            .or_else(|| self.metrics.get(&(SHARED, key.to_owned())))
    }

    pub fn metric_by_id(&self, id: DefinitionId) -> Option<&Metric> {
        self.metrics_by_id
            .get(&id)
            .and_then(|k| self.metrics.get(k))
    }

    /// Every active metric `tenant` sees, oldest definition first.
    pub fn metrics_for(&self, tenant: TenantId) -> Vec<&Metric> {
        let mut visible: HashMap<&str, &Metric> = HashMap::new();
        for ((owner, key), metric) in &self.metrics {
            if *owner == SHARED && !visible.contains_key(key.as_str()) {
                visible.insert(key, metric);
            }
        }
        for ((owner, key), metric) in &self.metrics {
            if *owner == tenant && tenant != SHARED {
                visible.insert(key, metric);
            }
        }
        let mut list: Vec<&Metric> = visible.into_values().collect();
        list.sort_by_key(|m| m.id);
        list
    }

    /// The achievements `tenant` sees (its own and the shared ones), oldest first,
    /// inactive and locked ones included: callers filter by status.
    pub fn achievements_for(&self, tenant: TenantId) -> impl Iterator<Item = &Achievement> {
        visible(&self.achievements, tenant)
    }

    /// Every achievement of every tenant, oldest first.
    pub fn all_achievements(&self) -> impl Iterator<Item = &Achievement> {
        self.achievements.iter()
    }

    pub fn achievement(&self, tenant: TenantId, key: &str) -> Option<&Achievement> {
        by_key(&self.achievements, tenant, key)
    }

    /// The leaderboards `tenant` sees (its own and the shared ones), oldest first, every
    /// status but archived.
    pub fn leaderboards_for(&self, tenant: TenantId) -> impl Iterator<Item = &Leaderboard> {
        visible(&self.leaderboards, tenant)
    }

    pub fn leaderboard(&self, tenant: TenantId, key: &str) -> Option<&Leaderboard> {
        by_key(&self.leaderboards, tenant, key)
    }

    /// Every leaderboard of every tenant.
    pub fn all_leaderboards(&self) -> impl Iterator<Item = &Leaderboard> {
        self.leaderboards.iter()
    }

    pub fn attribute(
        &self,
        tenant: TenantId,
        kind: AttributeType,
        key: &str,
    ) -> Option<&Attribute> {
        self.attributes
            .get(&(tenant, kind, key.to_owned()))
            .or_else(|| self.attributes.get(&(SHARED, kind, key.to_owned())))
    }

    /// An attribute visible to `tenant` by its UUID.
    pub fn attribute_by_uuid(&self, tenant: TenantId, uuid: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|((owner, _, _), a)| (*owner == tenant || *owner == SHARED) && a.uuid == uuid)
            .map(|(_, a)| a)
    }

    /// `(key, value)` filters from the Admin API's `(attribute UUID, value)` pairs, each
    /// attribute of `kind` and visible to `tenant`.
    pub fn attribute_keys(
        &self,
        tenant: TenantId,
        kind: AttributeType,
        refs: &[crate::domain::bulk::AttributeRef],
    ) -> Result<Vec<(String, String)>, String> {
        refs.iter()
            .map(|r| {
                let attribute = self
                    .attribute_by_uuid(tenant, &r.attribute_id)
                    .filter(|a| a.kind == kind)
                    .ok_or("Attribute not found by ID")?;
                Ok((attribute.key.clone(), r.attribute_value.clone()))
            })
            .collect()
    }

    /// `(key, value)` filters as the Admin API shows them: each attribute of `kind` by the
    /// UUID `tenant` sees (its key when there is none), with the value.
    pub fn attribute_refs(
        &self,
        tenant: TenantId,
        kind: AttributeType,
        pairs: &[(String, String)],
    ) -> serde_json::Value {
        pairs
            .iter()
            .map(|(k, v)| {
                let id = self.attribute(tenant, kind, k).map(|a| a.uuid.clone());
                serde_json::json!({ "attributeId": id.unwrap_or_else(|| k.clone()), "attributeValue": v })
            })
            .collect()
    }

    /// A metric visible to `tenant` by its UUID.
    pub fn metric_by_uuid(&self, tenant: TenantId, uuid: &str) -> Option<&Metric> {
        self.metrics
            .iter()
            .find(|((owner, _), m)| (*owner == tenant || *owner == SHARED) && m.uuid == uuid)
            .map(|(_, m)| m)
    }

    /// The points systems `tenant` sees (its own and the shared ones), oldest first.
    pub fn points_for(&self, tenant: TenantId) -> impl Iterator<Item = &PointsSystem> {
        visible(&self.points, tenant)
    }

    /// Every points system of every tenant.
    pub fn all_points(&self) -> impl Iterator<Item = &PointsSystem> {
        self.points.iter()
    }

    pub fn points_system(&self, tenant: TenantId, key: &str) -> Option<&PointsSystem> {
        by_key(&self.points, tenant, key)
    }

    pub fn has_attribute(&self, tenant: TenantId, kind: AttributeType, key: &str) -> bool {
        self.attributes
            .contains_key(&(tenant, kind, key.to_owned()))
            || self
                .attributes
                .contains_key(&(SHARED, kind, key.to_owned()))
    }
}

/// A definition the catalog lists: whose it is and its key.
trait Owned {
    fn owner(&self) -> TenantId;
    fn key(&self) -> &str;
}

macro_rules! owned {
    ($($t:ty),+) => {
        $(impl Owned for $t {
            fn owner(&self) -> TenantId {
                self.owner
            }

            fn key(&self) -> &str {
                &self.key
            }
        })+
    };
}

owned!(Achievement, PointsSystem, Leaderboard);

/// The items `tenant` sees: its own and the shared ones, in list order.
fn visible<T: Owned>(items: &[T], tenant: TenantId) -> impl Iterator<Item = &T> {
    items
        .iter()
        .filter(move |i| i.owner() == SHARED || i.owner() == tenant)
}

/// The item `key` as `tenant` sees it: its own before the shared one.
fn by_key<'c, T: Owned>(items: &'c [T], tenant: TenantId, key: &str) -> Option<&'c T> {
    visible(items, tenant)
        .filter(|i| i.key() == key)
        .max_by_key(|i| i.owner())
}

impl crate::domain::attributes::AttributeKeys for Catalog {
    fn has_attribute(&self, tenant: TenantId, kind: AttributeType, key: &str) -> bool {
        Catalog::has_attribute(self, tenant, kind, key)
    }
}

/// The current catalog, swapped whole when definitions change.
#[derive(Clone, Default)]
pub struct CatalogHandle(Arc<RwLock<Arc<Catalog>>>);

impl CatalogHandle {
    pub fn new(catalog: Catalog) -> Self {
        CatalogHandle(Arc::new(RwLock::new(Arc::new(catalog))))
    }

    pub fn current(&self) -> Arc<Catalog> {
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn replace(&self, catalog: Catalog) {
        *self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(catalog);
    }
}
