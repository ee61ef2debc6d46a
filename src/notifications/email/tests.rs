use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::mailer::parse_url;
use super::test_smtp::{SinkOptions, SmtpSink};
use super::unsubscribe::{self, Token};
use super::*;
use crate::config::{EmailsConfig, MessageTemplates, RecapDef, RecapFrequency, SmtpDef};
use crate::notifications::Kind;

fn full(kind: Kind) -> Value {
    json!({
        "kind": kind.as_str(),
        "user": {"id": "u1", "name": "Ada", "email": "ada@x.test", "tz": "Asia/Kolkata"},
        "achievement": {"id": "a1", "key": "first-lesson", "name": "First lesson",
                        "description": "Finish your first lesson", "badgeUrl": "https://cdn.test/badge.png",
                        "achievedAt": "2031-03-01T10:30:00Z"},
        "streak": {"length": 5, "frequency": "daily", "periodEnd": "2031-03-01", "freezes": 2},
        "recap": {"periodStart": "2031-02-22", "periodEnd": "2031-02-28", "frequency": "weekly",
                  "metrics": [{"key": "lessons", "name": "Lessons", "units": "lessons", "total": 12.0, "events": 7},
                              {"key": "minutes", "name": null, "units": null, "total": 2.5, "events": 3}],
                  "achievements": [{"name": "First lesson"}], "streak": {"length": 5},
                  "points": [{"name": "XP", "added": 120}]},
        "reactivation": {"messageNumber": 2, "daysSinceLastActive": 7},
        "branding": {"appName": "Acme", "appUrl": "https://acme.test", "brandColor": "#ff0000",
                     "logo": {"url": "https://acme.test/logo.png"}},
        "unsubscribe_url": "https://gamify.acme.test/emails/unsubscribe?token=ONE",
        "unsubscribe_all_url": "https://gamify.acme.test/emails/unsubscribe?token=ALL"
    })
}

fn minimal(kind: Kind) -> Value {
    json!({"kind": kind.as_str(), "user": {"id": "u1", "name": null, "email": "ada@x.test"},
           "branding": {"appName": "", "logo": null},
           "unsubscribe_all_url": "https://gamify.acme.test/emails/unsubscribe?token=ALL"})
}

fn defaults() -> Templates {
    Templates::load(&EmailsConfig::default()).unwrap()
}

#[test]
fn every_kind_renders_a_full_context() {
    let t = defaults();
    for kind in Kind::ALL {
        let r = t.render(kind, &full(kind)).unwrap();
        assert!(
            !r.subject.is_empty() && !r.subject.contains('\n'),
            "{kind:?}: {r:?}"
        );
        for body in [&r.text, &r.html] {
            assert!(body.contains("Ada"), "{kind:?}: {body}");
            assert!(
                body.contains("token=ONE") && body.contains("token=ALL"),
                "{kind:?}: {body}"
            );
            assert!(body.contains("https://acme.test"), "{kind:?}: {body}");
        }
        assert!(
            r.html.contains("#ff0000") && r.html.contains("logo.png"),
            "{kind:?}"
        );
        assert!(r.html.contains("max-width:600px"));
    }
    let r = t
        .render(Kind::Achievement, &full(Kind::Achievement))
        .unwrap();
    assert_eq!(r.subject, "You earned First lesson on Acme");
    assert!(r.html.contains("badge.png") && r.text.contains("Finish your first lesson"));
    let r = t
        .render(Kind::StreakReminder, &full(Kind::StreakReminder))
        .unwrap();
    assert_eq!(r.subject, "Your 5-day streak ends today");
    assert!(r.text.contains("2 streak freezes left"), "{}", r.text);
    let r = t.render(Kind::Recap, &full(Kind::Recap)).unwrap();
    assert_eq!(r.subject, "Your weekly recap from Acme");
    for body in [&r.text, &r.html] {
        assert!(
            body.contains("2031-02-22") && body.contains("2031-02-28"),
            "{body}"
        );
        assert!(
            body.contains("12 lessons") && !body.contains("12.0"),
            "{body}"
        );
        assert!(body.contains("minutes") && body.contains("2.5"), "{body}");
        assert!(
            body.contains("First lesson") && body.contains("+120"),
            "{body}"
        );
    }
    let r = t
        .render(Kind::Reactivation, &full(Kind::Reactivation))
        .unwrap();
    assert_eq!(r.subject, "We miss you at Acme");
    assert!(r.text.contains("7 days since"), "{}", r.text);
}

