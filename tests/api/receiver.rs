//! A recording webhook receiver for the tests: a local HTTP/1.1 server that keeps every
//! request's headers and body and answers 200.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};

/// One request: its headers (lower-case names) and raw body.
pub type Hook = (HashMap<String, String>, Vec<u8>);
type Log = Arc<Mutex<Vec<Hook>>>;

#[derive(Clone)]
pub struct Receiver {
    /// Where to point a `[[webhooks]]` entry.
    pub url: String,
    received: Log,
}

impl Receiver {
    pub async fn start() -> Receiver {
        Receiver::start_answering("ok").await
    }

    /// A receiver answering every request 200 with `body` (a provider's reply, say).
    pub async fn start_answering(body: &str) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let shared = received.clone();
        let answer: Arc<str> = Arc::from(body);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone(), answer.clone()));
            }
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hooks"),
            received,
        }
    }

    /// Every request so far, oldest first.
    pub fn hooks(&self) -> Vec<Hook> {
        self.received.lock().expect("receiver").clone()
    }

    /// Waits (real time, up to 20 s) until `n` requests arrived; returns them all.
    pub async fn wait_for_hooks(&self, n: usize) -> Vec<Hook> {
        self.wait_until(
            || Some(self.hooks()).filter(|h| h.len() >= n),
            &format!("{n}"),
        )
        .await
    }

    /// The JSON bodies received so far whose `type` is `event_type`.
    pub fn of(&self, event_type: &str) -> Vec<Value> {
        self.hooks()
            .iter()
            .filter_map(|(_, body)| serde_json::from_slice::<Value>(body).ok())
            .filter(|b| b["type"] == event_type)
            .collect()
    }

    /// Waits until `n` bodies of `event_type` arrived; returns them all.
    pub async fn wait_for(&self, event_type: &str, n: usize) -> Vec<Value> {
        let what = format!("{n} {event_type}");
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
                "expected {what} webhooks, got {}",
                self.hooks().len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// One HTTP/1.1 request with a Content-Length body (what reqwest sends): its path, its
/// headers (lower-case names) and its body; `None` once the connection is done.
pub async fn read_request(
    reader: &mut BufReader<OwnedReadHalf>,
) -> Option<(String, HashMap<String, String>, Vec<u8>)> {
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
    Some((path, headers, body))
}

async fn serve(stream: TcpStream, log: Log, answer: Arc<str>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    while let Some((_, headers, body)) = read_request(&mut reader).await {
        log.lock().expect("receiver").push((headers, body));
        let kind = if answer.starts_with('{') || answer.starts_with('[') {
            "application/json"
        } else {
            "text/plain"
        };
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\ncontent-length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if write.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}
