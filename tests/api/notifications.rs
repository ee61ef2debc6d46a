//! Notifications end to end (issue #14): messages decided by the real server on the test
//! clock, emails received by a real SMTP conversation (`smtp::SmtpSink`), the
//! `emails.*_due` webhooks by the recording receiver, pushes by a local Expo stand-in.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{admin, spawn_app, Config, TestApp, T0};
use crate::receiver::{unused_port, Receiver};
use crate::smtp::{Received, SinkOptions, SmtpSink};

pub(crate) fn config(smtp_url: &str, hooks: &Receiver, emails: &str, push: &str) -> Config {
    Config::new()
        .with(LESSONS)
        .webhook(
            &hooks.url,
            "whsec_test",
            r#"events = ["emails.achievement_due", "emails.streak_reminder_due", "emails.recap_due", "emails.reactivation_due"]"#,
        )
        .with(&format!(
            "[emails]\nsmtp_url = \"{smtp_url}\"\nfrom = \"Acme <streaks@acme.test>\"\n\
             public_url = \"https://gamify.acme.test\"\n{emails}\n{push}"
        ))
}

/// `lessons` (with units), a daily streak and three API achievements.
const LESSONS: &str = r#"
[[metrics]]
key = "lessons"
name = "Lessons completed"
units = "lessons"

[streaks]
frequency = "daily"
evaluation_mode = "OR"
metrics = [{ metric = "lessons", threshold = 1 }]

[[achievements]]
key = "welcome"
name = "Welcome aboard"
description = "You joined the club."
trigger = "api"

[[achievements]]
key = "second"
name = "Second wind"
trigger = "api"

[[achievements]]
key = "third"
name = "Third time"
trigger = "api"
"#;

async fn server(emails: &str) -> (TestApp, SmtpSink, Receiver) {
    let sink = SmtpSink::start(SinkOptions::default())
        .await
        .expect("smtp sink");
    let hooks = Receiver::start().await;
    let app = spawn_app(&config(&sink.url(), &hooks, emails, "")).await;
    app.set_clock_ok(T0).await;
    (app, sink, hooks)
}

pub(crate) async fn upsert(app: &TestApp, user: Value) {
    let id = user["id"].as_str().expect("id").to_owned();
    let resp = app
        .send_json(Method::PUT, &format!("/v1/users/{id}"), &user)
        .await;
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
}

