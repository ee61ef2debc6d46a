//! `[limits]` (docs/behaviour/api.md#rate-limits): token buckets per key, 429 with `Retry-After`.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{parts, spawn_app, Config, TestApp};

#[tokio::test]
async fn events_beyond_the_bucket_are_429_and_write_nothing() {
    // One token a second: three requests sent at once cannot all find one, however slowly a
    // loaded CI machine schedules them (a refill needs a whole second).
    let config = Config::base().with("[limits]\nevents_per_second = 1");
    let app = spawn_app(&config).await;
    // Three events at once: the bucket holds one.
    let bodies: Vec<_> = (0..3)
        .map(|i| json!({"user": {"id": format!("u{i}")}, "value": 1}))
        .collect();
    let (a, b, c) = tokio::join!(
        app.post_event("lessons", &bodies[0], Some("k0")),
        app.post_event("lessons", &bodies[1], Some("k1")),
        app.post_event("lessons", &bodies[2], Some("k2")),
    );
    let mut created = 0;
    let mut limited = 0;
    let mut accepted_user = None;
    for (i, resp) in [a, b, c].into_iter().enumerate() {
        match resp.status() {
            StatusCode::CREATED => {
                created += 1;
                accepted_user = Some(format!("u{i}"));
            }
            StatusCode::TOO_MANY_REQUESTS => {
                limited += 1;
                let retry_after = resp
                    .headers()
                    .get("Retry-After")
                    .expect("Retry-After")
                    .to_str()
                    .expect("ASCII")
                    .parse::<u64>()
                    .expect("whole seconds");
                assert!((1..=60).contains(&retry_after), "{retry_after}");
                let (_, body) = parts(resp).await;
                assert!(body["error"].is_string(), "{body}");
                assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(
        created >= 1 && limited >= 1,
        "created {created}, limited {limited}"
    );
    assert_eq!(created + limited, 3);
    // Only the accepted events left anything behind.
    assert_eq!(app.count("SELECT count(*) FROM events"), created);
    assert_eq!(app.count("SELECT count(*) FROM users"), created);
    assert_eq!(app.count("SELECT count(*) FROM idempotency_keys"), created);
    // Reads have their own (unlimited) bucket.
    let user = accepted_user.expect("one event was accepted");
    for _ in 0..10 {
        let resp = app.get(&format!("/v1/users/{user}/metrics")).await;
        assert_eq!(resp.status(), StatusCode::OK);
    }
}

/// Three of the same request at once with `key`: how many were refused with 429. A tier at
/// one request a second holds one token, so at least one is refused when the route draws
/// on it (two, unless a loaded machine spreads them over a second); at a thousand a second
/// none is.
async fn limited(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> usize {
    let send = || {
        let mut rb = app
            .client
            .request(method.clone(), app.url(path))
            .header("X-API-KEY", key);
        if let Some(b) = &body {
            rb = rb.json(b);
        }
        rb.send()
    };
    let (a, b, c) = tokio::join!(send(), send(), send());
    [a, b, c]
        .into_iter()
        .map(|r| r.expect("request").status())
        .filter(|s| *s == StatusCode::TOO_MANY_REQUESTS)
        .count()
}

#[tokio::test]
async fn each_route_group_draws_on_the_tier_it_is_registered_with() {
    // Writes at one a second and reads at a thousand: a route refused here is in the write
    // tier. Every probe uses a key of its own, whose buckets start full.
    let keys: Vec<String> = (0..12).map(|i| format!("key-{i}")).collect();
    let quoted = |keys: &[String]| {
        keys.iter()
            .map(|k| format!("\"{k}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let config = Config::base()
        .auth(&format!(
            "api_keys = [\"app-key\", {}]\nadmin_keys = [\"admin-key\", {}]",
            quoted(&keys[..6]),
            quoted(&keys[6..]),
        ))
        .with(
            "[[achievements]]\nkey = \"onboarded\"\nname = \"Onboarded\"\ntrigger = \"api\"\n\n[limits]\nevents_per_second = 1\nreads_per_second = 1000",
        );
    let app = spawn_app(&config).await;
    app.event_ok("lessons", "u1", 1.0).await;
    let event = json!({"user": {"id": "u1"}, "value": 1});
    let user = json!({"user": {"id": "u1"}});
    let cases: [(Method, &str, Option<Value>, bool); 12] = [
        // The application API's writes.
        (Method::POST, "/v1/metrics/lessons/event", Some(event), true),
        (
            Method::POST,
            "/v1/achievements/onboarded/complete",
            Some(user),
            true,
        ),
        // Its other routes, user writes among them, are reads.
        (Method::GET, "/v1/users/u1", None, false),
        (
            Method::PATCH,
            "/v1/users/u1",
            Some(json!({"name": "N"})),
            false,
        ),
        (Method::POST, "/v1/users", Some(json!({"id": "u2"})), false),
        (Method::GET, "/v1/achievements", None, false),
        // The admin key is in the write tier wherever it is used.
        (Method::GET, "/admin/v1/metrics", None, true),
        (Method::GET, "/dashboard/api/app/users/u1", None, true),
        (Method::GET, "/dashboard/api/overview", None, true),
        (Method::GET, "/_test/clock", None, true),
        (Method::GET, "/admin/v1/tenants", None, true),
        (Method::GET, "/dashboard/api/users/u1/keys", None, true),
    ];
    for (i, (method, path, body, write)) in cases.into_iter().enumerate() {
        let refused = limited(&app, &keys[i], method.clone(), path, body).await;
        if write {
            assert!(refused >= 1, "{method} {path} is in the write tier");
        } else {
            assert_eq!(refused, 0, "{method} {path} is in the read tier");
        }
    }
}
