//! HTTP-level faults (issue #17, items 12 and 13): bodies that stall or trickle time out
//! with 408 and a closed connection; bodies over 1 MiB answer 413, URLs over 16 KiB 414,
//! both as `{"error": ...}`; error messages repeat at most a short prefix of the input.
//! Raw TCP is used where the client's behaviour is the point.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{assert_error, spawn_app, Config, TestApp, CONFIG};

/// CONFIG with a body timeout short enough for a test.
fn config(timeout_ms: u32) -> Config {
    Config::base().with(&format!("[limits]\nbody_timeout_ms = {timeout_ms}"))
}

async fn connect(app: &TestApp) -> TcpStream {
    let addr = app.address.trim_start_matches("http://");
    TcpStream::connect(addr).await.expect("connect")
}

fn head(app: &TestApp, path: &str, extra: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nX-API-KEY: {}\r\nContent-Type: application/json\r\n{extra}\r\n",
        app.app_key
    )
}

/// Reads until the server closes the connection (or `limit` passes); returns the bytes
/// and whether it closed.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    let end = Instant::now() + limit;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            // A reset after the response counts as closed too.
            Ok(Err(_)) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
        }
    }
}

/// The status and JSON body of a raw HTTP/1.1 response (Content-Length framed).
fn parse_response(raw: &str) -> (u16, Value) {
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {raw:?}"));
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_stalled_body_answers_408_within_the_deadline_and_closes_the_connection() {
    let app = spawn_app(&config(400)).await;
    let mut stream = connect(&app).await;
    let started = Instant::now();
    let request = head(&app, "/v1/metrics/lessons/event", "Content-Length: 60\r\n");
    stream
        .write_all(format!("{request}{{\"user\": {{\"id\": \"ann\"}},").as_bytes())
        .await
        .expect("write");
    let (raw, closed) = read_to_close(&mut stream, Duration::from_secs(10)).await;
    let took = started.elapsed();
    let (status, body) = parse_response(&raw);
    assert_eq!(status, 408, "{raw}");
    assert!(body["error"].is_string(), "{raw}");
    assert!(closed, "the connection stays open: {raw}");
    assert!(
        took >= Duration::from_millis(350) && took < Duration::from_secs(3),
        "answered after {took:?}"
    );
    assert_eq!(app.count("SELECT count(*) FROM users"), 0);
}

#[tokio::test]
async fn a_trickling_body_is_cut_off_at_the_deadline_too() {
    let app = spawn_app(&config(500)).await;
    let mut stream = connect(&app).await;
    let body = r#"{"user": {"id": "ann"}, "value": 1}"#;
    let request = head(
        &app,
        "/v1/metrics/lessons/event",
        &format!("Content-Length: {}\r\n", body.len()),
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    // A byte every 100 ms: never idle for long, and still far too slow. Between bytes
    // the client listens, and stops sending once the answer comes.
    let mut sent = 0;
    let mut early = Vec::new();
    let mut buf = [0u8; 8192];
    for byte in body.bytes() {
        if stream.write_all(&[byte]).await.is_err() {
            break;
        }
        sent += 1;
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buf)).await
        {
            early.extend_from_slice(&buf[..n]);
            break;
        }
    }
    assert!(sent < body.len(), "the whole body went through");
    let (rest, closed) = read_to_close(&mut stream, Duration::from_secs(5)).await;
    let raw = format!("{}{rest}", String::from_utf8_lossy(&early));
    let (status, json) = parse_response(&raw);
    assert_eq!(status, 408, "{raw}");
    assert!(json["error"].is_string(), "{raw}");
    assert!(closed);
    assert_eq!(app.count("SELECT count(*) FROM events"), 0);
}

#[tokio::test]
async fn a_prompt_body_on_a_kept_alive_connection_is_not_affected() {
    let app = spawn_app(&config(300)).await;
    // Requests spread over more than one timeout on the same client are each timed from
    // their own head.
    for _ in 0..3 {
        app.event_ok("lessons", "ann", 1.0).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.total("ann", "lessons").await, 3.0);
}

