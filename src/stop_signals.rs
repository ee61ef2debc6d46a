//! SIGTERM and SIGINT, registered while the application is built.
//!
//! actix installs its own handlers only when the server future is first polled, which is
//! after `main` prints the "listening" line; a supervisor that sends SIGTERM as soon as it
//! reads that line would kill the process instead of stopping it. Registering here, before
//! the line exists, closes that window.

use actix_web::dev::ServerHandle;
use tokio::signal::unix::{signal, Signal, SignalKind};

pub struct StopSignals {
    terminate: Signal,
    interrupt: Signal,
}

impl StopSignals {
    pub fn install() -> std::io::Result<StopSignals> {
        Ok(StopSignals {
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for the first signal, then stops the server gracefully: it stops accepting
    /// and drains in-flight requests, as actix's own handler would.
    pub async fn stop_on_signal(mut self, server: ServerHandle) {
        let name = tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        };
        log::info!("{name} received: stopping");
        server.stop(true).await;
    }
}
