//! Sending one rendered email over SMTP, and saying whether trying again can help.
//!
//! The outbox retries, so the only judgement made here is `Transient` against
//! `Permanent`: a 5xx reply (unknown mailbox, rejected address) will never succeed and
//! must not be retried, while everything else (4xx replies, refused connections,
//! timeouts, TLS trouble an operator can fix) might.
//!
//! Connections are pooled by lettre, because an SMTP handshake (EHLO, STARTTLS, AUTH)
//! costs several round trips and relays throttle clients that reconnect for every
//! message. The rate limit is shared by every clone, since relays limit per account.
//!
//! The transport is built on the first send rather than in `new`, because lettre's pool
//! spawns a tokio task when built (and when dropped), which panics outside a runtime.

use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::{AsyncSmtpTransportBuilder, PoolConfig};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::time::Instant;

use super::headers::{ListUnsubscribe, ListUnsubscribePost};
use super::templates::one_line;
use crate::config::SmtpDef;

/// How long one SMTP step (connect, a command, the data) may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// One email, ready to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Sets `List-Unsubscribe` and `List-Unsubscribe-Post` (one-click).
    pub unsubscribe_url: Option<String>,
    /// Stable per outbox row, e.g. `<msg_x@trophyd>`, so a retry after a lost reply is
    /// recognisable as the same message.
    pub message_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Try again later (connection refused, 4xx SMTP reply, timeout).
    Transient(String),
    /// Never (5xx reply such as unknown mailbox, invalid address).
    Permanent(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Transient(m) => write!(f, "transient: {m}"),
            SendError::Permanent(m) => write!(f, "permanent: {m}"),
        }
    }
}

impl std::error::Error for SendError {}

/// The SMTP sender; clones share the connection pool and the rate limit.
#[derive(Clone)]
pub struct Mailer {
    inner: Arc<Inner>,
}

struct Inner {
    from: Mailbox,
    builder: AsyncSmtpTransportBuilder,
    transport: OnceLock<Transport>,
    /// The earliest start of the next send.
    next_slot: Mutex<Option<Instant>>,
    spacing: Duration,
}

impl Mailer {
    /// Parses `smtp.url` (`smtp://` STARTTLS when offered, port 25; `smtps://` implicit
    /// TLS, port 465; `user:password@` percent-decoded) and `smtp.from`.
    pub fn new(smtp: &SmtpDef) -> Result<Mailer, String> {
        let from = Mailbox::from_str(smtp.from.trim())
            .map_err(|e| format!("from {:?}: {e}", smtp.from))?;
        let server = parse_url(&smtp.url).map_err(|e| format!("smtp_url: {e}"))?;
        let tls_params = TlsParameters::new(server.host.clone())
            .map_err(|e| format!("smtp_url: TLS for {}: {e}", server.host))?;
        let tls = if server.implicit_tls {
            Tls::Wrapper(tls_params)
        } else {
            Tls::Opportunistic(tls_params)
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&server.host)
            .port(server.port)
            .tls(tls)
            .timeout(Some(TIMEOUT))
            .pool_config(PoolConfig::new());
        if let Some((user, password)) = server.credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        let rate = u64::from(smtp.rate_per_second.max(1));
        Ok(Mailer {
            inner: Arc::new(Inner {
                from,
                builder,
                transport: OnceLock::new(),
                next_slot: Mutex::new(None),
                spacing: Duration::from_nanos(1_000_000_000 / rate),
            }),
        })
    }

    /// Sends `email`, waiting first for its turn under the rate limit.
    pub async fn send(&self, email: &OutgoingEmail) -> Result<(), SendError> {
        let message = self.message(email)?;
        self.wait_turn().await;
        let transport = self
            .inner
            .transport
            .get_or_init(|| Transport(Some(self.inner.builder.clone().build())));
        let Some(transport) = transport.0.as_ref() else {
            return Err(SendError::Transient("transport dropped".to_string()));
        };
        match transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }

