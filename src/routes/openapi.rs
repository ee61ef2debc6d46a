use actix_web::HttpResponse;

/// The Trophy application spec (1.8.0) this server implements.
const SPEC: &str = include_str!("../../assets/openapi.json");

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(SPEC)
}
