//! `/openapi.json` against the routes the server really serves (issue #16).
//!
//! The document is a file (`assets/openapi.json`), so it can drift from the code. Two
//! directions are checked:
//! * every documented method + path is served: each is sent to a running server, and an
//!   answer from routing (405, or the default service's 404 `{"error": "Not found"}`) fails;
//! * every served route is documented: the route registrations in `src/routes` are read
//!   (every path literal given to `route(` or `resource(`, with the prefix of the scope its
//!   module is configured in), and every method of each such path, and of each documented
//!   path, that the server answers past routing must be in the document.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{spawn_app, TestApp, CONFIG};

const METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

fn document() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read the document"))
        .expect("the document is JSON")
}

/// `{id}`, `{key}`, `{systemId}`, `{system}` all match one segment: only positions matter.
fn normalized(template: &str) -> String {
    template
        .split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// Documented (METHOD, normalized path) pairs.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method.to_lowercase()).is_some() {
                out.insert((method.to_owned(), normalized(path)));
            }
        }
    }
    out
}

/// A concrete URL for a template. Path parameters get a value the handler will reject
/// (an unknown user, key or id), except the dashboard's files, which must exist.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .enumerate()
        .map(|(i, s)| match s {
            "{}" if template.starts_with("/dashboard/") && i == 2 => "app.js",
            s if s.starts_with('{') => "drift-probe",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether `method path` got past routing. Routing answers 405 (a resource without the
/// method) or the default service's 404 `{"error": "Not found"}`; a handler's 404 names
/// what it did not find. HEAD answers carry no body, so a HEAD 404 counts as routing.
async fn served(app: &TestApp, method: &str, path: &str) -> bool {
    let key = if path.starts_with("/v1/") {
        &app.app_key
    } else {
        &app.admin_key
    };
    let resp = app
        .client
        .request(
            Method::from_bytes(method.as_bytes()).unwrap(),
            app.url(path),
        )
        .header("X-API-KEY", key)
        .send()
        .await
        .expect("request");
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    assert!(
        status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
        "{method} {path}: the probe's key was refused ({status} {body})"
    );
    match status {
        StatusCode::METHOD_NOT_ALLOWED => false,
        StatusCode::NOT_FOUND => {
            method != "HEAD"
                && serde_json::from_str::<Value>(&body)
                    .is_ok_and(|v| v != serde_json::json!({"error": "Not found"}))
        }
        _ => true,
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/routes") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literal at the start of `text` (after `format!(` if there), or None.
/// In a `format!` literal `{{`/`}}` are braces and `{name}` is a value, which becomes `*`.
fn path_literal(text: &str) -> Option<String> {
    let text = text.trim_start();
    let (text, formatted) = match text.strip_prefix("format!(") {
        Some(rest) => (rest.trim_start(), true),
        None => (text, false),
    };
    let body = text.strip_prefix('"')?;
    let literal = &body[..body.find('"')?];
    if !literal.starts_with('/') {
        return None;
    }
    if !formatted {
        return Some(literal.to_owned());
    }
    let mut out = String::new();
    let mut chars = literal.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                }
                out.push('*');
            }
            c => out.push(c),
        }
    }
    Some(out)
}

/// Every path the route modules register, with its scope's prefix, normalized; a `*`
/// segment stands for a value a loop fills in.
fn registered_paths() -> BTreeSet<String> {
    let routes = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes");
    let mod_rs = std::fs::read_to_string(routes.join("mod.rs")).expect("mod.rs");
    // The modules of the application API: the /v1 scope configures them through
    // `application_routes` (which `/dashboard/api/app` mirrors: see
    // `the_console_reads_every_application_get_route_with_the_admin_key`) and adds the
    // event route itself.
    let v1_block = {
        let start = mod_rs
            .find("fn application_routes")
            .expect("application_routes in mod.rs");
        let end = mod_rs[start..]
            .find("\n}\n")
            .map_or(mod_rs.len(), |e| start + e);
        let scope = mod_rs
            .find("web::scope(\"/v1\")")
            .expect("the /v1 scope in mod.rs");
        let scope_end = mod_rs[scope..]
            .find("web::scope(\"/admin/v1\")")
            .map_or(mod_rs.len(), |e| scope + e);
        format!("{}{}", &mod_rs[start..end], &mod_rs[scope..scope_end])
    };
    let mut files = Vec::new();
    rust_files(&routes, &mut files);
    let mut out = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("route module");
        let relative = file.strip_prefix(&routes).unwrap().to_string_lossy();
        let module = file.file_stem().unwrap().to_string_lossy();
        let prefix = if relative.starts_with("admin") {
            "/admin/v1"
        } else if v1_block.contains(&format!("configure({module}::configure)")) {
            "/v1"
        } else {
            ""
        };
        for call in ["route(", "resource("] {
            for (at, _) in text.match_indices(call) {
                if let Some(path) = path_literal(&text[at + call.len()..]) {
                    out.insert(normalized(&format!("{prefix}{path}")));
                }
            }
        }
    }
    out
}

