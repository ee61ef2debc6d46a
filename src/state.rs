//! Everything a handler may need, shared across actix workers.

use std::sync::Arc;

use crate::achievements::backdate::Backdater;
use crate::auth::Gate;
use crate::catalog::CatalogHandle;
use crate::clock::Clock;
use crate::db::ReaderPool;
use crate::error::ApiError;
use crate::scheduler::Scheduler;
use crate::settings::RuntimeSettings;
use crate::telemetry::Telemetry;
use crate::webhooks::Delivery;
use crate::writer::Writer;

pub struct AppState {
    pub settings: Arc<RuntimeSettings>,
    pub writer: Writer,
    pub readers: ReaderPool,
    pub catalog: CatalogHandle,
    pub clock: Clock,
    /// Keys, tenants and rate limits (also registered alone, for the auth middleware).
    pub gate: actix_web::web::Data<Gate>,
    pub telemetry: Arc<Telemetry>,
    pub scheduler: Scheduler,
    pub delivery: Delivery,
    pub notifier: crate::notifications::Notifier,
    pub backdater: Backdater,
    pub folder: crate::wrapped::Folder,
    pub leaderboards: crate::leaderboards::RankIndex,
}

impl AppState {
    /// Runs a read on a pooled connection off the async workers.
    pub async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let pool = self.readers.clone();
        actix_web::web::block(move || {
            let conn = pool.get()?;
            f(&conn)
        })
        .await?
    }
}
