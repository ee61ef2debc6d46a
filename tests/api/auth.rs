//! API keys and tenancy (docs/behaviour/api.md#authentication, docs/behaviour/api.md#tenancy).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::admin_support::{admin, with_key};
use crate::helpers::{
    assert_error, is_iso_z, parts, spawn_app, Config, TestApp, CONFIG, T0, XP_PER_LESSON,
};

fn with_server_and_auth(server: &str, auth: &str) -> Config {
    Config::base().server(server).auth(auth)
}

fn multi_tenant_config() -> Config {
    with_server_and_auth(
        "multi_tenant = true",
        "api_keys = [\"app-key\"]\nadmin_keys = [\"admin-key\"]",
    )
}

async fn send_with_key(
    app: &TestApp,
    method: Method,
    path: &str,
    key: Option<&str>,
) -> reqwest::Response {
    let mut rb = app.client.request(method, app.url(path));
    if let Some(key) = key {
        rb = rb.header("X-API-KEY", key);
    }
    if path.ends_with("/event") {
        rb = rb.json(&json!({"user": {"id": "u1"}, "value": 1}));
    }
    rb.send().await.expect("request")
}

#[tokio::test]
async fn missing_wrong_or_admin_keys_get_401_on_v1() {
    let app = spawn_app(CONFIG).await;
    for (method, path) in [
        (Method::GET, "/v1/users/u1"),
        (Method::POST, "/v1/metrics/lessons/event"),
        (Method::GET, "/v1/users/u1/metrics"),
        (Method::GET, "/v1/users/u1/preferences"),
    ] {
        for key in [
            None,
            Some(""),
            Some("nope"),
            Some("app-key2"),
            Some("admin-key"),
        ] {
            assert_error(
                send_with_key(&app, method.clone(), path, key).await,
                StatusCode::UNAUTHORIZED,
            )
            .await;
        }
    }
    assert_eq!(app.count("SELECT count(*) FROM events"), 0);
    assert_eq!(app.count("SELECT count(*) FROM users"), 0);
    // The right key works.
    let resp = send_with_key(
        &app,
        Method::POST,
        "/v1/metrics/lessons/event",
        Some("app-key"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn the_app_key_is_refused_on_the_admin_api() {
    let app = spawn_app(CONFIG).await;
    for key in [None, Some("nope"), Some("app-key")] {
        assert_error(
            send_with_key(&app, Method::GET, "/admin/v1/tenants", key).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    let resp = send_with_key(&app, Method::GET, "/admin/v1/tenants", Some("admin-key")).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_sha256_key_in_the_config_works() {
    let secret = "tr_hashed_secret_key";
    let digest = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    let hashed = format!("sha256:{}", hex::encode(digest.as_ref()));
    let config = with_server_and_auth(
        "",
        &format!("api_keys = [\"{hashed}\"]\nadmin_keys = [\"admin-key\"]"),
    );
    let app = spawn_app(&config).await;
    let resp = send_with_key(
        &app,
        Method::POST,
        "/v1/metrics/lessons/event",
        Some(secret),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    // The hash itself is not a key.
    assert_error(
        send_with_key(&app, Method::GET, "/v1/users/u1", Some(&hashed)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_error(
        send_with_key(&app, Method::GET, "/v1/users/u1", Some("app-key")).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

async fn create_tenant(app: &TestApp, customer_id: &str, name: &str) -> (StatusCode, Value) {
    parts(
        app.admin_request(Method::POST, "/admin/v1/tenants")
            .json(&json!([{"customerId": customer_id, "name": name}]))
            .send()
            .await
            .expect("request"),
    )
    .await
}

#[tokio::test]
async fn multi_tenant_mode_requires_a_known_tenant() {
    let app = spawn_app(&multi_tenant_config()).await;
    // No header.
    let message = assert_error(
        app.post_event("lessons", &json!({"user": {"id": "u1"}, "value": 1}), None)
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(message, "Tenant-ID header is required");
    assert_error(app.get("/v1/users/u1").await, StatusCode::BAD_REQUEST).await;
    // Unknown tenant.
    let mut app = app;
    app.tenant = Some("acme".into());
    assert_error(
        app.post_event("lessons", &json!({"user": {"id": "u1"}, "value": 1}), None)
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM events"), 0);
    assert_eq!(app.count("SELECT count(*) FROM users"), 0);

    let (status, body) = create_tenant(&app, "acme", "Acme").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["issues"], json!([]));
    let created = body["created"].as_array().expect("created");
    assert_eq!(created.len(), 1, "{body}");
    let tenant = &created[0];
    uuid::Uuid::parse_str(tenant["id"].as_str().expect("id")).expect("a uuid");
    assert_eq!(tenant["customerId"], json!("acme"));
    assert_eq!(tenant["name"], json!("Acme"));
    assert_eq!(tenant["status"], json!("active"));
    assert!(is_iso_z(tenant["created"].as_str().expect("created")));
    assert!(is_iso_z(tenant["updated"].as_str().expect("updated")));

    // Now the tenant works.
    let (status, body) = parts(
        app.post_event("lessons", &json!({"user": {"id": "u1"}, "value": 1}), None)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A duplicate customer id is an issue, not a new tenant.
    let (status, body) = create_tenant(&app, "acme", "Acme again").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"], json!([]));
    let issues = body["issues"].as_array().expect("issues");
    assert_eq!(issues.len(), 1, "{body}");
    assert_eq!(
        issues[0]["message"],
        json!("Customer ID \"acme\" already exists in this environment")
    );
    assert_eq!(
        app.count("SELECT count(*) FROM tenants WHERE customer_id = 'acme'"),
        1
    );
}

#[tokio::test]
async fn the_same_user_id_in_two_tenants_is_two_users() {
    let mut app = spawn_app(&multi_tenant_config()).await;
    for (customer_id, name) in [("acme", "Acme"), ("globex", "Globex")] {
        let (status, body) = create_tenant(&app, customer_id, name).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    app.tenant = Some("acme".into());
    let a = app.event_ok("lessons", "u1", 3.0).await;
    assert_eq!(a["total"].as_f64(), Some(3.0));
    let (status, _) = parts(
        app.send_json(Method::PATCH, "/v1/users/u1", &json!({"name": "Acme user"}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    app.tenant = Some("globex".into());
    // Not visible from the other tenant before it exists there.
    assert_error(app.get("/v1/users/u1").await, StatusCode::NOT_FOUND).await;
    let g = app.event_ok("lessons", "u1", 5.0).await;
    assert_eq!(g["total"].as_f64(), Some(5.0));
    let g = app.event_ok("lessons", "u1", 1.0).await;
    assert_eq!(g["total"].as_f64(), Some(6.0));
    let (_, user) = app.get_json("/v1/users/u1").await;
    assert_eq!(user["name"], json!(null));
    assert_eq!(app.total("u1", "lessons").await, 6.0);

    app.tenant = Some("acme".into());
    assert_eq!(app.total("u1", "lessons").await, 3.0);
    let (_, user) = app.get_json("/v1/users/u1").await;
    assert_eq!(user["name"], json!("Acme user"));

    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE external_id = 'u1'"),
        2
    );
    assert_eq!(
        app.count("SELECT count(DISTINCT tenant_id) FROM users WHERE external_id = 'u1'"),
        2
    );
}

#[tokio::test]
async fn single_tenant_mode_ignores_the_header() {
    let mut app = spawn_app(CONFIG).await;
    app.event_ok("lessons", "u1", 1.0).await;
    app.tenant = Some("whoever".into());
    let body = app.event_ok("lessons", "u1", 1.0).await;
    assert_eq!(body["total"].as_f64(), Some(2.0));
    app.tenant = Some("someone-else".into());
    assert_eq!(app.total("u1", "lessons").await, 2.0);
    assert_eq!(app.count("SELECT count(*) FROM users"), 1);
}

/// Every route kind through which a request names a user: a path's `{id}`, a body's `id` or
/// `user.id`, the `userIds` list. `{u}` is the user named.
const USER_ROUTES: &[(&str, &str, Option<&str>, StatusCode)] = &[
    ("GET", "/v1/users/{u}", None, StatusCode::OK),
    ("PUT", "/v1/users/{u}", Some(r#"{"name": "Put"}"#), StatusCode::OK),
    ("PATCH", "/v1/users/{u}", Some(r#"{"name": "Patched"}"#), StatusCode::OK),
    ("POST", "/v1/users", Some(r#"{"id": "{u}"}"#), StatusCode::CREATED),
    ("GET", "/v1/users/{u}/metrics", None, StatusCode::OK),
    ("GET", "/v1/users/{u}/metrics/lessons", None, StatusCode::OK),
    (
        "GET",
        "/v1/users/{u}/metrics/lessons/event-summary?aggregation=daily&startDate=2031-03-01&endDate=2031-03-01",
        None,
        StatusCode::OK,
    ),
    ("GET", "/v1/users/{u}/achievements", None, StatusCode::OK),
    ("GET", "/v1/users/{u}/preferences", None, StatusCode::OK),
    (
        "PATCH",
        "/v1/users/{u}/preferences",
        Some(r#"{"notifications": {"recap": ["email"]}}"#),
        StatusCode::OK,
    ),
    ("GET", "/v1/users/{u}/streak", None, StatusCode::OK),
    ("GET", "/v1/users/{u}/points/xp", None, StatusCode::OK),
    ("GET", "/v1/users/{u}/points/xp/boosts", None, StatusCode::OK),
    (
        "GET",
        "/v1/users/{u}/points/xp/event-summary?aggregation=daily&startDate=2031-03-01&endDate=2031-03-01",
        None,
        StatusCode::OK,
    ),
    ("GET", "/v1/users/{u}/leaderboards/all-time", None, StatusCode::OK),
    ("GET", "/v1/users/{u}/wrapped", None, StatusCode::OK),
    ("GET", "/v1/streaks?userIds={u}", None, StatusCode::OK),
    (
        "POST",
        "/v1/metrics/lessons/event",
        Some(r#"{"user": {"id": "{u}"}, "value": 1}"#),
        StatusCode::CREATED,
    ),
    (
        "POST",
        "/v1/achievements/onboarded/complete",
        Some(r#"{"user": {"id": "{u}"}}"#),
        StatusCode::CREATED,
    ),
];

const SCOPED_CONFIG: &str = r#"
[[achievements]]
key = "onboarded"
name = "Onboarded"
trigger = "api"

[[leaderboards]]
key = "all-time"
name = "All time"
rank_by = "metric"
metric = "lessons"
start = "2031-03-01"
"#;

/// Every row of every table, to show that a refused request wrote nothing anywhere.
fn every_row(app: &TestApp) -> Vec<String> {
    let conn = app.db();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("tables")
        .collect::<Result<_, _>>()
        .expect("table names");
    let mut out = Vec::new();
    for table in tables {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{table}\""))
            .expect("select");
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).expect("rows");
        while let Some(row) = rows.next().expect("row") {
            let values: Vec<rusqlite::types::Value> =
                (0..columns).map(|i| row.get(i).expect("column")).collect();
            out.push(format!("{table}: {values:?}"));
        }
    }
    out
}

async fn user_route(
    app: &TestApp,
    key: &str,
    (method, path, body, _): &(&str, &str, Option<&str>, StatusCode),
    user: &str,
) -> (StatusCode, Value) {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let body: Option<Value> =
        body.map(|b| serde_json::from_str(&b.replace("{u}", user)).expect("body"));
    with_key(app, key, method, &path.replace("{u}", user), body.as_ref()).await
}

#[tokio::test]
async fn a_user_bound_key_acts_for_its_own_user_on_every_route_kind_and_for_no_other() {
    let app = spawn_app(&Config::base().with(XP_PER_LESSON).with(SCOPED_CONFIG)).await;
    app.set_clock_ok(T0).await;
    app.event_ok("lessons", "ann", 1.0).await;
    app.event_ok("lessons", "bob", 2.0).await;
    let (status, body) = admin(
        &app,
        Method::POST,
        "/admin/v1/application-api-keys",
        Some(&json!([{"userId": "ann"}])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let key = body["created"][0]["key"].as_str().expect("key").to_owned();

    for route in USER_ROUTES {
        let (status, body) = user_route(&app, &key, route, "ann").await;
        assert_eq!(status, route.3, "{} {}: {body}", route.0, route.1);
    }
    // A leaderboard page around another user is a public view, not an act for them.
    let (status, body) = with_key(
        &app,
        &key,
        Method::GET,
        "/v1/leaderboards/all-time?userId=bob",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let before = every_row(&app);
    for route in USER_ROUTES {
        for other in ["bob", "carol"] {
            let (status, body) = user_route(&app, &key, route, other).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{} {}", route.0, route.1);
            assert_eq!(
                body,
                json!({"error": "API key is not authorized for this user"}),
                "{} {}",
                route.0,
                route.1
            );
        }
    }
    // A list is refused whole when one of its users is another's.
    let (status, _) = with_key(&app, &key, Method::GET, "/v1/streaks?userIds=ann,bob", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(every_row(&app), before, "a refused request changed nothing");
    assert!(app.user_row("carol").is_none());

    // The organisation's key still acts for anyone.
    let (status, _) = with_key(&app, "app-key", Method::GET, "/v1/users/bob", None).await;
    assert_eq!(status, StatusCode::OK);
}

/// What a user-bound key is told when a request also fails another check: a bad body is
/// refused as such first when the user is named inside it (there is no user to compare
/// before the body is read), and otherwise another user is refused before the rest of the
/// request is looked at (an unknown metric, a bad query).
#[tokio::test]
async fn a_user_bound_key_is_refused_another_user_before_the_other_checks() {
    let app = spawn_app(CONFIG).await;
    app.event_ok("lessons", "ann", 1.0).await;
    let (_, body) = admin(
        &app,
        Method::POST,
        "/admin/v1/application-api-keys",
        Some(&json!([{"userId": "ann"}])),
    )
    .await;
    let key = body["created"][0]["key"].as_str().expect("key").to_owned();
    let forbidden = json!({"error": "API key is not authorized for this user"});
    for (method, path, body) in [
        (
            Method::POST,
            "/v1/metrics/nope/event",
            Some(json!({"user": {"id": "bob"}, "value": 1})),
        ),
        (
            Method::POST,
            "/v1/metrics/lessons/event",
            Some(json!({"user": {"id": "bob", "attributes": {"nope": "x"}}, "value": 1})),
        ),
        (
            Method::POST,
            "/v1/achievements/nope/complete",
            Some(json!({"user": {"id": "bob"}})),
        ),
        (Method::GET, "/v1/users/bob/metrics/nope", None),
        (Method::GET, "/v1/users/bob/wrapped?year=nope", None),
        (Method::PATCH, "/v1/users/bob", Some(json!({"name": 5}))),
        (Method::GET, "/v1/users/%20/metrics", None),
    ] {
        let (status, reply) = with_key(&app, &key, method.clone(), path, body.as_ref()).await;
        assert_eq!(
            (status, &reply),
            (StatusCode::FORBIDDEN, &forbidden),
            "{method} {path}"
        );
    }
    // Over the user-id limit is another user too (not a 422 about its length).
    let streaks = format!("/v1/streaks?userIds={}", vec!["bob"; 200].join(","));
    let (status, _) = with_key(&app, &key, Method::GET, &streaks, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A body that is not JSON names no user: it is refused as a bad body.
    let resp = app
        .client
        .post(app.url("/v1/metrics/lessons/event"))
        .header("X-API-KEY", &key)
        .header("Content-Type", "application/json")
        .body("{")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.count("SELECT count(*) FROM events"), 1);
}
