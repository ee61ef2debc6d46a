//! Anniversary achievements (issue #17 item 4; SDK 1.27.0 `trigger: "anniversary"`,
//! `anniversaryYears`, `signUpDate`): completed by the scheduler on the user's local
//! anniversary date with `achievement.completed`, backdated silently when defined late or
//! when a past sign-up date is set, and validated on every path that writes them.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{parts, spawn_app, Config, TestApp, DEAD_HOOK, NO_RETRY, T0};

fn config() -> Config {
    Config::new()
        .attribute("plan", "Plan", "user")
        .metric("lessons", "Lessons")
        .webhook(DEAD_HOOK, "whsec_anniversaries", NO_RETRY)
        .with(DEFINITIONS)
}

const DEFINITIONS: &str = r#"
[[achievements]]
key = "one-year"
name = "One year with us"
trigger = "anniversary"
anniversary_years = 1

[[achievements]]
key = "pro-one-year"
name = "One year of Pro"
trigger = "anniversary"
anniversary_years = 1
user_attributes = { plan = "pro" }
"#;

async fn put_user(app: &TestApp, id: &str, body: Value) -> (StatusCode, Value) {
    parts(
        app.send_json(Method::PUT, &format!("/v1/users/{id}"), &body)
            .await,
    )
    .await
}

/// `(user, achievement key, backdated)` for every completion, in completion order.
fn completions(app: &TestApp) -> Vec<(String, String, bool)> {
    let conn = app.db();
    let mut stmt = conn
        .prepare(
            "SELECT u.external_id, d.key, c.backdated FROM achievement_completions c
               JOIN users u ON u.id = c.user_id JOIN definitions d ON d.id = c.achievement_id
              ORDER BY c.achieved_at, c.id",
        )
        .expect("prepare");
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("query");
    rows.map(|r| r.expect("row")).collect()
}

/// `(user, achievement key)` of every queued `achievement.completed`.
fn hooks(app: &TestApp) -> Vec<(String, String)> {
    let conn = app.db();
    let mut stmt = conn
        .prepare(
            "SELECT body FROM webhook_outbox WHERE event_type = 'achievement.completed' ORDER BY id",
        )
        .expect("prepare");
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("query");
    rows.map(|r| {
        let body: Value = serde_json::from_str(&r.expect("row")).expect("json");
        (
            body["user"]["id"].as_str().expect("user").to_owned(),
            body["achievement"]["key"].as_str().expect("key").to_owned(),
        )
    })
    .collect()
}

fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[tokio::test]
async fn anniversaries_complete_on_the_local_date_in_each_zone() {
    let app = spawn_app(&config()).await;
    app.set_clock_ok(T0).await;
    // T0 is 2031-03-01 10:30 UTC: 2031-03-02 in Kiritimati (+14), 2031-02-28 in Pago Pago
    // (-11), 16:00 on 2031-03-01 in Kolkata (+5:30).
    let (status, kiri) = put_user(
        &app,
        "kiri",
        json!({"tz": "Pacific/Kiritimati", "signUpDate": "2031-03-02", "attributes": {"plan": "pro"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{kiri}");
    assert_eq!(kiri["signUpDate"], json!("2031-03-02"));
    // The same date is tomorrow in Pago Pago: refused, and nothing is stored.
    let (status, body) = put_user(
        &app,
        "pago",
        json!({"tz": "Pacific/Pago_Pago", "signUpDate": "2031-03-01"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"]
        .as_str()
        .expect("error")
        .contains("signUpDate"));
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE external_id = 'pago'"),
        0
    );
    let (status, _) = put_user(
        &app,
        "pago",
        json!({"tz": "Pacific/Pago_Pago", "signUpDate": "2031-02-28T20:00:00Z"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // No sign-up date: counted from the local date trophyd first saw the user.
    let (status, kolkata) = put_user(&app, "kolkata", json!({"tz": "Asia/Kolkata"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kolkata["signUpDate"], Value::Null);

    // Anniversaries: 2032-02-28 in Pago Pago (11:00 UTC), 2032-03-01 in Kolkata (18:30 UTC
    // the day before), 2032-03-02 in Kiritimati (10:00 UTC the day before).
    app.set_clock_ok("2032-02-27T12:00:00Z").await;
    assert!(completions(&app).is_empty(), "{:?}", completions(&app));
    app.set_clock_ok("2032-02-28T10:59:00Z").await;
    assert!(
        completions(&app).is_empty(),
        "Pago Pago is still on 2032-02-27"
    );
    app.set_clock_ok("2032-02-28T11:00:00Z").await;
    assert_eq!(
        hooks(&app),
        owned(&[("pago", "one-year")]),
        "midnight in Pago Pago"
    );
    app.set_clock_ok("2032-02-29T18:29:00Z").await;
    assert_eq!(
        hooks(&app).len(),
        1,
        "Kolkata is on 2032-02-29 until 18:30 UTC"
    );
    app.set_clock_ok("2032-02-29T18:30:00Z").await;
    assert_eq!(
        hooks(&app),
        owned(&[("pago", "one-year"), ("kolkata", "one-year")])
    );
    app.set_clock_ok("2032-03-01T09:59:00Z").await;
    assert_eq!(
        hooks(&app).len(),
        2,
        "Kiritimati is on 2032-03-01 until 10:00 UTC"
    );
    app.set_clock_ok("2032-03-01T10:00:00Z").await;
    assert_eq!(
        hooks(&app),
        owned(&[
            ("pago", "one-year"),
            ("kolkata", "one-year"),
            ("kiri", "one-year"),
            ("kiri", "pro-one-year"),
        ])
    );
    assert!(completions(&app).iter().all(|(_, _, backdated)| !backdated));

    // Each completion reads back with its trigger and years, once.
    let (status, list) = app.get_json("/v1/users/kiri/achievements").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let one_year = list
        .as_array()
        .expect("list")
        .iter()
        .find(|a| a["key"] == "one-year")
        .expect("one-year");
    assert_eq!(one_year["trigger"], "anniversary");
    assert_eq!(one_year["anniversaryYears"], 1);
    assert_eq!(one_year["achievedAt"], "2032-03-01T10:00:00Z");
    app.set_clock_ok("2033-06-01T00:00:00Z").await;
    assert_eq!(
        completions(&app).len(),
        4,
        "each achievement completes once"
    );
}

#[tokio::test]
async fn past_anniversaries_complete_silently() {
    let app = spawn_app(&config()).await;
    app.set_clock_ok(T0).await;
    let (status, _) = put_user(&app, "old", json!({"signUpDate": "2020-05-05"})).await;
    assert_eq!(status, StatusCode::OK);
    // Set on creation: the one-year achievement is long past, completed without a webhook.
    assert_eq!(
        completions(&app),
        vec![("old".to_owned(), "one-year".to_owned(), true)]
    );
    assert!(hooks(&app).is_empty());

    // Set later on an existing user: the same.
    let (status, _) = put_user(&app, "later", json!({"attributes": {"plan": "pro"}})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(completions(&app).len(), 1);
    let (status, body) = parts(
        app.send_json(
            Method::PATCH,
            "/v1/users/later",
            &json!({"signUpDate": "2029-01-01"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["signUpDate"], "2029-01-01");
    let later: Vec<_> = completions(&app)
        .into_iter()
        .filter(|(u, _, _)| u == "later")
        .collect();
    assert_eq!(later.len(), 2, "{later:?}");
    assert!(later.iter().all(|(_, _, backdated)| *backdated));

    // An achievement created through the Admin API is backdated the same way, then the
    // scheduler takes over with webhooks for anniversaries that come later.
    let (status, _) = put_user(&app, "recent", json!({"signUpDate": "2030-03-10"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, created) = parts(
        app.admin_request(Method::POST, "/admin/v1/achievements")
            .json(&json!([{"name": "Two years", "key": "two-years", "trigger": "anniversary", "anniversaryYears": 2, "status": "active"}]))
            .send()
            .await
            .expect("request"),
    )
    .await;
    assert!(status.is_success(), "{created}");
    assert_eq!(created["created"][0]["anniversaryYears"], 2, "{created}");
    // Backdating runs in the background, user by user, and marks the achievement done in
    // a last step: wait for that mark, or the clock move below would find the achievement
    // still being backdated (the anniversary job leaves it alone until then) and "recent"
    // would get no webhook (this raced, 1 run in 6).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.count(
        "SELECT count(*) FROM achievement_backdates b JOIN definitions d ON d.id = b.achievement_id
          WHERE d.key = 'two-years'",
    ) < 1
    {
        assert!(std::time::Instant::now() < deadline, "no backdate");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // Every past two-year anniversary ("old" in 2022, "later" on 2031-01-01) was completed
    // silently.
    let two_years: Vec<_> = completions(&app)
        .into_iter()
        .filter(|(_, k, _)| k == "two-years")
        .collect();
    assert_eq!(two_years.len(), 2, "{two_years:?}");
    assert!(two_years
        .iter()
        .all(|(u, _, backdated)| (u == "old" || u == "later") && *backdated));
    assert!(hooks(&app).is_empty());
    // "recent" reaches one year on 2031-03-10 and two on 2032-03-10.
    app.set_clock_ok("2032-03-10T00:00:00Z").await;
    assert_eq!(
        hooks(&app),
        owned(&[("recent", "one-year"), ("recent", "two-years")])
    );
}

#[tokio::test]
async fn bad_anniversary_input_is_refused_and_changes_nothing() {
    let app = spawn_app(&config()).await;
    app.set_clock_ok(T0).await;
    for bad in ["2031-02-30", "March 1st", "1899-12-31", ""] {
        let (status, body) = put_user(&app, "u1", json!({"signUpDate": bad})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    let (status, body) = put_user(&app, "u1", json!({"signUpDate": 20310101})).await;
    assert!(status.is_client_error(), "{body}");
    assert_eq!(app.count("SELECT count(*) FROM users"), 0);
    // null clears it.
    let (status, _) = put_user(&app, "u1", json!({"signUpDate": "2031-01-01"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = put_user(&app, "u1", json!({"signUpDate": null})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["signUpDate"], Value::Null);

    for (item, needle) in [
        (
            json!({"name": "A", "trigger": "anniversary"}),
            "anniversaryYears",
        ),
        (
            json!({"name": "A", "trigger": "anniversary", "anniversaryYears": 0}),
            "anniversaryYears",
        ),
        (
            json!({"name": "A", "trigger": "anniversary", "anniversaryYears": 101}),
            "anniversaryYears",
        ),
    ] {
        let resp = app
            .admin_request(Method::POST, "/admin/v1/achievements")
            .json(&json!([item]))
            .send()
            .await
            .expect("request");
        let (status, body) = parts(resp).await;
        let issue = body["issues"][0]["message"]
            .as_str()
            .or(body["error"].as_str())
            .unwrap_or_default()
            .to_owned();
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || issue.contains(needle),
            "{item}: {status} {body}"
        );
        assert!(issue.contains(needle), "{item}: {body}");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM definitions WHERE kind = 'achievement'"),
        2
    );
}