#[test]
fn every_kind_renders_a_minimal_context() {
    let t = defaults();
    for kind in Kind::ALL {
        for context in [
            minimal(kind),
            json!({}),
            Value::Null,
            json!({"user": "x", "branding": 3}),
        ] {
            let r = t.render(kind, &context).unwrap();
            assert!(!r.subject.is_empty(), "{kind:?}");
            assert!(r.text.starts_with("Hi there,"), "{kind:?}: {}", r.text);
            assert!(
                r.html.contains("Hi there,") && r.html.contains("#4f46e5"),
                "{kind:?}"
            );
            assert!(!r.html.contains("<img"), "{kind:?}: no logo, no badge");
            assert!(
                !r.subject.contains(" on ") && !r.subject.contains(" from "),
                "{}",
                r.subject
            );
        }
    }
    let r = t
        .render(Kind::StreakReminder, &minimal(Kind::StreakReminder))
        .unwrap();
    assert_eq!(r.subject, "Your streak ends today");
    assert!(r.text.contains("token=ALL") && !r.text.contains("these emails"));
}

#[test]
fn weekly_streaks_say_week() {
    let mut c = full(Kind::StreakReminder);
    c["streak"] = json!({"length": 3, "frequency": "weekly", "freezes": 0});
    let r = defaults().render(Kind::StreakReminder, &c).unwrap();
    assert_eq!(r.subject, "Your 3-week streak ends this week");
    assert!(!r.text.contains("freeze"));
}

#[test]
fn html_escapes_user_input() {
    let mut c = full(Kind::Achievement);
    c["user"]["name"] = json!("<script>alert(1)</script>");
    c["achievement"]["name"] = json!("<b>\"x\"</b>");
    c["branding"]["brandColor"] = json!("red;background:url(https://evil.test)");
    let r = defaults().render(Kind::Achievement, &c).unwrap();
    assert!(!r.html.contains("<script>") && r.html.contains("&lt;script&gt;"));
    assert!(!r.html.contains("<b>") && r.html.contains("&lt;b&gt;"));
    assert!(!r.html.contains("evil.test") && r.html.contains("#4f46e5"));
    assert!(r.text.contains("<script>"), "plain text is not escaped");
    c["user"]["name"] = json!("Tom & \"Jerry\" O'Neil");
    let r = defaults().render(Kind::Achievement, &c).unwrap();
    assert!(
        r.html
            .contains("Hi Tom &amp; &quot;Jerry&quot; O&#39;Neil,"),
        "{}",
        r.html
    );
    assert!(
        r.html.contains("href=\"https://acme.test\""),
        "URLs stay readable"
    );
}

