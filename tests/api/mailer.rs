//! The mailer (`notifications::email::Mailer`) against a real SMTP conversation with the
//! test sink: what goes over the wire, failures mapped to retry or give up, one pooled
//! connection, the rate limit.

use std::time::{Duration, Instant};

use trophyd::config::SmtpDef;
use trophyd::notifications::email::{Mailer, OutgoingEmail, SendError};

use crate::smtp::{SinkOptions, SmtpSink};

fn mailer(url: &str, rate: u32) -> Mailer {
    Mailer::new(&SmtpDef {
        url: url.into(),
        from: "Acme <no-reply@acme.test>".into(),
        rate_per_second: rate,
    })
    .expect("test setup")
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
    SmtpSink::start(options).await.expect("test setup")
}

#[tokio::test]
async fn sends_a_multipart_email_with_one_click_unsubscribe() {
    let sink = sink(SinkOptions::default()).await;
    mailer(&sink.url(), 10)
        .send(&email(1))
        .await
        .expect("test setup");
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
    mailer(&sink.url(), 10)
        .send(&plain)
        .await
        .expect("test setup");
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
    mailer.send(&email(1)).await.expect("test setup");
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
    mailer.send(&e).await.expect("test setup");
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
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("test setup");
    let addr = listener.local_addr().expect("test setup");
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
    mailer.send(&email(1)).await.expect("test setup");
    clone.send(&email(2)).await.expect("test setup");
    mailer.send(&email(3)).await.expect("test setup");
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
        result.expect("test setup");
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(180), "{elapsed:?}");
    assert_eq!(sink.messages().len(), 3);
}
