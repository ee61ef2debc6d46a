//! A small SMTP server for tests: a real conversation on 127.0.0.1, so the mailer is
//! tested against what goes over the wire rather than against lettre's stub transport.
//! Self-contained (tokio only).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How the sink misbehaves.
#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// Answer `451` at the end of DATA to this many messages first.
    pub fail_first: usize,
    /// Answer `550` to `RCPT TO` for these addresses.
    pub reject_rcpt: Vec<String>,
    /// Advertise STARTTLS (then refuse it with `454`: the sink speaks no TLS).
    pub starttls: bool,
}

/// One message as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message after dot-unstuffing, lines joined by CRLF.
    pub data: String,
}

#[derive(Default)]
struct State {
    messages: Vec<Received>,
    connections: usize,
    failed: usize,
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start(options: SinkOptions) -> std::io::Result<SmtpSink> {
        SmtpSink::start_on(0, options).await
    }

    /// On a given port (0: any free one), e.g. where a server was down a moment ago.
    pub async fn start_on(port: u16, options: SinkOptions) -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                lock(&shared).connections += 1;
                let (state, options) = (shared.clone(), options.clone());
                tokio::spawn(async move {
                    let _ = session(stream, &state, &options).await;
                });
            }
        });
        Ok(SmtpSink { addr, state, task })
    }

    /// `smtp://127.0.0.1:port`
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn messages(&self) -> Vec<Received> {
        lock(&self.state).messages.clone()
    }

    pub fn connections(&self) -> usize {
        lock(&self.state).connections
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The address inside `MAIL FROM:<a> SIZE=..`.
fn path(arg: &str) -> String {
    let start = arg.find('<').map_or(0, |i| i + 1);
    let end = arg[start..].find('>').map_or(arg.len(), |i| start + i);
    arg[start..end].to_string()
}

async fn session(
    stream: TcpStream,
    state: &Mutex<State>,
    options: &SinkOptions,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut line = Vec::new();
    let (mut from, mut to) = (String::new(), Vec::new());
    write.write_all(b"220 sink ESMTP ready\r\n").await?;
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let (verb, arg) = text.split_once([' ', ':']).unwrap_or((&text, ""));
        let reply: String = match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                let tls = if options.starttls {
                    "250-STARTTLS\r\n"
                } else {
                    ""
                };
                format!("250-sink\r\n{tls}250-8BITMIME\r\n250 SMTPUTF8")
            }
            "HELO" => "250 sink".into(),
            "STARTTLS" => "454 4.7.0 TLS not available".into(),
            "MAIL" => {
                (from, to) = (path(arg), Vec::new());
                "250 2.1.0 ok".into()
            }
            "RCPT" => {
                let rcpt = path(arg);
                if options
                    .reject_rcpt
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(&rcpt))
                {
                    "550 5.1.1 no such mailbox".into()
                } else {
                    to.push(rcpt);
                    "250 2.1.5 ok".into()
                }
            }
            "DATA" if to.is_empty() => "503 5.5.1 no recipients".into(),
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let mut data = Vec::new();
                loop {
                    line.clear();
                    if lines.read_until(b'\n', &mut line).await? == 0 {
                        return Ok(());
                    }
                    let l = String::from_utf8_lossy(&line);
                    let l = l.trim_end_matches(['\r', '\n']);
                    if l == "." {
                        break;
                    }
                    data.push(l.strip_prefix('.').unwrap_or(l).to_string());
                }
                let mut st = lock(state);
                if st.failed < options.fail_first {
                    st.failed += 1;
                    "451 4.3.0 try again later".into()
                } else {
                    let data = data.join("\r\n");
                    let (from, to) = (std::mem::take(&mut from), std::mem::take(&mut to));
                    st.messages.push(Received { from, to, data });
                    "250 2.0.0 queued".into()
                }
            }
            "RSET" => {
                (from, to) = (String::new(), Vec::new());
                "250 2.0.0 ok".into()
            }
            "NOOP" => "250 2.0.0 ok".into(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 command not recognized".into(),
        };
        write.write_all(format!("{reply}\r\n").as_bytes()).await?;
    }
}
