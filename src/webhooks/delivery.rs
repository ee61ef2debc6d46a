//! The delivery worker: sends due outbox rows, signed, and reports the outcomes back
//! through the writer in batches.
//!
//! * Reads go through the reader pool; only the writer writes ([`RecordOutcomes`]).
//! * A row is *claimed* (kept in an in-memory in-flight map) from the moment it is read as
//!   due until its outcome has committed, so it is never sent twice at once. Reading due
//!   rows and releasing claims both happen under one async lock (the gate), so a read can
//!   never see a row as still pending after its outcome was recorded and released.
//! * Each endpoint has its own semaphore (`max_concurrency`) and its own bound on claimed
//!   rows, so a slow or dead endpoint only ever holds up its own deliveries.
//! * Every time (the `webhook-timestamp`, next attempts) comes from the project clock, so
//!   under `--test-clock` retries fall due only when the clock is moved; HTTP timeouts use
//!   real time.
//! * The worker wakes when a commit queued rows (`WriterEnv::wake_delivery`), when claims
//!   are released, and once a second to pick up retries that fell due.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::CONTENT_TYPE;
use tokio::sync::{mpsc, watch, Notify, Semaphore};
use tokio::task::JoinHandle;

use super::signing::{standard_signature, trophy_signature};
use super::store::{self, DueRow, FailRemovedEndpoints, Outcome, RecordOutcomes};
use crate::clock::Clock;
use crate::config::WebhookDef;
use crate::db::ReaderPool;
use crate::error::ApiError;
use crate::writer::Writer;

/// How often the worker looks for retries that fell due without being woken.
const POLL: Duration = Duration::from_secs(1);
/// The most outcomes recorded in one writer command.
const MAX_RECORD_BATCH: usize = 1_000;
/// The most characters of a failing response's body kept in `last_error`.
const ERROR_BODY_CHARS: usize = 200;
/// How much of a successful response's body is read (so the connection can be reused).
const MAX_DRAIN_BYTES: usize = 64 * 1024;

const RUNNING: u8 = 0;
/// No new claims; attempts in flight finish and are recorded.
const DRAINING: u8 = 1;
/// Attempts still in flight are abandoned (their rows stay pending for the next start).
const STOPPED: u8 = 2;

/// A handle on webhook delivery, shared by the worker and the test clock route.
#[derive(Clone)]
pub struct Delivery {
    inner: Arc<Inner>,
}

struct Endpoint {
    def: WebhookDef,
    permits: Semaphore,
    /// The most rows claimed for this endpoint by the background worker.
    prefetch: usize,
    /// Rows claimed for this endpoint and not yet released.
    claimed: AtomicUsize,
}

struct Claim {
    endpoint: Arc<Endpoint>,
    /// Dropped when the claim is released, which wakes everyone waiting on the row.
    done: watch::Sender<()>,
}

struct Inner {
    writer: Writer,
    readers: ReaderPool,
    clock: Clock,
    client: reqwest::Client,
    /// By URL, the key outbox rows carry. Two `[[webhooks]]` with one URL share the first's
    /// secret and limits.
    endpoints: HashMap<String, Arc<Endpoint>>,
    in_flight: Mutex<HashMap<i64, Claim>>,
    gate: tokio::sync::Mutex<()>,
    outcomes: mpsc::UnboundedSender<Outcome>,
    outcomes_rx: Mutex<Option<mpsc::UnboundedReceiver<Outcome>>>,
    /// From the writer: a commit queued rows (or re-queued one).
    wake: Arc<Notify>,
    /// Claims were released, so endpoints have room again.
    released: Notify,
    stop: watch::Sender<u8>,
}

