//! What the three providers share on the wire: how their clients are built and how an
//! answer is read.
//!
//! Each provider gets its own client so that one provider's pool, HTTP version and slow
//! connections never hold up another's. Answers are read up to a bound because a provider
//! (or anything pretending to be one at the configured URL) could send an endless body.

use std::time::Duration;

use super::PushOutcome;

/// The most bytes of an answer read; a longer answer is cut (and then fails to parse).
pub(super) const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The most characters of an answer quoted in a reason.
const REASON_CHARS: usize = 200;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A client for one provider. `http2_only`: speak HTTP/2 from the first byte (h2c on
/// `http://`, ALPN `h2` alone on `https://`), as APNs requires.
pub(super) fn client(http2_only: bool) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        // A redirect from a push API is not an answer; it shows as a failure.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("trophyd/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .tcp_nodelay(true);
    if http2_only {
        builder = builder.http2_prior_knowledge();
    }
    builder
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// The answer's status and (bounded) body.
pub(super) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    /// Reads up to [`MAX_ANSWER_BYTES`] of the body. A body cut short by the network is
    /// kept as far as it came: the status already says most of what matters.
    pub async fn read(mut response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while body.len() < MAX_ANSWER_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_ANSWER_BYTES - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                _ => break,
            }
        }
        Answer { status, body }
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// `HTTP <status>: <start of the body>`, on one line.
    pub fn reason(&self) -> String {
        let text: String = String::from_utf8_lossy(&self.body)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(REASON_CHARS)
            .collect();
        if text.is_empty() {
            format!("HTTP {}", self.status)
        } else {
            format!("HTTP {}: {text}", self.status)
        }
    }

    /// 429 and 5xx: the provider is busy or down, not refusing this message.
    pub fn is_transient(&self) -> bool {
        self.status == 429 || self.status >= 500
    }
}

/// A request that got no answer. A request that could not even be built (a header value
/// from the config with a newline, a bad URL) will never succeed: `Failed`. Anything else
/// (connect, TLS, timeout, reset) is worth retrying.
pub(super) fn transport_failure(what: &str, error: &reqwest::Error) -> PushOutcome {
    let reason = transport_reason(what, error);
    if error.is_builder() {
        PushOutcome::Failed(reason)
    } else {
        PushOutcome::Retry(reason)
    }
}

/// `<what>: <kind>: <first cause>`, short.
pub(super) fn transport_reason(what: &str, error: &reqwest::Error) -> String {
    let kind = if error.is_builder() {
        "bad request"
    } else if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    // reqwest's own message is generic ("error sending request"); the cause says what.
    let detail = std::error::Error::source(error)
        .map(|source| source.to_string())
        .unwrap_or_else(|| error.to_string());
    let detail: String = detail.chars().take(REASON_CHARS).collect();
    format!("{what}: {kind}: {detail}")
}