pub(crate) async fn complete(app: &TestApp, key: &str, user: &str) {
    let resp = app
        .send_json(
            Method::POST,
            &format!("/v1/achievements/{key}/complete"),
            &json!({"user": {"id": user}}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
}

/// Moves the test clock by `seconds`: due messages are decided and attempted before it
/// answers.
async fn advance(app: &TestApp, seconds: i64) {
    assert_eq!(app.advance(seconds).await.status(), StatusCode::OK);
}

async fn deliveries(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = admin(
        app,
        Method::GET,
        &format!("/notifications/deliveries{query}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["deliveries"].as_array().cloned().unwrap_or_default()
}

/// Creates each `(id, tz, _)` user, subscribed with an address, and sends one event.
async fn users_with_an_event(app: &TestApp, users: &[(&str, &str, &str)]) {
    for (id, tz, _) in users {
        upsert(
            app,
            json!({"id": id, "email": format!("{id}@x.test"), "tz": tz, "subscribeToEmails": true}),
        )
        .await;
        app.event_ok("lessons", id, 1.0).await;
    }
}

/// Moves the clock to a second before `at`, checks that `event_type` has still fired
/// `fired` times, then to `at` and returns the webhook that fires then, with `at` as its
/// timestamp.
async fn fires_exactly_at(
    app: &TestApp,
    hooks: &Receiver,
    event_type: &str,
    fired: usize,
    at: &str,
) -> Value {
    let before =
        chrono::DateTime::parse_from_rfc3339(at).expect("at") - chrono::Duration::seconds(1);
    app.set_clock_ok(&before.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .await;
    assert_eq!(
        hooks.of(event_type).len(),
        fired,
        "{event_type} before {at}"
    );
    app.set_clock_ok(at).await;
    let due = hooks.wait_for(event_type, fired + 1).await;
    assert_eq!(due.len(), fired + 1, "{due:#?}");
    let last = due[fired].clone();
    assert_eq!(last["timestamp"], at);
    last
}

fn header<'m>(mail: &'m Received, name: &str) -> Option<&'m str> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    mail.data
        .split("\r\n\r\n")
        .next()?
        .split("\r\n")
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim())
}

fn unsubscribe_token(mail: &Received) -> String {
    let value = header(mail, "List-Unsubscribe").expect("List-Unsubscribe");
    let url = value.trim_start_matches('<').trim_end_matches('>');
    assert!(
        url.starts_with("https://gamify.acme.test/emails/unsubscribe?token="),
        "{url}"
    );
    url.split("token=").nth(1).expect("token").to_owned()
}

#[tokio::test]
async fn a_completed_achievement_emails_a_subscribed_user_once_and_one_click_unsubscribes() {
    let (app, sink, hooks) = server("[emails.achievement]").await;
    upsert(
        &app,
        json!({"id": "ada", "name": "Ada", "email": "ada@x.test", "subscribeToEmails": true}),
    )
    .await;
    upsert(
        &app,
        json!({"id": "bob", "email": "bob@x.test", "subscribeToEmails": false}),
    )
    .await;
    let (status, _) = admin(
        &app,
        Method::PATCH,
        "/settings",
        Some(json!({"experimentation": {"controlRatio": 100}, "branding": {"appName": "Acme"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    upsert(
        &app,
        json!({"id": "cid", "email": "cid@x.test", "subscribeToEmails": true}),
    )
    .await;

    for user in ["ada", "bob", "cid"] {
        complete(&app, "welcome", user).await;
    }
    let hook = hooks.wait_for("emails.achievement_due", 1).await;
    // The test clock route attempts what is due before it answers.
    advance(&app, 1).await;
    let mails = sink.messages();
    assert_eq!(mails.len(), 1, "only ada is emailed: {mails:#?}");
    let mail = &mails[0];
    assert_eq!(mail.to, vec!["ada@x.test"]);
    assert!(header(mail, "Subject")
        .expect("subject")
        .contains("Welcome aboard"));
    assert_eq!(
        header(mail, "List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(mail.data.contains("multipart/alternative"), "{}", mail.data);
    assert!(mail.data.contains("text/html") && mail.data.contains("text/plain"));

    // Only ada's webhook: bob opted out of emails, cid is in the control group.
    assert_eq!(hooks.of("emails.achievement_due").len(), 1);
    let body = &hook[0];
    assert_eq!(body["user"]["id"], "ada");
    assert_eq!(body["achievement"]["key"], "welcome");
    assert_eq!(body["achievement"]["name"], "Welcome aboard");
    assert!(body["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));

    let listed = deliveries(&app, "").await;
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["status"], "sent");
    assert_eq!(listed[0]["userId"], "ada");
    assert_eq!(listed[0]["channel"], "email");
    assert_eq!(listed[0]["attempts"], 1);
    // A sent message cannot be sent again.
    let id = listed[0]["id"].as_str().expect("id");
    let (status, _) = admin(
        &app,
        Method::POST,
        &format!("/notifications/deliveries/{id}/retry"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // One-click unsubscribe (RFC 8058): a POST with no key turns achievement emails off.
    let token = unsubscribe_token(mail);
    let resp = app
        .client
        .post(app.url(&format!("/emails/unsubscribe?token={token}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("unsubscribe");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.expect("page").contains("unsubscribed"));
    let (_, prefs) = app.get_json("/v1/users/ada/preferences").await;
    assert_eq!(
        prefs["notifications"]["achievement_completed"],
        json!(["push"])
    );
    complete(&app, "second", "ada").await;
    advance(&app, 1).await;
    assert_eq!(sink.messages().len(), 1, "no email after unsubscribing");
    // The webhook follows the email preference too.
    assert_eq!(hooks.of("emails.achievement_due").len(), 1);

    // A forged token changes nothing.
    let forged = format!("{}x", &token[..token.len() - 1]);
    let resp = app
        .client
        .get(app.url(&format!("/emails/unsubscribe?token={forged}")))
        .send()
        .await
        .expect("forged");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

/// A daily streak's reminder falls at 18:00 on the user's day, once, only while the day
/// is not yet met: in +14, −11 and +5:30.
#[tokio::test]
async fn streak_reminders_fall_at_the_local_hour_in_far_apart_zones() {
    let (app, sink, hooks) = server("[emails.streak_reminder]\nlocal_hour = 18").await;
    // T0 is 2031-03-01T10:30Z: Friday 28 February 23:30 in Pago Pago, Saturday 1 March
    // 16:00 in Kolkata, Sunday 2 March 00:30 in Kiritimati. Each event meets that local
    // day, so the first reminder is the next local day's, at 18:00 there (in time order).
    let users = [
        ("pago", "Pacific/Pago_Pago", "2031-03-02T05:00:00Z"),
        ("kol", "Asia/Kolkata", "2031-03-02T12:30:00Z"),
        ("kiri", "Pacific/Kiritimati", "2031-03-03T04:00:00Z"),
    ];
    users_with_an_event(&app, &users).await;
    for (n, (id, _, at)) in users.into_iter().enumerate() {
        let due = fires_exactly_at(&app, &hooks, "emails.streak_reminder_due", n, at).await;
        assert_eq!(due["user"]["id"], id);
        assert_eq!(due["streak"]["length"], 1);
        assert_eq!(sink.messages().len(), n + 1);
        assert_eq!(sink.messages()[n].to, vec![format!("{id}@x.test")]);
    }
    // The day after, every streak is lost (nobody acted): no reminder about a lost streak.
    app.set_clock_ok("2031-03-04T23:00:00Z").await;
    assert_eq!(hooks.of("emails.streak_reminder_due").len(), 3);
}

#[tokio::test]
async fn an_event_before_the_hour_silences_that_day_s_reminder_and_dst_keeps_the_hour() {
    let (app, _sink, hooks) = server("[emails.streak_reminder]\nlocal_hour = 18").await;
    // London springs forward on Sunday 30 March 2031.
    app.set_clock_ok("2031-03-28T09:00:00Z").await;
    upsert(&app, json!({"id": "lon", "email": "lon@x.test", "tz": "Europe/London", "subscribeToEmails": true})).await;
    app.event_ok("lessons", "lon", 1.0).await;
    // A user who turned their streak off gets no reminder (nor any streak webhook).
    upsert(
        &app,
        json!({"id": "off", "email": "off@x.test", "tz": "Europe/London", "subscribeToEmails": true}),
    )
    .await;
    let resp = app
        .send_json(
            Method::PATCH,
            "/v1/users/off/preferences",
            &json!({"streak": {"enabled": false}}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    app.event_ok("lessons", "off", 1.0).await;
    // Saturday 29th at 18:00 GMT: at risk, reminded.
    app.set_clock_ok("2031-03-29T18:00:00Z").await;
    let due = hooks.wait_for("emails.streak_reminder_due", 1).await;
    assert_eq!(due[0]["timestamp"], "2031-03-29T18:00:00Z");
    assert_eq!(due.len(), 1, "only lon: {due:#?}");
    assert_eq!(due[0]["user"]["id"], "lon");
    // Met on Sunday morning: no reminder at Sunday 18:00 BST (17:00Z).
    app.set_clock_ok("2031-03-30T08:00:00Z").await;
    app.event_ok("lessons", "lon", 1.0).await;
    app.set_clock_ok("2031-03-30T20:00:00Z").await;
    assert_eq!(hooks.of("emails.streak_reminder_due").len(), 1);
    // Monday 18:00 BST is 17:00Z.
    app.set_clock_ok("2031-03-31T16:59:59Z").await;
    assert_eq!(hooks.of("emails.streak_reminder_due").len(), 1);
    app.set_clock_ok("2031-03-31T17:00:00Z").await;
    let due = hooks.wait_for("emails.streak_reminder_due", 2).await;
    assert_eq!(due[1]["timestamp"], "2031-03-31T17:00:00Z");
    // Saturday went unmet, so Sunday's event started the streak again.
    assert_eq!(due[1]["streak"]["length"], 1);
}

#[tokio::test]
async fn reactivation_messages_come_in_order_after_quiet_days_and_restart_on_return() {
    let (app, sink, hooks) = server("[emails.reactivation]\nafter_days = [3, 7]").await;
    upsert(&app, json!({"id": "q", "email": "q@x.test", "tz": "America/New_York", "subscribeToEmails": true})).await;
    app.event_ok("lessons", "q", 1.0).await;
    advance(&app, 3 * 86_400 - 1).await;
    assert!(hooks.of("emails.reactivation_due").is_empty());
    advance(&app, 1).await;
    let due = hooks.wait_for("emails.reactivation_due", 1).await;
    assert_eq!(
        due[0]["reactivation"],
        json!({"messageNumber": 1, "daysSinceLastActive": 3})
    );
    advance(&app, 4 * 86_400).await;
    let due = hooks.wait_for("emails.reactivation_due", 2).await;
    assert_eq!(
        due[1]["reactivation"],
        json!({"messageNumber": 2, "daysSinceLastActive": 7})
    );
    advance(&app, 30 * 86_400).await;
    assert_eq!(
        hooks.of("emails.reactivation_due").len(),
        2,
        "the sequence is over"
    );
    assert_eq!(sink.messages().len(), 2);
    // Back, then quiet again: the sequence starts over.
    app.event_ok("lessons", "q", 1.0).await;
    advance(&app, 3 * 86_400).await;
    let due = hooks.wait_for("emails.reactivation_due", 3).await;
    assert_eq!(due[2]["reactivation"]["messageNumber"], 1);
    let mails = sink.messages();
    assert!(
        mails[0].data.contains("3 days") || mails[0].data.contains("3&nbsp;days"),
        "{}",
        mails[0].data
    );
}

#[tokio::test]
async fn a_weekly_recap_covers_the_week_for_users_active_in_it() {
    let (app, sink, hooks) = server("[emails.recap]\nfrequency = \"weekly\"").await;
    // Saturday 1 March 2031; recaps go out Monday 3 March at 09:00 local.
    upsert(&app, json!({"id": "kol", "name": "Kay", "email": "kol@x.test", "tz": "Asia/Kolkata", "subscribeToEmails": true})).await;
    upsert(&app, json!({"id": "idle", "email": "idle@x.test", "tz": "Asia/Kolkata", "subscribeToEmails": true})).await;
    app.event_ok("lessons", "kol", 2.0).await;
    app.event_ok("lessons", "kol", 3.0).await;
    // 09:00 in Kolkata on Monday 3 March is 03:30Z.
    app.set_clock_ok("2031-03-03T03:29:59Z").await;
    assert!(hooks.of("emails.recap_due").is_empty());
    app.set_clock_ok("2031-03-03T03:30:00Z").await;
    let due = hooks.wait_for("emails.recap_due", 1).await;
    assert_eq!(due[0]["user"]["id"], "kol");
    assert_eq!(
        due[0]["recap"],
        json!({"periodStart": "2031-02-24", "periodEnd": "2031-03-02"})
    );
    let mails = sink.messages();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, vec!["kol@x.test"]);
    assert!(
        mails[0].data.contains("Lessons completed"),
        "{}",
        mails[0].data
    );
    // No activity in the next week: no recap for it.
    app.set_clock_ok("2031-03-10T04:00:00Z").await;
    assert_eq!(hooks.of("emails.recap_due").len(), 1);
}

#[tokio::test]
async fn an_email_refused_while_the_smtp_server_is_down_is_sent_once_when_it_is_back() {
    // A port with nothing listening: the first attempt fails and is retried.
    let port = unused_port();
    let hooks = Receiver::start().await;
    let app = spawn_app(&config(
        &format!("smtp://127.0.0.1:{port}"),
        &hooks,
        "[emails.achievement]",
        "",
    ))
    .await;
    app.set_clock_ok(T0).await;
    upsert(
        &app,
        json!({"id": "ada", "email": "ada@x.test", "subscribeToEmails": true}),
    )
    .await;
    complete(&app, "welcome", "ada").await;
    advance(&app, 1).await;
    let listed = deliveries(&app, "?status=pending").await;
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["attempts"], 1);
    assert!(listed[0]["lastError"]
        .as_str()
        .is_some_and(|e| !e.is_empty()));

    // A restart (the task aborted, as a crash would) keeps the message queued.
    let app = app.restart().await;
    let sink = SmtpSink::start_on(port, SinkOptions::default())
        .await
        .expect("sink on the same port");
    // The retry falls due a minute later.
    advance(&app, 61).await;
    assert_eq!(sink.messages().len(), 1);
    advance(&app, 3_600).await;
    assert_eq!(sink.messages().len(), 1, "sent once");
    assert_eq!(deliveries(&app, "?status=sent").await.len(), 1);
    // The log keeps a finished message 30 days.
    advance(&app, 29 * 86_400).await;
    assert_eq!(deliveries(&app, "").await.len(), 1);
    advance(&app, 86_400).await;
    assert!(deliveries(&app, "").await.is_empty());
}

#[tokio::test]
async fn an_smtp_failure_gives_up_and_an_admin_retry_sends_it() {
    let sink = SmtpSink::start(SinkOptions {
        reject_rcpt: vec!["gone@x.test".into()],
        ..Default::default()
    })
    .await
    .expect("sink");
    let hooks = Receiver::start().await;
    let app = spawn_app(&config(&sink.url(), &hooks, "[emails.achievement]", "")).await;
    app.set_clock_ok(T0).await;
    upsert(
        &app,
        json!({"id": "g", "email": "gone@x.test", "subscribeToEmails": true}),
    )
    .await;
    complete(&app, "welcome", "g").await;
    advance(&app, 1).await;
    let failed = deliveries(&app, "?status=failed").await;
    assert_eq!(failed.len(), 1, "a 550 is permanent");
    let id = failed[0]["id"].as_str().expect("id").to_owned();
    let (status, row) = admin(
        &app,
        Method::POST,
        &format!("/notifications/deliveries/{id}/retry"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{row}");
    assert_eq!(row["status"], "pending");
    let (status, _) = admin(
        &app,
        Method::POST,
        "/notifications/deliveries/ntf_nope/retry",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = admin(
        &app,
        Method::GET,
        "/notifications/deliveries?status=lost",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].as_str().is_some());
}

#[tokio::test]
async fn pushes_reach_expo_and_a_dead_token_is_removed_from_the_user() {
    let expo = Receiver::start_answering(
        r#"{"data":[{"status":"error","message":"gone","details":{"error":"DeviceNotRegistered"}}]}"#,
    )
    .await;
    let hooks = Receiver::start().await;
    let sink = SmtpSink::start(SinkOptions::default()).await.expect("sink");
    let push = format!(
        "[push.expo]\naccess_token = \"expo-token\"\nurl = \"{}\"",
        expo.url
    );
    let app = spawn_app(&config(&sink.url(), &hooks, "[emails.achievement]", &push)).await;
    app.set_clock_ok(T0).await;
    upsert(
        &app,
        json!({"id": "p", "deviceTokens": ["ExponentPushToken[abc]", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"]}),
    )
    .await;
    complete(&app, "welcome", "p").await;
    advance(&app, 1).await;
    let requests = expo.received();
    assert_eq!(
        requests.len(),
        1,
        "only the Expo token has a provider configured"
    );
    let (headers, body) = (&requests[0].headers, &requests[0].body);
    assert_eq!(
        headers.get("authorization").map(String::as_str),
        Some("Bearer expo-token")
    );
    let body: Value = serde_json::from_slice(body).expect("json");
    assert_eq!(body[0]["to"], "ExponentPushToken[abc]");
    assert!(body[0]["body"]
        .as_str()
        .is_some_and(|b| b.contains("Welcome aboard")));
    // The provider called the token dead: it is gone from the user, the other stays.
    let (_, user) = app.get_json("/v1/users/p").await;
    assert_eq!(
        user["deviceTokens"],
        json!(["0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"])
    );
    assert_eq!(deliveries(&app, "?status=failed").await.len(), 1);
    // No email without an address.
    assert!(sink.messages().is_empty());
}

/// Recaps and reactivation messages in +14, −11 and +5:30, and a reactivation across New
/// York's spring-forward.
#[tokio::test]
async fn recaps_and_reactivations_fall_at_local_times_in_far_apart_zones() {
    let (app, _sink, hooks) =
        server("[emails.recap]\nfrequency = \"weekly\"\n[emails.reactivation]\nafter_days = [3]")
            .await;
    // At T0 (2031-03-01T10:30Z) it is Sunday 2 March in Kiritimati, Friday 28 February in
    // Pago Pago and Saturday 1 March in Kolkata: the same week (24 February to 2 March)
    // everywhere, whose recap goes out at 09:00 on Monday 3 March local.
    let users = [
        ("kiri", "Pacific/Kiritimati", "2031-03-02T19:00:00Z"),
        ("kol", "Asia/Kolkata", "2031-03-03T03:30:00Z"),
        ("pago", "Pacific/Pago_Pago", "2031-03-03T20:00:00Z"),
    ];
    users_with_an_event(&app, &users).await;
    for (n, (id, _, at)) in users.into_iter().enumerate() {
        let due = fires_exactly_at(&app, &hooks, "emails.recap_due", n, at).await;
        assert_eq!(due["user"]["id"], id);
        assert_eq!(due["recap"]["periodEnd"], "2031-03-02");
    }
    // Three days after the last event, at the same time of day: in these zones (no DST)
    // exactly 72 hours after T0, for all three.
    app.set_clock_ok("2031-03-04T10:29:59Z").await;
    assert!(hooks.of("emails.reactivation_due").is_empty());
    app.set_clock_ok("2031-03-04T10:30:00Z").await;
    let due = hooks.wait_for("emails.reactivation_due", 3).await;
    assert!(due.iter().all(|b| b["timestamp"] == "2031-03-04T10:30:00Z"
        && b["reactivation"]["daysSinceLastActive"] == 3));

    // New York springs forward on Sunday 9 March 2031: three days after Friday 7 March
    // 12:00 EST is Monday 10 March 12:00 EDT, 16:00Z (71 hours later).
    app.set_clock_ok("2031-03-07T17:00:00Z").await;
    upsert(&app, json!({"id": "ny", "email": "ny@x.test", "tz": "America/New_York", "subscribeToEmails": true})).await;
    app.event_ok("lessons", "ny", 1.0).await;
    app.set_clock_ok("2031-03-10T15:59:59Z").await;
    assert!(!hooks
        .of("emails.reactivation_due")
        .iter()
        .any(|b| b["user"]["id"] == "ny"));
    app.set_clock_ok("2031-03-10T16:00:00Z").await;
    let due = hooks.wait_for("emails.reactivation_due", 4).await;
    assert_eq!(due[3]["user"]["id"], "ny");
    assert_eq!(due[3]["timestamp"], "2031-03-10T16:00:00Z");
}

/// Each type's channels come from the user's preferences; the webhook follows email; the
/// all-emails link in the body turns every email off.
#[tokio::test]
async fn preferences_choose_the_channels_and_the_all_emails_link_unsubscribes_everything() {
    let expo = Receiver::start_answering(r#"{"data":[{"status":"ok","id":"t1"}]}"#).await;
    let hooks = Receiver::start().await;
    let sink = SmtpSink::start(SinkOptions::default()).await.expect("sink");
    let push = format!("[push.expo]\nurl = \"{}\"", expo.url);
    let app = spawn_app(&config(&sink.url(), &hooks, "[emails.achievement]", &push)).await;
    app.set_clock_ok(T0).await;
    upsert(
        &app,
        json!({"id": "u", "email": "u@x.test", "subscribeToEmails": true,
               "deviceTokens": ["ExponentPushToken[u]"]}),
    )
    .await;
    let prefer = |channels: Value| {
        let app = &app;
        async move {
            let resp = app
                .send_json(
                    Method::PATCH,
                    "/v1/users/u/preferences",
                    &json!({"notifications": {"achievement_completed": channels}}),
                )
                .await;
            assert_eq!(resp.status(), StatusCode::OK);
        }
    };
    let counts = || {
        (
            sink.messages().len(),
            expo.count(),
            hooks.of("emails.achievement_due").len(),
        )
    };

    prefer(json!(["email"])).await;
    complete(&app, "welcome", "u").await;
    advance(&app, 1).await;
    assert_eq!(counts(), (1, 0, 1), "email and its webhook, no push");
    prefer(json!(["push"])).await;
    complete(&app, "second", "u").await;
    advance(&app, 1).await;
    assert_eq!(
        counts(),
        (1, 1, 1),
        "push only, and no webhook without email"
    );
    prefer(json!([])).await;
    complete(&app, "third", "u").await;
    advance(&app, 1).await;
    assert_eq!(counts(), (1, 1, 1), "the type turned off");

    let resp = app.get("/emails/unsubscribe").await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // The parts are quoted-printable: soft line breaks and `=3D` for `=`.
    let data = sink.messages()[0]
        .data
        .replace("=\r\n", "")
        .replace("=3D", "=");
    let link = data
        .lines()
        .find_map(|l| l.strip_prefix("Unsubscribe from all emails: "))
        .expect("the all-emails link in the text part")
        .trim();
    let token = link.split("token=").nth(1).expect("token");
    let resp = app.get(&format!("/emails/unsubscribe?token={token}")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let (_, user) = app.get_json("/v1/users/u").await;
    assert_eq!(user["subscribeToEmails"], false);
    assert_eq!(user["email"], Value::Null);
}