impl Delivery {
    pub fn new(
        writer: Writer,
        readers: ReaderPool,
        clock: Clock,
        webhooks: &[WebhookDef],
        wake: Arc<Notify>,
    ) -> Result<Delivery, reqwest::Error> {
        let client = reqwest::Client::builder()
            // A redirect is not a delivery (as with Standard Webhooks/Svix): retried.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("trophyd/", env!("CARGO_PKG_VERSION")))
            .tcp_nodelay(true)
            .build()?;
        let mut endpoints = HashMap::new();
        for def in webhooks {
            endpoints.entry(def.url.clone()).or_insert_with(|| {
                let concurrency = (def.max_concurrency.max(1) as usize).min(Semaphore::MAX_PERMITS);
                Arc::new(Endpoint {
                    def: def.clone(),
                    permits: Semaphore::new(concurrency),
                    prefetch: concurrency.saturating_mul(4).clamp(64, 1024),
                    claimed: AtomicUsize::new(0),
                })
            });
        }
        let (outcomes, outcomes_rx) = mpsc::unbounded_channel();
        Ok(Delivery {
            inner: Arc::new(Inner {
                writer,
                readers,
                clock,
                client,
                endpoints,
                in_flight: Mutex::new(HashMap::new()),
                gate: tokio::sync::Mutex::new(()),
                outcomes,
                outcomes_rx: Mutex::new(Some(outcomes_rx)),
                wake,
                released: Notify::new(),
                stop: watch::Sender::new(RUNNING),
            }),
        })
    }

    /// Starts the worker and the recorder as tasks on the current runtime. Call once.
    pub fn start(&self) -> DeliveryWorker {
        let outcomes = self
            .inner
            .outcomes_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .expect("webhook delivery is started only once");
        let recorder = tokio::spawn(self.inner.clone().record_loop(outcomes));
        let worker = tokio::spawn(self.inner.clone().work_loop());
        DeliveryWorker {
            inner: self.inner.clone(),
            tasks: vec![worker, recorder],
        }
    }

    /// Attempts every delivery due at `now` once (or waits for the attempt already under
    /// way) and returns when all of those outcomes are recorded. For `POST /_test/clock`;
    /// needs the worker started.
    pub async fn run_due_once(&self, now: DateTime<Utc>) -> Result<(), ApiError> {
        let inner = &self.inner;
        let started = inner
            .outcomes_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none();
        if !started {
            return Ok(());
        }
        let waiters = {
            let _gate = inner.gate.lock().await;
            if *inner.stop.borrow() != RUNNING {
                return Ok(());
            }
            let reader = inner.clone();
            let (fresh, busy) = inner
                .read(move |conn| {
                    let mut fresh = Vec::new();
                    let mut busy = Vec::new();
                    for endpoint in reader.endpoints.values() {
                        for id in store::due_ids(conn, &endpoint.def.url, now, usize::MAX)? {
                            if reader.claims().contains_key(&id) {
                                busy.push(id);
                            } else if let Some(row) = store::due_row(conn, id)? {
                                fresh.push((endpoint.clone(), row));
                            }
                        }
                    }
                    Ok((fresh, busy))
                })
                .await?;
            let mut waiters: Vec<_> = {
                let claims = inner.claims();
                busy.iter()
                    .filter_map(|id| claims.get(id).map(|c| c.done.subscribe()))
                    .collect()
            };
            for (endpoint, row) in fresh {
                waiters.push(inner.claim_and_send(endpoint, row));
            }
            waiters
        };
        for mut done in waiters {
            while done.changed().await.is_ok() {}
        }
        Ok(())
    }
}

/// The running worker, to stop at shutdown.
pub struct DeliveryWorker {
    inner: Arc<Inner>,
    tasks: Vec<JoinHandle<()>>,
}

