//! The one test harness: a real `trophyd` (the library's `Application`) on a free port with
//! its own temporary database (`TestApp`: start, stop, kill, restart, restart with another
//! config, the writer, the database), the one config builder (`Config`), and the small HTTP
//! and SQL helpers every test uses. The one webhook/push receiver is `receiver.rs`.

use std::ops::Deref;
use std::path::PathBuf;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use trophyd::config::ApiKey;
use trophyd::writer::Writer;
use trophyd::{Application, ConfigSource, RuntimeSettings};

/// What every test config starts with: `[server]` in UTC, `[auth]` with the application
/// key `app-key` and the admin key `admin-key`. A macro so that `CONFIG` can be a `&str`
/// built from it.
macro_rules! header {
    () => {
        r#"
[server]
default_timezone = "UTC"

[auth]
api_keys = ["app-key"]
admin_keys = ["admin-key"]
"#
    };
}

/// The `[auth]` keys of the header.
const KEYS: &str = "api_keys = [\"app-key\"]\nadmin_keys = [\"admin-key\"]\n";

/// The configuration most tests run with (`Config::base()`): the header, then the user
/// attributes `plan` and `country` (a second one, so that key-by-key merging can be
/// observed), the event attribute `source`, the metrics `lessons` and `minutes` (with
/// units) and a daily streak on lessons.
pub const CONFIG: &str = concat!(
    header!(),
    r#"
[[attributes]]
key = "plan"
name = "Plan"
type = "user"

[[attributes]]
key = "country"
name = "Country"
type = "user"

[[attributes]]
key = "source"
name = "Source"
type = "event"

[[metrics]]
key = "lessons"
name = "Lessons completed"
units = "lessons"

[[metrics]]
key = "minutes"
name = "Minutes practised"
units = "minutes"

[streaks]
frequency = "daily"
evaluation_mode = "OR"
metrics = [{ metric = "lessons", threshold = 1 }]
"#
);

/// A daily streak on one lesson a day.
pub const DAILY_STREAK: &str = r#"
[streaks]
frequency = "daily"
metrics = [{ metric = "lessons", threshold = 1 }]
"#;

/// The points system most tests need: `xp`, 10 points for every lesson.
pub const XP_PER_LESSON: &str = r#"
[[points]]
key = "xp"
name = "XP"

  [[points.triggers]]
  type = "metric"
  points = 10
  metric = "lessons"
  threshold = 1
"#;

/// A webhook endpoint nobody listens on: deliveries fail, the outbox rows stay for the
/// tests to read.
pub const DEAD_HOOK: &str = "http://127.0.0.1:9/hooks";

/// Retries so far apart that a failed delivery is never tried again during a test.
pub const NO_RETRY: &str = "retry_for_hours = 1000000\ninitial_backoff_seconds = 1000000000";

/// A test's trophy.toml, built from the shared header (`Config::new()`) or the shared base
/// (`Config::base()`, which is `CONFIG`) instead of a copy of them. It derefs to the TOML
/// text, so `&config` goes wherever a `&str` config does.
///
/// `server` and `auth` change the header's tables (TOML allows a table once), `with`
/// appends sections, `metric`, `attribute` and `webhook` append the common entries.
#[derive(Clone, Debug)]
pub struct Config(String);

impl Config {
    /// `[server]` in UTC and `[auth]` with `app-key` and `admin-key`; nothing else.
    pub fn new() -> Config {
        Config(header!().to_owned())
    }

    /// `CONFIG`: the header and the attributes, metrics and streak most tests use.
    pub fn base() -> Config {
        Config(CONFIG.to_owned())
    }

    /// More lines in `[server]` (e.g. `multi_tenant = true`; `""` adds nothing).
    pub fn server(self, lines: &str) -> Config {
        let text = self
            .0
            .replacen("[server]\n", &format!("[server]\n{lines}\n"), 1);
        assert_ne!(text, self.0, "no [server] table");
        Config(text)
    }

    /// `lines` in `[auth]` instead of the two keys.
    pub fn auth(self, lines: &str) -> Config {
        assert!(
            self.0.contains(KEYS),
            "the [auth] keys were changed already"
        );
        Config(self.0.replacen(KEYS, &format!("{lines}\n"), 1))
    }

