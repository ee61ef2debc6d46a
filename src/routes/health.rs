use actix_web::{web, HttpResponse};

use crate::error::ApiError;
use crate::state::AppState;

/// `{"status":"ok"}` once the database answers.
pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .read(|conn| Ok(conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ok" })))
}
