//! The error every HTTP handler returns: `{"error": "..."}` with the status
//! docs/behaviour/api.md#errors gives. Areas with their own error enums convert into it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed JSON, a missing required field, a field of the wrong type.
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The target is in a state the request cannot apply to (retrying a sent message).
    #[error("{0}")]
    Conflict(String),
    /// Well-formed but invalid input.
    #[error("{0}")]
    Unprocessable(String),
    /// Applying the input would carry a stored number past the largest finite double.
    /// Answered like `Unprocessable`; a separate variant so the batch route can skip the
    /// event instead of failing the whole batch.
    #[error("{0}")]
    NotFinite(String),
    /// The body is over the size limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The URL is over the length limit.
    #[error("{0}")]
    UriTooLong(String),
    /// The body did not arrive within the body timeout; the connection is closed.
    #[error("{0}")]
    RequestTimeout(String),
    #[error("Too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// The writer's queue is full: retry shortly.
    #[error("The server is busy; retry after {retry_after_secs} s")]
    Overloaded { retry_after_secs: u64 },
    /// Something on our side; the message is logged, the client sees a generic one.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        ApiError::BadRequest(msg.into())
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        ApiError::NotFound(msg.into())
    }
    pub fn conflict(msg: impl Into<String>) -> Self {
        ApiError::Conflict(msg.into())
    }
    pub fn unprocessable(msg: impl Into<String>) -> Self {
        ApiError::Unprocessable(msg.into())
    }
    pub fn internal(msg: impl std::fmt::Display) -> Self {
        ApiError::Internal(msg.to_string())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable(_) | ApiError::NotFinite(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            ApiError::Internal(detail) => {
                log::error!("internal error: {detail}");
                "Internal server error".to_string()
            }
            other => capped(other.to_string()),
        };
        let mut response = HttpResponse::build(self.status_code());
        // The rest of a stalled body will not come; keeping the connection would only
        // hold it for a client that is not sending.
        if let ApiError::RequestTimeout(_) = self {
            response.force_close();
        }
        if let ApiError::TooManyRequests { retry_after_secs }
        | ApiError::Overloaded { retry_after_secs } = self
        {
            response.insert_header(("Retry-After", retry_after_secs.to_string()));
        }
        response.json(serde_json::json!({ "error": message }))
    }
}

/// How much of an input an error message repeats.
pub const ECHO_CHARS: usize = 64;

/// The longest error message sent; longer ones are cut (a last guard behind [`echo`]).
pub const MAX_MESSAGE_CHARS: usize = 1024;

/// `input` as an error message may repeat it: the first [`ECHO_CHARS`] characters, then
/// "…" when there was more. Without it a 100 kB time zone came back whole in the error.
pub fn echo(input: &str) -> std::borrow::Cow<'_, str> {
    match input.char_indices().nth(ECHO_CHARS) {
        None => std::borrow::Cow::Borrowed(input),
        Some((cut, _)) => std::borrow::Cow::Owned(format!("{}…", &input[..cut])),
    }
}

/// A parser's message (serde's, actix's) with every quoted part cut by [`echo`]: those
/// parts are the input it repeats (`invalid type: string "…"`, ``unknown field `…` ``).
pub fn echo_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(4 * ECHO_CHARS));
    let mut rest = message;
    while let Some(open) = rest.find(['"', '`']) {
        let quote = rest.as_bytes()[open] as char;
        out.push_str(&rest[..=open]);
        let body = &rest[open + 1..];
        let close = closing_quote(body, quote);
        match close {
            Some(close) => {
                out.push_str(&echo(&body[..close]));
                out.push(quote);
                rest = &body[close + 1..];
            }
            None => {
                out.push_str(&echo(body));
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Where `quote` closes in `body`; a backslash escapes the next character inside `"`.
fn closing_quote(body: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quote == '"' {
            escaped = true;
        } else if c == quote {
            return Some(i);
        }
    }
    None
}

fn capped(message: String) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        None => message,
        Some((cut, _)) => format!("{}…", &message[..cut]),
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::Internal(format!("sqlite: {e}"))
    }
}

impl From<r2d2::Error> for ApiError {
    fn from(e: r2d2::Error) -> Self {
        ApiError::Internal(format!("reader pool: {e}"))
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::Internal(format!("blocking pool: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_keeps_short_input_and_cuts_long_input_on_a_character() {
        assert_eq!(echo("Europe/Londn"), "Europe/Londn");
        let exact = "x".repeat(ECHO_CHARS);
        assert_eq!(echo(&exact), exact.as_str());
        let long = "é".repeat(100_000);
        let cut = echo(&long);
        assert_eq!(cut.chars().count(), ECHO_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(echo(""), "");
    }

    #[test]
    fn quoted_input_in_parser_messages_is_cut() {
        let long = "x".repeat(10_000);
        let serde = format!("invalid type: string \"{long}\", expected f64 at line 1 column 9");
        let cut = echo_quoted(&serde);
        assert!(cut.starts_with("invalid type: string \"xxx"));
        assert!(
            cut.ends_with("…\", expected f64 at line 1 column 9"),
            "{cut}"
        );
        assert!(cut.len() < 200);
        let field = format!("unknown field `{long}`, expected `user`");
        assert!(echo_quoted(&field).ends_with("…`, expected `user`"));
        let escaped = format!("string \"a\\\"{long}\" tail");
        assert!(echo_quoted(&escaped).ends_with("…\" tail"));
        let open = format!("never closed \"{long}");
        assert!(echo_quoted(&open).chars().count() < 100);
        assert_eq!(echo_quoted("missing field `user`"), "missing field `user`");
        assert_eq!(echo_quoted("no quotes"), "no quotes");
    }

    #[test]
    fn long_messages_are_capped() {
        let message = capped("a".repeat(10 * MAX_MESSAGE_CHARS));
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert_eq!(capped("short".into()), "short");
    }
}
