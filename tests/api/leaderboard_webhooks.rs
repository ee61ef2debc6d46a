//! Leaderboard webhooks (docs/behaviour/webhooks.md#run-and-boost-timing) under the test
//! clock, received by a local HTTP server: `leaderboard.started` at 10:00 UTC the day
//! before a run, `leaderboard.changed` and `leaderboard.rank_changed` (coalesced per
//! window) on changes, and `leaderboard.finished` with the top 10 at 13:00 UTC the day
//! after a run.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Config, TestApp};
use crate::leaderboards::event;
use crate::receiver::Receiver;

fn config(url: &str) -> Config {
    Config::new()
        .with("[limits]\nleaderboard_rank_changed_window_seconds = 60")
        .metric("lessons", "Lessons")
        .with(WEEKLY)
        .webhook(
            url,
            "whsec_test",
            r#"events = ["leaderboard.started", "leaderboard.changed", "leaderboard.finished", "leaderboard.rank_changed"]"#,
        )
}

const WEEKLY: &str = r#"
[[leaderboards]]
key = "weekly"
name = "Weekly"
rank_by = "metric"
metric = "lessons"
start = "2031-03-03"
run_unit = "day"
run_interval = 7
"#;

fn queued(app: &TestApp, kind: &str) -> i64 {
    app.count(&format!(
        "SELECT count(*) FROM webhook_outbox WHERE event_type = '{kind}'"
    ))
}

/// `(userId, rank, value)` of a webhook's rankings.
fn standings(leaderboard: &Value) -> Vec<(String, i64, i64)> {
    leaderboard["rankings"]
        .as_array()
        .expect("rankings")
        .iter()
        .map(|r| {
            (
                r["userId"].as_str().expect("id").to_owned(),
                r["rank"].as_i64().expect("rank"),
                r["value"].as_i64().expect("value"),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_leaderboard_webhook_fires_at_its_time() {
    let receiver = Receiver::start().await;
    let app = spawn_app(&config(&receiver.url)).await;
    app.set_clock_ok("2031-03-02T09:59:59Z").await;
    assert_eq!(queued(&app, "leaderboard.started"), 0);

    // 10:00 UTC the day before the run: UTC+14 is entering it.
    app.set_clock_ok("2031-03-02T10:00:00Z").await;
    let started = receiver.wait_for("leaderboard.started", 1).await;
    let lb = &started[0]["leaderboard"];
    assert_eq!(
        (
            lb["key"].clone(),
            lb["status"].clone(),
            lb["start"].clone(),
            lb["end"].clone(),
            lb["rankings"].clone()
        ),
        (
            json!("weekly"),
            json!("active"),
            json!("2031-03-03"),
            json!("2031-03-09"),
            json!([])
        )
    );

    let kiri = json!({"id": "kiri", "tz": "Pacific/Kiritimati"});
    event(&app, "2031-03-02T10:30:00Z", kiri.clone(), "lessons", 1.0).await;
    let changed = receiver.wait_for("leaderboard.changed", 1).await;
    assert_eq!(
        standings(&changed[0]["leaderboard"]),
        [("kiri".to_owned(), 1, 1)]
    );
    let ranked = receiver.wait_for("leaderboard.rank_changed", 1).await;
    assert_eq!(ranked[0]["user"]["id"], "kiri");
    let lb = &ranked[0]["leaderboard"];
    assert_eq!(
        (
            lb["rank"].clone(),
            lb["previousRank"].clone(),
            lb["value"].clone(),
            lb["previousValue"].clone()
        ),
        (json!(1), json!(null), json!(1), json!(null))
    );

    event(&app, "2031-03-03T10:00:00Z", json!("ann"), "lessons", 2.0).await;
    let changed = receiver.wait_for("leaderboard.changed", 2).await;
    assert_eq!(
        standings(&changed[1]["leaderboard"]),
        [("ann".to_owned(), 1, 2), ("kiri".to_owned(), 2, 1)]
    );
    // Within ann's 60 s window: held back, then sent once with the latest state.
    event(&app, "2031-03-03T10:00:30Z", json!("kiri"), "lessons", 2.0).await;
    event(&app, "2031-03-03T10:00:40Z", json!("ann"), "lessons", 5.0).await;
    let anns = |all: Vec<Value>| -> Vec<Value> {
        all.into_iter()
            .filter(|b| b["user"]["id"] == "ann")
            .collect()
    };
    assert_eq!(
        anns(receiver.wait_for("leaderboard.rank_changed", 3).await).len(),
        1
    );
    assert_eq!(queued(&app, "leaderboard.rank_changed"), 3);
    app.set_clock_ok("2031-03-03T10:01:00Z").await;
    let all = receiver.wait_for("leaderboard.rank_changed", 4).await;
    let ann = anns(all);
    assert_eq!(ann.len(), 2);
    assert_eq!(
        (
            ann[1]["leaderboard"]["rank"].clone(),
            ann[1]["leaderboard"]["previousRank"].clone(),
            ann[1]["leaderboard"]["value"].clone()
        ),
        (json!(1), json!(2), json!(7))
    );

    // The next run is announced the day before; the first one is finished at 13:00 UTC
    // the day after it ends (when UTC−12 has left it).
    app.set_clock_ok("2031-03-09T10:00:00Z").await;
    let started = receiver.wait_for("leaderboard.started", 2).await;
    assert_eq!(started[1]["leaderboard"]["start"], "2031-03-10");
    app.set_clock_ok("2031-03-10T12:59:59Z").await;
    assert_eq!(queued(&app, "leaderboard.finished"), 0);
    app.set_clock_ok("2031-03-10T13:00:00Z").await;
    let finished = receiver.wait_for("leaderboard.finished", 1).await;
    let lb = &finished[0]["leaderboard"];
    assert_eq!(
        (lb["status"].clone(), lb["start"].clone(), lb["end"].clone()),
        (json!("finished"), json!("2031-03-03"), json!("2031-03-09"))
    );
    assert_eq!(
        standings(lb),
        [("ann".to_owned(), 1, 7), ("kiri".to_owned(), 2, 3)]
    );
    // Each notice is sent once, also across a restart.
    let app = app.restart().await;
    app.set_clock_ok("2031-03-10T14:00:00Z").await;
    assert_eq!(receiver.of("leaderboard.finished").len(), 1);
    assert_eq!(receiver.of("leaderboard.started").len(), 2);
}

#[tokio::test]
async fn finished_sends_only_the_top_ten() {
    let receiver = Receiver::start().await;
    let app = spawn_app(&config(&receiver.url)).await;
    for i in 0..12 {
        event(
            &app,
            "2031-03-04T10:00:00Z",
            json!(format!("u{i:02}")),
            "lessons",
            f64::from(20 - i),
        )
        .await;
    }
    app.set_clock_ok("2031-03-10T13:30:00Z").await;
    let finished = receiver.wait_for("leaderboard.finished", 1).await;
    let top = standings(&finished[0]["leaderboard"]);
    assert_eq!(top.len(), 10);
    assert_eq!(top[0], ("u00".to_owned(), 1, 20));
    assert_eq!(top[9], ("u09".to_owned(), 10, 11));
}
