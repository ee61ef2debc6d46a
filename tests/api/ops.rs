//! `/health`, `/openapi.json` and `/metrics` (docs/interface.md#url-layout).

use std::collections::{BTreeMap, BTreeSet};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{parts, sample, spawn_app, CONFIG};

#[tokio::test]
async fn health_is_ok_without_a_key() {
    let app = spawn_app(CONFIG).await;
    let (status, body) = parts(
        app.client
            .get(app.url("/health"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok"}));
}

#[tokio::test]
async fn openapi_is_a_json_document() {
    let app = spawn_app(CONFIG).await;
    let resp = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body: Value = resp.json().await.expect("JSON");
    assert!(body["openapi"].is_string(), "openapi");
    let paths = body["paths"].as_object().expect("paths");
    for path in [
        "/v1/metrics/{key}/event",
        "/admin/v1/metrics/events",
        "/health",
    ] {
        assert!(paths.contains_key(path), "{path} in {:?}", paths.keys());
    }
    // Relative, so tools send requests to the server that served the document.
    assert_eq!(body["servers"], json!([{"url": "/"}]));
}

#[tokio::test]
async fn unknown_routes_are_404_json() {
    let app = spawn_app(CONFIG).await;
    let (status, body) = parts(
        app.client
            .get(app.url("/no/such/route"))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string(), "{body}");
}

#[tokio::test]
async fn prometheus_metrics_count_requests_and_events() {
    let app = spawn_app(CONFIG).await;
    let text = app.metrics_text().await;
    for name in [
        "trophyd_http_requests_total",
        "trophyd_writer_queue_depth",
        "trophyd_events_applied_total",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert_eq!(sample(&text, "trophyd_events_applied_total"), 0.0);

    for i in 0..3 {
        let resp = app
            .post_event(
                "lessons",
                &json!({"user": {"id": "u1"}, "value": 1}),
                Some(&format!("k{i}")),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    // A replay and a failure are not applied events.
    let resp = app
        .post_event(
            "lessons",
            &json!({"user": {"id": "u1"}, "value": 1}),
            Some("k0"),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let resp = app
        .post_event("pushups", &json!({"user": {"id": "u1"}, "value": 1}), None)
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);

    let text = app.metrics_text().await;
    assert_eq!(sample(&text, "trophyd_events_applied_total"), 3.0);
    assert_eq!(sample(&text, "trophyd_writer_queue_depth"), 0.0);
    let series = parse_exposition(&text);
    let at = |name: &str| -> f64 {
        *series
            .get(name)
            .unwrap_or_else(|| panic!("no series {name} in:\n{text}"))
    };
    assert_eq!(
        at(
            r#"trophyd_http_requests_total{route="/v1/metrics/{key}/event",method="POST",status="201"}"#
        ),
        3.0
    );
    assert_eq!(
        at(
            r#"trophyd_http_requests_total{route="/v1/metrics/{key}/event",method="POST",status="202"}"#
        ),
        1.0
    );
    assert_eq!(
        at(
            r#"trophyd_http_requests_total{route="/v1/metrics/{key}/event",method="POST",status="404"}"#
        ),
        1.0
    );
    // Every request counted is in the latency histogram too (this scrape is in neither yet).
    let requests: f64 = series
        .iter()
        .filter(|(k, _)| k.starts_with("trophyd_http_requests_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(at("trophyd_http_request_duration_seconds_count"), requests);
    assert_eq!(
        at("trophyd_writer_batch_size_count"),
        at("trophyd_writer_batches_total")
    );
    assert_eq!(
        at("trophyd_writer_batch_size_sum"),
        at("trophyd_writer_commands_total")
    );
    for name in [
        "trophyd_writer_refused_total",
        "trophyd_writer_failed_commits_total",
        "trophyd_writer_retried_batches_total",
        "trophyd_batch_events_skipped_total",
    ] {
        assert_eq!(at(name), 0.0, "{name}");
    }
    assert!(at("trophyd_writer_pages_written_total") >= 1.0);
    assert!(at("trophyd_writer_syncs_total") >= 1.0);
    assert!(at("trophyd_writer_sync_seconds_total") > 0.0);
    let features: Vec<&str> = series
        .keys()
        .filter_map(|k| k.strip_prefix("trophyd_writer_feature_seconds_total{feature=\""))
        .filter_map(|k| k.strip_suffix("\"}"))
        .collect();
    assert_eq!(features.len(), 10, "{features:?}");
    for feature in ["core", "streaks", "points", "commit", "checkpoint"] {
        assert!(features.contains(&feature), "{feature} in {features:?}");
    }
}

#[tokio::test]
async fn metrics_auth_asks_for_the_admin_key() {
    let app = spawn_app(&CONFIG.replace("[server]\n", "[server]\nmetrics_auth = true\n")).await;
    let get = |key: Option<&str>| {
        let mut rb = app.client.get(app.url("/metrics"));
        if let Some(key) = key {
            rb = rb.header("X-API-KEY", key);
        }
        rb.send()
    };
    for key in [None, Some("app-key"), Some("wrong")] {
        let resp = get(key).await.expect("request");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{key:?}");
    }
    let resp = get(Some("admin-key")).await.expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    parse_exposition(&resp.text().await.expect("body"));
}

/// The Prometheus text format (0.0.4), read strictly: each family has one `# HELP` and then
/// one `# TYPE` line before its samples, each sample is `name{label="value",...} number` of
/// the family above it (a histogram's `_bucket`, `_sum`, `_count`), no series twice, and a
/// histogram's buckets are cumulative and end at `+Inf`, equal to its `_count`. Returns
/// the samples by series, written as in the text.
fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    let mut series = BTreeMap::new();
    let mut families = BTreeSet::new();
    // The family samples belong to, its type, and a histogram's buckets so far.
    let mut family: Option<(String, String)> = None;
    let mut buckets: Vec<(String, f64)> = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(help) = line.strip_prefix("# HELP ") {
            let (name, _) = help.split_once(' ').expect("HELP name text");
            assert!(families.insert(name.to_owned()), "{name} listed twice");
            let kind = lines
                .next()
                .and_then(|l| l.strip_prefix(&format!("# TYPE {name} ")))
                .unwrap_or_else(|| panic!("no TYPE after HELP {name}"));
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{name}: {kind}"
            );
            family = Some((name.to_owned(), kind.to_owned()));
            buckets.clear();
            continue;
        }
        assert!(!line.starts_with('#'), "unexpected comment: {line}");
        let (name, kind) = family
            .as_ref()
            .unwrap_or_else(|| panic!("no family: {line}"));
        let (key, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value of {line}"));
        let (sample_name, labels) = match key.split_once('{') {
            Some((n, rest)) => (n, labels(rest.strip_suffix('}').expect("}"))),
            None => (key, Vec::new()),
        };
        let suffix = sample_name
            .strip_prefix(name.as_str())
            .unwrap_or_else(|| panic!("{line} under family {name}"));
        match (kind.as_str(), suffix) {
            ("histogram", "_bucket") => {
                let le = labels
                    .iter()
                    .find(|(k, _)| k == "le")
                    .expect("le")
                    .1
                    .clone();
                if let Some((_, before)) = buckets.last() {
                    assert!(value >= *before, "{line}: buckets are cumulative");
                }
                buckets.push((le, value));
            }
            ("histogram", "_sum") => {}
            ("histogram", "_count") => {
                assert_eq!(
                    buckets.last(),
                    Some(&("+Inf".to_owned(), value)),
                    "{name}: +Inf bucket and _count"
                );
            }
            (_, "") => {}
            _ => panic!("{line} under {kind} {name}"),
        }
        assert!(
            series.insert(key.to_owned(), value).is_none(),
            "{key} twice"
        );
    }
    series
}

/// `a="x",b="y\"z"` as pairs, with `\\`, `\"` and `\n` unescaped.
fn labels(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once("=\"")
            .unwrap_or_else(|| panic!("label in {text}"));
        assert!(
            !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "label name {key:?}"
        );
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => panic!("escape {other:?} in {text}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated value in {text}"),
            }
        };
        pairs.push((key.to_owned(), value));
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    pairs
}
