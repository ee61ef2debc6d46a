//! Moving a tenant between nodes with `trophyd tenant export` and `trophyd tenant import`:
//! a tenant with users, events, streaks (a pause, freezes), achievements, points, leaderboards,
//! wrapped, preferences, a per-user key and definitions of its own is built through HTTP on
//! node A next to another tenant, exported while A runs, imported into stopped node B (which
//! has a tenant of its own), and every read route of its users (and the tenant-wide ones)
//! answers byte for byte the same on B as on A. Also: refusals (a running node, an existing
//! tenant, a damaged or foreign file, a missing shared definition, shared definitions with
//! other UUIDs) change nothing.
//!
//! The nodes are real `trophyd` processes with the test clock, so a stop is a clean SIGTERM.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

#[path = "support/process.rs"]
mod process;

use process::{Trophyd, BIN};

const CONFIG: &str = r#"
[server]
multi_tenant = true
default_timezone = "UTC"

[auth]
api_keys = ["app-key"]
admin_keys = ["admin-key"]

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
name = "Lessons"
units = "lessons"

[[metrics]]
key = "minutes"
name = "Minutes"

[streaks]
frequency = "daily"
metrics = [{ metric = "lessons", threshold = 1 }]

[streaks.freezes]
start_count = 1
max_count = 3
auto_earn_interval_days = 3
auto_earn_amount = 1

[[achievements]]
key = "first-lesson"
name = "First lesson"
trigger = "metric"
metric = "lessons"
metric_value = 1

[[achievements]]
key = "five-lessons"
name = "Five lessons"
trigger = "metric"
metric = "lessons"
metric_value = 5

[[achievements]]
key = "mobile-minutes"
name = "Minutes on mobile"
trigger = "metric"
metric = "minutes"
metric_value = 20
event_attributes = { source = "mobile" }

[[achievements]]
key = "three-days"
name = "Three days in a row"
trigger = "streak"
streak_length = 3

[[achievements]]
key = "onboarding"
name = "Onboarding"
trigger = "api"

[[achievements]]
key = "all-round"
name = "All round"
trigger = "achievement"
prerequisites = ["first-lesson", "onboarding"]

[[achievements]]
key = "first-year"
name = "One year with us"
trigger = "anniversary"
anniversary_years = 1

[[points]]
key = "xp"
name = "XP"

  [[points.triggers]]
  type = "metric"
  points = 10
  metric = "lessons"
  threshold = 1

  [[points.triggers]]
  type = "metric"
  points = 3
  metric = "minutes"
  threshold = 10
  event_attributes = { source = "web" }

  [[points.triggers]]
  type = "achievement"
  points = 50
  achievement = "five-lessons"

  [[points.triggers]]
  type = "streak"
  points = 25
  streak_length = 2

  [[points.triggers]]
  type = "user_creation"
  points = 5

  [[points.triggers]]
  type = "time"
  points = 1
  time_unit = "days"
  time_interval = 2

  [[points.levels]]
  key = "bronze"
  name = "Bronze"
  points = 0

  [[points.levels]]
  key = "silver"
  name = "Silver"
  points = 60

  [[points.levels]]
  key = "gold"
  name = "Gold"
  points = 150

  [[points.boosts]]
  name = "Launch week"
  start = "2031-03-01"
  end = "2031-03-03"
  multiplier = 2.0

  [[points.boosts]]
  name = "Pro bonus"
  start = "2031-03-01"
  multiplier = 1.5
  rounding = "up"
  user_attributes = { plan = "pro" }

[[leaderboards]]
key = "all-time"
name = "All time"
rank_by = "metric"
metric = "lessons"
start = "2031-03-01"

[[leaderboards]]
key = "daily-minutes"
name = "Minutes today"
rank_by = "metric"
metric = "minutes"
start = "2031-03-01"
run_unit = "day"
run_interval = 1
max_participants = 3