    /// `toml` (whole sections) appended.
    pub fn with(mut self, toml: &str) -> Config {
        self.0.push('\n');
        self.0.push_str(toml);
        self.0.push('\n');
        self
    }

    /// A `[[metrics]]` entry with no units.
    pub fn metric(self, key: &str, name: &str) -> Config {
        self.with(&format!("[[metrics]]\nkey = \"{key}\"\nname = \"{name}\""))
    }

    /// An `[[attributes]]` entry; `kind` is `user` or `event`.
    pub fn attribute(self, key: &str, name: &str, kind: &str) -> Config {
        self.with(&format!(
            "[[attributes]]\nkey = \"{key}\"\nname = \"{name}\"\ntype = \"{kind}\""
        ))
    }

    /// A `[[webhooks]]` endpoint at `url` signed with `secret`, then `lines` (e.g.
    /// `NO_RETRY`, `events = [...]`).
    pub fn webhook(self, url: &str, secret: &str, lines: &str) -> Config {
        self.with(&format!(
            "[[webhooks]]\nurl = \"{url}\"\nsecret = \"{secret}\"\n{lines}"
        ))
    }
}

impl Default for Config {
    fn default() -> Config {
        Config::new()
    }
}

impl Deref for Config {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The test clock cannot go back before the real time it starts at, so every test date
/// lies in the future. 2031 has the same calendar as 2025 (1 January is a Wednesday, so
/// 1 March is a Saturday and the 2025 DST dates repeat).
pub const T0: &str = "2031-03-01T10:30:00Z";

/// A running server. Dropping it leaves the server task running until the test's runtime
/// ends; `stop` (as on SIGTERM) and `kill` (as a crash) end it and hand back its directory.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub address: String,
    /// The first plain application key of the config ("" if none).
    pub app_key: String,
    /// The first plain admin key of the config ("" if none).
    pub admin_key: String,
    /// Sent as `Tenant-ID` on every `/v1` request when set.
    pub tenant: Option<String>,
    pub db_path: PathBuf,
    pub client: reqwest::Client,
    config_toml: String,
    test_clock: bool,
    writer: Writer,
    handle: ServerHandle,
    /// `run_until_stopped`'s outcome.
    server: JoinHandle<Result<(), String>>,
    // Last, so the directory is removed after everything else is dropped.
    pub dir: TempDir,
}

/// A server with the test clock on.
pub async fn spawn_app(config_toml: &str) -> TestApp {
    spawn_with(config_toml, true, None).await
}

/// A server without `--test-clock`.
pub async fn spawn_app_without_test_clock(config_toml: &str) -> TestApp {
    spawn_with(config_toml, false, None).await
}

fn first_plain(keys: &[ApiKey]) -> String {
    keys.iter()
        .find_map(|k| match k {
            ApiKey::Plain(text) => Some(text.clone()),
            ApiKey::Sha256(_) => None,
        })
        .unwrap_or_default()
}

/// The error a server started with `config_toml` on the database in `dir` refuses with.
pub async fn start_refused(config_toml: &str, dir: &std::path::Path) -> String {
    let config = trophyd::config::parse(config_toml).expect("test config");
    let mut settings = RuntimeSettings::new(config, ConfigSource::Demo);
    settings.listen = "127.0.0.1:0".into();
    settings.data = dir.join("trophy.db");
    settings.test_clock = true;
    match Application::build(settings).await {
        Ok(_) => panic!("the server started"),
        Err(e) => e.to_string(),
    }
}

/// Starts a server on `dir` (a new temporary directory when `None`).
pub async fn spawn_with(config_toml: &str, test_clock: bool, dir: Option<TempDir>) -> TestApp {
    let config = match trophyd::config::parse(config_toml) {
        Ok(c) => c,
        Err(problems) => panic!("test config is invalid: {problems:?}"),
    };
    let dir = dir.unwrap_or_else(|| tempfile::tempdir().expect("tempdir"));
    let db_path = dir.path().join("trophy.db");
    let app_key = first_plain(&config.auth.api_keys);
    let admin_key = first_plain(&config.auth.admin_keys);
    let mut settings = RuntimeSettings::new(config, ConfigSource::Demo);
    settings.listen = "127.0.0.1:0".into();
    settings.data = db_path.clone();
    settings.test_clock = test_clock;
    let app = Application::build(settings)
        .await
        .expect("the application builds");
    let port = app.port();
    let writer = app.writer();
    let handle = app.server_handle();
    let server =
        tokio::spawn(async move { app.run_until_stopped().await.map_err(|e| e.to_string()) });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        app_key,
        admin_key,
        tenant: None,
        db_path,
        client,
        config_toml: config_toml.to_owned(),
        test_clock,
        writer,
        handle,
        server,
        dir,
    }
}