/// Whether a documented template answers for `path` (a literal segment of `path` may be a
/// parameter's value: `GET /admin/v1/metrics/events` is `GET /admin/v1/metrics/{id}`).
fn covered(documented: &BTreeSet<(String, String)>, method: &str, path: &str) -> bool {
    let segments: Vec<_> = path.split('/').collect();
    documented.iter().any(|(m, t)| {
        let t: Vec<_> = t.split('/').collect();
        m == method
            && t.len() == segments.len()
            && t.iter().zip(&segments).all(|(t, s)| t == s || *t == "{}")
    })
}

fn matches(registered: &str, documented: &str) -> bool {
    let (r, d): (Vec<_>, Vec<_>) = (
        registered.split('/').collect(),
        documented.split('/').collect(),
    );
    r.len() == d.len()
        && r.iter()
            .zip(&d)
            .all(|(r, d)| r == d || (*r == "*" && !d.starts_with('{')))
}

/// The drift check itself: the problems found, one line each.
async fn drift(app: &TestApp, doc: &Value) -> Vec<String> {
    let documented = documented(doc);
    let templates: BTreeSet<String> = documented.iter().map(|(_, p)| p.clone()).collect();
    let registered = registered_paths();
    let mut problems = Vec::new();
    let mut answered: HashMap<(String, String), bool> = HashMap::new();
    let mut probe_paths: BTreeSet<String> = templates.clone();
    for path in &registered {
        if !templates.iter().any(|t| matches(path, t)) {
            problems.push(format!("served but not documented: {path}"));
        }
        if !path.contains('*') {
            probe_paths.insert(path.clone());
        }
    }
    for path in &probe_paths {
        for method in METHODS {
            let ok = served(app, method, &concrete(path)).await;
            answered.insert((method.to_owned(), path.clone()), ok);
        }
    }
    for (method, path) in &documented {
        if !answered[&(method.clone(), path.clone())] {
            problems.push(format!("documented but not served: {method} {path}"));
        }
    }
    for ((method, path), ok) in &answered {
        if *ok && !covered(&documented, method, path) {
            problems.push(format!("served but not documented: {method} {path}"));
        }
    }
    for path in registered.iter().filter(|p| !p.contains('*')) {
        if !METHODS
            .iter()
            .any(|m| answered[&(m.to_string(), path.clone())])
        {
            problems.push(format!(
                "the route scan found {path}, which no method reaches (is its scope prefix right?)"
            ));
        }
    }
    problems.sort();
    problems
}

#[tokio::test]
async fn the_document_names_every_served_route_and_only_those() {
    let app = spawn_app(CONFIG).await;
    let doc = document();
    let problems = drift(&app, &doc).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check finds a route missing from the document, a documented route that is not
/// served, and a method the document lacks.
#[tokio::test]
async fn the_drift_check_sees_each_kind_of_drift() {
    let app = spawn_app(CONFIG).await;
    let mut doc = document();
    let paths = doc["paths"].as_object_mut().unwrap();
    paths.remove("/v1/streaks/rankings").expect("documented");
    paths["/v1/users/{id}"]
        .as_object_mut()
        .unwrap()
        .remove("patch")
        .expect("documented");
    paths.insert(
        "/v1/no-such-route".into(),
        serde_json::json!({"get": {"responses": {}}}),
    );
    let problems = drift(&app, &doc).await;
    assert_eq!(
        problems,
        [
            "documented but not served: GET /v1/no-such-route",
            "served but not documented: /v1/streaks/rankings",
            "served but not documented: GET /v1/streaks/rankings",
            "served but not documented: PATCH /v1/users/{}",
        ],
    );
}

#[test]
fn the_route_scan_reads_loops_and_scopes() {
    let registered = registered_paths();
    for path in [
        "/health",
        "/_test/clock",
        "/dashboard/api/overview",
        "/v1/users/{}",
        "/admin/v1/points/{}/*/{}",
        "/admin/v1/webhooks/deliveries/{}/retry",
    ] {
        assert!(registered.contains(path), "{path} in {registered:?}");
    }
}

/// `/dashboard/api/app` serves every documented `GET /v1` route with the admin key, and no
/// other method: the console reads users as the application API answers, and writes only
/// through `/admin/v1`.
#[tokio::test]
async fn the_console_reads_every_application_get_route_with_the_admin_key() {
    let app = spawn_app(CONFIG).await;
    let documented = documented(&document());
    let mut mirrored = 0;
    for (method, path) in &documented {
        let Some(rest) = path.strip_prefix("/v1") else {
            continue;
        };
        let console = format!("/dashboard/api/app{rest}");
        let ok = served(&app, method, &concrete(&console)).await;
        if method == "GET" {
            assert!(ok, "GET {console} is not served");
            mirrored += 1;
        } else {
            assert!(!ok, "{method} {console} is served");
        }
    }
    assert!(mirrored >= 20, "{mirrored} GET routes mirrored");
}
