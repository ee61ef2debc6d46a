//! Test support: holding the writer thread inside a command, so the commands sent
//! meanwhile queue up and are applied together in the next group commit. Needs a
//! multi-threaded test runtime (the test blocks until the writer runs the hold).

use std::sync::atomic::Ordering;
use std::sync::mpsc;

use super::{Command, WriteCtx, Writer};
use crate::error::ApiError;

struct Hold {
    started: mpsc::Sender<()>,
    go: mpsc::Receiver<()>,
}

impl Command for Hold {
    type Output = ();
    /// Writes the row `meta.held` once released, so a test can tell it committed.
    fn apply(self, ctx: &mut WriteCtx<'_>) -> Result<(), ApiError> {
        let _ = self.started.send(());
        let _ = self.go.recv();
        ctx.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('held', 'yes')",
            [],
        )?;
        Ok(())
    }
}

pub struct Held {
    go: mpsc::Sender<()>,
    done: tokio::task::JoinHandle<Result<(), ApiError>>,
}

/// Returns once the writer thread is inside the held command.
pub fn hold(writer: &Writer) -> Held {
    let (started_tx, started) = mpsc::channel();
    let (go, go_rx) = mpsc::channel();
    let writer = writer.clone();
    let done = tokio::spawn(async move {
        writer
            .execute(Hold {
                started: started_tx,
                go: go_rx,
            })
            .await
    });
    started.recv().expect("the writer runs the held command");
    Held { go, done }
}

impl Held {
    /// Lets the writer go on; returns the held command's outcome.
    pub async fn release(self) -> Result<(), ApiError> {
        self.go.send(()).expect("the held command waits");
        self.done.await.expect("join")
    }
}

/// Waits until `n` commands wait in the writer's queue.
pub async fn queued(writer: &Writer, n: i64) {
    while writer.stats().queue_depth.load(Ordering::Relaxed) < n {
        tokio::task::yield_now().await;
    }
}