    fn message(&self, email: &OutgoingEmail) -> Result<Message, SendError> {
        let address = Address::from_str(email.to.trim())
            .map_err(|e| SendError::Permanent(format!("to {:?}: {e}", email.to)))?;
        let name = email
            .to_name
            .as_deref()
            .map(one_line)
            .filter(|n| !n.is_empty());
        let mut builder = Message::builder()
            .from(self.inner.from.clone())
            .to(Mailbox::new(name, address))
            .subject(one_line(&email.subject))
            .message_id(Some(one_line(&email.message_id)));
        if let Some(url) = &email.unsubscribe_url {
            let header = ListUnsubscribe::new(url).ok_or_else(|| {
                SendError::Permanent(format!("unsubscribe URL {url:?} cannot go in a header"))
            })?;
            builder = builder.header(header).header(ListUnsubscribePost);
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| SendError::Permanent(format!("building the message: {e}")))
    }

    /// Spaces sends `1 / rate_per_second` apart: each caller reserves the next slot under
    /// the lock, then sleeps outside it.
    async fn wait_turn(&self) {
        let now = Instant::now();
        let slot = {
            let mut next = match self.inner.next_slot.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.inner.spacing);
            slot
        };
        if slot > now {
            tokio::time::sleep_until(slot).await;
        }
    }
}

/// lettre's pool spawns a task when dropped, which panics without a tokio runtime (a
/// `Mailer` outliving its runtime, at exit): then leak it instead, the process is ending.
struct Transport(Option<AsyncSmtpTransport<Tokio1Executor>>);

impl Drop for Transport {
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_err() {
            std::mem::forget(self.0.take());
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(super) struct Server {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) implicit_tls: bool,
    pub(super) credentials: Option<(String, String)>,
}

/// Where an `smtp_url` sends, without its credentials (`smtps://mail.test:465`), and
/// whether it carries some: what the console shows of the SMTP server.
pub fn shown_server(url: &str) -> Result<(String, bool), String> {
    let s = parse_url(url)?;
    let scheme = if s.implicit_tls { "smtps" } else { "smtp" };
    let host = if s.host.contains(':') {
        format!("[{}]", s.host)
    } else {
        s.host
    };
    Ok((
        format!("{scheme}://{host}:{}", s.port),
        s.credentials.is_some(),
    ))
}

/// `smtp[s]://[user:password@]host[:port][/...]`. Hand-written rather than lettre's
/// `from_url`, whose `smtp://` means no TLS at all and defaults to port 587.
pub(super) fn parse_url(url: &str) -> Result<Server, String> {
    let (scheme, rest) = url
        .trim()
        .split_once("://")
        .ok_or("expected smtp://host or smtps://host")?;
    let implicit_tls = match scheme.to_ascii_lowercase().as_str() {
        "smtp" => false,
        "smtps" => true,
        other => return Err(format!("unknown scheme {other:?}, expected smtp or smtps")),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, authority),
    };
    let (host, port) = match hostport.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']').ok_or("unclosed [ in the host")?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or("expected :port after ]")?),
            };
            (host, port)
        }
        None => match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        },
    };
    if host.is_empty() {
        return Err("no host".to_string());
    }
    let port = match port {
        None => {
            if implicit_tls {
                465
            } else {
                25
            }
        }
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("bad port {p:?}"))?,
    };
    let credentials = match userinfo {
        None => None,
        Some(info) => {
            let (user, password) = info
                .split_once(':')
                .ok_or("a user needs a password (user:password@)")?;
            Some((percent_decode(user)?, percent_decode(password)?))
        }
    };
    Ok(Server {
        host: host.to_string(),
        port,
        implicit_tls,
        credentials,
    })
}

fn percent_decode(s: &str) -> Result<String, String> {
    // The decoder passes a stray `%` through; in a config it is a mistake worth naming.
    let well_formed = s.match_indices('%').all(|(i, _)| {
        s.get(i + 1..i + 3)
            .is_some_and(|h| h.chars().all(|c| c.is_ascii_hexdigit()))
    });
    if !well_formed {
        return Err("bad %-escape in the credentials".into());
    }
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|d| d.into_owned())
        .map_err(|_| "credentials are not UTF-8 once decoded".to_string())
}
