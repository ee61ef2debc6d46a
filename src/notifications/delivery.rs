//! The notification worker: reads due outbox rows from a reader, renders and sends them,
//! and records the outcomes through the writer.
//!
//! * One pass at a time (a lock), so a row is never in two sends at once: a pass reads due
//!   rows, sends them (a few at once), and records every outcome before the next pass
//!   reads. A crash between a send and its record sends that row again at the next start:
//!   delivery is at least once, and the `Message-ID` (the row's id) lets mail systems
//!   drop the repeat.
//! * Times (next attempts, give-up) come from the project clock, so under `--test-clock`
//!   a retry falls due only when the clock is moved.
//! * The worker wakes when a commit queued rows, and once a second for retries.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinHandle;

use super::commands::RecordOutcomes;
use super::content::{push_data, push_text};
use super::email::{unsubscribe, Mailer, OutgoingEmail, SendError, Templates};
use super::push::{Push, PushMessage, PushOutcome};
use super::store::{self, Delivery, Outcome};
use super::Kind;
use crate::catalog::CatalogHandle;
use crate::clock::Clock;
use crate::db::ReaderPool;
use crate::settings::RuntimeSettings;
use crate::writer::Writer;

/// Rows read per pass.
const BATCH: i64 = 100;
/// Sends in flight at once within a pass.
const PARALLEL: usize = 8;
const POLL: Duration = Duration::from_secs(1);
/// The first retry comes after this, doubling each time up to [`MAX_BACKOFF_MS`].
const FIRST_BACKOFF_MS: i64 = 60_000;
const MAX_BACKOFF_MS: i64 = 3_600_000;
/// A message still failing this long after it was decided is given up.
const GIVE_UP_AFTER_MS: i64 = 24 * 3_600_000;

#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Writer,
    readers: ReaderPool,
    clock: Clock,
    settings: Arc<RuntimeSettings>,
    /// Names for the recap's figures.
    catalog: CatalogHandle,
    email: Option<(Mailer, Templates)>,
    push: Option<Push>,
    secret: Vec<u8>,
    public_url: String,
    wake: Arc<Notify>,
    pass: Mutex<()>,
}

impl Notifier {
    /// Builds the senders: templates compiled, key files read. An error here stops the
    /// start with the file and the problem.
    pub fn new(
        writer: Writer,
        readers: ReaderPool,
        clock: Clock,
        settings: Arc<RuntimeSettings>,
        catalog: CatalogHandle,
        secret: Vec<u8>,
        wake: Arc<Notify>,
    ) -> Result<Notifier, String> {
        let config = &settings.config;
        let email = match &config.emails.smtp {
            Some(smtp) => Some((Mailer::new(smtp)?, Templates::load(&config.emails)?)),
            None => None,
        };
        let push = if config.push.any() {
            Some(Push::new(&config.push)?)
        } else {
            None
        };
        let public_url = match &config.emails.public_url {
            Some(url) => url.clone(),
            None => {
                if email.is_some() {
                    log::warn!(
                        "[emails] has no public_url: unsubscribe links point at http://{}",
                        settings.listen
                    );
                }
                format!("http://{}", settings.listen)
            }
        };
        Ok(Notifier {
            inner: Arc::new(Inner {
                writer,
                readers,
                clock,
                settings,
                catalog,
                email,
                push,
                secret,
                public_url,
                wake,
                pass: Mutex::new(()),
            }),
        })
    }

    /// The key unsubscribe links are signed with.
    pub fn unsubscribe_secret(&self) -> &[u8] {
        &self.inner.secret
    }

    /// Every row due by `now` attempted once (the test clock, before it answers).
    pub async fn run_all_due(&self, now: DateTime<Utc>) -> Result<(), String> {
        while self.run_due_once(now).await? as i64 == BATCH {}
        Ok(())
    }

