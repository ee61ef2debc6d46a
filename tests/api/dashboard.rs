//! The embedded dashboard: `/` → `/dashboard/`, the static files with their types and
//! security headers, and `GET /dashboard/api/overview` (admin key, per tenant).

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::admin_support::{admin, admin_with};
use crate::helpers::{assert_error, parts, spawn_app, Config, TestApp, CONFIG, XP_PER_LESSON};
use crate::receiver::Receiver;

/// Every embedded file and the type it must be served with.
const ASSETS: [(&str, &str); 5] = [
    ("index.html", "text/html; charset=utf-8"),
    ("app.css", "text/css; charset=utf-8"),
    ("api.js", "text/javascript; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("favicon.svg", "image/svg+xml"),
];

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn get_with(
    app: &TestApp,
    path: &str,
    key: Option<&str>,
    tenant: Option<&str>,
) -> reqwest::Response {
    let mut rb = app.client.get(app.url(path));
    if let Some(key) = key {
        rb = rb.header("X-API-KEY", key);
    }
    if let Some(tenant) = tenant {
        rb = rb.header("Tenant-ID", tenant);
    }
    rb.send().await.expect("request")
}

/// The overview as the admin sees it for `tenant`.
async fn overview(app: &TestApp, tenant: Option<&str>) -> Value {
    let (status, body) =
        admin_with(app, Method::GET, "/dashboard/api/overview", None, tenant).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn the_root_redirects_to_the_dashboard() {
    let app = spawn_app(CONFIG).await;
    let client = no_redirects();
    for path in ["/", "/dashboard"] {
        let resp = client.get(app.url(path)).send().await.expect("request");
        assert!(
            matches!(resp.status(), StatusCode::FOUND | StatusCode::SEE_OTHER),
            "{path}: {}",
            resp.status()
        );
        assert_eq!(resp.headers()["location"], "/dashboard/", "{path}");
    }
    // Followed, it lands on the page.
    let resp = app.client.get(app.url("/")).send().await.expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.url().path(), "/dashboard/");
    // HEAD answers as GET would, without the body.
    let head = client.head(app.url("/")).send().await.expect("request");
    assert_eq!(head.status(), StatusCode::FOUND);
    assert_eq!(head.headers()["location"], "/dashboard/");
    for path in ["/dashboard/", "/dashboard/app.js"] {
        let head = client.head(app.url(path)).send().await.expect("request");
        assert_eq!(head.status(), StatusCode::OK, "{path}");
        assert!(head.bytes().await.expect("body").is_empty(), "{path}");
    }
}

#[tokio::test]
async fn the_index_is_html_with_the_login_form_and_no_inline_code() {
    let app = spawn_app(CONFIG).await;
    let resp = get_with(&app, "/dashboard/", None, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    let html = resp.text().await.expect("body");
    for needle in [
        "<form id=\"login\"",
        "name=\"apiKey\"",
        "type=\"password\"",
        "name=\"tenantId\"",
        "<script type=\"module\" src=\"app.js\"></script>",
        "<link rel=\"stylesheet\" href=\"app.css\">",
    ] {
        assert!(html.contains(needle), "index.html lacks {needle}");
    }
    // The CSP forbids inline code, so none may be there to break.
    assert_eq!(html.matches("<script").count(), 1, "one script, app.js");
    for inline in [
        "<style",
        " style=",
        " onclick=",
        " onsubmit=",
        "javascript:",
    ] {
        assert!(
            !html.contains(inline),
            "index.html has inline code: {inline}"
        );
    }
    // `/dashboard/index.html` is the same page.
    let again = get_with(&app, "/dashboard/index.html", None, None).await;
    assert_eq!(again.text().await.expect("body"), html);
}

#[tokio::test]
async fn every_asset_has_its_type_and_the_security_headers() {
    let app = spawn_app(CONFIG).await;
    for (file, content_type) in ASSETS {
        let resp = get_with(&app, &format!("/dashboard/{file}"), None, None).await;
        assert_eq!(resp.status(), StatusCode::OK, "{file}");
        let headers = resp.headers().clone();
        assert_eq!(headers["content-type"], content_type, "{file}");
        assert_eq!(
            headers["content-security-policy"], "default-src 'self'",
            "{file}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{file}");
        assert_eq!(headers["cache-control"], "no-cache", "{file}");
        let body = resp.text().await.expect("body");
        assert!(body.len() > 100, "{file} is embedded with content");
        if file.ends_with(".js") {
            // Data goes into the DOM through textContent only.
            assert!(!body.contains("innerHTML"), "{file} uses innerHTML");
            assert!(!body.contains("insertAdjacentHTML"), "{file}");
            assert!(!body.contains("eval("), "{file}");
            // The SVG namespace is a name, never fetched.
            let body = body.replace("\"http://www.w3.org/2000/svg\"", "");
            assert!(
                !body.contains("http://") && !body.contains("https://"),
                "{file} fetches elsewhere"
            );
        }
    }
}

#[tokio::test]
async fn unknown_files_are_404_json() {
    let app = spawn_app(CONFIG).await;
    for path in [
        "/dashboard/nope.js",
        "/dashboard/api",
        "/dashboard/api/nope",
        "/dashboard/%2e%2e%2fCargo.toml",
        "/dashboard/app.js/x",
    ] {
        let message = assert_error(
            get_with(&app, path, None, None).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert_eq!(message, "Not found", "{path}");
    }
}

/// `path` answers only the admin key, to GET only, and is not cached.
async fn admin_read_only(app: &TestApp, path: &str) {
    for key in [None, Some("nope"), Some("app-key"), Some("")] {
        assert_error(
            get_with(app, path, key, None).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
    // Not a write: it has no other method.
    let resp = app
        .admin_request(Method::POST, path)
        .send()
        .await
        .expect("request");
    assert!(resp.status().is_client_error(), "{}", resp.status());
    let admin = get_with(app, path, Some("admin-key"), None).await;
    assert_eq!(admin.status(), StatusCode::OK);
    assert_eq!(admin.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn the_overview_needs_the_admin_key() {
    let app = spawn_app(CONFIG).await;
    let path = "/dashboard/api/overview";
    assert_eq!(
        assert_error(
            get_with(&app, path, None, None).await,
            StatusCode::UNAUTHORIZED
        )
        .await,
        "Missing API key"
    );
    admin_read_only(&app, path).await;
    // A per-user application key is refused too.
    app.event_ok("lessons", "ann", 1.0).await;
    let (status, body) = admin_with(
        &app,
        Method::POST,
        "/admin/v1/application-api-keys",
        Some(&json!([{ "userId": "ann" }])),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let user_key = body["created"][0]["key"].as_str().expect("key").to_owned();
    assert_error(
        get_with(&app, path, Some(&user_key), None).await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

// ---------------------------------------------------------------------------------------
// Counts, with webhook deliveries to a local receiver that answers 200

fn counting_config(hook_url: &str, server: &str) -> Config {
    Config::new()
        .server(server)
        .attribute("plan", "Plan", "user")
        .metric("lessons", "Lessons")
        .metric("minutes", "Minutes")
        .with(COUNTED)
        .with(XP_PER_LESSON)
        .webhook(
            hook_url,
            "whsec_dashboard",
            "events = [\"achievement.completed\"]",
        )
}

/// A weekly streak, an achievement, a points system and a board on lessons.
const COUNTED: &str = r#"
[streaks]
frequency = "weekly"
metrics = [{ metric = "lessons", threshold = 1 }]

[[achievements]]
key = "first-lesson"
name = "First lesson"
trigger = "metric"
metric = "lessons"
metric_value = 1

[[achievements]]
key = "later"
name = "Later"
trigger = "api"
status = "inactive"

[[leaderboards]]
key = "all-time"
name = "All time"
rank_by = "metric"
metric = "lessons"
"#;

/// Polls the overview until `done` holds (real time: deliveries are sent by a worker).
async fn overview_until(
    app: &TestApp,
    tenant: Option<&str>,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = overview(app, tenant).await;
        if done(&body) {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "overview never got there: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn overview_counts_follow_events_points_keys_and_deliveries() {
    let receiver = Receiver::start().await;
    let app = spawn_app(&counting_config(&receiver.url, "")).await;
    app.set_clock_ok(crate::helpers::T0).await;

    let before = overview(&app, None).await;
    assert_eq!(before["now"], json!(crate::helpers::T0));
    assert_eq!(before["multiTenant"], json!(false));
    assert_eq!(before["users"], json!(0));
    assert_eq!(before["events"], json!({ "total": 0, "last24h": 0 }));
    assert_eq!(before["points"], json!({ "awards": 0, "awarded": 0 }));
    assert_eq!(
        before["definitions"],
        json!({ "metrics": 2, "attributes": 1, "achievements": 1, "pointsSystems": 1, "leaderboards": 1 })
    );
    assert_eq!(
        before["streak"],
        json!({
            "configured": true,
            "frequency": "weekly",
            // spawn_app's config is given as the demo's, not as a file.
            "managedBy": "the built-in demo configuration"
        })
    );
    assert_eq!(
        before["webhookDeliveries"],
        json!({ "pending": 0, "failed": 0, "delivered": 0 })
    );
    assert_eq!(before["applicationApiKeys"], json!([]));

    app.event_ok("lessons", "ann", 1.0).await;
    app.event_ok("lessons", "ann", 2.0).await;
    app.event_ok("minutes", "bob", 5.0).await;

    let after = overview_until(&app, None, |o| {
        o["webhookDeliveries"]["delivered"] == json!(1)
    })
    .await;
    assert_eq!(after["users"], json!(2));
    assert_eq!(after["events"], json!({ "total": 3, "last24h": 3 }));
    assert_eq!(after["points"], json!({ "awards": 2, "awarded": 30 }));
    assert_eq!(
        after["webhookDeliveries"],
        json!({ "pending": 0, "failed": 0, "delivered": 1 })
    );
    assert_eq!(receiver.count(), 1);

    // Bob completes the achievement too: a second delivery.
    app.event_ok("lessons", "bob", 1.0).await;
    let later = overview_until(&app, None, |o| {
        o["webhookDeliveries"]["delivered"] == json!(2)
    })
    .await;
    assert_eq!(later["events"]["total"], json!(4));
    assert_eq!(later["points"]["awarded"], json!(40));

    // A key shows up without its secret, and goes with its deletion.
    let (status, body) = admin_with(
        &app,
        Method::POST,
        "/admin/v1/application-api-keys",
        Some(&json!([{ "userId": "bob" }])),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created = &body["created"][0];
    let keys = overview(&app, None).await["applicationApiKeys"].clone();
    assert_eq!(
        keys,
        json!([{
            "id": created["id"],
            "userId": "bob",
            "prefix": created["prefix"],
            "created": crate::helpers::T0,
        }])
    );
    let id = created["id"].as_str().expect("id");
    let (status, _) = admin_with(
        &app,
        Method::DELETE,
        &format!("/admin/v1/application-api-keys?ids={id}"),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(overview(&app, None).await["applicationApiKeys"], json!([]));

    // A day and a bit later the events are no longer recent; the total stays.
    let (status, _) = parts(app.advance(25 * 3600).await).await;
    assert_eq!(status, StatusCode::OK);
    let next_day = overview(&app, None).await;
    assert_eq!(next_day["events"], json!({ "total": 4, "last24h": 0 }));
    app.event_ok("lessons", "cy", 1.0).await;
    let next_day = overview(&app, None).await;
    assert_eq!(next_day["events"], json!({ "total": 5, "last24h": 1 }));
    assert_eq!(next_day["users"], json!(3));
}

#[tokio::test]
async fn overview_counts_only_the_tenant_named_by_tenant_id() {
    let receiver = Receiver::start().await;
    let mut app = spawn_app(&counting_config(&receiver.url, "multi_tenant = true")).await;
    let (status, body) = admin_with(
        &app,
        Method::POST,
        "/admin/v1/tenants",
        Some(&json!([
            { "customerId": "acme", "name": "Acme" },
            { "customerId": "globex", "name": "Globex" },
        ])),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // A metric of acme's own.
    let (status, body) = admin_with(
        &app,
        Method::POST,
        "/admin/v1/metrics",
        Some(&json!([{ "key": "pages", "name": "Pages" }])),
        Some("acme"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    app.tenant = Some("acme".into());
    app.event_ok("lessons", "ann", 1.0).await;
    app.event_ok("pages", "bob", 3.0).await;
    app.tenant = Some("globex".into());
    app.event_ok("minutes", "ann", 1.0).await;

    let acme = overview(&app, Some("acme")).await;
    assert_eq!(acme["multiTenant"], json!(true));
    assert_eq!(acme["users"], json!(2));
    assert_eq!(acme["events"]["total"], json!(2));
    assert_eq!(acme["points"]["awarded"], json!(10));
    assert_eq!(acme["definitions"]["metrics"], json!(3));
    let globex = overview(&app, Some("globex")).await;
    assert_eq!(globex["users"], json!(1));
    assert_eq!(globex["events"]["total"], json!(1));
    assert_eq!(globex["points"]["awarded"], json!(0));
    assert_eq!(globex["definitions"]["metrics"], json!(2));

    let path = "/dashboard/api/overview";
    let missing = assert_error(
        get_with(&app, path, Some("admin-key"), None).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(missing, "Tenant-ID header is required");
    assert_error(
        get_with(&app, path, Some("admin-key"), Some("initech")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

/// `GET path` with one request header.
async fn get_with_header(
    app: &TestApp,
    path: &str,
    (name, value): (&str, &str),
) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header(name, value)
        .send()
        .await
        .expect("request")
}

#[tokio::test]
async fn files_are_gzipped_on_request_and_revalidated_by_etag() {
    let app = spawn_app(CONFIG).await;
    for (name, _) in ASSETS {
        let path = format!("/dashboard/{name}");
        let plain = get_with_header(&app, &path, ("Accept", "*/*")).await;
        assert_eq!(plain.status(), StatusCode::OK);
        assert!(plain.headers().get("content-encoding").is_none(), "{name}");
        let tag = plain.headers()["etag"].to_str().expect("etag").to_owned();
        assert!(tag.starts_with('"') && tag.len() > 10, "{name}: {tag}");
        let original = plain.bytes().await.expect("body");

        let gzipped = get_with_header(&app, &path, ("Accept-Encoding", "gzip")).await;
        assert_eq!(gzipped.headers()["content-encoding"], "gzip", "{name}");
        assert_eq!(gzipped.headers()["etag"], tag.as_str());
        let packed = gzipped.bytes().await.expect("body");
        assert_eq!(&packed[..2], &[0x1f, 0x8b], "{name}: a gzip stream");
        if original.len() > 4096 {
            assert!(
                packed.len() * 2 < original.len(),
                "{name}: {} of {}",
                packed.len(),
                original.len()
            );
        }

        let again = get_with_header(&app, &path, ("If-None-Match", &tag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{name}");
        assert_eq!(again.headers()["etag"], tag.as_str());
        assert!(again.bytes().await.expect("body").is_empty());

        let stale = get_with_header(&app, &path, ("If-None-Match", "\"something-else\"")).await;
        assert_eq!(stale.status(), StatusCode::OK, "{name}");
    }
    // The index behind /dashboard/ too.
    let index = get_with_header(&app, "/dashboard/", ("Accept", "*/*")).await;
    let tag = index.headers()["etag"].to_str().expect("etag").to_owned();
    let again = get_with_header(&app, "/dashboard/", ("If-None-Match", &tag)).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
}

/// WCAG 2 relative luminance of `#rrggbb` or `#rgb`.
fn luminance(hex: &str) -> f64 {
    let hex = hex.trim_start_matches('#');
    let hex: String = if hex.len() == 3 {
        hex.chars().flat_map(|c| [c, c]).collect()
    } else {
        hex.to_owned()
    };
    let channel = |i: usize| {
        let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).expect("hex colour")) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
}

fn contrast(a: &str, b: &str) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[tokio::test]
async fn text_colours_meet_wcag_aa_contrast() {
    let app = spawn_app(CONFIG).await;
    let css = get_with_header(&app, "/dashboard/app.css", ("Accept", "*/*"))
        .await
        .text()
        .await
        .expect("css");
    let var = |name: &str| -> String {
        let start = css
            .find(&format!("--{name}:"))
            .unwrap_or_else(|| panic!("--{name} in app.css"));
        css[start..]
            .split_once(':')
            .and_then(|(_, rest)| rest.split_once(';'))
            .map(|(value, _)| value.trim().to_owned())
            .expect("a value")
    };
    // (text, background) pairs the stylesheet puts together.
    let pairs = [
        ("accent-ink", "accent"),
        ("accent", "panel"),
        ("accent", "bg"),
        ("ink", "panel"),
        ("ink", "bg"),
        ("muted", "panel"),
        ("muted", "bg"),
        ("bad", "bad-bg"),
        ("good", "good-bg"),
        ("warn", "warn-bg"),
    ];
    for (text, background) in pairs {
        let ratio = contrast(&var(text), &var(background));
        assert!(
            ratio >= 4.5,
            "--{text} on --{background}: {ratio:.2}:1, below 4.5:1"
        );
    }
    assert!(
        contrast("#b7791f", "#ffffff") < 4.5,
        "the check sees the old accent"
    );
}

// ---------------------------------------------------------------------------------------
// Looking a user up: search, the application API's reads with the admin key, latest events

async fn admin_get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    admin_with(app, Method::GET, path, None, None).await
}

fn ids(body: &Value) -> Vec<&str> {
    body["users"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| u["id"].as_str().expect("id"))
        .collect()
}

#[tokio::test]
async fn users_are_found_by_id_email_or_name_and_read_with_the_admin_key() {
    let app = spawn_app(CONFIG).await;
    for (id, email, name) in [
        ("ada", "Ada@Example.com", "Ada Lovelace"),
        ("adam", "adam@example.com", "Adam Smith"),
        ("u-7", "grace@navy.mil", "Grace Hopper"),
    ] {
        let resp = app
            .send_json(
                Method::PUT,
                &format!("/v1/users/{id}"),
                &json!({ "email": email, "name": name }),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::OK, "{id}");
    }
    app.event_ok("lessons", "ada", 2.0).await;
    app.event_ok("minutes", "ada", 15.0).await;
    app.event_ok("lessons", "ada", 3.0).await;

    let (status, body) = admin_get(&app, "/dashboard/api/users?q=ada").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ids(&body), ["ada", "adam"]);
    assert_eq!(body["users"][0]["name"], "Ada Lovelace");
    let (_, body) = admin_get(&app, "/dashboard/api/users?q=GRACE").await;
    assert_eq!(ids(&body), ["u-7"]);
    let (_, body) = admin_get(&app, "/dashboard/api/users?q=adam%40example").await;
    assert_eq!(ids(&body), ["adam"]);
    let (_, body) = admin_get(&app, "/dashboard/api/users?limit=2").await;
    assert_eq!(ids(&body), ["u-7", "adam"], "newest first without a search");
    let (_, body) = admin_get(&app, "/dashboard/api/users?q=nobody").await;
    assert_eq!(ids(&body), Vec::<&str>::new());
    for bad in ["limit=0", "limit=51", "limit=x"] {
        let (status, body) = admin_get(&app, &format!("/dashboard/api/users?{bad}")).await;
        assert!(status.is_client_error(), "{bad}: {status}");
        assert!(body["error"].is_string(), "{bad}: {body}");
    }
    let long = "a".repeat(1025);
    let (status, body) = admin_get(&app, &format!("/dashboard/api/users?q={long}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // The latest events, newest first, with the metric's key.
    let (status, events) = admin_get(&app, "/dashboard/api/users/ada/events?limit=2").await;
    assert_eq!(status, StatusCode::OK, "{events}");
    let seen: Vec<(&str, f64)> = events
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["metric"].as_str().expect("metric"),
                e["value"].as_f64().expect("value"),
            )
        })
        .collect();
    assert_eq!(seen, [("lessons", 3.0), ("minutes", 15.0)]);
    let (status, _) = admin_get(&app, "/dashboard/api/users/nobody/events").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The application API's answers, with the admin key: the same bodies.
    for path in [
        "/users/ada",
        "/users/ada/metrics",
        "/users/ada/streak",
        "/users/ada/achievements",
    ] {
        let (status, console) = admin_get(&app, &format!("/dashboard/api/app{path}")).await;
        assert_eq!(status, StatusCode::OK, "{path}: {console}");
        let (_, application) = app.get_json(&format!("/v1{path}")).await;
        assert_eq!(console, application, "{path}");
    }
    let (_, metrics) = admin_get(&app, "/dashboard/api/app/users/ada/metrics").await;
    let lessons = metrics
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["key"] == "lessons")
        .expect("lessons");
    assert_eq!(lessons["current"], 5.0, "{lessons}");

    // Reads only, and only with the admin key.
    let resp = app
        .admin_request(Method::PATCH, "/dashboard/api/app/users/ada")
        .json(&json!({ "name": "Changed" }))
        .send()
        .await
        .expect("request");
    assert!(resp.status().is_client_error(), "{}", resp.status());
    let (_, user) = app.get_json("/v1/users/ada").await;
    assert_eq!(user["name"], "Ada Lovelace");
    for path in ["/dashboard/api/users?q=ada", "/dashboard/api/app/users/ada"] {
        assert_error(
            get_with(&app, path, Some("app-key"), None).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
    }
}

#[tokio::test]
async fn the_console_completes_an_api_achievement_for_an_existing_user_only() {
    let config = Config::base().with(
        "[[achievements]]\nkey = \"shared\"\nname = \"Shared\"\ntrigger = \"api\"\n\n[[achievements]]\nkey = \"five\"\nname = \"Five lessons\"\ntrigger = \"metric\"\nmetric = \"lessons\"\nmetric_value = 5",
    );
    let app = spawn_app(&config).await;
    app.event_ok("lessons", "ada", 1.0).await;
    let complete =
        |user: &str, key: &str| format!("/dashboard/api/users/{user}/achievements/{key}/complete");

    let (status, body) = admin(&app, Method::POST, &complete("ada", "shared"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["achievement"]["key"], "shared", "{body}");
    let first = body["completionId"].clone();
    let (_, done) = app.get_json("/v1/users/ada/achievements").await;
    let keys: Vec<&str> = done
        .as_array()
        .expect("achievements")
        .iter()
        .map(|a| a["key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys, ["shared"]);
    // Again: the same completion, as the application API answers a repeat.
    let (status, body) = admin(&app, Method::POST, &complete("ada", "shared"), None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["completionId"], first);

    // No user is created, a metric achievement is not completable, an unknown key is 404,
    // and the application key is refused.
    let (status, body) = admin(&app, Method::POST, &complete("nobody", "shared"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = app.get_json("/v1/users/nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = admin(&app, Method::POST, &complete("ada", "five"), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = admin(&app, Method::POST, &complete("ada", "missing"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let resp = app
        .client
        .post(app.url(&complete("ada", "shared")))
        .header("X-API-KEY", "app-key")
        .send()
        .await
        .expect("request");
    assert_error(resp, StatusCode::UNAUTHORIZED).await;
}

// ---------------------------------------------------------------------------------------
// Charts: counts per UTC day from the hourly counts the writer keeps

#[tokio::test]
async fn activity_counts_events_active_and_new_users_and_points_per_utc_day() {
    let receiver = Receiver::start().await;
    let app = spawn_app(&counting_config(&receiver.url, "")).await;
    app.set_clock_ok(crate::helpers::T0).await; // 2031-03-01T10:30Z
    app.event_ok("lessons", "ann", 1.0).await;
    app.event_ok("lessons", "ann", 2.0).await;
    app.event_ok("minutes", "bob", 5.0).await;
    app.set_clock_ok("2031-03-02T10:30:00Z").await;
    app.event_ok("lessons", "ann", 1.0).await;
    // 23:59 and 00:01 UTC: two days, so ann is active on both.
    app.set_clock_ok("2031-03-02T23:59:00Z").await;
    app.event_ok("minutes", "ann", 1.0).await;
    app.set_clock_ok("2031-03-03T00:01:00Z").await;
    app.event_ok("minutes", "ann", 1.0).await;
    app.event_ok("lessons", "cy", 1.0).await;

    let (status, body) = admin_get(&app, "/dashboard/api/activity?days=4").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let day = |date: &str, events, active, new, awards, points| json!({ "date": date, "events": events, "activeUsers": active, "newUsers": new, "awards": awards, "points": points });
    assert_eq!(
        body["days"],
        json!([
            day("2031-02-28", 0, 0, 0, 0, 0),
            day("2031-03-01", 3, 2, 2, 2, 30),
            day("2031-03-02", 2, 1, 0, 1, 10),
            day("2031-03-03", 2, 2, 1, 1, 10),
        ])
    );
    // The overview's totals come from the same counts.
    let o = overview(&app, None).await;
    assert_eq!(o["events"], json!({ "total": 7, "last24h": 4 }));
    assert_eq!(o["points"], json!({ "awards": 4, "awarded": 50 }));
    let (_, body) = admin_get(&app, "/dashboard/api/activity").await;
    assert_eq!(body["days"].as_array().map(Vec::len), Some(30));
    for bad in ["days=0", "days=367", "days=x"] {
        let (status, body) = admin_get(&app, &format!("/dashboard/api/activity?{bad}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
}

// ---------------------------------------------------------------------------------------
// Which definitions the configuration declares (their forms are read-only in the console)

#[tokio::test]
async fn managed_lists_the_definitions_the_configuration_declares() {
    let app = spawn_app(CONFIG).await;
    let path = "/dashboard/api/managed";
    let (status, created) = admin_with(
        &app,
        Method::POST,
        "/admin/v1/metrics",
        Some(&json!([{ "name": "Pages", "key": "pages" }])),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, body) = admin_get(&app, path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The test servers run on the embedded source's wording (`ConfigSource::Demo`).
    assert_eq!(body["managedBy"], "the built-in demo configuration");
    let mut listed: Vec<&str> = body["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_str().expect("id"))
        .collect();
    listed.sort_unstable();
    let mut declared: Vec<String> = [
        ("attribute", "plan"),
        ("attribute", "country"),
        ("attribute", "source"),
        ("metric", "lessons"),
        ("metric", "minutes"),
    ]
    .iter()
    .map(|(kind, key)| app.definition_uuid(kind, key))
    .collect();
    declared.sort_unstable();
    assert_eq!(
        listed, declared,
        "the file's five, not the metric the API made"
    );

    // What it lists is what the Admin API refuses to change; the rest it changes.
    let lessons = app.definition_uuid("metric", "lessons");
    let (status, refused) = admin_with(
        &app,
        Method::PATCH,
        "/admin/v1/metrics",
        Some(&json!([{ "id": lessons, "name": "Renamed" }])),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"], "managed by trophy.toml");
    let pages = created["created"][0]["id"].as_str().expect("id");
    let (status, renamed) = admin_with(
        &app,
        Method::PATCH,
        "/admin/v1/metrics",
        Some(&json!([{ "id": pages, "name": "Pages read" }])),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["issues"], json!([]));

    admin_read_only(&app, path).await;

    // A configuration that declares no definition manages none.
    let bare = spawn_app(&Config::new()).await;
    let (status, body) = admin_get(&bare, path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "managedBy": null, "ids": [] }));
}
