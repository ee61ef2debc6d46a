//! The writer's queue bound, on a real writer thread.

use std::sync::Arc;

use actix_web::ResponseError;
use chrono::Utc;

use super::{Command, WriteCtx, Writer, WriterEnv};
use crate::catalog::{Catalog, CatalogHandle};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::ApiError;
use crate::settings::{ConfigSource, RuntimeSettings};

fn writer(queue: u32) -> Writer {
    let mut conn = rusqlite::Connection::open_in_memory().expect("db");
    crate::db::migrate(&mut conn).expect("migrate");
    let mut config = Config::default();
    config.limits.writer_queue = queue;
    let env = WriterEnv {
        clock: Clock::test(Utc::now()),
        catalog: CatalogHandle::new(Catalog::load(&conn).expect("catalog")),
        settings: Arc::new(RuntimeSettings::new(config, ConfigSource::Demo)),
        wake_delivery: Arc::new(tokio::sync::Notify::new()),
        wake_notifications: Arc::new(tokio::sync::Notify::new()),
        due_hints: crate::scheduler::DueHints::default(),
        leaderboards: Default::default(),
    };
    Writer::start(conn, env).expect("writer").0
}

/// The meta rows with this key.
struct Count(&'static str);

impl Command for Count {
    type Output = i64;
    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<i64, ApiError> {
        Ok(ctx
            .conn
            .query_row("SELECT count(*) FROM meta WHERE key = ?1", [self.0], |r| {
                r.get(0)
            })?)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_with_503_and_retry_after_then_recovers() {
    let writer = writer(1);
    let held = super::testing::hold(&writer);
    // The writer is busy: one command fits in the queue, the next is refused.
    let queued = {
        let writer = writer.clone();
        tokio::spawn(async move { writer.execute(Count("held")).await })
    };
    while writer
        .stats()
        .queue_depth
        .load(std::sync::atomic::Ordering::Relaxed)
        < 1
    {
        tokio::task::yield_now().await;
    }
    let refused = writer.execute(Count("held")).await.expect_err("queue full");
    assert!(matches!(
        refused,
        ApiError::Overloaded {
            retry_after_secs: 1
        }
    ));
    let response = refused.error_response();
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers().get("Retry-After").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    assert_eq!(
        writer
            .stats()
            .refused
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );

    held.release().await.expect("held command committed");
    // The queued command ran after the held one, and the writer takes work again.
    assert_eq!(queued.await.expect("join").expect("queued"), 1);
    assert_eq!(writer.execute(Count("held")).await.expect("after"), 1);
    writer.stop();
}

/// Writes a meta row, then fails when asked to, with no savepoint of its own.
struct WriteThenMaybeFail(&'static str, bool);

impl Command for WriteThenMaybeFail {
    type Output = ();
    const OWN_SAVEPOINT: bool = false;
    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<(), ApiError> {
        ctx.conn
            .execute("INSERT INTO meta (key, value) VALUES (?1, 'x')", [self.0])?;
        if self.1 {
            return Err(ApiError::unprocessable("refused after writing"));
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_without_its_own_savepoint_fails_its_whole_batch_with_its_own_error() {
    let writer = writer(16);
    writer
        .execute(WriteThenMaybeFail("kept", false))
        .await
        .expect("a command that succeeds commits");
    let error = writer
        .execute(WriteThenMaybeFail("dropped", true))
        .await
        .expect_err("the command failed");
    assert_eq!(
        error.error_response().status(),
        422,
        "its own error: {error}"
    );
    assert_eq!(writer.execute(Count("kept")).await.expect("count"), 1);
    assert_eq!(writer.execute(Count("dropped")).await.expect("count"), 0);
    assert_eq!(
        writer
            .stats()
            .failed_commits
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    writer.stop();
}
