//! Every stored number stays finite (issue #17, item 10): an event that would carry a
//! metric total, a leaderboard value or a year-in-review amount past the largest double is
//! refused with 422 and changes nothing, including the in-memory ranks and the wrapped
//! additions pending for the group commit; an admin batch skips such an event and applies
//! the rest.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::admin_support::admin;
use crate::helpers::{assert_error, parts, sample, spawn_app, Config, TestApp, CONFIG};

/// CONFIG with a perpetual board on lessons, then a board of two-day runs starting on a
/// Monday, so that its run of Sunday 9 and Monday 10 March 2031 spans two weeks.
fn config() -> Config {
    Config::base().with(
        r#"
[[leaderboards]]
key = "all-time"
name = "All time"
rank_by = "metric"
metric = "lessons"
start = "2031-03-01"

[[leaderboards]]
key = "two-days"
name = "Two days"
rank_by = "metric"
metric = "lessons"
start = "2031-03-03"
run_unit = "day"
run_interval = 2
"#,
    )
}

async fn event(app: &TestApp, user: &str, value: f64) -> (StatusCode, Value) {
    parts(
        app.post_event(
            "lessons",
            &json!({"user": {"id": user}, "value": value}),
            None,
        )
        .await,
    )
    .await
}

async fn created(app: &TestApp, user: &str, value: f64) -> Value {
    let (status, body) = event(app, user, value).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// `(userId, value)` of a board's rankings.
async fn board(app: &TestApp, key: &str) -> Vec<(String, f64)> {
    let (status, body) = app.get_json(&format!("/v1/leaderboards/{key}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["rankings"]
        .as_array()
        .unwrap_or_else(|| panic!("rankings in {body}"))
        .iter()
        .map(|r| {
            (
                r["userId"].as_str().expect("userId").to_owned(),
                r["value"]
                    .as_f64()
                    .unwrap_or_else(|| panic!("value in {r}")),
            )
        })
        .collect()
}

/// Stored numbers that are not finite, over every table that keeps a sum.
fn non_finite_rows(app: &TestApp) -> i64 {
    let big = "1.7976931348623157e308";
    app.count(&format!(
        "SELECT (SELECT count(*) FROM metric_totals WHERE NOT abs(total) <= {big})
              + (SELECT count(*) FROM leaderboard_values WHERE NOT abs(value) <= {big})
              + (SELECT count(*) FROM wrapped_days WHERE NOT abs(amount) <= {big})
              + (SELECT count(*) FROM wrapped_periods WHERE NOT abs(amount) <= {big})
              + (SELECT count(*) FROM wrapped_period_values WHERE NOT abs(amount) <= {big})
              + (SELECT count(*) FROM streak_periods WHERE sums LIKE '%null%')"
    ))
}

/// Every number in `v` is one (JSON has no infinity: serde writes it as null, which is
/// what made the SDK fail).
fn assert_no_null_numbers(v: &Value, keys: &[&str], path: &str) {
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                if keys.contains(&k.as_str()) {
                    assert!(child.is_number(), "{path}.{k} is {child}");
                }
                assert_no_null_numbers(child, keys, &format!("{path}.{k}"));
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                assert_no_null_numbers(child, keys, &format!("{path}[{i}]"));
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn a_second_huge_event_is_refused_and_every_read_still_parses() {
    let app = spawn_app(&config()).await;
    app.set_clock_ok("2031-03-04T10:00:00Z").await;
    let first = created(&app, "ann", 1e308).await;
    assert_eq!(first["total"].as_f64(), Some(1e308));

    let (status, body) = event(&app, "ann", 1e308).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let message = body["error"].as_str().expect("error");
    assert!(message.contains("too large to store"), "{message}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");

    assert_eq!(app.total("ann", "lessons").await, 1e308);
    assert_eq!(app.count("SELECT count(*) FROM events"), 1);
    assert_eq!(board(&app, "all-time").await, [("ann".to_owned(), 1e308)]);
    assert_eq!(non_finite_rows(&app), 0);
    let reads = [
        "/v1/users/ann/metrics/lessons",
        "/v1/users/ann/metrics",
        "/v1/users/ann/metrics/lessons/event-summary?aggregation=daily&startDate=2031-03-01&endDate=2031-03-05",
        "/v1/users/ann/leaderboards/all-time",
        "/v1/users/ann/streak",
        "/v1/users/ann/wrapped?year=2031",
        "/v1/leaderboards/two-days",
    ];
    for path in reads {
        let (status, body) = app.get_json(path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_no_null_numbers(
            &body,
            &["current", "total", "change", "value", "rank"],
            path,
        );
    }

    // Taking the total back down is fine, and then up again.
    assert_eq!(
        created(&app, "ann", -1e308).await["total"].as_f64(),
        Some(0.0)
    );
    assert_eq!(
        created(&app, "ann", 1e308).await["total"].as_f64(),
        Some(1e308)
    );
    assert_eq!(non_finite_rows(&app), 0);
}

#[tokio::test]
async fn a_refusal_after_boards_moved_undoes_the_ranks_and_the_pending_wrapped_amounts() {
    let app = spawn_app(&config()).await;
    app.set_clock_ok("2031-03-07T10:00:00Z").await; // Friday
    created(&app, "bob", 3.0).await;
    created(&app, "ann", -1e308).await;
    app.set_clock_ok("2031-03-09T10:00:00Z").await; // Sunday
    created(&app, "ann", 1e308).await;
    created(&app, "ann", 5.0).await;
    assert_eq!(app.total("ann", "lessons").await, 5.0);
    let before = board(&app, "all-time").await;
    assert_eq!(before, [("ann".to_owned(), 5.0), ("bob".to_owned(), 3.0)]);

    // Monday: the total (5 + 1e308), the day, the week and the month stay finite, but the
    // two-day run of Sunday and Monday would reach 2e308. The perpetual board, placed
    // before it, has already moved Ann to 1e308 in the writer's ranks.
    app.set_clock_ok("2031-03-10T10:00:00Z").await;
    let (status, body) = event(&app, "ann", 1e308).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]
            .as_str()
            .expect("error")
            .contains("a leaderboard value"),
        "{body}"
    );

    assert_eq!(app.total("ann", "lessons").await, 5.0);
    assert_eq!(board(&app, "all-time").await, before);
    let (_, mine) = app.get_json("/v1/users/ann/leaderboards/all-time").await;
    assert_eq!(mine["value"].as_f64(), Some(5.0), "{mine}");
    // The wrapped additions of the refused event were dropped from the batch: March holds
    // Ann's three events, and Monday has no row.
    let march: f64 = app
        .db()
        .query_row(
            "SELECT p.amount FROM wrapped_periods p JOIN users u ON u.id = p.user_id
              WHERE u.external_id = 'ann' AND p.attr_key = '' AND p.period = 'm:2031-03'",
            [],
            |r| r.get(0),
        )
        .expect("March");
    assert_eq!(march, 5.0);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM wrapped_days d JOIN users u ON u.id = d.user_id
              WHERE u.external_id = 'ann' AND d.day = 22348"
        ),
        0,
        "no row for Monday 10 March 2031"
    );
    assert_eq!(non_finite_rows(&app), 0);

    // After a restart the ranks are rebuilt from SQLite: the same board.
    let app = app.restart().await;
    assert_eq!(board(&app, "all-time").await, before);
}

#[tokio::test]
async fn an_admin_batch_skips_an_overflowing_event_and_applies_the_others() {
    let app = spawn_app(&config()).await;
    app.set_clock_ok("2031-03-04T10:00:00Z").await;
    created(&app, "ann", 1e308).await;
    let batch = json!([
        {"key": "lessons", "user": {"id": "bob"}, "value": 1},
        {"key": "lessons", "user": {"id": "ann"}, "value": 1e308, "idempotencyKey": "k1"},
        {"key": "lessons", "user": {"id": "cat"}, "value": 2}
    ]);
    let (status, body) = admin(&app, Method::POST, "/admin/v1/metrics/events", Some(&batch)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body, json!({ "accepted": 3 }));
    assert_eq!(app.total("ann", "lessons").await, 1e308);
    assert_eq!(app.total("bob", "lessons").await, 1.0);
    assert_eq!(app.total("cat", "lessons").await, 2.0);
    // The skipped event's idempotency key was not claimed.
    assert_eq!(app.count("SELECT count(*) FROM idempotency_keys"), 0);
    assert_eq!(app.count("SELECT count(*) FROM events"), 3);
    assert_eq!(
        board(&app, "all-time").await,
        [
            ("ann".to_owned(), 1e308),
            ("cat".to_owned(), 2.0),
            ("bob".to_owned(), 1.0)
        ]
    );
    assert_eq!(non_finite_rows(&app), 0);
    let metrics = app.metrics_text().await;
    assert_eq!(sample(&metrics, "trophyd_batch_events_skipped_total"), 1.0);
}

#[tokio::test]
async fn a_value_json_cannot_hold_as_a_double_is_refused() {
    let app = spawn_app(CONFIG).await;
    // 1e400 is valid JSON but no double: refused like any malformed value.
    let resp = app
        .send_raw(
            Method::POST,
            "/v1/metrics/lessons/event",
            r#"{"user": {"id": "ann"}, "value": 1e400}"#,
        )
        .await;
    assert_error(resp, StatusCode::BAD_REQUEST).await;
    assert_eq!(app.count("SELECT count(*) FROM users"), 0);
}
