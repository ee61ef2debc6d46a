//! The one HTTP receiver of the tests, for webhooks and push providers alike: a local
//! HTTP/1.1 server on 127.0.0.1 that records every request (path, headers, body) and
//! answers as its `Behaviour` says: programmable statuses (200 by default), a delay, and a
//! count of the requests it handles at once. It is hand-written (about a hundred lines)
//! rather than a mock-server crate because the tests need the peak number of requests in
//! flight (`max_concurrency`), which none of them exposes, and the project adds no crate
//! for what a few lines do.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// What the receiver answers, and what it saw; change it through `Receiver::behaviour`.
pub struct Behaviour {
    received: Vec<Received>,
    /// Answered in order; then `default_status`.
    pub statuses: VecDeque<u16>,
    pub default_status: u16,
    /// Waited before answering (and before the request is recorded).
    pub delay: Duration,
    /// The body of every answer (JSON when it starts with `{` or `[`).
    answer: String,
    active: usize,
    /// The most requests handled at once so far.
    pub max_active: usize,
}

#[derive(Clone)]
pub struct Receiver {
    /// `http://127.0.0.1:PORT/hooks`: where to point a `[[webhooks]]` entry.
    pub url: String,
    state: Arc<Mutex<Behaviour>>,
}

impl Receiver {
    /// A receiver on a free port answering every request 200 `ok`.
    pub async fn start() -> Receiver {
        Receiver::start_answering("ok").await
    }

    /// A receiver answering every request 200 with `body` (a provider's reply, say).
    pub async fn start_answering(body: &str) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Receiver::serving(listener, body)
    }

    /// A receiver on `listener` (a port chosen before, e.g. one that was down).
    pub async fn on(listener: TcpListener) -> Receiver {
        Receiver::serving(listener, "ok")
    }

    fn serving(listener: TcpListener, answer: &str) -> Receiver {
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(Behaviour {
            received: Vec::new(),
            statuses: VecDeque::new(),
            default_status: 200,
            delay: Duration::ZERO,
            answer: answer.to_owned(),
            active: 0,
            max_active: 0,
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hooks"),
            state,
        }
    }

    pub fn behaviour(&self) -> MutexGuard<'_, Behaviour> {
        self.state.lock().expect("receiver state")
    }

    /// Every request so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.behaviour().received.clone()
    }

    pub fn count(&self) -> usize {
        self.behaviour().received.len()
    }

    /// Waits (real time, up to 20 s) until `n` requests arrived; returns them all.
    pub async fn wait_for_requests(&self, n: usize) -> Vec<Received> {
        self.wait_until(
            || Some(self.received()).filter(|r| r.len() >= n),
            &format!("{n} requests"),
        )
        .await
    }

    /// The JSON bodies received so far whose `type` is `event_type`.
    pub fn of(&self, event_type: &str) -> Vec<Value> {
        self.received()
            .iter()
            .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .filter(|b| b["type"] == event_type)
            .collect()
    }

    /// Waits until `n` bodies of `event_type` arrived; returns them all.
    pub async fn wait_for(&self, event_type: &str, n: usize) -> Vec<Value> {
        let what = format!("{n} {event_type} webhooks");
        self.wait_until(|| Some(self.of(event_type)).filter(|b| b.len() >= n), &what)
            .await
    }

    async fn wait_until<T>(&self, mut ready: impl FnMut() -> Option<T>, what: &str) -> T {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(got) = ready() {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "expected {what}, got {} requests",
                self.count()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A port with nothing listening on it (bound, then let go): an endpoint that is down.
pub fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// One HTTP/1.1 request with a Content-Length body (what reqwest sends); `None` once the
/// connection is done.
async fn read_request(reader: &mut BufReader<OwnedReadHalf>) -> Option<Received> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
        return None;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some(Received {
        path,
        headers,
        body,
    })
}

/// HTTP/1.1 with keep-alive.
async fn serve(stream: TcpStream, state: Arc<Mutex<Behaviour>>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    while let Some(request) = read_request(&mut reader).await {
        let (status, delay, answer) = {
            let mut s = state.lock().expect("receiver state");
            s.active += 1;
            s.max_active = s.max_active.max(s.active);
            let status = s.statuses.pop_front().unwrap_or(s.default_status);
            (status, s.delay, s.answer.clone())
        };
        tokio::time::sleep(delay).await;
        {
            let mut s = state.lock().expect("receiver state");
            s.active -= 1;
            s.received.push(request);
        }
        let kind = if answer.starts_with('{') || answer.starts_with('[') {
            "application/json"
        } else {
            "text/plain"
        };
        let response = format!(
            "HTTP/1.1 {status} Status\r\ncontent-type: {kind}\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if write.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}
