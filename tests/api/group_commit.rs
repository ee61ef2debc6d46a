//! Many concurrent events for one user: all applied exactly once, in group commits.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{parts, sample, spawn_app, CONFIG};

const EVENTS: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_events_for_one_user() {
    let app = Arc::new(spawn_app(CONFIG).await);
    let before = app.metrics_text().await;
    let commands_before = sample(&before, "trophyd_writer_commands_total");

    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..EVENTS {
        let app = app.clone();
        tasks.spawn(async move {
            let resp = app
                .post_event(
                    "lessons",
                    &json!({"user": {"id": "hot"}, "value": 1}),
                    Some(&format!("burst-{i}")),
                )
                .await;
            parts(resp).await
        });
    }
    let mut totals = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (status, body) = joined.expect("task");
        assert_eq!(status, StatusCode::CREATED, "{body}");
        totals.push(body["total"].as_f64().expect("total") as i64);
    }
    // Serialized: every event saw a different running total, 1..=200.
    totals.sort_unstable();
    assert_eq!(totals, (1..=EVENTS as i64).collect::<Vec<_>>());
    assert_eq!(app.total("hot", "lessons").await, EVENTS as f64);
    assert_eq!(app.count("SELECT count(*) FROM events"), EVENTS as i64);
    assert_eq!(app.count("SELECT count(*) FROM users"), 1);

    let after = app.metrics_text().await;
    let commands = sample(&after, "trophyd_writer_commands_total") - commands_before;
    let batches = sample(&after, "trophyd_writer_batches_total");
    assert!(commands >= EVENTS as f64, "commands {commands}");
    assert!(
        batches <= sample(&after, "trophyd_writer_commands_total"),
        "batches {batches}"
    );
    assert_eq!(
        sample(&after, "trophyd_events_applied_total"),
        EVENTS as f64
    );
    // Where the writer's time went and what it wrote, as the load bench reads them.
    assert!(sample(&after, "trophyd_writer_pages_written_total") >= 1.0);
    for feature in ["core", "commit"] {
        let name = format!("trophyd_writer_feature_seconds_total{{feature=\"{feature}\"}}");
        assert!(sample(&after, &name) > 0.0, "{feature}");
    }
    assert_eq!(sample(&after, "trophyd_writer_refused_total"), 0.0);
}