#[tokio::test]
async fn a_body_over_one_mebibyte_answers_413() {
    let app = spawn_app(CONFIG).await;
    // Announced by Content-Length.
    let big = format!(
        r#"{{"user": {{"id": "ann", "name": "{}"}}, "value": 1}}"#,
        "x".repeat(10 * 1024 * 1024)
    );
    let resp = app
        .send_raw(Method::POST, "/v1/metrics/lessons/event", &big)
        .await;
    let message = assert_error(resp, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(message.contains("1048576"), "{message}");

    // Sent in chunks without a length: found while reading.
    let mut stream = connect(&app).await;
    let request = head(&app, "/v1/users", "Transfer-Encoding: chunked\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let chunk = "y".repeat(64 * 1024);
    for _ in 0..20 {
        let framed = format!("{:x}\r\n{chunk}\r\n", chunk.len());
        if stream.write_all(framed.as_bytes()).await.is_err() {
            break;
        }
    }
    let (raw, _) = read_to_close(&mut stream, Duration::from_secs(5)).await;
    let (status, json) = parse_response(&raw);
    assert_eq!(status, 413, "{raw}");
    assert!(json["error"].is_string(), "{raw}");
    assert_eq!(app.count("SELECT count(*) FROM users"), 0);
}

#[tokio::test]
async fn long_urls_answer_414_as_json_up_to_what_actix_parses() {
    let app = spawn_app(CONFIG).await;
    let long = format!("/v1/users/{}", "u".repeat(20 * 1024));
    let message = assert_error(app.get(&long).await, StatusCode::URI_TOO_LONG).await;
    assert!(message.contains("16384"), "{message}");
    let query = format!("/v1/streaks?userIds={}", "a,".repeat(10 * 1024));
    assert_error(app.get(&query).await, StatusCode::URI_TOO_LONG).await;

    // From 64 KiB the `http` crate refuses the URI while actix parses the request head,
    // before any of trophyd's code runs: 400 with an empty body (README "Input limits").
    // reqwest will not even send such a URL, so it goes over raw TCP.
    let mut stream = connect(&app).await;
    let request = format!(
        "GET /v1/users/{} HTTP/1.1\r\nHost: localhost\r\nX-API-KEY: {}\r\n\r\n",
        "u".repeat(100 * 1024),
        app.app_key
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let (raw, _) = read_to_close(&mut stream, Duration::from_secs(5)).await;
    let status_line = raw.lines().next().unwrap_or_default().to_owned();
    assert!(status_line.starts_with("HTTP/1.1 400"), "{status_line}");
    // The server is unharmed.
    let (status, _) = app.get_json("/v1/users/nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn error_messages_repeat_only_the_start_of_long_input() {
    let app = spawn_app(CONFIG).await;
    let long = "Z".repeat(100 * 1024);
    let cases = [
        (
            json!({"user": {"id": "ann", "tz": long}, "value": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid time zone: ZZZ",
        ),
        (
            json!({"user": {"id": "ann"}, "value": 1, "attributes": {long.clone(): "x"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid attribute keys: ZZZ",
        ),
        (
            json!({"user": {"id": "ann"}, "value": long}),
            StatusCode::BAD_REQUEST,
            "Invalid request body: invalid type: string \"ZZZ",
        ),
    ];
    for (body, status, start) in cases {
        let message = assert_error(
            app.send_json(Method::POST, "/v1/metrics/lessons/event", &body)
                .await,
            status,
        )
        .await;
        assert!(message.starts_with(start), "{message}");
        assert!(message.contains('…'), "{message}");
        assert!(message.len() < 400, "{} bytes echoed", message.len());
    }
    // Many unknown keys: the first ten, and how many more.
    let mut attributes = serde_json::Map::new();
    for i in 0..1000 {
        attributes.insert(format!("k{i:04}"), json!("x"));
    }
    let body = json!({"user": {"id": "ann", "attributes": attributes}, "value": 1});
    let message = assert_error(
        app.send_json(Method::POST, "/v1/metrics/lessons/event", &body)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(message.contains("k0009 and 990 more"), "{message}");
    assert_eq!(app.count("SELECT count(*) FROM users"), 0);
}

#[tokio::test]
async fn a_method_a_route_does_not_take_answers_405_with_an_error_body() {
    let app = spawn_app(CONFIG).await;
    let resp = app
        .admin_request(Method::PUT, "/admin/v1/attributes")
        .send()
        .await
        .expect("request");
    let message = assert_error(resp, StatusCode::METHOD_NOT_ALLOWED).await;
    assert!(message.contains("PUT"), "{message}");
}
