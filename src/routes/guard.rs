//! Limits applied to every request before routing: the URL's length, the size a body
//! announces, how long a body may take to arrive and how many bodies are read at once.
//!
//! actix-web 4 times out only the request head (`client_request_timeout`): once the head
//! is in, a body that trickles or stalls held its connection and a task for as long as
//! the client liked. Here the body is read through [`Deadline`], which fails the read once
//! `[limits] body_timeout_ms` has passed since the head arrived; the JSON extractor turns
//! that into 408 and the connection is closed. Counting a deadline from the head (rather
//! than an idle timeout per chunk) is what stops a client sending a byte a second.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{HeaderMap, CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::middleware::Next;
use actix_web::rt::time::{sleep_until, Instant, Sleep};
use actix_web::web::{self, Bytes};
use actix_web::HttpMessage;
use futures_core::Stream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::extract::too_large;
use crate::domain::limits::{MAX_BODIES_IN_FLIGHT, MAX_BODY_BYTES, MAX_URL_BYTES};
use crate::error::ApiError;

/// Shared by every worker: the body deadline and the permits for bodies being read.
#[derive(Clone)]
pub struct BodyLimits {
    timeout: Duration,
    permits: Arc<Semaphore>,
}

impl BodyLimits {
    pub fn new(timeout: Duration) -> BodyLimits {
        BodyLimits {
            timeout,
            permits: Arc::new(Semaphore::new(MAX_BODIES_IN_FLIGHT)),
        }
    }
}

/// What a request asks for, checked before anything reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    NoBody,
    Body,
    UrlTooLong,
    BodyTooLarge,
}

/// Pure: the verdict on a request from its URL's length and its headers.
pub fn verdict(url_len: usize, headers: &HeaderMap) -> Verdict {
    if url_len > MAX_URL_BYTES {
        return Verdict::UrlTooLong;
    }
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match length {
        Some(n) if n > MAX_BODY_BYTES as u64 => Verdict::BodyTooLarge,
        Some(0) => Verdict::NoBody,
        Some(_) => Verdict::Body,
        None if headers.contains_key(TRANSFER_ENCODING) => Verdict::Body,
        None => Verdict::NoBody,
    }
}

pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let url_len = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    match verdict(url_len, req.headers()) {
        Verdict::UrlTooLong => {
            return Err(ApiError::UriTooLong(format!(
                "The URL is too long: at most {MAX_URL_BYTES} bytes"
            ))
            .into())
        }
        Verdict::BodyTooLarge => return Err(too_large().into()),
        Verdict::NoBody => {}
        Verdict::Body => {
            if let Some(limits) = req.app_data::<web::Data<BodyLimits>>().cloned() {
                let permit = limits.permits.clone().try_acquire_owned().map_err(|_| {
                    ApiError::Overloaded {
                        retry_after_secs: 1,
                    }
                })?;
                let body = req.take_payload();
                let deadline = Deadline::new(body, limits.timeout, permit);
                let boxed: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
                    Box::pin(deadline);
                req.set_payload(Payload::from(boxed));
            }
        }
    }
    next.call(req).await
}

/// A request body that fails with `TimedOut` once its deadline has passed, and holds a
/// permit until it ends.
pub struct Deadline<S> {
    inner: S,
    at: Instant,
    sleep: Pin<Box<Sleep>>,
    permit: Option<OwnedSemaphorePermit>,
    done: bool,
}

impl<S> Deadline<S> {
    pub fn new(inner: S, timeout: Duration, permit: OwnedSemaphorePermit) -> Deadline<S> {
        let at = Instant::now() + timeout;
        Deadline {
            inner,
            at,
            sleep: Box::pin(sleep_until(at)),
            permit: Some(permit),
            done: false,
        }
    }

    fn fail(&mut self) -> Poll<Option<Result<Bytes, PayloadError>>> {
        self.finish();
        Poll::Ready(Some(Err(PayloadError::Io(io::Error::new(
            io::ErrorKind::TimedOut,
            "the request body did not arrive in time",
        )))))
    }

    fn finish(&mut self) {
        self.done = true;
        self.permit = None;
    }
}

impl<S> Stream for Deadline<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(None) => {
                this.finish();
                Poll::Ready(None)
            }
            // A chunk that arrives after the deadline still fails the body: otherwise a
            // client sending a byte just before each poll would never be stopped.
            Poll::Ready(Some(Ok(_))) if Instant::now() >= this.at => this.fail(),
            Poll::Ready(Some(item)) => Poll::Ready(Some(item)),
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => this.fail(),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use actix_web::http::header::HeaderValue;
    use futures_util::StreamExt;

    type Headers = &'static [(&'static str, &'static str)];

    fn headers(pairs: Headers) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                actix_web::http::header::HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        map
    }

    #[test]
    fn verdicts_follow_the_url_and_the_announced_length() {
        let cases: [(usize, Headers, Verdict); 7] = [
            (10, &[], Verdict::NoBody),
            (MAX_URL_BYTES + 1, &[], Verdict::UrlTooLong),
            (MAX_URL_BYTES, &[], Verdict::NoBody),
            (10, &[("content-length", "0")], Verdict::NoBody),
            (10, &[("content-length", "12")], Verdict::Body),
            (10, &[("content-length", "10485760")], Verdict::BodyTooLarge),
            (10, &[("transfer-encoding", "chunked")], Verdict::Body),
        ];
        for (url_bytes, sent, expected) in cases {
            assert_eq!(verdict(url_bytes, &headers(sent)), expected, "{sent:?}");
        }
    }

    #[actix_web::test]
    async fn a_stalled_body_times_out_and_gives_back_its_permit() {
        let permits = Arc::new(Semaphore::new(1));
        let permit = permits.clone().try_acquire_owned().expect("permit");
        let stalled = futures_util::stream::pending::<Result<Bytes, PayloadError>>();
        let mut body = Deadline::new(stalled, Duration::from_millis(20), permit);
        assert_eq!(permits.available_permits(), 0);
        match body.next().await {
            Some(Err(PayloadError::Io(e))) => assert_eq!(e.kind(), io::ErrorKind::TimedOut),
            other => panic!("{other:?}"),
        }
        assert_eq!(permits.available_permits(), 1);
        assert!(body.next().await.is_none());
    }

    #[actix_web::test]
    async fn a_prompt_body_passes_through() {
        let permits = Arc::new(Semaphore::new(1));
        let permit = permits.clone().try_acquire_owned().expect("permit");
        let chunks = futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"{\"a\":")),
            Ok(Bytes::from_static(b"1}")),
        ]);
        let body = Deadline::new(chunks, Duration::from_secs(5), permit);
        let got: Vec<_> = body.collect().await;
        assert_eq!(got.len(), 2);
        assert_eq!(permits.available_permits(), 1);
    }
}
