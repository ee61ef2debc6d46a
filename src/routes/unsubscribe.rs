//! `GET|POST /emails/unsubscribe?token=`: the link in every notification email. The token
//! is signed by the server (`notifications::email::unsubscribe`), so no key is needed. The
//! POST is RFC 8058's one-click (`List-Unsubscribe-Post`), sent by mail clients; the GET
//! is the link a person follows, and applies too, as the issue asks: a link that only
//! showed a form would leave people who cannot post forms subscribed. Either way the
//! answer is a small page saying what was turned off.

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::domain::limits::MAX_UNSUBSCRIBE_TOKEN_CHARS;
use crate::error::ApiError;
use crate::notifications::commands::Unsubscribe;
use crate::notifications::email::unsubscribe;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/emails/unsubscribe", web::get().to(apply))
        .route("/emails/unsubscribe", web::post().to(apply));
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

async fn apply(
    state: web::Data<AppState>,
    query: web::Query<TokenQuery>,
) -> Result<HttpResponse, ApiError> {
    let text = query
        .token
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("token is required"))?;
    if text.len() > MAX_UNSUBSCRIBE_TOKEN_CHARS {
        return Err(ApiError::bad_request(
            "token is not a valid unsubscribe token",
        ));
    }
    let token = unsubscribe::verify(state.notifier.unsubscribe_secret(), text)
        .ok_or_else(|| ApiError::bad_request("token is not a valid unsubscribe token"))?;
    let kind = token.kind;
    let found = state
        .writer
        .execute(Unsubscribe {
            tenant_id: token.tenant_id,
            user_id: token.user_id,
            kind,
        })
        .await?;
    if !found {
        return Err(ApiError::not_found("User not found"));
    }
    let what = match kind {
        Some(kind) => format!("{} emails", kind.as_str().replace('_', " ")),
        None => "all emails".to_owned(),
    };
    Ok(HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(page(&what)))
}

fn page(what: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Unsubscribed</title></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem\">\
         <h1>You are unsubscribed</h1><p>You will get no more {what} from us.</p></body></html>"
    )
}
