//! `GET` of a kind's list (paged) and of one item by UUID, for the kinds the Admin API reads
//! from the catalog in force: one pair of handlers, each kind saying how it finds and shows
//! its items.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use serde_json::Value;

use super::bulk::Paging;
use crate::catalog::Catalog;
use crate::domain::ids::TenantId;
use crate::error::ApiError;
use crate::routes::extract::TenantState;

/// What an item's view may need besides the item.
pub struct Shown<'c> {
    pub catalog: &'c Catalog,
    pub tenant: TenantId,
    pub today: NaiveDate,
}

pub trait Listed: 'static {
    type Item;
    /// The 404's message for an unknown UUID.
    const NOT_FOUND: &'static str;
    /// The tenant's items, in list order.
    fn items(catalog: &Catalog, tenant: TenantId) -> impl Iterator<Item = &Self::Item>;
    fn uuid(item: &Self::Item) -> &str;
    fn view(item: &Self::Item, shown: &Shown<'_>) -> Value;
}

pub async fn list<K: Listed>(
    state: TenantState,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let catalog = state.catalog.current();
    let shown = shown(&state, &catalog);
    let items = paging.page(K::items(&catalog, state.tenant).map(|item| K::view(item, &shown)))?;
    Ok(HttpResponse::Ok().json(items))
}

pub async fn get<K: Listed>(
    state: TenantState,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let catalog = state.catalog.current();
    let item = K::items(&catalog, state.tenant)
        .find(|item| K::uuid(item) == id.as_str())
        .ok_or_else(|| ApiError::not_found(K::NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(K::view(item, &shown(&state, &catalog))))
}

fn shown<'c>(state: &TenantState, catalog: &'c Catalog) -> Shown<'c> {
    Shown {
        catalog,
        tenant: state.tenant,
        today: state.clock.now().date_naive(),
    }
}
