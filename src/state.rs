//! Everything a handler may need, shared across actix workers.

use std::sync::Arc;

use actix_web::HttpResponse;
use rusqlite::Connection;
use serde::Serialize;

use crate::achievements::backdate::Backdater;
use crate::auth::Gate;
use crate::catalog::CatalogHandle;
use crate::clock::Clock;
use crate::db::ReaderPool;
use crate::domain::ids::TenantId;
use crate::domain::user::User;
use crate::domain::user_id::UserId;
use crate::error::ApiError;
use crate::scheduler::Scheduler;
use crate::settings::RuntimeSettings;
use crate::store::users;
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
    pub leaderboards: crate::leaderboards::RankIndex,
}

impl AppState {
    /// Runs a read on a pooled connection off the async workers.
    pub async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let pool = self.readers.clone();
        actix_web::web::block(move || {
            let conn = pool.get()?;
            f(&conn)
        })
        .await?
    }

    /// A read whose result is the answer: 200 with it as JSON.
    pub async fn read_json<T, F>(&self, f: F) -> Result<HttpResponse, ApiError>
    where
        T: Serialize + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        Ok(HttpResponse::Ok().json(self.read(f).await?))
    }

    /// [`read_json`](Self::read_json) about the user `id` of `tenant`, 404 without one.
    pub async fn read_user_json<T, F>(
        &self,
        tenant: TenantId,
        id: UserId,
        f: F,
    ) -> Result<HttpResponse, ApiError>
    where
        T: Serialize + Send + 'static,
        F: FnOnce(&Connection, User) -> Result<T, ApiError> + Send + 'static,
    {
        self.read_json(move |conn| f(conn, users::existing(conn, tenant, id.as_str())?))
            .await
    }
}