    /// Runs the worker until the task is aborted.
    pub fn start(&self) -> JoinHandle<()> {
        let notifier = self.clone();
        tokio::spawn(async move {
            loop {
                let now = notifier.inner.clock.now();
                match notifier.run_due_once(now).await {
                    // A full batch: there may be more due at once.
                    Ok(n) if n as i64 == BATCH => continue,
                    Ok(_) => {}
                    Err(e) => log::error!("notification delivery: {e}"),
                }
                let _ = tokio::time::timeout(POLL, notifier.inner.wake.notified()).await;
            }
        })
    }

    /// One pass: every row due by `now` (up to a batch) is attempted once and its
    /// outcome recorded. The test clock calls this before it answers.
    pub async fn run_due_once(&self, now: DateTime<Utc>) -> Result<usize, String> {
        let inner = &self.inner;
        let _pass = inner.pass.lock().await;
        let now_ms = now.timestamp_millis();
        let read = self.clone();
        let (rows, branding) = tokio::task::spawn_blocking(move || read.read_due(now_ms))
            .await
            .map_err(|e| e.to_string())??;
        if rows.is_empty() {
            return Ok(0);
        }
        let count = rows.len();
        let mut results = Vec::with_capacity(count);
        for chunk in rows.chunks(PARALLEL) {
            let sends = chunk
                .iter()
                .map(|(row, payload)| self.attempt(row, payload.as_ref(), &branding));
            results.extend(futures_util::future::join_all(sends).await);
        }
        let mut record = RecordOutcomes {
            outcomes: Vec::with_capacity(count),
            dead_tokens: Vec::new(),
        };
        for ((row, _), (outcome, dead)) in rows.iter().zip(results) {
            if dead {
                record.dead_tokens.push((row.user_id, row.target.clone()));
            }
            record.outcomes.push((row.id, outcome));
        }
        inner
            .writer
            .execute(record)
            .await
            .map_err(|e| format!("recording outcomes: {e}"))?;
        Ok(count)
    }

