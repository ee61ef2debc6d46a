//! The RFC 2369 / RFC 8058 unsubscribe headers, which lettre has no types for.
//!
//! They matter beyond courtesy: Gmail and Yahoo require one-click unsubscribe from bulk
//! senders, and mail clients show their own "Unsubscribe" button from these headers,
//! which users press instead of "Report spam".

use lettre::message::header::{Header, HeaderName, HeaderValue};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `List-Unsubscribe: <https://...>`: where a client unsubscribes the reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListUnsubscribe(String);

impl ListUnsubscribe {
    /// `None` when `url` is not a plain https/http URL that can sit between `<` and `>`
    /// on a header line (no spaces, controls, angle brackets or non-ASCII): the header is
    /// written as is, so anything else could break or inject header lines.
    pub fn new(url: &str) -> Option<ListUnsubscribe> {
        let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
        let chars_ok = url
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
        (scheme_ok && chars_ok && url.len() <= 900).then(|| ListUnsubscribe(url.to_string()))
    }

    pub fn url(&self) -> &str {
        &self.0
    }
}

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, BoxError> {
        let inner = s
            .trim()
            .strip_prefix('<')
            .and_then(|rest| rest.strip_suffix('>'))
            .ok_or("List-Unsubscribe: expected <url>")?;
        ListUnsubscribe::new(inner).ok_or_else(|| "List-Unsubscribe: not a plain URL".into())
    }

    fn display(&self) -> HeaderValue {
        let value = format!("<{}>", self.0);
        // ASCII printable without spaces (checked in `new`), so nothing to encode.
        HeaderValue::dangerous_new_pre_encoded(Self::name(), value.clone(), value)
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): the client may POST
/// to the `List-Unsubscribe` URL without showing the user a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListUnsubscribePost;

const ONE_CLICK: &str = "List-Unsubscribe=One-Click";

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(s: &str) -> Result<Self, BoxError> {
        if s.trim() == ONE_CLICK {
            Ok(ListUnsubscribePost)
        } else {
            Err("List-Unsubscribe-Post: expected List-Unsubscribe=One-Click".into())
        }
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), ONE_CLICK.to_string())
    }
}
