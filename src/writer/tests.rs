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
        due_hints: super::DueHints::default(),
        shared: Default::default(),
    };
    Writer::start(conn, env).expect("writer").0
}

fn retried_batches(writer: &Writer) -> u64 {
    writer
        .stats()
        .retried_batches
        .load(std::sync::atomic::Ordering::Relaxed)
}

fn failed_commits(writer: &Writer) -> u64 {
    writer
        .stats()
        .failed_commits
        .load(std::sync::atomic::Ordering::Relaxed)
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
    assert_eq!(failed_commits(&writer), 1);
    writer.stop();
}

/// Writes a meta row, then fails when asked to; tried without a savepoint first. Counts
/// how often it was applied.
#[derive(Clone)]
struct TriedWrite {
    key: &'static str,
    fail: bool,
    applied: Arc<std::sync::atomic::AtomicUsize>,
}

impl TriedWrite {
    fn new(key: &'static str, fail: bool) -> Self {
        TriedWrite {
            key,
            fail,
            applied: Default::default(),
        }
    }

    fn applied(&self) -> usize {
        self.applied.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Command for TriedWrite {
    type Output = ();

    fn copy_to_try(&self) -> Option<Self> {
        Some(self.clone())
    }

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<(), ApiError> {
        self.applied
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        ctx.conn
            .execute("INSERT INTO meta (key, value) VALUES (?1, 'x')", [self.key])?;
        if self.fail {
            return Err(ApiError::unprocessable("refused after writing"));
        }
        Ok(())
    }
}

/// Sends `commands` while the writer is held, so they make one batch, and returns their
/// outcomes in order.
async fn one_batch(writer: &Writer, commands: &[TriedWrite]) -> Vec<Result<(), ApiError>> {
    let held = super::testing::hold(writer);
    // One at a time, each queued before the next is sent: spawned together, the tasks
    // could reach the queue in any order, and the tests below depend on the batch's order.
    let mut sent = Vec::new();
    for (ahead, c) in commands.iter().enumerate() {
        let (sender, c) = (writer.clone(), c.clone());
        sent.push(tokio::spawn(async move { sender.execute(c).await }));
        super::testing::queued(writer, ahead as i64 + 1).await;
    }
    held.release().await.expect("held command committed");
    let mut outcomes = Vec::new();
    for handle in sent {
        outcomes.push(handle.await.expect("join"));
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_tried_without_savepoints_runs_again_in_savepoints_when_one_fails() {
    let writer = writer(16);
    let retried = || retried_batches(&writer);

    let fine = [TriedWrite::new("a", false), TriedWrite::new("b", false)];
    let outcomes = one_batch(&writer, &fine).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    assert_eq!(retried(), 0);
    assert_eq!(
        [fine[0].applied(), fine[1].applied()],
        [1, 1],
        "tried once, kept"
    );

    let mixed = [
        TriedWrite::new("c", false),
        TriedWrite::new("d", true),
        TriedWrite::new("e", false),
    ];
    let outcomes = one_batch(&writer, &mixed).await;
    assert!(outcomes[0].is_ok() && outcomes[2].is_ok(), "{outcomes:?}");
    let error = outcomes[1].as_ref().expect_err("d fails");
    assert_eq!(
        error.error_response().status(),
        422,
        "its own error: {error}"
    );
    assert_eq!(retried(), 1);
    // c was tried, then applied again; e never got its try (the batch stopped at d).
    assert_eq!(
        [mixed[0].applied(), mixed[1].applied(), mixed[2].applied()],
        [2, 2, 1]
    );
    for (key, rows) in [("a", 1), ("b", 1), ("c", 1), ("d", 0), ("e", 1)] {
        assert_eq!(
            writer.execute(Count(key)).await.expect("count"),
            rows,
            "{key}"
        );
    }
    assert_eq!(failed_commits(&writer), 0);
    writer.stop();
}

/// Writes a meta row per item, each in `nested`, and goes on past the ones that fail (as
/// an import goes on past a refused line). Counts how often it was applied.
#[derive(Clone)]
struct SkipFailing {
    items: Vec<(&'static str, bool)>,
    applied: Arc<std::sync::atomic::AtomicUsize>,
}

impl Command for SkipFailing {
    type Output = usize;

    fn copy_to_try(&self) -> Option<Self> {
        Some(self.clone())
    }

    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<usize, ApiError> {
        self.applied
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut skipped = 0;
        for (key, fail) in self.items {
            let written = ctx.nested(|ctx| {
                ctx.conn
                    .execute("INSERT INTO meta (key, value) VALUES (?1, 'x')", [key])?;
                if fail {
                    return Err(ApiError::unprocessable("refused after writing"));
                }
                Ok(())
            });
            skipped += usize::from(written.is_err());
        }
        Ok(skipped)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_failing_inside_a_try_sends_the_batch_to_savepoints_though_its_command_goes_on() {
    let writer = writer(16);
    let retried = || retried_batches(&writer);
    let run = |items: Vec<(&'static str, bool)>| SkipFailing {
        items,
        applied: Default::default(),
    };

    let clean = run(vec![("f", false), ("g", false)]);
    assert_eq!(writer.execute(clean.clone()).await.expect("applied"), 0);
    assert_eq!(
        (
            clean.applied.load(std::sync::atomic::Ordering::Relaxed),
            retried()
        ),
        (1, 0)
    );

    let one_bad = run(vec![("h", false), ("i", true), ("j", false)]);
    assert_eq!(writer.execute(one_bad.clone()).await.expect("applied"), 1);
    assert_eq!(
        (
            one_bad.applied.load(std::sync::atomic::Ordering::Relaxed),
            retried()
        ),
        (2, 1),
        "tried, then applied with a savepoint per item"
    );
    // Without the second pass, the failed item's row would have stayed.
    for (key, rows) in [("f", 1), ("g", 1), ("h", 1), ("i", 0), ("j", 1)] {
        assert_eq!(
            writer.execute(Count(key)).await.expect("count"),
            rows,
            "{key}"
        );
    }
    writer.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_with_a_command_that_gives_no_copy_runs_once_with_savepoints() {
    let writer = writer(16);
    let tried = TriedWrite::new("k", false);
    let held = super::testing::hold(&writer);
    let sent = {
        let (w1, w2, t) = (writer.clone(), writer.clone(), tried.clone());
        (
            tokio::spawn(async move { w1.execute(t).await }),
            tokio::spawn(async move { w2.execute(WriteThenMaybeFail("l", false)).await }),
        )
    };
    super::testing::queued(&writer, 2).await;
    held.release().await.expect("held command committed");
    sent.0.await.expect("join").expect("tried command applied");
    sent.1.await.expect("join").expect("plain command applied");
    assert_eq!((tried.applied(), retried_batches(&writer)), (1, 0));
    for key in ["k", "l"] {
        assert_eq!(writer.execute(Count(key)).await.expect("count"), 1, "{key}");
    }
    writer.stop();
}
