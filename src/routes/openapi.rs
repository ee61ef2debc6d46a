use actix_web::HttpResponse;

/// The API this server serves (`assets/openapi.json`); `tests/api/openapi.rs` fails when
/// it and the registered routes disagree.
const SPEC: &str = include_str!("../../assets/openapi.json");

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(SPEC)
}