[[leaderboards]]
key = "xp-board"
name = "XP"
rank_by = "points"
points_system = "xp"
start = "2031-03-01"

[[leaderboards]]
key = "streaks"
name = "Streaks"
rank_by = "streak"

[[leaderboards]]
key = "by-country"
name = "By country"
rank_by = "metric"
metric = "lessons"
start = "2031-03-01"
breakdown_attributes = ["country"]
"#;

const T0: &str = "2031-03-01T10:30:00Z";
const DAY: i64 = 86_400;

/// One trophyd process on `dir/NAME.db` with `dir/NAME.toml`.
struct Node {
    name: String,
    dir: PathBuf,
    server: Option<Trophyd>,
    url: String,
}

impl Node {
    fn new(dir: &Path, name: &str, config: &str) -> Node {
        std::fs::write(dir.join(format!("{name}.toml")), config).expect("write config");
        Node {
            name: name.to_owned(),
            dir: dir.to_path_buf(),
            server: None,
            url: String::new(),
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join(format!("{}.db", self.name))
    }

    fn config(&self) -> PathBuf {
        self.dir.join(format!("{}.toml", self.name))
    }

    fn start(&mut self) {
        let (config, data) = (self.config(), self.data());
        let server = Trophyd::start(|c| {
            c.arg("--config")
                .arg(config)
                .arg("--data")
                .arg(data)
                .arg("--test-clock")
                .stderr(Stdio::inherit());
        });
        self.url = server.url.clone();
        self.server = Some(server);
    }

    fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let exit = server.terminate();
            assert_eq!(exit.code(), Some(0), "{} stopped cleanly", self.name);
        }
    }

    /// The number of rows of every table, to show that a refused import changed nothing.
    fn table_counts(&self) -> Vec<(String, i64)> {
        let conn = rusqlite::Connection::open_with_flags(
            self.data(),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open");
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("tables");
        tables
            .into_iter()
            .map(|t| {
                let n = conn
                    .query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))
                    .expect("count");
                (t, n)
            })
            .collect()
    }
}

