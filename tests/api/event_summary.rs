//! `GET /v1/users/{id}/metrics/{key}/event-summary`
//! (docs/behaviour/users-and-events.md#event-summaries), driven by the test clock. Dates
//! are 2031 (same calendar as 2025; see `helpers::T0`).

use chrono::{Datelike, NaiveDate, Weekday};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_error, assert_json_eq, parts, spawn_app, TestApp, CONFIG};

async fn event_at(app: &TestApp, at: &str, user: &str, tz: &str, value: f64) {
    app.set_clock_ok(at).await;
    let (status, body) = parts(
        app.post_event(
            "lessons",
            &json!({"user": {"id": user, "tz": tz}, "value": value}),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn summary(app: &TestApp, user: &str, query: &str) -> (StatusCode, Value) {
    app.get_json(&format!(
        "/v1/users/{user}/metrics/lessons/event-summary?{query}"
    ))
    .await
}

async fn summary_ok(app: &TestApp, user: &str, aggregation: &str, start: &str, end: &str) -> Value {
    let (status, body) = summary(
        app,
        user,
        &format!("aggregation={aggregation}&startDate={start}&endDate={end}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn rows(items: &[(&str, f64, f64)]) -> Value {
    Value::Array(
        items
            .iter()
            .map(|(date, total, change)| json!({"date": date, "total": total, "change": change}))
            .collect(),
    )
}

/// A UTC user with events before, inside and after the ranges queried below.
async fn history(app: &TestApp) {
    for (at, value) in [
        ("2031-01-15T12:00:00Z", 5.0),
        ("2031-02-27T12:00:00Z", 1.0),
        ("2031-03-01T10:30:00Z", 2.0),
        ("2031-03-03T08:00:00Z", 3.0),
        ("2031-03-06T20:00:00Z", 10.0),
        ("2031-04-02T00:00:00Z", -4.0),
    ] {
        event_at(app, at, "sum", "UTC", value).await;
    }
}

#[tokio::test]
async fn daily_summary_lists_every_day_with_running_totals() {
    let app = spawn_app(CONFIG).await;
    history(&app).await;
    let body = summary_ok(&app, "sum", "daily", "2031-02-28", "2031-03-04").await;
    assert_json_eq(
        &body,
        &rows(&[
            ("2031-02-28", 6.0, 0.0),
            ("2031-03-01", 8.0, 2.0),
            ("2031-03-02", 8.0, 0.0),
            ("2031-03-03", 11.0, 3.0),
            ("2031-03-04", 11.0, 0.0),
        ]),
    );
    // One day: equal dates are allowed.
    let body = summary_ok(&app, "sum", "daily", "2031-03-03", "2031-03-03").await;
    assert_json_eq(&body, &rows(&[("2031-03-03", 11.0, 3.0)]));
    // A range with no events at all after the last one.
    let body = summary_ok(&app, "sum", "daily", "2031-04-05", "2031-04-06").await;
    assert_json_eq(
        &body,
        &rows(&[("2031-04-05", 17.0, 0.0), ("2031-04-06", 17.0, 0.0)]),
    );
}

#[tokio::test]
async fn weekly_rows_start_on_mondays() {
    let app = spawn_app(CONFIG).await;
    history(&app).await;
    // 2031-03-01 is a Saturday: the first row is the Monday before it.
    let body = summary_ok(&app, "sum", "weekly", "2031-03-01", "2031-03-12").await;
    assert_json_eq(
        &body,
        &rows(&[
            ("2031-02-24", 8.0, 3.0),
            ("2031-03-03", 21.0, 13.0),
            ("2031-03-10", 21.0, 0.0),
        ]),
    );
    for row in body.as_array().expect("rows") {
        let date = NaiveDate::parse_from_str(row["date"].as_str().expect("date"), "%Y-%m-%d")
            .expect("a date");
        assert_eq!(date.weekday(), Weekday::Mon, "{row}");
    }
}

#[tokio::test]
async fn monthly_rows_start_on_the_first() {
    let app = spawn_app(CONFIG).await;
    history(&app).await;
    let body = summary_ok(&app, "sum", "monthly", "2031-01-10", "2031-04-01").await;
    assert_json_eq(
        &body,
        &rows(&[
            ("2031-01-01", 5.0, 5.0),
            ("2031-02-01", 6.0, 1.0),
            ("2031-03-01", 21.0, 15.0),
            ("2031-04-01", 17.0, -4.0),
        ]),
    );
}

#[tokio::test]
async fn bad_parameters_are_422() {
    let app = spawn_app(CONFIG).await;
    event_at(&app, "2031-03-01T10:30:00Z", "u1", "UTC", 1.0).await;
    for query in [
        "",
        "startDate=2031-03-01&endDate=2031-03-02",
        "aggregation=daily&endDate=2031-03-02",
        "aggregation=daily&startDate=2031-03-01",
        "aggregation=hourly&startDate=2031-03-01&endDate=2031-03-02",
        "aggregation=Daily&startDate=2031-03-01&endDate=2031-03-02",
        "aggregation=daily&startDate=2031-13-01&endDate=2031-12-02",
        "aggregation=daily&startDate=2031-02-30&endDate=2031-03-02",
        "aggregation=daily&startDate=03/01/2031&endDate=2031-03-02",
        "aggregation=daily&startDate=2031-03-01&endDate=tomorrow",
        "aggregation=daily&startDate=2031-03-02&endDate=2031-03-01",
        "aggregation=weekly&startDate=2031-01-01&endDate=2032-02-06",
        "aggregation=monthly&startDate=2030-01-01&endDate=2031-12-31",
    ] {
        let (status, body) = summary(&app, "u1", query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert!(body["error"].is_string(), "{query}: {body}");
    }
    // Exactly 400 days apart is allowed.
    let body = summary_ok(&app, "u1", "monthly", "2031-01-01", "2032-02-05").await;
    assert_eq!(body.as_array().map(Vec::len), Some(14));
}

#[tokio::test]
async fn unknown_user_or_metric_is_404() {
    let app = spawn_app(CONFIG).await;
    event_at(&app, "2031-03-01T10:30:00Z", "u1", "UTC", 1.0).await;
    let q = "aggregation=daily&startDate=2031-03-01&endDate=2031-03-02";
    assert_error(
        app.get(&format!(
            "/v1/users/ghost/metrics/lessons/event-summary?{q}"
        ))
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_error(
        app.get(&format!("/v1/users/u1/metrics/pushups/event-summary?{q}"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn kiritimati_is_a_day_ahead() {
    let app = spawn_app(CONFIG).await;
    // 10:30Z is 00:30 on 2 March at +14.
    event_at(
        &app,
        "2031-03-01T10:30:00Z",
        "kiri",
        "Pacific/Kiritimati",
        1.0,
    )
    .await;
    let body = summary_ok(&app, "kiri", "daily", "2031-03-01", "2031-03-02").await;
    assert_json_eq(
        &body,
        &rows(&[("2031-03-01", 0.0, 0.0), ("2031-03-02", 1.0, 1.0)]),
    );
}

#[tokio::test]
async fn pago_pago_is_a_day_behind() {
    let app = spawn_app(CONFIG).await;
    // 10:30Z is 23:30 on 28 February at -11.
    event_at(
        &app,
        "2031-03-01T10:30:00Z",
        "pago",
        "Pacific/Pago_Pago",
        1.0,
    )
    .await;
    let body = summary_ok(&app, "pago", "daily", "2031-02-28", "2031-03-01").await;
    assert_json_eq(
        &body,
        &rows(&[("2031-02-28", 1.0, 1.0), ("2031-03-01", 1.0, 0.0)]),
    );
    // The month boundary moves with the zone too.
    let body = summary_ok(&app, "pago", "monthly", "2031-02-01", "2031-03-31").await;
    assert_json_eq(
        &body,
        &rows(&[("2031-02-01", 1.0, 1.0), ("2031-03-01", 1.0, 0.0)]),
    );
}

#[tokio::test]
async fn kolkata_half_hour_offset() {
    let app = spawn_app(CONFIG).await;
    // +05:30: 18:29Z is 23:59 on 1 March, 18:30Z is midnight on 2 March.
    event_at(&app, "2031-03-01T18:29:00Z", "kol", "Asia/Kolkata", 1.0).await;
    event_at(&app, "2031-03-01T18:30:00Z", "kol", "Asia/Kolkata", 2.0).await;
    let body = summary_ok(&app, "kol", "daily", "2031-03-01", "2031-03-02").await;
    assert_json_eq(
        &body,
        &rows(&[("2031-03-01", 1.0, 1.0), ("2031-03-02", 3.0, 2.0)]),
    );
}

#[tokio::test]
async fn london_across_both_dst_changes() {
    let app = spawn_app(CONFIG).await;
    // Clocks go forward at 01:00Z on Sunday 30 March 2031.
    event_at(&app, "2031-03-29T23:30:00Z", "ldn", "Europe/London", 1.0).await; // 29th 23:30 GMT
    event_at(&app, "2031-03-30T22:59:00Z", "ldn", "Europe/London", 4.0).await; // 30th 23:59 BST
    event_at(&app, "2031-03-30T23:30:00Z", "ldn", "Europe/London", 2.0).await; // 31st 00:30 BST
    let body = summary_ok(&app, "ldn", "daily", "2031-03-29", "2031-03-31").await;
    assert_json_eq(
        &body,
        &rows(&[
            ("2031-03-29", 1.0, 1.0),
            ("2031-03-30", 5.0, 4.0),
            ("2031-03-31", 7.0, 2.0),
        ]),
    );
    // Clocks go back at 01:00Z on Sunday 26 October 2031.
    event_at(&app, "2031-10-25T22:30:00Z", "ldn2", "Europe/London", 1.0).await; // 25th 23:30 BST
    event_at(&app, "2031-10-25T23:30:00Z", "ldn2", "Europe/London", 10.0).await; // 26th 00:30 BST
    event_at(&app, "2031-10-26T23:30:00Z", "ldn2", "Europe/London", 2.0).await; // 26th 23:30 GMT
    event_at(&app, "2031-10-27T00:30:00Z", "ldn2", "Europe/London", 100.0).await; // 27th 00:30 GMT
    let body = summary_ok(&app, "ldn2", "daily", "2031-10-25", "2031-10-27").await;
    assert_json_eq(
        &body,
        &rows(&[
            ("2031-10-25", 1.0, 1.0),
            ("2031-10-26", 13.0, 12.0),
            ("2031-10-27", 113.0, 100.0),
        ]),
    );
}

#[tokio::test]
async fn new_york_across_both_dst_changes() {
    let app = spawn_app(CONFIG).await;
    // EST -> EDT at 07:00Z on Sunday 9 March 2031.
    event_at(&app, "2031-03-09T04:30:00Z", "nyc", "America/New_York", 1.0).await; // 8th 23:30 EST
    event_at(&app, "2031-03-10T03:30:00Z", "nyc", "America/New_York", 2.0).await; // 9th 23:30 EDT
    event_at(&app, "2031-03-10T04:30:00Z", "nyc", "America/New_York", 4.0).await; // 10th 00:30 EDT
    let body = summary_ok(&app, "nyc", "daily", "2031-03-08", "2031-03-10").await;
    assert_json_eq(
        &body,
        &rows(&[
            ("2031-03-08", 1.0, 1.0),
            ("2031-03-09", 3.0, 2.0),
            ("2031-03-10", 7.0, 4.0),
        ]),
    );
    // EDT -> EST at 06:00Z on Sunday 2 November 2031.
    event_at(
        &app,
        "2031-11-02T03:30:00Z",
        "nyc2",
        "America/New_York",
        1.0,
    )
    .await; // 1st 23:30 EDT
    event_at(
        &app,
        "2031-11-03T04:30:00Z",
        "nyc2",
        "America/New_York",
        2.0,
    )
    .await; // 2nd 23:30 EST
    event_at(
        &app,
        "2031-11-03T05:30:00Z",
        "nyc2",
        "America/New_York",
        4.0,
    )
    .await; // 3rd 00:30 EST
    let body = summary_ok(&app, "nyc2", "daily", "2031-11-01", "2031-11-03").await;
    assert_json_eq(
        &body,
        &rows(&[
            ("2031-11-01", 1.0, 1.0),
            ("2031-11-02", 3.0, 2.0),
            ("2031-11-03", 7.0, 4.0),
        ]),
    );
}
