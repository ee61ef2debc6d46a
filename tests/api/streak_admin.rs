//! The Admin API's streak routes (docs/behaviour/streaks.md,
//! docs/behaviour/admin-api.md#streak-routes, docs/sdk-compat.md#admin-shapes):
//! freezes, restore, reset, pauses and settings.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    admin, assert_error, assert_json_eq, parts, spawn_app, spawn_with, start_refused, TestApp,
};
use crate::streaks::{config, event_at, hook_summary, lesson, streak, DAILY};

fn issue(user: &str, message: &str, reason: &str) -> Value {
    json!({"userId": user, "severity": "error", "level": "error", "message": message, "reason": reason})
}

async fn new_user(app: &TestApp, id: &str) {
    let (status, body) = parts(
        app.send_json(Method::POST, "/v1/users", &json!({"id": id}))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// `POST /admin/v1/streaks/freezes` granting `u1` one freeze.
async fn grant_u1_a_freeze(app: &TestApp) -> (StatusCode, Value) {
    admin(
        app,
        Method::POST,
        "/streaks/freezes",
        Some(json!({"freezes": [{"userId": "u1"}]})),
    )
    .await
}

#[tokio::test]
async fn freezes_are_granted_one_per_entry_up_to_the_maximum() {
    let app = spawn_app(&config(
        "[streaks]\nmetrics = [{ metric = \"lessons\" }]\n[streaks.freezes]\nstart_count = 0\nmax_count = 2\n",
    ))
    .await;
    app.set_clock_ok("2031-03-01T10:00:00Z").await;
    new_user(&app, "u1").await;
    let (status, body) = admin(
        &app,
        Method::POST,
        "/streaks/freezes",
        Some(json!({"freezes": [{"userId": "u1"}, {"userId": "u1"}, {"userId": "u1"}, {"userId": "ghost"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body,
        json!({"issues": [
            issue("u1", "Would exceed maximum freeze limit", "max_freezes"),
            issue("ghost", "User does not exist", "user_not_found"),
        ]})
    );
    assert_eq!(streak(&app, "u1").await["freezes"], 2);
    assert_eq!(
        hook_summary(&app),
        vec![
            (
                "streak.freeze_earned".to_owned(),
                "u1".to_owned(),
                json!([1, 1])
            ),
            (
                "streak.freeze_earned".to_owned(),
                "u1".to_owned(),
                json!([1, 2])
            ),
        ]
    );
    // Nothing granted: 200.
    let (status, body) = grant_u1_a_freeze(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["issues"].as_array().map(Vec::len), Some(1));
    // 1..100 entries.
    let (status, _) = admin(
        &app,
        Method::POST,
        "/streaks/freezes",
        Some(json!({"freezes": []})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let many: Vec<Value> = (0..101).map(|_| json!({"userId": "u1"})).collect();
    let (status, _) = admin(
        &app,
        Method::POST,
        "/streaks/freezes",
        Some(json!({"freezes": many})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // The application key is not enough.
    let resp = app
        .request(Method::POST, "/admin/v1/streaks/freezes")
        .json(&json!({"freezes": [{"userId": "u1"}]}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_freezes_configured_a_grant_exceeds_the_limit() {
    let app = spawn_app(&config(DAILY)).await;
    new_user(&app, "u1").await;
    let (status, body) = grant_u1_a_freeze(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"issues": [issue("u1", "Would exceed maximum freeze limit", "max_freezes")]})
    );
}

#[tokio::test]
async fn restore_brings_back_the_lost_length_and_covers_the_gap() {
    let app = spawn_app(&config(DAILY)).await;
    for day in ["01", "02", "03"] {
        lesson(&app, &format!("2031-03-{day}T10:00:00Z"), "u1").await;
    }
    new_user(&app, "u2").await;
    // 03-04 missed: lost at 03-05 00:00.
    app.set_clock_ok("2031-03-05T10:00:00Z").await;
    assert_eq!(streak(&app, "u1").await["length"], 0);
    let (status, body) = admin(
        &app,
        Method::POST,
        "/streaks/restore",
        Some(json!({"users": [{"id": "u1"}, {"id": "ghost"}, {"id": "u2"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body,
        json!({
            "restoredUsers": ["u1"],
            "issues": [
                issue("ghost", "User does not exist", "user_not_found"),
                issue("u2", "No streak to restore", "nothing_to_restore"),
            ]
        })
    );
    let body = streak(&app, "u1").await;
    assert_json_eq(
        &json!([
            body["length"],
            body["started"],
            body["periodStart"],
            body["expires"]
        ]),
        &json!([3, "2031-03-03", "2031-03-05", "2031-03-06"]),
    );
    let lengths: Vec<_> = body["streakHistory"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["length"].clone())
        .collect();
    assert_eq!(lengths, [0, 0, 1, 2, 3, 3, 3].map(|n| json!(n)).to_vec());
    // Today counts as covered; tomorrow extends.
    let s = lesson(&app, "2031-03-05T11:00:00Z", "u1").await;
    assert_json_eq(&json!([s["length"], s["extended"]]), &json!([3, false]));
    let s = lesson(&app, "2031-03-06T11:00:00Z", "u1").await;
    assert_json_eq(&json!([s["length"], s["extended"]]), &json!([4, true]));
    // Nothing longer to restore now.
    let (status, body) = admin(
        &app,
        Method::POST,
        "/streaks/restore",
        Some(json!({"users": [{"id": "u1"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"restoredUsers": [], "issues": [issue("u1", "No streak to restore", "nothing_to_restore")]})
    );
    let kinds: Vec<_> = hook_summary(&app).into_iter().map(|h| (h.0, h.2)).collect();
    assert_eq!(
        kinds,
        vec![
            ("streak.started".to_owned(), json!(1)),
            ("streak.extended".to_owned(), json!(2)),
            ("streak.extended".to_owned(), json!(3)),
            ("streak.lost".to_owned(), json!(3)),
            ("streak.extended".to_owned(), json!(4)),
        ]
    );
}

#[tokio::test]
async fn reset_ends_a_streak_without_a_loss() {
    let app = spawn_app(&config(DAILY)).await;
    lesson(&app, "2031-03-01T10:00:00Z", "u1").await;
    lesson(&app, "2031-03-02T10:00:00Z", "u1").await;
    app.set_clock_ok("2031-03-03T09:00:00Z").await;
    let (status, body) = admin(
        &app,
        Method::POST,
        "/streaks/reset",
        Some(json!({"users": [{"id": "u1"}, {"id": "ghost"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"resetUsers": ["u1"], "issues": [issue("ghost", "User does not exist", "user_not_found")]})
    );
    assert_eq!(streak(&app, "u1").await["length"], 0);
    let s = lesson(&app, "2031-03-03T10:00:00Z", "u1").await;
    assert_json_eq(
        &json!([s["length"], s["started"], s["extended"]]),
        &json!([1, "2031-03-03", true]),
    );
    let kinds: Vec<_> = hook_summary(&app).into_iter().map(|h| (h.0, h.2)).collect();
    assert_eq!(
        kinds,
        vec![
            ("streak.started".to_owned(), json!(1)),
            ("streak.extended".to_owned(), json!(2)),
            ("streak.started".to_owned(), json!(1)),
        ]
    );
    let (status, _) = admin(
        &app,
        Method::POST,
        "/streaks/reset",
        Some(json!({"users": []})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn pauses_keep_a_streak_alive_until_deleted() {
    let app = spawn_app(&config(DAILY)).await;
    lesson(&app, "2031-03-01T10:30:00Z", "u1").await;
    // In Kiritimati it is already 03-02.
    event_at(
        &app,
        "2031-03-01T10:30:00Z",
        json!({"id": "kiri", "tz": "Pacific/Kiritimati"}),
        "minutes",
        1.0,
    )
    .await;
    let (status, body) = admin(
        &app,
        Method::POST,
        "/streaks/pauses",
        Some(json!({"pauses": [
            {"userId": "u1", "start": "2031-03-02", "end": "2031-03-03"},
            {"userId": "u1", "start": "2031-02-28", "end": "2031-03-05"},
            {"userId": "u1", "start": "2031-03-05", "end": "2031-03-04"},
            {"userId": "ghost", "start": "2031-03-02", "end": "2031-03-03"},
            {"userId": "u1", "start": "soon", "end": "2031-03-03"},
            {"userId": "kiri", "start": "2031-03-01", "end": "2031-03-01"},
            {"userId": "kiri", "start": "2031-03-02", "end": "2031-03-02"},
        ]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created = body["created"].as_array().expect("created");
    assert_eq!(created.len(), 2, "{body}");
    let pause_id = created[0]["id"].as_str().expect("id").to_owned();
    uuid::Uuid::parse_str(&pause_id).expect("a uuid");
    assert_eq!(
        created[0],
        json!({"id": pause_id, "userId": "u1", "start": "2031-03-02", "end": "2031-03-03", "status": "active"})
    );
    assert_eq!(created[1]["userId"], "kiri");
    let issues: Vec<_> = body["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| {
            (
                i["userId"].clone(),
                i["reason"].clone(),
                i["severity"].clone(),
            )
        })
        .collect();
    assert_eq!(
        issues,
        vec![
            (json!("u1"), json!("invalid_pause"), json!("error")),
            (json!("u1"), json!("invalid_pause"), json!("error")),
            (json!("ghost"), json!("user_not_found"), json!("error")),
            (json!("u1"), json!("invalid_pause"), json!("error")),
            (json!("kiri"), json!("invalid_pause"), json!("error")),
        ]
    );
    assert_eq!(
        streak(&app, "u1").await["pauses"],
        json!([{"id": pause_id, "start": "2031-03-02", "end": "2031-03-03"}])
    );

    // 03-02 and 03-03 are paused: the streak is alive on 03-04.
    app.set_clock_ok("2031-03-04T10:00:00Z").await;
    let body = streak(&app, "u1").await;
    assert_eq!(body["length"], 1);
    let history: Vec<_> = body["streakHistory"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| (h["length"].clone(), h["usedPause"].clone()))
        .collect();
    assert_eq!(
        history,
        [
            (0, false),
            (0, false),
            (0, false),
            (1, false),
            (1, true),
            (1, true),
            (1, false)
        ]
        .map(|(l, p)| (json!(l), json!(p)))
        .to_vec()
    );
    let s = lesson(&app, "2031-03-04T11:00:00Z", "u1").await;
    assert_json_eq(&json!([s["length"], s["extended"]]), &json!([2, true]));

    // A pause deleted before its day does not protect it.
    let (status, body) = admin(
        &app,
        Method::POST,
        "/streaks/pauses",
        Some(json!({"pauses": [{"userId": "u1", "start": "2031-03-05", "end": "2031-03-05"}]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let second = body["created"][0]["id"].as_str().expect("id").to_owned();
    let (status, body) = admin(
        &app,
        Method::DELETE,
        &format!("/streaks/pauses?ids={second},nope"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["deleted"], json!([{"id": second}]));
    assert_eq!(body["issues"][0]["id"], "nope");
    assert_eq!(body["issues"][0]["message"], "Pause not found by ID");
    let (status, _) = admin(&app, Method::DELETE, "/streaks/pauses", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    app.set_clock_ok("2031-03-06T00:00:00Z").await;
    let body = streak(&app, "u1").await;
    assert_eq!(body["length"], 0);
    assert_eq!(
        body["pauses"],
        json!([{"id": pause_id, "start": "2031-03-02", "end": "2031-03-03"}])
    );
    let u1: Vec<_> = hook_summary(&app)
        .into_iter()
        .filter(|h| h.1 == "u1")
        .map(|h| (h.0, h.2))
        .collect();
    assert_eq!(
        u1,
        vec![
            ("streak.started".to_owned(), json!(1)),
            ("streak.extended".to_owned(), json!(2)),
            ("streak.lost".to_owned(), json!(2)),
        ]
    );
}

#[tokio::test]
async fn settings_declared_in_the_file_are_read_only() {
    let app = spawn_app(&config(
        r#"
[streaks]
frequency = "weekly"
evaluation_mode = "AND"
week_start = "monday"
days_off = []
metrics = [{ metric = "lessons", threshold = 2 }, { metric = "minutes", threshold = 10.5 }]
[streaks.freezes]
start_count = 1
max_count = 3
auto_earn_interval_days = 7
auto_earn_amount = 1
"#,
    ))
    .await;
    let (status, body) = admin(&app, Method::GET, "/streaks/settings", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_json_eq(
        &body,
        &json!({
            "frequency": "weekly",
            "evaluationMode": "AND",
            "customizationEnabled": false,
            "daysOff": [],
            "metrics": [{"key": "lessons", "threshold": 2}, {"key": "minutes", "threshold": 10.5}],
            "weekStart": "monday",
            "freezes": {"startCount": 1, "maxCount": 3, "autoEarnInterval": 7, "autoEarnAmount": 1}
        }),
    );
    let resp = app
        .admin_request(Method::PATCH, "/admin/v1/streaks/settings")
        .json(&json!({"frequency": "daily"}))
        .send()
        .await
        .expect("request");
    let message = assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(message, "managed by trophy.toml");
}

#[tokio::test]
async fn settings_patched_through_the_api_recompute_every_streak() {
    let app = spawn_app(&config("")).await;
    lesson(&app, "2031-03-01T10:00:00Z", "u1").await;
    let s = lesson(&app, "2031-03-02T10:00:00Z", "u1").await;
    assert_eq!(s["length"], 0, "no streak configured yet");
    let (status, body) = admin(&app, Method::GET, "/streaks/settings", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_json_eq(
        &body,
        &json!({
            "frequency": "daily", "evaluationMode": "OR", "customizationEnabled": false,
            "daysOff": [], "metrics": [], "weekStart": "sunday", "freezes": null
        }),
    );
    for bad in [
        json!({}),
        json!({"metrics": [{"key": "nope", "threshold": 1}]}),
        json!({"metrics": [{"key": "lessons", "threshold": 1}], "frequency": "hourly"}),
        json!({"metrics": [{"key": "lessons", "threshold": 1}], "daysOff": [9]}),
    ] {
        let resp = app
            .admin_request(Method::PATCH, "/admin/v1/streaks/settings")
            .json(&bad)
            .send()
            .await
            .expect("request");
        assert_error(resp, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let (status, body) = admin(
        &app,
        Method::PATCH,
        "/streaks/settings",
        Some(json!({
            "metrics": [{"key": "lessons", "threshold": 1}],
            "freezes": {"startCount": 1, "maxCount": 2}
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_json_eq(
        &body,
        &json!({
            "frequency": "daily", "evaluationMode": "OR", "customizationEnabled": false,
            "daysOff": [], "metrics": [{"key": "lessons", "threshold": 1}], "weekStart": "sunday",
            "freezes": {"startCount": 1, "maxCount": 2}
        }),
    );
    // The streak was rebuilt from the events already stored, without webhooks.
    let body = streak(&app, "u1").await;
    assert_json_eq(
        &json!([
            body["length"],
            body["started"],
            body["freezes"],
            body["maxFreezes"]
        ]),
        &json!([2, "2031-03-01", 1, 2]),
    );
    assert!(hook_summary(&app).is_empty());
    let s = lesson(&app, "2031-03-02T11:00:00Z", "u1").await;
    assert_json_eq(&json!([s["length"], s["extended"]]), &json!([2, false]));
    let s = lesson(&app, "2031-03-03T11:00:00Z", "u1").await;
    assert_json_eq(&json!([s["length"], s["extended"]]), &json!([3, true]));

    // A new frequency: recomputed again (all four events fall in March).
    let (status, body) = admin(
        &app,
        Method::PATCH,
        "/streaks/settings",
        Some(json!({"frequency": "monthly"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["metrics"], json!([{"key": "lessons", "threshold": 1}]));
    let body = streak(&app, "u1").await;
    assert_json_eq(
        &json!([
            body["frequency"],
            body["length"],
            body["started"],
            body["periodStart"],
            body["periodEnd"]
        ]),
        &json!(["monthly", 1, "2031-03-01", "2031-03-01", "2031-03-31"]),
    );
    new_user(&app, "u2").await;
    assert_eq!(streak(&app, "u2").await["freezes"], 1);

    // The settings survive a restart, and so does the state.
    let app = app.restart().await;
    let (_, body) = admin(&app, Method::GET, "/streaks/settings", None).await;
    assert_eq!(body["frequency"], "monthly");
    assert_eq!(streak(&app, "u1").await["length"], 1);
    let s = lesson(&app, "2031-04-01T10:00:00Z", "u1").await;
    assert_json_eq(&json!([s["length"], s["extended"]]), &json!([2, true]));
}

#[tokio::test]
async fn a_settings_patch_with_an_unknown_key_or_a_wrong_type_is_refused_whole() {
    let app = spawn_app(&config("")).await;
    for (bad, part) in [
        (
            json!({"metrics": [{"key": "lessons", "threshold": 1}], "frequncy": "weekly"}),
            "unknown field `frequncy`",
        ),
        (
            json!({"metrics": [{"key": "lessons", "threshold": 1}], "customizationEnabled": "yes"}),
            "invalid type",
        ),
    ] {
        let resp = app
            .admin_request(Method::PATCH, "/admin/v1/streaks/settings")
            .json(&bad)
            .send()
            .await
            .expect("request");
        let message = assert_error(resp, StatusCode::BAD_REQUEST).await;
        assert!(message.contains(part), "{message}");
    }
    let (_, body) = admin(&app, Method::GET, "/streaks/settings", None).await;
    assert_eq!(body["metrics"], json!([]), "nothing was stored");
}

/// The streak settings row of `definitions`: (tenant_id, key, status, managed, uuid, body).
type SettingsRow = (Option<i64>, String, String, i64, String, String);

fn settings_rows(app: &TestApp) -> Vec<SettingsRow> {
    app.db()
        .prepare(
            "SELECT tenant_id, key, status, managed, uuid, body FROM definitions
              WHERE kind = 'streak_settings' ORDER BY id",
        )
        .and_then(|mut s| s.query_map([], |r| r.try_into())?.collect())
        .expect("rows")
}

/// An Admin API call (`path` below `/admin/v1`) sent with `tenant` as `Tenant-ID`.
async fn admin_as(
    app: &TestApp,
    tenant: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut rb = app
        .admin_request(method, &format!("/admin/v1{path}"))
        .header("Tenant-ID", tenant);
    if let Some(body) = body {
        rb = rb.json(&body);
    }
    parts(rb.send().await.expect("request")).await
}

/// `PATCH /admin/v1/streaks/settings` sent with `tenant` as `Tenant-ID`; the 200 body.
async fn patch_settings(app: &TestApp, tenant: &str, body: Value) -> Value {
    let (status, body) =
        admin_as(app, tenant, Method::PATCH, "/streaks/settings", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

#[tokio::test]
async fn settings_patched_through_the_api_are_one_shared_definitions_row() {
    let app = spawn_app(&config("").server("multi_tenant = true")).await;
    let (status, body) = admin(
        &app,
        Method::POST,
        "/tenants",
        Some(json!([{"customerId": "acme", "name": "Acme"}, {"customerId": "globex", "name": "Globex"}])),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let first = patch_settings(
        &app,
        "acme",
        json!({"metrics": [{"key": "lessons", "threshold": 1}], "freezes": {"startCount": 1, "maxCount": 2}}),
    )
    .await;
    let rows = settings_rows(&app);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (tenant, key, status, managed, uuid, body) = rows[0].clone();
    assert_eq!(
        (tenant, key.as_str(), status.as_str(), managed),
        (None, "streak", "active", 0),
        "one row for the whole server, whichever tenant sent the PATCH"
    );
    assert_eq!(body, first.to_string(), "the body is the settings shown");
    assert_eq!(
        app.count("SELECT count(*) FROM meta WHERE key = 'streak_settings'"),
        0
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM meta
              WHERE key IN ('streak_fingerprint', 'streak_freeze_fingerprint')"
        ),
        2,
        "the engine's fingerprints stay in meta"
    );

    // Another tenant's PATCH replaces the same row, and every tenant sees the settings.
    let second = patch_settings(&app, "globex", json!({"frequency": "weekly"})).await;
    assert_eq!(second["metrics"], first["metrics"]);
    let rows = settings_rows(&app);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((&rows[0].4, &rows[0].5), (&uuid, &second.to_string()));
    for tenant in ["acme", "globex"] {
        let (status, body) = admin_as(&app, tenant, Method::GET, "/streaks/settings", None).await;
        assert_eq!(status, StatusCode::OK);
        assert_json_eq(&body, &second);
    }
    // The row is no definition of another kind.
    let (status, _) = admin_as(&app, "acme", Method::GET, &format!("/metrics/{uuid}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let app = app.restart().await;
    let (status, body) = admin_as(&app, "globex", Method::GET, "/streaks/settings", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_json_eq(&body, &second);
    assert_eq!(settings_rows(&app).len(), 1);
}

/// A database whose settings are still the `meta` row `streak_settings` (what trophyd left
/// before migration 0019) keeps them and its streaks: the row moves byte for byte, and the
/// fingerprints in `meta` still match, so nothing is recomputed (a recompute would lose the
/// freeze granted through the Admin API).
#[tokio::test]
async fn settings_moved_out_of_meta_keep_the_streaks_as_they_were() {
    let config = config("");
    let app = spawn_app(&config).await;
    let settings = patch_settings(
        &app,
        "default",
        json!({"metrics": [{"key": "lessons", "threshold": 1}], "freezes": {"startCount": 0, "maxCount": 3}}),
    )
    .await;
    lesson(&app, "2031-03-01T10:00:00Z", "u1").await;
    lesson(&app, "2031-03-02T10:00:00Z", "u1").await;
    let (status, body) = grant_u1_a_freeze(&app).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let before = streak(&app, "u1").await;
    assert_json_eq(
        &json!([before["length"], before["freezes"]]),
        &json!([2, 1]),
    );
    let dir = app.kill().await;
    let conn = rusqlite::Connection::open(dir.path().join("trophy.db")).expect("db");
    conn.execute_batch(
        "INSERT INTO meta (key, value)
             SELECT 'streak_settings', body FROM definitions WHERE kind = 'streak_settings';
         DELETE FROM definitions WHERE kind = 'streak_settings';",
    )
    .expect("back to meta");
    let old: String = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'streak_settings'",
            [],
            |r| r.get(0),
        )
        .expect("meta row");
    conn.execute_batch(include_str!(
        "../../sql/0019_streak_settings_definition.sql"
    ))
    .expect("migration 0019");
    drop(conn);

    let app = spawn_with(&config, true, Some(dir)).await;
    let rows = settings_rows(&app);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].5, old, "byte for byte");
    assert_eq!(
        app.count("SELECT count(*) FROM meta WHERE key = 'streak_settings'"),
        0
    );
    let (_, body) = admin(&app, Method::GET, "/streaks/settings", None).await;
    assert_json_eq(&body, &settings);
    assert_json_eq(&streak(&app, "u1").await, &before);
}

#[tokio::test]
async fn a_damaged_streak_settings_row_stops_the_start_naming_the_row() {
    let config = config("");
    let app = spawn_app(&config).await;
    patch_settings(
        &app,
        "default",
        json!({"metrics": [{"key": "lessons", "threshold": 1}]}),
    )
    .await;
    let dir = app.kill().await;
    let conn = rusqlite::Connection::open(dir.path().join("trophy.db")).expect("db");
    let id: i64 = conn
        .query_row(
            "SELECT id FROM definitions WHERE kind = 'streak_settings'",
            [],
            |r| r.get(0),
        )
        .expect("row");
    for (body, why) in [
        (r#"{"metrics": []}"#, "metrics"),
        (r#"{"metrics": "#, "the body is not JSON"),
    ] {
        conn.execute(
            "UPDATE definitions SET body = ?1 WHERE id = ?2",
            rusqlite::params![body, id],
        )
        .expect("damage");
        let message = start_refused(&config, dir.path()).await;
        assert!(
            message.contains(&format!("definition row {id} (streak_settings \"streak\")")),
            "{message}"
        );
        assert!(message.contains(why), "{message}");
    }
}
