use serde_json::{json, Value};

use super::mailer::parse_url;
use super::unsubscribe::{self, Token};
use super::*;
use crate::config::{EmailsConfig, MessageTemplates, RecapDef, RecapFrequency, SmtpDef};
use crate::domain::ids::{TenantId, UserRow};
use crate::notifications::Kind;

use crate::domain::ids::fixtures::{T1, T7, U9};

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
            tenant_id: T1,
            user_id: UserRow::from_raw(42),
            kind: None,
        },
        Token {
            tenant_id: TenantId::from_raw(i64::MAX),
            user_id: UserRow::from_raw(-1),
            kind: Some(Kind::Recap),
        },
    ];
    for token in tokens.into_iter().chain(Kind::ALL.map(|k| Token {
        tenant_id: T7,
        user_id: U9,
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
    // What the console shows: no credentials, the port spelled out.
    assert_eq!(
        super::shown_server("smtps://a%40b:p%3Ass@mail.test/").unwrap(),
        ("smtps://mail.test:465".to_owned(), true)
    );
    assert_eq!(
        super::shown_server("smtp://[::1]:2525").unwrap(),
        ("smtp://[::1]:2525".to_owned(), false)
    );
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
