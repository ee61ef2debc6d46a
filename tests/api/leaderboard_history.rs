//! A user's leaderboard history includes the rank changes other users' events caused
//! (docs/behaviour/leaderboards.md#history), derived at read time: no history row is
//! written for the users an event moves past. Covers passes, drops from a full board, moves
//! between breakdown groups, `numEvents` and a restart.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};
use crate::leaderboards::{config, event};

async fn history(app: &TestApp, user: &str, query: &str) -> (Value, Vec<Value>) {
    let (status, body) = app
        .get_json(&format!("/v1/users/{user}/leaderboards/{query}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entries = body["history"].as_array().cloned().expect("history");
    (body, entries)
}

fn entry(at: &str, ranks: (Value, Value), values: (Value, Value)) -> Value {
    json!({
        "timestamp": at, "date": &at[..10],
        "previousRank": ranks.0, "rank": ranks.1,
        "previousValue": values.0, "value": values.1,
    })
}

fn rows_of(app: &TestApp, board: &str) -> i64 {
    app.count(&format!(
        "SELECT count(*) FROM leaderboard_history h JOIN definitions d ON d.id = h.leaderboard_id
          WHERE d.key = '{board}'"
    ))
}

#[tokio::test]
async fn a_user_passed_by_another_gets_an_entry_with_their_value_unchanged() {
    let app = spawn_app(&config()).await;
    event(&app, "2031-03-01T10:00:00Z", json!("ann"), "lessons", 5.0).await;
    let (_, before) = history(&app, "ann", "all-time").await;
    assert_eq!(
        before,
        [entry(
            "2031-03-01T10:00:00Z",
            (Value::Null, json!(1)),
            (Value::Null, json!(5))
        )]
    );
    // Bob overtakes Ann: Ann's history shows 1 → 2 with her value unchanged.
    event(&app, "2031-03-01T10:05:00Z", json!("bob"), "lessons", 8.0).await;
    let (ann, entries) = history(&app, "ann", "all-time").await;
    assert_eq!(
        (ann["rank"].clone(), ann["value"].clone()),
        (json!(2), json!(5))
    );
    assert_eq!(
        entries,
        [
            entry(
                "2031-03-01T10:00:00Z",
                (Value::Null, json!(1)),
                (Value::Null, json!(5))
            ),
            entry(
                "2031-03-01T10:05:00Z",
                (json!(1), json!(2)),
                (json!(5), json!(5))
            ),
        ]
    );
    // Ann takes the lead back; now Bob has an entry he did not cause.
    event(&app, "2031-03-01T10:10:00Z", json!("ann"), "lessons", 4.0).await;
    let (_, ann) = history(&app, "ann", "all-time").await;
    assert_eq!(
        ann.last(),
        Some(&entry(
            "2031-03-01T10:10:00Z",
            (json!(2), json!(1)),
            (json!(5), json!(9))
        ))
    );
    let (_, bob) = history(&app, "bob", "all-time").await;
    assert_eq!(
        bob,
        [
            entry(
                "2031-03-01T10:05:00Z",
                (Value::Null, json!(1)),
                (Value::Null, json!(8))
            ),
            entry(
                "2031-03-01T10:10:00Z",
                (json!(1), json!(2)),
                (json!(8), json!(8))
            ),
        ]
    );
    // numEvents counts derived entries too: the most recent ones, oldest first.
    let (_, last) = history(&app, "ann", "all-time?numEvents=2").await;
    assert_eq!(
        last.iter()
            .map(|e| e["timestamp"].clone())
            .collect::<Vec<_>>(),
        [json!("2031-03-01T10:05:00Z"), json!("2031-03-01T10:10:00Z")]
    );
    // Only the changes of the users whose value changed are stored.
    assert_eq!(rows_of(&app, "all-time"), 3);
    // Derived from SQLite and the rebuilt index, the same after a restart.
    let app = app.restart().await;
    let (_, again) = history(&app, "bob", "all-time").await;
    assert_eq!(again, bob);
}

#[tokio::test]
async fn a_newcomer_on_a_full_board_moves_those_it_passes_and_drops_the_lowest() {
    let app = spawn_app(&config()).await;
    let at = "2031-03-01T10:30:00Z";
    for (user, value) in [("a", 5.0), ("b", 4.0), ("c", 3.0)] {
        event(&app, at, json!(user), "minutes", value).await;
    }
    event(&app, "2031-03-01T10:31:00Z", json!("d"), "minutes", 4.5).await;
    let (_, a) = history(&app, "a", "top3").await;
    assert_eq!(a.len(), 1, "nobody passed a: {a:?}");
    let (b_now, b) = history(&app, "b", "top3").await;
    assert_eq!(b_now["rank"], 3);
    assert_eq!(
        b,
        [
            entry(at, (Value::Null, json!(2)), (Value::Null, json!(4))),
            entry(
                "2031-03-01T10:31:00Z",
                (json!(2), json!(3)),
                (json!(4), json!(4))
            ),
        ]
    );
    let (_, c) = history(&app, "c", "top3").await;
    assert_eq!(
        c.last(),
        Some(&entry(
            "2031-03-01T10:31:00Z",
            (json!(3), Value::Null),
            (json!(3), Value::Null)
        )),
        "dropped: its own row, not a derived one"
    );
    assert_eq!(c.len(), 2, "{c:?}");
}

#[tokio::test]
async fn moving_between_breakdown_groups_moves_the_others_of_both_groups() {
    let app = spawn_app(&config()).await;
    let at = "2031-03-01T10:30:00Z";
    let in_country =
        |id: &str, country: &str| json!({"id": id, "attributes": {"country": country}});
    event(&app, at, in_country("us1", "US"), "minutes", 5.0).await;
    event(&app, at, in_country("us2", "US"), "minutes", 3.0).await;
    event(&app, at, in_country("de1", "DE"), "minutes", 4.0).await;
    // us1 moves to Germany (6 there): us2 moves up in the US, de1 down in Germany.
    let moved = event(
        &app,
        "2031-03-01T10:40:00Z",
        in_country("us1", "DE"),
        "minutes",
        1.0,
    )
    .await;
    assert_eq!(moved["leaderboards"]["by-country"]["rank"], 1);
    let (_, us2) = history(&app, "us2", "by-country").await;
    assert_eq!(
        us2,
        [
            entry(at, (Value::Null, json!(2)), (Value::Null, json!(3))),
            entry(
                "2031-03-01T10:40:00Z",
                (json!(2), json!(1)),
                (json!(3), json!(3))
            ),
        ]
    );
    let (_, de1) = history(&app, "de1", "by-country").await;
    assert_eq!(
        de1,
        [
            entry(at, (Value::Null, json!(1)), (Value::Null, json!(4))),
            entry(
                "2031-03-01T10:40:00Z",
                (json!(1), json!(2)),
                (json!(4), json!(4))
            ),
        ]
    );
    // Changes in one group do not show in another's histories.
    event(
        &app,
        "2031-03-01T10:50:00Z",
        in_country("us3", "US"),
        "minutes",
        9.0,
    )
    .await;
    let (_, de1_after) = history(&app, "de1", "by-country").await;
    assert_eq!(de1_after, de1);
    let (_, us2_after) = history(&app, "us2", "by-country").await;
    assert_eq!(
        us2_after.last(),
        Some(&entry(
            "2031-03-01T10:50:00Z",
            (json!(1), json!(2)),
            (json!(3), json!(3))
        ))
    );
    assert_eq!(
        app.count("SELECT count(*) FROM leaderboard_history_moves"),
        1,
        "one move, kept under the group it left"
    );
}