/// An Admin API call (`path` below `/admin/v1`) with the admin key; status and JSON body.
pub async fn admin(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut rb = app.admin_request(method, &format!("/admin/v1{path}"));
    if let Some(body) = body {
        rb = rb.json(&body);
    }
    parts(rb.send().await.expect("request")).await
}

/// Status and JSON body of a response (`Value::Null` when the body is not JSON).
pub async fn parts(resp: Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, body)
}

/// Asserts an error answer: the status and a body of exactly `{"error": "<non-empty>"}`.
pub async fn assert_error(resp: Response, status: StatusCode) -> String {
    let (got, body) = parts(resp).await;
    assert_eq!(got, status, "body: {body}");
    let object = body.as_object().expect("an error body is a JSON object");
    assert_eq!(object.len(), 1, "error body has only `error`: {body}");
    let message = body["error"].as_str().expect("error is a string");
    assert!(!message.is_empty());
    message.to_owned()
}

/// Numbers compared by value (`3` == `3.0`), everything else structurally.
pub fn normalized(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64().expect("finite number")),
        Value::Array(a) => Value::Array(a.iter().map(normalized).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), normalized(v))).collect())
        }
        other => other.clone(),
    }
}

#[track_caller]
pub fn assert_json_eq(actual: &Value, expected: &Value) {
    assert_eq!(
        normalized(actual),
        normalized(expected),
        "\nactual:   {actual}\nexpected: {expected}"
    );
}

