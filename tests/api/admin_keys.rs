//! Per-user application keys (`/admin/v1/application-api-keys`): a key acts only for its
//! own user (403 otherwise, nothing changes), is refused on the Admin API, is tied to its
//! tenant, survives a restart, and stops working once deleted.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::admin_support::{admin, admin_with, issue_messages, with_key};
use crate::helpers::{spawn_app, Config, TestApp, CONFIG};

const NOT_YOURS: &str = "API key is not authorized for this user";

async fn create_key(app: &TestApp, tenant: Option<&str>, users: Value) -> (StatusCode, Value) {
    admin_with(
        app,
        Method::POST,
        "/admin/v1/application-api-keys",
        Some(&users),
        tenant,
    )
    .await
}

fn refused(reply: &(StatusCode, Value)) {
    assert_eq!(reply.0, StatusCode::FORBIDDEN, "{}", reply.1);
    assert_eq!(reply.1, json!({ "error": NOT_YOURS }));
}

#[tokio::test]
async fn a_user_key_acts_only_for_its_own_user() {
    let app = spawn_app(CONFIG).await;
    app.event_ok("lessons", "ann", 1.0).await;
    app.event_ok("lessons", "bob", 1.0).await;
    let (status, body) =
        create_key(&app, None, json!([{"userId": "ann"}, {"userId": "ghost"}])).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created = &body["created"][0];
    let key = created["key"].as_str().expect("key").to_owned();
    let prefix = created["prefix"].as_str().expect("prefix");
    assert!(key.starts_with("app_") && key.starts_with(&format!("{prefix}.")));
    assert_eq!(created["userId"], "ann");
    assert_eq!(issue_messages(&body), vec!["User does not exist"]);
    assert_eq!(body["issues"][0]["userId"], "ghost");
    // Only the digest is stored.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM api_keys WHERE kind = 'user' AND prefix = '{prefix}' AND hash != '{key}'"
        )),
        1
    );

    let (status, user) = with_key(&app, &key, Method::GET, "/v1/users/ann", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["id"], "ann");
    let (status, _) = with_key(
        &app,
        &key,
        Method::POST,
        "/v1/metrics/lessons/event",
        Some(&json!({"user": {"id": "ann"}, "value": 2})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = with_key(&app, &key, Method::GET, "/v1/achievements", None).await;
    assert_eq!(status, StatusCode::OK);

    let events = app.count("SELECT count(*) FROM events");
    let bob_row = app.user_row("bob");
    for (method, path, body) in [
        (Method::GET, "/v1/users/bob", None),
        (Method::GET, "/v1/users/bob/metrics/lessons", None),
        (
            Method::PATCH,
            "/v1/users/bob",
            Some(json!({"name": "Mallory"})),
        ),
        (
            Method::POST,
            "/v1/metrics/lessons/event",
            Some(json!({"user": {"id": "bob"}, "value": 5})),
        ),
        (Method::POST, "/v1/users", Some(json!({"id": "carol"}))),
        (Method::GET, "/v1/streaks?userIds=ann,bob", None),
    ] {
        refused(&with_key(&app, &key, method, path, body.as_ref()).await);
    }
    assert_eq!(app.count("SELECT count(*) FROM events"), events);
    assert_eq!(app.user_row("bob"), bob_row);
    assert!(app.user_row("carol").is_none());

    // Refused on the Admin API, even for its own user.
    let resp = app
        .client
        .get(app.url("/admin/v1/metrics"))
        .header("X-API-KEY", &key)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);

    let app = app.restart().await;
    let (status, _) = with_key(&app, &key, Method::GET, "/v1/users/ann/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    let id = created["id"].as_str().expect("id").to_owned();
    let (status, body) = admin(
        &app,
        Method::DELETE,
        &format!("/admin/v1/application-api-keys?ids={id},5b0f6f0e-0000-4000-8000-000000000000"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["deleted"], json!([{ "id": id }]));
    assert_eq!(issue_messages(&body).len(), 1);
    let (status, _) = with_key(&app, &key, Method::GET, "/v1/users/ann", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

fn multi_tenant_config() -> Config {
    Config::new()
        .server("multi_tenant = true")
        .metric("lessons", "Lessons")
}

#[tokio::test]
async fn a_plus_in_a_path_is_a_plus_when_a_key_is_checked() {
    // The router reads `/v1/users/a+b` as user "a+b"; the scope check must too, or a key
    // for "a b" would read another user's data.
    let app = spawn_app(CONFIG).await;
    app.event_ok("lessons", "a b", 1.0).await;
    app.event_ok("lessons", "a+b", 3.0).await;
    let (status, body) = create_key(&app, None, json!([{"userId": "a b"}])).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let key = body["created"][0]["key"].as_str().expect("key").to_owned();
    refused(
        &with_key(
            &app,
            &key,
            Method::GET,
            "/v1/users/a+b/metrics/lessons",
            None,
        )
        .await,
    );
    let (status, own) = with_key(
        &app,
        &key,
        Method::GET,
        "/v1/users/a%20b/metrics/lessons",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{own}");
    assert_eq!(own["current"], 1.0, "{own}");
    // In a query `+` is a space, as `web::Query` reads it.
    let (status, streaks) =
        with_key(&app, &key, Method::GET, "/v1/streaks?userIds=a+b", None).await;
    assert_eq!(status, StatusCode::OK, "{streaks}");
}

#[tokio::test]
async fn a_user_key_is_tied_to_its_tenant() {
    let mut app = spawn_app(&multi_tenant_config()).await;
    let (status, _) = admin(
        &app,
        Method::POST,
        "/admin/v1/tenants",
        Some(&json!([{"customerId": "acme", "name": "Acme"}, {"customerId": "globex", "name": "Globex"}])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    app.tenant = Some("acme".into());
    app.event_ok("lessons", "ann", 1.0).await;
    // ann exists only in acme.
    let (_, body) = create_key(&app, Some("globex"), json!([{"userId": "ann"}])).await;
    assert_eq!(issue_messages(&body), vec!["User does not exist"]);
    let (status, body) = create_key(&app, Some("acme"), json!([{"userId": "ann"}])).await;
    assert_eq!(status, StatusCode::CREATED);
    let key = body["created"][0]["key"].as_str().expect("key").to_owned();
    let (status, _) = with_key(&app, &key, Method::GET, "/v1/users/ann", None).await;
    assert_eq!(status, StatusCode::OK);
    app.tenant = Some("globex".into());
    refused(&with_key(&app, &key, Method::GET, "/v1/users/ann", None).await);
    refused(
        &with_key(
            &app,
            &key,
            Method::POST,
            "/v1/metrics/lessons/event",
            Some(&json!({"user": {"id": "ann"}, "value": 1})),
        )
        .await,
    );
    assert_eq!(app.count("SELECT count(*) FROM users"), 1);
}

#[tokio::test]
async fn the_console_lists_one_users_keys_newest_first_without_revoked_ones() {
    let app = spawn_app(CONFIG).await;
    app.event_ok("lessons", "ann", 1.0).await;
    app.event_ok("lessons", "bob", 1.0).await;
    let (status, body) = create_key(
        &app,
        None,
        json!([{"userId": "ann"}, {"userId": "bob"}, {"userId": "ann"}]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created: Vec<(String, String)> = body["created"]
        .as_array()
        .expect("created")
        .iter()
        .map(|k| {
            (
                k["id"].as_str().expect("id").to_owned(),
                k["prefix"].as_str().expect("prefix").to_owned(),
            )
        })
        .collect();
    let listed = |body: &Value| -> Vec<String> {
        body["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .map(|k| {
                assert_eq!(k["userId"], "ann", "{k}");
                assert!(k.get("key").is_none() && k.get("hash").is_none(), "{k}");
                k["prefix"].as_str().expect("prefix").to_owned()
            })
            .collect()
    };
    let (status, body) = admin(&app, Method::GET, "/dashboard/api/users/ann/keys", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(listed(&body), [created[2].1.clone(), created[0].1.clone()]);

    let (status, _) = admin(
        &app,
        Method::DELETE,
        &format!("/admin/v1/application-api-keys?ids={}", created[2].0),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = admin(&app, Method::GET, "/dashboard/api/users/ann/keys", None).await;
    assert_eq!(listed(&body), [created[0].1.clone()]);

    let (status, body) = admin(&app, Method::GET, "/dashboard/api/users/nobody/keys", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // The application key is refused.
    let (status, _) = with_key(
        &app,
        "app-key",
        Method::GET,
        "/dashboard/api/users/ann/keys",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