    /// On a reader: the rows due by `now_ms` with their payloads (a recap email's with its
    /// figures, `recap::figures`), and the branding the texts use.
    fn read_due(&self, now_ms: i64) -> Result<DuePass, String> {
        let inner = &self.inner;
        let conn = inner.readers.get().map_err(|e| e.to_string())?;
        let rows = store::sendable(&conn, now_ms, BATCH).map_err(|e| e.to_string())?;
        if rows.is_empty() {
            return Ok((Vec::new(), Value::Null));
        }
        let config = &inner.settings.config;
        let branding = crate::store::admin_settings::load(&conn, config)
            .map_err(|e| e.to_string())?["branding"]
            .clone();
        let catalog = inner.catalog.current();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut payload = serde_json::from_str::<Value>(&row.payload).ok();
            let recap_email = row.kind == Kind::Recap.as_str() && row.channel == "email";
            if let (true, Some(payload), Some(def)) =
                (recap_email, payload.as_mut(), &config.emails.recap)
            {
                let figures = super::recap::figures(
                    &conn,
                    &catalog,
                    def.frequency,
                    row.user_id,
                    row.tenant_id,
                    payload,
                )
                .map_err(|e| e.to_string())?;
                if let Value::Object(recap) = &mut payload["recap"] {
                    recap.extend(figures);
                }
            }
            out.push((row, payload));
        }
        Ok((out, branding))
    }

    /// Sends one row: its outcome, and whether its device token is dead.
    async fn attempt(
        &self,
        row: &Delivery,
        payload: Option<&Value>,
        branding: &Value,
    ) -> (Outcome, bool) {
        let sent = match (Kind::parse(&row.kind), payload) {
            (Some(kind), Some(payload)) => match row.channel.as_str() {
                "email" => self.send_email(row, kind, payload.clone(), branding).await,
                "push" => self.send_push(row, kind, payload, branding).await,
                other => Err(Failure::Permanent(format!("unknown channel {other}"))),
            },
            _ => Err(Failure::Permanent("unreadable stored message".into())),
        };
        let now = self.inner.clock.now().timestamp_millis();
        match sent {
            Ok(()) => (Outcome::Sent, false),
            Err(Failure::DeadToken(e)) => (Outcome::Failed(e), true),
            Err(Failure::Permanent(e)) => (Outcome::Failed(e), false),
            Err(Failure::Transient(e)) => (retry_or_give_up(row, now, e), false),
        }
    }

    async fn send_email(
        &self,
        row: &Delivery,
        kind: Kind,
        payload: Value,
        branding: &Value,
    ) -> Result<(), Failure> {
        let Some((mailer, templates)) = &self.inner.email else {
            return Err(Failure::Permanent("[emails] has no smtp_url".into()));
        };
        let link = |kind: Option<Kind>| {
            let token = unsubscribe::sign(
                &self.inner.secret,
                &unsubscribe::Token {
                    tenant_id: row.tenant_id,
                    user_id: row.user_id,
                    kind,
                },
            );
            format!("{}/emails/unsubscribe?token={token}", self.inner.public_url)
        };
        let unsubscribe_url = link(Some(kind));
        let mut context = payload;
        if let Value::Object(fields) = &mut context {
            fields.insert("branding".into(), branding.clone());
            fields.insert("unsubscribe_url".into(), json!(unsubscribe_url));
            fields.insert("unsubscribe_all_url".into(), json!(link(None)));
        }
        let rendered = templates
            .render(kind, &context)
            .map_err(Failure::Permanent)?;
        let email = OutgoingEmail {
            to: row.target.clone(),
            to_name: context["user"]["name"].as_str().map(str::to_owned),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            unsubscribe_url: Some(unsubscribe_url),
            message_id: format!("<{}@trophyd>", row.uuid),
        };
        mailer.send(&email).await.map_err(|e| match e {
            SendError::Transient(e) => Failure::Transient(e),
            SendError::Permanent(e) => Failure::Permanent(e),
        })
    }

    async fn send_push(
        &self,
        row: &Delivery,
        kind: Kind,
        payload: &Value,
        branding: &Value,
    ) -> Result<(), Failure> {
        let Some(push) = &self.inner.push else {
            return Err(Failure::Permanent("no push provider is configured".into()));
        };
        let text = push_text(kind, payload, branding["appName"].as_str().unwrap_or(""));
        let message = PushMessage {
            title: text.title,
            body: text.body,
            data: push_data(kind, &row.uuid),
        };
        match push.send(&row.target, &message).await {
            PushOutcome::Sent => Ok(()),
            PushOutcome::InvalidToken(e) => Err(Failure::DeadToken(e)),
            PushOutcome::Retry(e) => Err(Failure::Transient(e)),
            PushOutcome::Failed(e) => Err(Failure::Permanent(e)),
        }
    }
}

/// What a pass sends: each row with its payload (None: unreadable), and the branding.
type DuePass = (Vec<(Delivery, Option<Value>)>, Value);

enum Failure {
    Transient(String),
    Permanent(String),
    DeadToken(String),
}

/// The next attempt after `row.attempts + 1` failures, or the end when the message has
/// been failing for a day.
fn retry_or_give_up(row: &Delivery, now: i64, error: String) -> Outcome {
    let failures = u32::try_from(row.attempts + 1).unwrap_or(u32::MAX);
    let backoff = FIRST_BACKOFF_MS
        .saturating_mul(
            1_i64
                .checked_shl(failures.saturating_sub(1).min(20))
                .unwrap_or(i64::MAX),
        )
        .min(MAX_BACKOFF_MS);
    let next = now.saturating_add(backoff);
    if next - row.created > GIVE_UP_AFTER_MS {
        Outcome::Failed(format!("gave up after {failures} attempts: {error}"))
    } else {
        Outcome::RetryAt(next, error)
    }
}
