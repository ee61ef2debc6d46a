//! `[limits]` (docs/behaviour/api.md#rate-limits): token buckets per key, 429 with `Retry-After`.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{parts, spawn_app, Config};

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
