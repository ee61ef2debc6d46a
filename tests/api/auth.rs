//! API keys and tenancy (docs/behaviour/api.md#authentication, docs/behaviour/api.md#tenancy).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, is_iso_z, parts, spawn_app, Config, TestApp, CONFIG};

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
