//! Prometheus text for `/metrics`: requests by route and status, a latency histogram,
//! the writer's queue depth and batch sizes, events applied.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::writer::costs::Feature;
use crate::writer::WriterStats;

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
pub struct Telemetry {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency_counts: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_sum_micros: AtomicU64,
    latency_total: AtomicU64,
    pub events_applied: AtomicU64,
    /// Events of admin batches skipped because they would have overflowed a total.
    pub batch_events_skipped: AtomicU64,
}

impl Telemetry {
    pub fn record_request(&self, route: &str, method: &str, status: u16, took: Duration) {
        {
            let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
            *requests
                .entry((route.to_owned(), method.to_owned(), status))
                .or_insert(0) += 1;
        }
        let secs = took.as_secs_f64();
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.latency_counts[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        self.latency_total.fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self, writer: &WriterStats) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP trophyd_http_requests_total HTTP requests by route pattern, method and status."
        );
        let _ = writeln!(out, "# TYPE trophyd_http_requests_total counter");
        for ((route, method, status), count) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "trophyd_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {count}",
                route.replace('"', "'")
            );
        }
        let _ = writeln!(
            out,
            "# HELP trophyd_http_request_duration_seconds Request latency."
        );
        let _ = writeln!(
            out,
            "# TYPE trophyd_http_request_duration_seconds histogram"
        );
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "trophyd_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                self.latency_counts[i].load(Ordering::Relaxed)
            );
        }
        let total = self.latency_total.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "trophyd_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {total}"
        );
        let _ = writeln!(
            out,
            "trophyd_http_request_duration_seconds_sum {}",
            self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "trophyd_http_request_duration_seconds_count {total}");
        let gauge = |out: &mut String, name: &str, help: &str, kind: &str, value: String| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        };
        gauge(
            &mut out,
            "trophyd_writer_queue_depth",
            "Commands waiting for the writer.",
            "gauge",
            writer.queue_depth.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "trophyd_writer_refused_total",
            "Commands refused with 503 because the writer's queue was full.",
            "counter",
            writer.refused.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "trophyd_writer_batches_total",
            "Group commits.",
            "counter",
            writer.batches.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "trophyd_writer_commands_total",
            "Commands applied by the writer.",
            "counter",
            writer.commands.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "trophyd_writer_failed_commits_total",
            "Group commits that failed.",
            "counter",
            writer.failed_commits.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "trophyd_writer_retried_batches_total",
            "Batches tried without savepoints that ran again, a savepoint per command, because a command failed.",
            "counter",
            writer.retried_batches.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "trophyd_writer_pages_written_total",
            "Database pages group commits wrote to the WAL.",
            "counter",
            writer.pages_written.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "trophyd_writer_syncs_total",
            "Syncs of the WAL that replies waited for (durability full); one covers every batch committed before it began.",
            "counter",
            writer.sync.syncs.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "trophyd_writer_sync_seconds_total",
            "Time the sync thread spent syncing the WAL, beside the writer.",
            "counter",
            format!(
                "{:.6}",
                writer.sync.nanos.load(Ordering::Relaxed) as f64 / 1e9
            ),
        );
        gauge(
            &mut out,
            "trophyd_events_applied_total",
            "Metric events applied (replays excluded).",
            "counter",
            self.events_applied.load(Ordering::Relaxed).to_string(),
        );
        gauge(
            &mut out,
            "trophyd_batch_events_skipped_total",
            "Events of POST /admin/v1/metrics/events skipped because a total would have overflowed.",
            "counter",
            self.batch_events_skipped.load(Ordering::Relaxed).to_string(),
        );
        let _ = writeln!(
            out,
            "# HELP trophyd_writer_batch_size Commands per group commit."
        );
        let _ = writeln!(out, "# TYPE trophyd_writer_batch_size histogram");
        let mut cumulative = 0;
        for (bucket, le) in writer
            .batch_size_buckets
            .iter()
            .zip(["1", "10", "100", "1000", "+Inf"])
        {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "trophyd_writer_batch_size_bucket{{le=\"{le}\"}} {cumulative}"
            );
        }
        let _ = writeln!(out, "trophyd_writer_batch_size_count {cumulative}");
        let _ = writeln!(
            out,
            "trophyd_writer_batch_size_sum {}",
            writer.commands.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP trophyd_writer_feature_seconds_total Writer time by feature (nested features charged to the innermost)."
        );
        let _ = writeln!(out, "# TYPE trophyd_writer_feature_seconds_total counter");
        for feature in Feature::ALL {
            let _ = writeln!(
                out,
                "trophyd_writer_feature_seconds_total{{feature=\"{}\"}} {}",
                feature.name(),
                writer.features.seconds(feature)
            );
        }
        out
    }
}