impl DeliveryWorker {
    /// Stops claiming rows, gives attempts in flight up to `grace` to finish and be
    /// recorded, then abandons the rest (they stay pending and are sent after restart).
    pub async fn shutdown(mut self, grace: Duration) {
        self.inner.stop.send_replace(DRAINING);
        let deadline = Instant::now() + grace;
        while !self.inner.claims().is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.inner.stop.send_replace(STOPPED);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for DeliveryWorker {
    /// Dropped without `shutdown` (the server task was aborted): stop at once rather than
    /// leave the tasks delivering for a server that is gone.
    fn drop(&mut self) {
        self.inner.stop.send_replace(STOPPED);
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Inner {
    fn claims(&self) -> MutexGuard<'_, HashMap<i64, Claim>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn read<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || -> Result<T, ApiError> { Ok(f(&*pool.get()?)?) })
            .await
            .map_err(ApiError::internal)?
    }

    async fn work_loop(self: Arc<Self>) {
        let configured = self.endpoints.keys().cloned().collect();
        match self.writer.execute(FailRemovedEndpoints(configured)).await {
            Ok(0) => {}
            Ok(n) => {
                log::warn!("{n} pending webhook deliveries failed: their endpoint was removed")
            }
            Err(e) => log::error!("could not fail deliveries to removed endpoints: {e}"),
        }
        let mut stop = self.stop.subscribe();
        let mut last_error = None::<Instant>;
        loop {
            if let Err(e) = self.fill().await {
                if last_error.is_none_or(|t| t.elapsed() > Duration::from_secs(30)) {
                    log::error!("webhook delivery could not read due rows: {e}");
                    last_error = Some(Instant::now());
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = self.released.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = reached(&mut stop, DRAINING) => break,
            }
        }
    }

    /// Claims due rows for every endpoint with room, and sends them.
    async fn fill(self: &Arc<Self>) -> Result<(), ApiError> {
        let _gate = self.gate.lock().await;
        if *self.stop.borrow() != RUNNING {
            return Ok(());
        }
        let room: Vec<(Arc<Endpoint>, usize)> = self
            .endpoints
            .values()
            .filter_map(|e| {
                let claimed = e.claimed.load(Ordering::Relaxed);
                (claimed < e.prefetch).then(|| (e.clone(), e.prefetch - claimed))
            })
            .collect();
        if room.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        let reader = self.clone();
        let rows = self
            .read(move |conn| {
                let mut rows = Vec::new();
                for (endpoint, room) in room {
                    // Claimed rows are still pending and due: read past them.
                    let limit = room + endpoint.claimed.load(Ordering::Relaxed);
                    let mut taken = 0;
                    for id in store::due_ids(conn, &endpoint.def.url, now, limit)? {
                        if taken == room {
                            break;
                        }
                        if reader.claims().contains_key(&id) {
                            continue;
                        }
                        if let Some(row) = store::due_row(conn, id)? {
                            rows.push((endpoint.clone(), row));
                            taken += 1;
                        }
                    }
                }
                Ok(rows)
            })
            .await?;
        for (endpoint, row) in rows {
            drop(self.claim_and_send(endpoint, row));
        }
        Ok(())
    }

    /// Claims `row` (the caller holds the gate and checked it is not claimed) and starts
    /// its attempt. The receiver reports when the claim is released.
    fn claim_and_send(
        self: &Arc<Self>,
        endpoint: Arc<Endpoint>,
        row: DueRow,
    ) -> watch::Receiver<()> {
        let (done, released) = watch::channel(());
        endpoint.claimed.fetch_add(1, Ordering::Relaxed);
        self.claims().insert(
            row.id,
            Claim {
                endpoint: endpoint.clone(),
                done,
            },
        );
        let inner = self.clone();
        tokio::spawn(async move {
            let id = row.id;
            let mut stop = inner.stop.subscribe();
            tokio::select! {
                outcome = inner.attempt(&endpoint, row) => {
                    if inner.outcomes.send(outcome).is_err() {
                        inner.release(&[id]).await;
                    }
                }
                _ = reached(&mut stop, STOPPED) => inner.release(&[id]).await,
            }
        });
        released
    }

    /// Forgets claims once their outcomes are recorded (or abandoned).
    async fn release(&self, ids: &[i64]) {
        let _gate = self.gate.lock().await;
        let mut claims = self.claims();
        for id in ids {
            if let Some(claim) = claims.remove(id) {
                claim.endpoint.claimed.fetch_sub(1, Ordering::Relaxed);
            }
        }
        drop(claims);
        self.released.notify_one();
    }

    /// One POST. Success is a 2xx within the endpoint's timeout; anything else is a
    /// failure to retry.
    async fn attempt(&self, endpoint: &Endpoint, row: DueRow) -> Outcome {
        let def = &endpoint.def;
        // The semaphore is never closed, so this only waits for a free slot.
        let _permit = endpoint.permits.acquire().await.ok();
        let timestamp = self.clock.now().timestamp();
        let body = row.body.into_bytes();
        let request = self
            .client
            .post(&def.url)
            .timeout(Duration::from_secs(u64::from(def.timeout_seconds)))
            .header(CONTENT_TYPE, "application/json")
            .header("X-Trophy-Signature", trophy_signature(&def.secret, &body))
            .header("X-Trophy-Event-Id", &row.uuid)
            .header("webhook-id", &row.uuid)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                standard_signature(&def.secret, &row.uuid, timestamp, &body),
            )
            .body(body);
        let (delivered, status, error) = match request.send().await {
            Ok(mut response) => {
                let status = response.status();
                if status.is_success() {
                    drain(&mut response).await;
                    (true, Some(status.as_u16()), None)
                } else {
                    let excerpt = error_excerpt(&mut response).await;
                    let error = if excerpt.is_empty() {
                        format!("HTTP {status}")
                    } else {
                        format!("HTTP {status}: {excerpt}")
                    };
                    (false, Some(status.as_u16()), Some(error))
                }
            }
            Err(e) => (false, None, Some(describe(&e, def.timeout_seconds))),
        };
        Outcome {
            id: row.id,
            delivered,
            status,
            error,
            initial_backoff_seconds: def.initial_backoff_seconds,
            retry_for_hours: def.retry_for_hours,
        }
    }

    /// Records outcomes in batches: whatever has arrived while the last batch committed.
    async fn record_loop(self: Arc<Self>, mut outcomes: mpsc::UnboundedReceiver<Outcome>) {
        let mut stop = self.stop.subscribe();
        loop {
            let first = tokio::select! {
                outcome = outcomes.recv() => outcome,
                _ = reached(&mut stop, STOPPED) => None,
            };
            let Some(first) = first else {
                break;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_RECORD_BATCH {
                match outcomes.try_recv() {
                    Ok(outcome) => batch.push(outcome),
                    Err(_) => break,
                }
            }
            self.record(batch).await;
        }
        let mut rest = Vec::new();
        while let Ok(outcome) = outcomes.try_recv() {
            rest.push(outcome);
        }
        if !rest.is_empty() {
            self.record(rest).await;
        }
    }

    async fn record(&self, batch: Vec<Outcome>) {
        let ids: Vec<i64> = batch.iter().map(|o| o.id).collect();
        if let Err(e) = self.writer.execute(RecordOutcomes(batch)).await {
            // The rows stay pending as they were and are attempted again: at least once.
            log::error!("could not record {} webhook outcomes: {e}", ids.len());
        }
        self.release(&ids).await;
    }
}

/// Resolves once shutdown has reached `stage`.
async fn reached(stop: &mut watch::Receiver<u8>, stage: u8) {
    let _ = stop.wait_for(|s| *s >= stage).await;
}

async fn drain(response: &mut reqwest::Response) {
    let mut read = 0;
    while read < MAX_DRAIN_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            _ => break,
        }
    }
}

async fn error_excerpt(response: &mut reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < ERROR_BODY_CHARS * 4 {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    String::from_utf8_lossy(&bytes)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(ERROR_BODY_CHARS)
        .collect()
}

/// A network error with its causes ("… : tcp connect error: Connection refused").
fn describe(error: &reqwest::Error, timeout_seconds: u32) -> String {
    if error.is_timeout() {
        return format!("timed out after {timeout_seconds} s");
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(500).collect()
}