fn write(dir: &tempfile::TempDir, name: &str, body: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn files_from_the_config_replace_the_defaults() {
    let dir = tempfile::TempDir::new().unwrap();
    let text = write(
        &dir,
        "a.txt",
        "Well done {{ user.name }}: {{ achievement.name }}",
    );
    let html = write(
        &dir,
        "r.html",
        "{% extends \"layout.html\" %}{% block content %}<i>{{ user.name }}</i>{% endblock %}",
    );
    let config = EmailsConfig {
        achievement: Some(MessageTemplates {
            subject: Some("Hey\n {{ user.name }}\r\n!".into()),
            text_template: Some(text),
            html_template: None,
        }),
        recap: Some(RecapDef {
            frequency: RecapFrequency::Weekly,
            local_hour: 9,
            templates: MessageTemplates {
                html_template: Some(html),
                ..Default::default()
            },
        }),
        ..Default::default()
    };
    let t = Templates::load(&config).unwrap();
    let mut c = full(Kind::Achievement);
    c["user"]["name"] = json!("<Ada>");
    let r = t.render(Kind::Achievement, &c).unwrap();
    assert_eq!(r.subject, "Hey <Ada> !");
    assert_eq!(r.text, "Well done <Ada>: First lesson");
    assert!(
        r.html.contains("&lt;Ada&gt;") && r.html.contains("badge.png"),
        "html default kept"
    );
    let r = t.render(Kind::Recap, &c).unwrap();
    assert!(r.html.contains("<i>&lt;Ada&gt;</i>") && r.html.contains("token=ALL"));
    assert!(r.text.contains("12 lessons"), "text default kept");
}

#[test]
fn syntax_errors_name_the_file_and_line() {
    let dir = tempfile::TempDir::new().unwrap();
    let bad = write(
        &dir,
        "broken.html",
        "<p>\n{% if user.name %}\n{{ user.name }\n",
    );
    let config = EmailsConfig {
        achievement: Some(MessageTemplates {
            html_template: Some(bad.clone()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let err = Templates::load(&config).err().unwrap();
    assert!(err.contains(&bad.display().to_string()), "{err}");
    assert!(err.contains("line 3"), "{err}");

    let config = EmailsConfig {
        achievement: Some(MessageTemplates {
            subject: Some("{{ oops".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let err = Templates::load(&config).err().unwrap();
    assert!(err.contains("[emails.achievement] subject"), "{err}");

    let config = EmailsConfig {
        achievement: Some(MessageTemplates {
            text_template: Some(dir.path().join("missing.txt")),
            ..Default::default()
        }),
        ..Default::default()
    };
    let err = Templates::load(&config).err().unwrap();
    assert!(err.contains("missing.txt"), "{err}");
}

#[test]
fn shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Templates>();
    send_sync::<Mailer>();
}

#[test]
fn unsubscribe_tokens_round_trip() {
    let secret = b"0123456789abcdef0123456789abcdef";
    let tokens = [
        Token {
            tenant_id: 1,
            user_id: 42,
            kind: None,
        },
        Token {
            tenant_id: i64::MAX,
            user_id: -1,
            kind: Some(Kind::Recap),
        },
    ];
    for token in tokens.into_iter().chain(Kind::ALL.map(|k| Token {
        tenant_id: 7,
        user_id: 9,
        kind: Some(k),
    })) {
        let text = unsubscribe::sign(secret, &token);
        assert!(text.len() <= unsubscribe::MAX_LEN);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{text}"
        );
        assert_eq!(unsubscribe::verify(secret, &text), Some(token));
        assert_eq!(unsubscribe::verify(b"another secret", &text), None);
        assert_eq!(unsubscribe::verify(secret, &text[..text.len() - 1]), None);
        assert_eq!(unsubscribe::verify(secret, &format!("{text}A")), None);
        for i in 0..text.len() {
            let mut bytes = text.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let flipped = String::from_utf8(bytes).unwrap();
            assert_eq!(
                unsubscribe::verify(secret, &flipped),
                None,
                "flipped at {i}"
            );
        }
    }
    let garbage: String = (0..10_240)
        .map(|i| (b'A' + (i % 26) as u8) as char)
        .collect();
    for text in ["", "x", "!!!!", "é", &garbage, &garbage[..67]] {
        assert_eq!(unsubscribe::verify(secret, text), None);
    }
}

#[test]
fn smtp_urls() {
    let s = parse_url("smtp://mail.test").unwrap();
    assert_eq!(
        (s.host.as_str(), s.port, s.implicit_tls),
        ("mail.test", 25, false)
    );
    let s = parse_url("smtps://a%40b:p%3Ass@mail.test/").unwrap();
    assert_eq!((s.port, s.implicit_tls), (465, true));
    assert_eq!(s.credentials, Some(("a@b".into(), "p:ss".into())));
    let s = parse_url("smtp://[::1]:2525").unwrap();
    assert_eq!((s.host.as_str(), s.port), ("::1", 2525));
    for bad in [
        "http://x",
        "smtp://",
        "smtp://x:0",
        "smtp://x:99999",
        "smtp://u@x",
        "smtp://u:%zz@x",
        "x",
    ] {
        assert!(parse_url(bad).is_err(), "{bad}");
    }
    let def = |url: &str, from: &str| SmtpDef {
        url: url.into(),
        from: from.into(),
        rate_per_second: 10,
    };
    assert!(Mailer::new(&def("smtp://x", "Acme <no-reply@acme.test>")).is_ok());
    assert!(Mailer::new(&def("smtp://x", "not an address")).is_err());
    assert!(Mailer::new(&def("ftp://x", "a@acme.test")).is_err());
}

fn mailer(url: &str, rate: u32) -> Mailer {
    Mailer::new(&SmtpDef {
        url: url.into(),
        from: "Acme <no-reply@acme.test>".into(),
        rate_per_second: rate,
    })
    .unwrap()
}

fn email(n: u32) -> OutgoingEmail {
    OutgoingEmail {
        to: "ada@x.test".into(),
        to_name: Some("Ada Lovelace".into()),
        subject: "You earned First lesson".into(),
        text: "Plain words here.".into(),
        html: "<p>Html words here.</p>".into(),
        unsubscribe_url: Some("https://gamify.acme.test/emails/unsubscribe?token=abc_-1".into()),
        message_id: format!("<msg_{n}@trophyd>"),
    }
}

async fn sink(options: SinkOptions) -> SmtpSink {
    SmtpSink::start(options).await.unwrap()
}

#[tokio::test]
async fn sends_a_multipart_email_with_one_click_unsubscribe() {
    let sink = sink(SinkOptions::default()).await;
    mailer(&sink.url(), 10).send(&email(1)).await.unwrap();
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(
        (m.from.as_str(), m.to.as_slice()),
        ("no-reply@acme.test", &["ada@x.test".to_string()][..])
    );
    let headers = m.data.split("\r\n\r\n").next().unwrap_or("");
    for line in [
        "From: Acme <no-reply@acme.test>",
        "To: \"Ada Lovelace\" <ada@x.test>",
        "Subject: You earned First lesson",
        "Message-ID: <msg_1@trophyd>",
        "List-Unsubscribe: <https://gamify.acme.test/emails/unsubscribe?token=abc_-1>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    ] {
        assert!(headers.lines().any(|l| l == line), "{line} in\n{headers}");
    }
    assert!(
        headers.contains("Content-Type: multipart/alternative"),
        "{headers}"
    );
    assert!(
        m.data.contains("Content-Type: text/plain; charset=utf-8"),
        "{}",
        m.data
    );
    assert!(
        m.data.contains("Content-Type: text/html; charset=utf-8"),
        "{}",
        m.data
    );
    assert!(m.data.contains("Plain words here.") && m.data.contains("Html words here."));

    let mut plain = email(2);
    plain.unsubscribe_url = None;
    plain.to_name = None;
    mailer(&sink.url(), 10).send(&plain).await.unwrap();
    let data = &sink.messages()[1].data;
    assert!(
        !data.contains("List-Unsubscribe") && data.contains("To: ada@x.test"),
        "{data}"
    );
}

#[tokio::test]
async fn a_451_is_transient_and_the_retry_goes_through() {
    let sink = sink(SinkOptions {
        fail_first: 1,
        ..Default::default()
    })
    .await;
    let mailer = mailer(&sink.url(), 100);
    match mailer.send(&email(1)).await {
        Err(SendError::Transient(m)) => {
            assert!(m.contains("451") || m.contains("try again"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    assert!(sink.messages().is_empty());
    mailer.send(&email(1)).await.unwrap();
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn a_550_recipient_is_permanent() {
    let sink = sink(SinkOptions {
        reject_rcpt: vec!["ada@x.test".into()],
        ..Default::default()
    })
    .await;
    match mailer(&sink.url(), 100).send(&email(1)).await {
        Err(SendError::Permanent(m)) => assert!(m.contains("550") || m.contains("mailbox"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn bad_input_is_permanent_and_sends_nothing() {
    let sink = sink(SinkOptions::default()).await;
    let mailer = mailer(&sink.url(), 100);
    for (to, url) in [
        ("not an address", None),
        ("ada@x.test", Some("https://x.test/a b\r\nBcc: e@x.test")),
    ] {
        let mut e = email(1);
        e.to = to.into();
        e.unsubscribe_url = url.map(String::from);
        assert!(
            matches!(mailer.send(&e).await, Err(SendError::Permanent(_))),
            "{to}"
        );
    }
    let mut e = email(3);
    e.subject = "Line one\r\nBcc: eve@x.test".into();
    mailer.send(&e).await.unwrap();
    let data = &sink.messages()[0].data;
    assert!(
        data.lines()
            .any(|l| l == "Subject: Line one Bcc: eve@x.test"),
        "{data}"
    );
    assert_eq!(sink.messages()[0].to, vec!["ada@x.test".to_string()]);
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let result = mailer(&format!("smtp://{addr}"), 100).send(&email(1)).await;
    assert!(matches!(result, Err(SendError::Transient(_))), "{result:?}");
}

#[tokio::test]
async fn starttls_offered_but_failing_is_transient() {
    let sink = sink(SinkOptions {
        starttls: true,
        ..Default::default()
    })
    .await;
    let result = mailer(&sink.url(), 100).send(&email(1)).await;
    assert!(matches!(result, Err(SendError::Transient(_))), "{result:?}");
    assert!(
        sink.messages().is_empty(),
        "nothing sent in clear after the server offered TLS"
    );
}

#[tokio::test]
async fn emails_in_a_row_share_one_connection() {
    let sink = sink(SinkOptions::default()).await;
    let mailer = mailer(&sink.url(), 10);
    let clone = mailer.clone();
    mailer.send(&email(1)).await.unwrap();
    clone.send(&email(2)).await.unwrap();
    mailer.send(&email(3)).await.unwrap();
    assert_eq!(sink.messages().len(), 3);
    assert_eq!(sink.connections(), 1);
}

#[tokio::test]
async fn the_rate_limit_spaces_emails() {
    let sink = sink(SinkOptions::default()).await;
    let mailer = mailer(&sink.url(), 10);
    let start = Instant::now();
    let (e1, e2, e3) = (email(1), email(2), email(3));
    let (a, b, c) = tokio::join!(mailer.send(&e1), mailer.send(&e2), mailer.send(&e3));
    for result in [a, b, c] {
        result.unwrap();
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(180), "{elapsed:?}");
    assert_eq!(sink.messages().len(), 3);
}