/// `YYYY-MM-DDTHH:MM:SSZ`.
pub fn is_iso_z(s: &str) -> bool {
    s.len() == 20 && s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A request to the application API with the app key (and tenant, if set).
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut rb = self
            .client
            .request(method, self.url(path))
            .header("X-API-KEY", &self.app_key);
        if let Some(tenant) = &self.tenant {
            rb = rb.header("Tenant-ID", tenant);
        }
        rb
    }

    pub fn admin_request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("X-API-KEY", &self.admin_key)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path)
            .send()
            .await
            .expect("request")
    }

    pub async fn send_json(&self, method: Method, path: &str, body: &Value) -> Response {
        self.request(method, path)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// A raw body, sent as `application/json` whatever it holds.
    pub async fn send_raw(&self, method: Method, path: &str, body: &str) -> Response {
        self.request(method, path)
            .header("Content-Type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("request")
    }

    pub async fn post_event(
        &self,
        metric: &str,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> Response {
        let mut rb = self
            .request(Method::POST, &format!("/v1/metrics/{metric}/event"))
            .json(body);
        if let Some(key) = idempotency_key {
            rb = rb.header("Idempotency-Key", key);
        }
        rb.send().await.expect("request")
    }

    /// Posts `{user:{id}, value}` and insists on 201; returns the body.
    pub async fn event_ok(&self, metric: &str, user: &str, value: f64) -> Value {
        let (status, body) = parts(
            self.post_event(metric, &json!({"user": {"id": user}, "value": value}), None)
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    pub async fn get_json(&self, path: &str) -> (StatusCode, Value) {
        parts(self.get(path).await).await
    }

    /// The user's current total on a metric, through the API.
    pub async fn total(&self, user: &str, metric: &str) -> f64 {
        let (status, body) = self
            .get_json(&format!("/v1/users/{user}/metrics/{metric}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["current"].as_f64().expect("current is a number")
    }

    pub async fn set_clock(&self, now: &str) -> Response {
        self.admin_request(Method::POST, "/_test/clock")
            .json(&json!({ "now": now }))
            .send()
            .await
            .expect("request")
    }

    /// Sets the clock and insists on 200 with the same time echoed back.
    pub async fn set_clock_ok(&self, now: &str) {
        let (status, body) = parts(self.set_clock(now).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body, json!({ "now": now }));
    }

    pub async fn advance(&self, seconds: i64) -> Response {
        self.admin_request(Method::POST, "/_test/clock")
            .json(&json!({ "advanceSeconds": seconds }))
            .send()
            .await
            .expect("request")
    }

    pub async fn clock_now(&self) -> String {
        let (status, body) = parts(
            self.admin_request(Method::GET, "/_test/clock")
                .send()
                .await
                .expect("request"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["now"].as_str().expect("now").to_owned()
    }

    /// A read-only connection on the server's database file.
    pub fn db(&self) -> Connection {
        let conn = Connection::open_with_flags(&self.db_path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the database read-only");
        conn.busy_timeout(Duration::from_secs(10))
            .expect("busy timeout");
        conn
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.db()
            .query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The stored row of a user (every column but the internal id), for "nothing changed".
    pub fn user_row(&self, external_id: &str) -> Option<Vec<rusqlite::types::Value>> {
        let conn = self.db();
        let mut stmt = conn
            .prepare(
                "SELECT tenant_id, external_id, email, name, tz, device_tokens,
                        subscribe_to_emails, attributes, control, preferences, created, updated
                   FROM users WHERE external_id = ?1",
            )
            .expect("prepare");
        let mut rows = stmt.query([external_id]).expect("query");
        let row = rows.next().expect("row")?;
        Some(
            (0..12)
                .map(|i| row.get::<_, rusqlite::types::Value>(i).expect("column"))
                .collect(),
        )
    }

    /// The uuid a definition was given.
    pub fn definition_uuid(&self, kind: &str, key: &str) -> String {
        self.db()
            .query_row(
                "SELECT uuid FROM definitions WHERE kind = ?1 AND key = ?2",
                [kind, key],
                |r| r.get(0),
            )
            .expect("definition")
    }

    pub async fn metrics_text(&self) -> String {
        let resp = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::OK);
        resp.text().await.expect("body")
    }

    /// The server's writer, the one door of this harness that is not HTTP: a test applies
    /// a `trophyd::writer::Command` through it as a feature does inside the server
    /// (`app.writer().execute(cmd).await`), which returns once the command's group commit
    /// is on disk, so everything it wrote (its rows, its webhook outbox rows) is then
    /// visible to `db()` and to the HTTP reads, and the senders have been woken.
    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// Stops this server as on SIGTERM (it stops accepting and drains requests, delivery
    /// stops, the writer commits what it has and checkpoints) and insists that it stopped
    /// cleanly; returns its directory, database included.
    pub async fn stop(self) -> TempDir {
        let TestApp {
            handle,
            server,
            writer,
            dir,
            ..
        } = self;
        drop(writer);
        handle.stop(true).await;
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("the server did not stop cleanly: {e}"),
            Err(e) => panic!("the server task failed: {e}"),
        }
        dir
    }

    /// Ends this server as a crash would (its task is aborted: no shutdown code runs);
    /// returns its directory, database included.
    pub async fn kill(self) -> TempDir {
        let TestApp {
            server,
            writer,
            dir,
            ..
        } = self;
        drop(writer);
        server.abort();
        let _ = server.await;
        dir
    }

    /// `kill`, then a new server on the same database with the same config (and tenant).
    pub async fn restart(self) -> TestApp {
        let (config_toml, test_clock, tenant) = (
            self.config_toml.clone(),
            self.test_clock,
            self.tenant.clone(),
        );
        let dir = self.kill().await;
        let mut app = spawn_with(&config_toml, test_clock, Some(dir)).await;
        app.tenant = tenant;
        app
    }

    /// `stop`, then a new server on the same database with `config_toml` (the same test
    /// clock setting and tenant): trophy.toml edited between two runs.
    pub async fn restart_with(self, config_toml: &str) -> TestApp {
        let (test_clock, tenant) = (self.test_clock, self.tenant.clone());
        let dir = self.stop().await;
        let mut app = spawn_with(config_toml, test_clock, Some(dir)).await;
        app.tenant = tenant;
        app
    }
}

/// The value of an unlabelled sample in Prometheus text.
pub fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let (n, v) = line.split_once(' ')?;
            (n == name).then(|| v.trim().parse::<f64>().expect("sample value"))
        })
        .unwrap_or_else(|| panic!("no sample {name} in:\n{text}"))
}