/// Runs the trophyd command line; exit code and everything it printed.
fn cli(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("TROPHYD_DATA")
        .output()
        .expect("run trophyd");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

struct Http(reqwest::Client);

impl Http {
    /// Status and body text of one request with `key` (and `tenant` as `Tenant-ID`).
    async fn call(
        &self,
        node: &Node,
        method: Method,
        path: &str,
        key: &str,
        tenant: Option<&str>,
        body: Option<Value>,
    ) -> (u16, String) {
        let mut rb = self
            .0
            .request(method, format!("{}{path}", node.url))
            .header("X-API-KEY", key);
        if let Some(t) = tenant {
            rb = rb.header("Tenant-ID", t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("body"))
    }

    /// An admin write that must succeed (2xx) without issues; its JSON body.
    async fn admin_ok(
        &self,
        node: &Node,
        method: Method,
        path: &str,
        tenant: Option<&str>,
        body: Value,
    ) -> Value {
        let (status, text) = self
            .call(
                node,
                method,
                &format!("/admin/v1{path}"),
                "admin-key",
                tenant,
                Some(body),
            )
            .await;
        assert!((200..300).contains(&status), "{path}: {status} {text}");
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if let Some(issues) = value.get("issues").and_then(Value::as_array) {
            assert!(issues.is_empty(), "{path}: {text}");
        }
        value
    }

    async fn app_ok(&self, node: &Node, method: Method, path: &str, tenant: &str, body: Value) {
        let (status, text) = self
            .call(node, method, path, "app-key", Some(tenant), Some(body))
            .await;
        assert!((200..300).contains(&status), "{path}: {status} {text}");
    }

    async fn event(&self, node: &Node, tenant: &str, metric: &str, body: Value) {
        self.app_ok(
            node,
            Method::POST,
            &format!("/v1/metrics/{metric}/event"),
            tenant,
            body,
        )
        .await;
    }

    async fn clock(&self, node: &Node, body: Value) -> String {
        let (status, text) = self
            .call(
                node,
                Method::POST,
                "/_test/clock",
                "admin-key",
                None,
                Some(body),
            )
            .await;
        assert_eq!(status, 200, "{text}");
        let v: Value = serde_json::from_str(&text).expect("json");
        v["now"].as_str().expect("now").to_owned()
    }
}

const ACME_USERS: [&str; 6] = ["ada", "bo", "cy", "dee", "eve", "fay"];

/// Every read a client of the tenant can make about these users, and the tenant-wide ones:
/// (what, status, body).
async fn reads(
    http: &Http,
    node: &Node,
    tenant: &str,
    users: &[&str],
) -> Vec<(String, u16, String)> {
    let mut paths: Vec<(String, &str)> = Vec::new();
    let app = "app-key";
    let admin = "admin-key";
    for u in users {
        for p in [
            format!("/v1/users/{u}"),
            format!("/v1/users/{u}/preferences"),
            format!("/v1/users/{u}/metrics"),
            format!("/v1/users/{u}/metrics/lessons"),
            format!("/v1/users/{u}/metrics/minutes"),
            format!("/v1/users/{u}/metrics/pages"),
            format!("/v1/users/{u}/metrics/lessons/event-summary?aggregation=daily&startDate=2031-02-27&endDate=2031-03-09"),
            format!("/v1/users/{u}/metrics/minutes/event-summary?aggregation=weekly&startDate=2031-02-01&endDate=2031-03-31"),
            format!("/v1/users/{u}/metrics/pages/event-summary?aggregation=monthly&startDate=2031-01-01&endDate=2031-03-31"),
            format!("/v1/users/{u}/streak"),
            format!("/v1/users/{u}/streak?historyPeriods=14"),
            format!("/v1/users/{u}/achievements"),
            format!("/v1/users/{u}/achievements?includeIncomplete=true"),
            format!("/v1/users/{u}/points/xp"),
            format!("/v1/users/{u}/points/xp?awards=100"),
            format!("/v1/users/{u}/points/xp/boosts"),
            format!("/v1/users/{u}/points/xp/event-summary?aggregation=daily&startDate=2031-02-27&endDate=2031-03-09"),
            format!("/v1/users/{u}/points/stars"),
            format!("/v1/users/{u}/points/stars/event-summary?aggregation=weekly&startDate=2031-02-01&endDate=2031-03-31"),
            format!("/v1/users/{u}/leaderboards/all-time"),
            format!("/v1/users/{u}/leaderboards/all-time?numEvents=100"),
            format!("/v1/users/{u}/leaderboards/daily-minutes?numEvents=100"),
            format!("/v1/users/{u}/leaderboards/daily-minutes?run=2031-03-02&numEvents=100"),
            format!("/v1/users/{u}/leaderboards/xp-board?numEvents=100"),
            format!("/v1/users/{u}/leaderboards/streaks?numEvents=100"),
            format!("/v1/users/{u}/leaderboards/by-country?numEvents=100"),
            format!("/v1/users/{u}/leaderboards/pages-board?numEvents=100"),
            format!("/v1/users/{u}/wrapped?year=2031"),
        ] {
            paths.push((p, app));
        }
    }
    let ids = users.join(",");
    for p in [
        "/v1/achievements".to_owned(),
        "/v1/achievements?userAttributes=plan:pro".to_owned(),
        format!("/v1/streaks?userIds={ids}"),
        "/v1/streaks/rankings".to_owned(),
        "/v1/streaks/rankings?type=longest&limit=10".to_owned(),
        "/v1/points/xp".to_owned(),
        "/v1/points/xp/boosts?includeFinished=true".to_owned(),
        "/v1/points/xp/levels".to_owned(),
        "/v1/points/xp/level-summary".to_owned(),
        "/v1/points/xp/summary".to_owned(),
        "/v1/points/xp/summary?userAttributes=plan:pro".to_owned(),
        "/v1/points/stars".to_owned(),
        "/v1/points/stars/level-summary".to_owned(),
        "/v1/points/stars/summary".to_owned(),
        "/v1/leaderboards".to_owned(),
        "/v1/leaderboards?includeFinished=true".to_owned(),
        "/v1/leaderboards/all-time".to_owned(),
        "/v1/leaderboards/daily-minutes".to_owned(),
        "/v1/leaderboards/daily-minutes?run=2031-03-02".to_owned(),
        "/v1/leaderboards/xp-board?limit=10".to_owned(),
        "/v1/leaderboards/streaks".to_owned(),
        "/v1/leaderboards/by-country?userAttributes=country:FR".to_owned(),
        "/v1/leaderboards/pages-board".to_owned(),
    ] {
        paths.push((p, app));
    }
    for p in [
        "/admin/v1/metrics?limit=100",
        "/admin/v1/attributes?limit=100",
        "/admin/v1/achievements?limit=100",
        "/admin/v1/points?limit=100",
        "/admin/v1/leaderboards?limit=100",
        "/dashboard/api/overview",
    ] {
        paths.push((p.to_owned(), admin));
    }
    let mut out = Vec::new();
    for (p, key) in paths {
        let (status, body) = http
            .call(node, Method::GET, &p, key, Some(tenant), None)
            .await;
        out.push((p, status, body));
    }
    out
}

/// What legitimately differs between two nodes in the answers above:
/// - the dashboard's webhook deliveries are the server's, not the tenant's;
/// - `created`/`updated` of a definition from trophy.toml (shared by every tenant) are when
///   each node first stored or changed it. Awards keep the trigger as it was when they were
///   made, so those inside `awards` are the source's and stay equal.
fn normalise(path: &str, body: &str, shared: &HashSet<String>) -> String {
    fn walk(v: &mut Value, shared: &HashSet<String>, in_awards: bool) {
        match v {
            Value::Object(o) => {
                let is_shared = o
                    .get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| shared.contains(id));
                if is_shared && !in_awards {
                    for field in ["created", "updated"] {
                        if o.contains_key(field) {
                            o.insert(field.into(), Value::Null);
                        }
                    }
                }
                for (k, child) in o.iter_mut() {
                    walk(child, shared, in_awards || k == "awards");
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|c| walk(c, shared, in_awards)),
            _ => {}
        }
    }
    let Ok(mut v) = serde_json::from_str::<Value>(body) else {
        return body.to_owned();
    };
    if path == "/dashboard/api/overview" {
        v["webhookDeliveries"] = Value::Null;
    }
    walk(&mut v, shared, false);
    v.to_string()
}

fn assert_same_reads(
    before: &[(String, u16, String)],
    after: &[(String, u16, String)],
    shared: &HashSet<String>,
) {
    assert_eq!(before.len(), after.len());
    let mut normalised = 0;
    for ((path, s1, b1), (_, s2, b2)) in before.iter().zip(after) {
        assert_eq!(s1, s2, "{path}: status\nbefore: {b1}\nafter:  {b2}");
        if b1 == b2 {
            continue;
        }
        normalised += 1;
        assert_eq!(
            normalise(path, b1, shared),
            normalise(path, b2, shared),
            "{path} reads differently after the move"
        );
    }
    eprintln!(
        "{} reads compared: {} byte for byte, {normalised} after normalising",
        before.len(),
        before.len() - normalised
    );
}

/// UUIDs of the definitions shared by every tenant (the same on every node).
fn shared_uuids(node: &Node) -> HashSet<String> {
    let conn = rusqlite::Connection::open_with_flags(
        node.data(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open");
    conn.prepare("SELECT uuid FROM definitions WHERE tenant_id IS NULL")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("uuids")
}

/// Builds tenant `acme` on A (next to `globex`, whose rows interleave with acme's).
async fn build_acme(http: &Http, a: &Node) -> String {
    let made = http
        .admin_ok(
            a,
            Method::POST,
            "/tenants",
            None,
            json!([{"customerId": "acme", "name": "Acme"}, {"customerId": "globex", "name": "Globex"}]),
        )
        .await;
    let acme_uuid = made["created"][0]["id"].as_str().expect("id").to_owned();

    // Definitions of its own, after globex's first one so the ids interleave.
    for tenant in ["globex", "acme"] {
        http.admin_ok(
            a,
            Method::POST,
            "/metrics",
            Some(tenant),
            json!([{"name": "Pages read", "key": "pages", "units": "pages"}]),
        )
        .await;
    }
    let metrics = http
        .call(
            a,
            Method::GET,
            "/admin/v1/metrics?limit=100",
            "admin-key",
            Some("acme"),
            None,
        )
        .await
        .1;
    let metrics: Value = serde_json::from_str(&metrics).expect("json");
    let pages = metrics
        .as_array()
        .expect("list")
        .iter()
        .find(|m| m["key"] == "pages")
        .and_then(|m| m["id"].as_str())
        .expect("pages")
        .to_owned();
    let created = http
        .admin_ok(
            a,
            Method::POST,
            "/achievements",
            Some("acme"),
            json!([{"name": "Ten pages", "key": "ten-pages", "trigger": "metric",
                    "metricId": pages, "metricValue": 10}]),
        )
        .await;
    let ten_pages = created["created"][0]["id"].as_str().expect("id").to_owned();
    http.admin_ok(
        a,
        Method::PATCH,
        "/achievements",
        Some("acme"),
        json!([{"id": ten_pages, "status": "active"}]),
    )
    .await;
    let board = http
        .admin_ok(
            a,
            Method::POST,
            "/leaderboards",
            Some("acme"),
            json!([{"name": "Pages", "key": "pages-board", "rankBy": "metric", "metricId": pages,
                    "maxParticipants": 4, "start": "2031-03-01", "status": "active"}]),
        )
        .await;
    let board_id = board["created"][0]["id"].as_str().expect("id").to_owned();
    if board["created"][0]["status"] != "active" {
        http.admin_ok(
            a,
            Method::PATCH,
            "/leaderboards",
            Some("acme"),
            json!([{"id": board_id, "status": "active"}]),
        )
        .await;
    }
    http.admin_ok(
        a,
        Method::POST,
        "/points",
        Some("acme"),
        json!([{"name": "Stars", "key": "stars",
                "triggers": [{"type": "metric", "points": 2, "metricId": pages,
                              "metricThreshold": 1, "status": "active"}],
                "levels": [{"name": "One", "key": "one", "points": 0},
                           {"name": "Two", "key": "two", "points": 10}]}]),
    )
    .await;

    // Users, created alternately with globex's.
    let plans = ["pro", "free", "pro", "free", "free", "pro"];
    let countries = ["FR", "DE", "FR", "US", "DE", "FR"];
    let zones = [
        "Europe/Paris",
        "America/New_York",
        "Asia/Tokyo",
        "UTC",
        "Pacific/Kiritimati",
        "America/Los_Angeles",
    ];
    for (i, u) in ACME_USERS.iter().enumerate() {
        let mut user = json!({"id": u, "name": format!("User {u}"), "email": format!("{u}@acme.test"),
                              "tz": zones[i],
                              "attributes": {"plan": plans[i], "country": countries[i]}});
        if i == 3 {
            user["signUpDate"] = json!("2030-03-02");
        }
        http.app_ok(a, Method::POST, "/v1/users", "acme", user)
            .await;
        http.app_ok(
            a,
            Method::POST,
            "/v1/users",
            "globex",
            json!({"id": format!("g{i}"), "attributes": {"plan": "pro", "country": "FR"}}),
        )
        .await;
    }

    // Six days of activity.
    for day in 0..6usize {
        for (i, u) in ACME_USERS.iter().enumerate() {
            if (i + day) % 4 != 3 {
                http.event(
                    a,
                    "acme",
                    "lessons",
                    json!({"user": {"id": u}, "value": 1 + (i % 3)}),
                )
                .await;
            }
            let source = if (i + day) % 2 == 0 { "mobile" } else { "web" };
            http.event(
                a,
                "acme",
                "minutes",
                json!({"user": {"id": u}, "value": 5 * (i + day + 1), "attributes": {"source": source}}),
            )
            .await;
            if i % 2 == day % 2 {
                http.event(
                    a,
                    "acme",
                    "pages",
                    json!({"user": {"id": u}, "value": 3 + i}),
                )
                .await;
            }
            // globex: the same users' names, other values.
            http.event(
                a,
                "globex",
                "lessons",
                json!({"user": {"id": format!("g{i}")}, "value": 2}),
            )
            .await;
            http.event(
                a,
                "globex",
                "minutes",
                json!({"user": {"id": format!("g{i}")}, "value": 9}),
            )
            .await;
        }
        // An event with an idempotency key, and its retry.
        for _ in 0..2 {
            let status = http
                .0
                .post(format!("{}/v1/metrics/lessons/event", a.url))
                .header("X-API-KEY", "app-key")
                .header("Tenant-ID", "acme")
                .header("Idempotency-Key", format!("retry-{day}"))
                .json(&json!({"user": {"id": "ada"}, "value": 1}))
                .send()
                .await
                .expect("request")
                .status()
                .as_u16();
            assert!((200..300).contains(&status), "{status}");
        }
        match day {
            1 => {
                http.app_ok(
                    a,
                    Method::POST,
                    "/v1/achievements/onboarding/complete",
                    "acme",
                    json!({"user": {"id": "ada"}}),
                )
                .await;
                http.app_ok(
                    a,
                    Method::PATCH,
                    "/v1/users/bo/preferences",
                    "acme",
                    json!({"notifications": {"achievement_completed": ["email", "push"]}}),
                )
                .await;
                http.admin_ok(
                    a,
                    Method::POST,
                    "/streaks/pauses",
                    Some("acme"),
                    json!({"pauses": [{"userId": "cy", "start": "2031-03-04", "end": "2031-03-05"}]}),
                )
                .await;
                http.admin_ok(
                    a,
                    Method::POST,
                    "/streaks/freezes",
                    Some("acme"),
                    json!({"freezes": [{"userId": "dee"}]}),
                )
                .await;
            }
            3 => {
                http.app_ok(
                    a,
                    Method::PATCH,
                    "/v1/users/eve",
                    "acme",
                    json!({"attributes": {"country": "FR"}, "name": "Eve Renamed"}),
                )
                .await;
            }
            _ => {}
        }
        http.clock(a, json!({"advanceSeconds": DAY})).await;
    }
    acme_uuid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_tenant_reads_the_same_on_its_new_node_and_refusals_change_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let http = Http(
        reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client"),
    );
    for args in [
        ["tenant", "export", "--help"],
        ["tenant", "import", "--help"],
    ] {
        let (code, text) = cli(&args);
        assert_eq!(code, 0, "{text}");
    }

    let mut a = Node::new(dir.path(), "a", CONFIG);
    let mut b = Node::new(dir.path(), "b", CONFIG);
    a.start();
    // Nodes start at different times: definitions from trophy.toml get each node's time.
    std::thread::sleep(Duration::from_millis(1100));
    b.start();
    http.clock(&a, json!({"now": T0})).await;
    http.clock(&b, json!({"now": T0})).await;

    // B already serves a tenant of its own, so B's ids are not A's.
    http.admin_ok(
        &b,
        Method::POST,
        "/tenants",
        None,
        json!([{"customerId": "initech", "name": "Initech"}]),
    )
    .await;
    for i in 0..8 {
        http.event(
            &b,
            "initech",
            "lessons",
            json!({"user": {"id": format!("i{i}")}, "value": i + 1}),
        )
        .await;
        http.event(
            &b,
            "initech",
            "minutes",
            json!({"user": {"id": format!("i{i}")}, "value": 4}),
        )
        .await;
    }
    let initech_users = ["i0", "i3", "i7"];

    let acme_uuid = build_acme(&http, &a).await;
    let key_body = http
        .admin_ok(
            &a,
            Method::POST,
            "/application-api-keys",
            Some("acme"),
            json!([{"userId": "fay"}]),
        )
        .await;
    let user_key = key_body["created"][0]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let end = http.clock(&a, json!({"advanceSeconds": 3600})).await;

    let before = reads(&http, &a, "acme", &ACME_USERS).await;
    assert!(
        before.iter().all(|(_, s, _)| *s == 200),
        "the reads are answers, not errors: {:?}",
        before
            .iter()
            .filter(|(_, s, _)| *s != 200)
            .collect::<Vec<_>>()
    );

    let shared = shared_uuids(&a);
    assert_eq!(
        shared,
        shared_uuids(&b),
        "the nodes' shared definitions have the same ids"
    );
    // Export from the running node A: it is only read.
    let file = dir.path().join("acme.trophy-tenant");
    let (code, text) = cli(&[
        "tenant",
        "export",
        "--tenant",
        "acme",
        path(&file),
        "--data",
        path(&a.data()),
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("users") && text.contains("events"), "{text}");
    let (code, text) = cli(&[
        "tenant",
        "export",
        "--tenant",
        "acme",
        path(&file),
        "--data",
        path(&a.data()),
    ]);
    assert_eq!(code, 1, "never overwrites: {text}");
    let (code, text) = cli(&[
        "tenant",
        "export",
        "--tenant",
        "nobody",
        path(&dir.path().join("x")),
        "--data",
        path(&a.data()),
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("no tenant"), "{text}");
    assert_same_reads(
        &before,
        &reads(&http, &a, "acme", &ACME_USERS).await,
        &shared,
    );

    // B runs: the import refuses and changes nothing.
    http.clock(&b, json!({"now": end})).await;
    let initech_before = reads(&http, &b, "initech", &initech_users).await;
    let (code, text) = cli(&["tenant", "import", path(&file), "--data", path(&b.data())]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("in use"), "{text}");
    b.stop();
    let counts_b = b.table_counts();

    // Damaged and foreign files change nothing.
    let garbage = dir.path().join("garbage");
    std::fs::write(
        &garbage,
        b"not a database at all, just some bytes".repeat(200),
    )
    .expect("write");
    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .and_then(|c| c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);"))
        .expect("foreign db");
    let tampered = dir.path().join("tampered");
    std::fs::copy(&file, &tampered).expect("copy");
    rusqlite::Connection::open(&tampered)
        .and_then(|c| {
            c.execute_batch("DELETE FROM events WHERE id = (SELECT max(id) FROM events);")
        })
        .expect("tamper");
    for (bad, why) in [
        (&garbage, "not a trophyd tenant export"),
        (&foreign, "not a trophyd tenant export"),
        (&tampered, "announced"),
        (&dir.path().join("missing"), "no file"),
    ] {
        let (code, text) = cli(&["tenant", "import", path(bad), "--data", path(&b.data())]);
        assert_eq!(code, 1, "{text}");
        assert!(text.contains(why), "{why}: {text}");
        assert_eq!(
            b.table_counts(),
            counts_b,
            "{} changed nothing",
            bad.display()
        );
    }

    // The move.
    let (code, text) = cli(&["tenant", "import", path(&file), "--data", path(&b.data())]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("imported tenant \"acme\""), "{text}");
    let users_line = text
        .lines()
        .find(|l| l.trim_start().starts_with("users "))
        .expect("users line");
    assert!(users_line.trim_end().ends_with(" 6"), "{text}");
    let after_import = b.table_counts();
    let (code, text) = cli(&["tenant", "import", path(&file), "--data", path(&b.data())]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("already exists"), "{text}");
    assert_eq!(
        b.table_counts(),
        after_import,
        "a refused import changes nothing"
    );

    b.start();
    let b_now = http.clock(&b, json!({"now": end})).await;
    assert_eq!(b_now, end);
    let after = reads(&http, &b, "acme", &ACME_USERS).await;
    assert_same_reads(&before, &after, &shared);
    assert_same_reads(
        &initech_before,
        &reads(&http, &b, "initech", &initech_users).await,
        &shared,
    );

    // The tenant's per-user key works on its new node, for its own user only.
    let (status, text) = http
        .call(
            &b,
            Method::GET,
            "/v1/users/fay",
            &user_key,
            Some("acme"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let (status, _) = http
        .call(
            &b,
            Method::GET,
            "/v1/users/ada",
            &user_key,
            Some("acme"),
            None,
        )
        .await;
    assert_eq!(status, 403);
    // The moved tenant goes on working on B: an event and its effects.
    http.event(
        &b,
        "acme",
        "lessons",
        json!({"user": {"id": "ada"}, "value": 1}),
    )
    .await;
    let (status, text) = http
        .call(
            &b,
            Method::GET,
            "/v1/users/ada/metrics/lessons",
            "app-key",
            Some("acme"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let moved: Value = serde_json::from_str(&text).expect("json");
    let was: Value = serde_json::from_str(
        &before
            .iter()
            .find(|(p, _, _)| p == "/v1/users/ada/metrics/lessons")
            .expect("read")
            .2,
    )
    .expect("json");
    assert_eq!(
        moved["current"].as_f64(),
        was["current"].as_f64().map(|c| c + 1.0)
    );

    // The source archives the tenant: it no longer answers there.
    http.admin_ok(
        &a,
        Method::DELETE,
        &format!("/tenants?ids={acme_uuid}"),
        None,
        json!(null),
    )
    .await;
    let (status, _) = http
        .call(
            &a,
            Method::GET,
            "/v1/users/ada",
            "app-key",
            Some("acme"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    a.stop();
    b.stop();

    // A node whose trophy.toml lacks a shared definition the tenant's data uses.
    let mut c = Node::new(
        dir.path(),
        "c",
        &CONFIG
            .replace(
                "key = \"minutes\"\nname = \"Minutes\"",
                "key = \"seconds\"\nname = \"Seconds\"",
            )
            .replace("metric = \"minutes\"", "metric = \"seconds\""),
    );
    c.start();
    c.stop();
    let counts_c = c.table_counts();
    let (code, text) = cli(&["tenant", "import", path(&file), "--data", path(&c.data())]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("lacks shared definitions") && text.contains("metric \"minutes\""),
        "{text}"
    );
    assert_eq!(c.table_counts(), counts_c);

    // A node whose shared definitions have other UUIDs (a database created before they
    // were derived from kind and key): refused unless accepted.
    let mut d = Node::new(dir.path(), "d", CONFIG);
    d.start();
    d.stop();
    rusqlite::Connection::open(d.data())
        .and_then(|c| {
            c.execute(
                "UPDATE definitions SET uuid = ?1 WHERE kind = 'metric' AND key = 'lessons'",
                ["00000000-0000-4000-8000-000000000001"],
            )
        })
        .expect("old-style uuid");
    let counts_d = d.table_counts();
    let (code, text) = cli(&["tenant", "import", path(&file), "--data", path(&d.data())]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("other UUIDs") && text.contains("--accept-new-definition-ids"),
        "{text}"
    );
    assert_eq!(d.table_counts(), counts_d);
    let (code, text) = cli(&[
        "tenant",
        "import",
        path(&file),
        "--data",
        path(&d.data()),
        "--accept-new-definition-ids",
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("warning") && text.contains("new ids"),
        "{text}"
    );
}
