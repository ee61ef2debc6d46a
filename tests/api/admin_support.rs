//! Small helpers the Admin API tests share: JSON calls with the admin key (and a tenant).

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{parts, TestApp};

/// An admin call; `tenant` is sent as `Tenant-ID`.
pub async fn admin_with(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<&Value>,
    tenant: Option<&str>,
) -> (StatusCode, Value) {
    let mut rb = app.admin_request(method, path);
    if let Some(t) = tenant {
        rb = rb.header("Tenant-ID", t);
    }
    if let Some(b) = body {
        rb = rb.json(b);
    }
    parts(rb.send().await.expect("request")).await
}

pub async fn admin(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    admin_with(app, method, path, body, None).await
}

/// Calls the application API with an explicit key.
pub async fn with_key(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut rb = app
        .client
        .request(method, app.url(path))
        .header("X-API-KEY", key);
    if let Some(t) = &app.tenant {
        rb = rb.header("Tenant-ID", t);
    }
    if let Some(b) = body {
        rb = rb.json(b);
    }
    parts(rb.send().await.expect("request")).await
}

/// The messages of an `issues` list, each checked to be an issue both SDKs parse.
pub fn issue_messages(body: &Value) -> Vec<String> {
    body["issues"]
        .as_array()
        .expect("issues is a list")
        .iter()
        .map(|i| {
            assert_eq!(i["severity"], "error", "{i}");
            assert_eq!(i["level"], "error", "{i}");
            assert_eq!(i["reason"], i["message"], "{i}");
            i["message"].as_str().expect("message").to_owned()
        })
        .collect()
}
