//! `/metrics`: a `prometheus-client` registry, rendered in the Prometheus text format
//! (version 0.0.4). Requests by route and status, a latency histogram, events applied, and
//! the writer's counters (queue depth, batch sizes, time by feature, syncs).
//!
//! The HTTP side records into the registry's own metrics (atomic counters; the latency
//! histogram takes an uncontended lock per request). The writer keeps its plain atomics in
//! `WriterStats` and `SyncStats`, which `WriterMetrics` reads at each scrape, so recording
//! on the writer thread stays an atomic add with no lock, lookup or allocation.
//!
//! Names, types and labels are a contract (dashboards, `benches/load.rs`, the tests): a
//! counter is registered without its `_total`, which the encoder adds.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    prometheus_text, DescriptorEncoder, EncodeLabelSet, EncodeMetric, MetricEncoder, NoLabelSet,
};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::writer::costs::Feature;
use crate::writer::WriterStats;

/// The `Content-Type` of `/metrics`.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Upper bounds of `trophyd_writer_batch_size`, the first four of
/// `WriterStats::batch_size_buckets` (the fifth is `+Inf`).
const BATCH_SIZE_BUCKETS: [f64; 4] = [1.0, 10.0, 100.0, 1000.0];

/// The labels of `trophyd_http_requests_total`, in this order.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Request {
    route: String,
    method: String,
    status: u16,
}

pub struct Telemetry {
    registry: Registry,
    requests: Family<Request, Counter>,
    latency: Histogram,
    /// Metric events applied (`POST /v1/metrics/{key}/event`, replays excluded).
    pub events_applied: Counter,
    /// Events of admin batches skipped because they would have overflowed a total.
    pub batch_events_skipped: Counter,
}

impl Telemetry {
    pub fn new(writer: Arc<WriterStats>) -> Telemetry {
        let requests = Family::<Request, Counter>::default();
        let latency = Histogram::new(LATENCY_BUCKETS);
        let events_applied = Counter::default();
        let batch_events_skipped = Counter::default();
        let mut registry = Registry::default();
        // `register` ends each help text with a period.
        registry.register(
            "trophyd_http_requests",
            "HTTP requests by route pattern, method and status",
            Listed(requests.clone()),
        );
        registry.register(
            "trophyd_http_request_duration_seconds",
            "Request latency: from the start of handling a request to its response being ready",
            latency.clone(),
        );
        registry.register(
            "trophyd_events_applied",
            "Metric events applied by POST /v1/metrics/{key}/event (replays excluded)",
            events_applied.clone(),
        );
        registry.register(
            "trophyd_batch_events_skipped",
            "Events of POST /admin/v1/metrics/events skipped because a total would have overflowed",
            batch_events_skipped.clone(),
        );
        registry.register_collector(Box::new(WriterMetrics(writer)));
        Telemetry {
            registry,
            requests,
            latency,
            events_applied,
            batch_events_skipped,
        }
    }

    pub fn record_request(&self, route: String, method: String, status: u16, took: Duration) {
        self.requests
            .get_or_create(&Request {
                route,
                method,
                status,
            })
            .inc();
        self.latency.observe(took.as_secs_f64());
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }
}

/// A family whose HELP and TYPE are listed before its first series too (a family left
/// empty is otherwise not listed at all).
#[derive(Debug)]
struct Listed<M>(M);

impl<M: EncodeMetric> EncodeMetric for Listed<M> {
    fn encode(&self, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        self.0.encode(encoder)
    }

    fn metric_type(&self) -> MetricType {
        self.0.metric_type()
    }
}

/// The writer's counters, read at each scrape.
#[derive(Debug)]
struct WriterMetrics(Arc<WriterStats>);

impl Collector for WriterMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let w = &*self.0;
        let read = |n: &std::sync::atomic::AtomicU64| n.load(Ordering::Relaxed);
        let gauge = ConstGauge::new(w.queue_depth.load(Ordering::Relaxed).max(0));
        describe(
            &mut encoder,
            "trophyd_writer_queue_depth",
            "Commands waiting for the writer.",
            &gauge,
        )?;
        let counters = [
            (
                "trophyd_writer_refused",
                "Commands refused with 503 because the writer's queue was full.",
                read(&w.refused),
            ),
            ("trophyd_writer_batches", "Group commits.", read(&w.batches)),
            (
                "trophyd_writer_commands",
                "Commands applied by the writer.",
                read(&w.commands),
            ),
            (
                "trophyd_writer_failed_commits",
                "Group commits that failed.",
                read(&w.failed_commits),
            ),
            (
                "trophyd_writer_retried_batches",
                "Batches tried without savepoints that ran again, a savepoint per command, because a command failed.",
                read(&w.retried_batches),
            ),
            (
                "trophyd_writer_pages_written",
                "Database pages group commits wrote to the WAL.",
                read(&w.pages_written),
            ),
            (
                "trophyd_writer_syncs",
                "Syncs of the WAL that replies waited for (durability full); one covers every batch committed before it began.",
                read(&w.sync.syncs),
            ),
        ];
        for (name, help, value) in counters {
            describe(&mut encoder, name, help, &ConstCounter::new(value))?;
        }
        describe(
            &mut encoder,
            "trophyd_writer_sync_seconds",
            "Time the sync thread spent syncing the WAL, beside the writer.",
            &ConstCounter::new(read(&w.sync.nanos) as f64 / 1e9),
        )?;

        let mut buckets = [(0.0, 0); BATCH_SIZE_BUCKETS.len()];
        for ((slot, le), n) in buckets
            .iter_mut()
            .zip(BATCH_SIZE_BUCKETS)
            .zip(&w.batch_size_buckets)
        {
            *slot = (le, read(n));
        }
        describe(
            &mut encoder,
            "trophyd_writer_batch_size",
            "Commands per group commit.",
            &ConstHistogram {
                // The batches themselves, not their sizes, which is what the buckets count.
                count: w.batch_size_buckets.iter().map(read).sum(),
                sum: read(&w.commands) as f64,
                buckets,
            },
        )?;

        let mut family = encoder.encode_descriptor(
            "trophyd_writer_feature_seconds",
            "Writer time by feature (nested features charged to the innermost).",
            None,
            MetricType::Counter,
        )?;
        for feature in Feature::ALL {
            ConstCounter::new(w.features.seconds(feature))
                .encode(family.encode_family(&[("feature", feature.name())])?)?;
        }
        Ok(())
    }
}

fn describe(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric: &impl EncodeMetric,
) -> Result<(), std::fmt::Error> {
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// A histogram read from counters kept elsewhere: `buckets` holds each bucket's own count
/// (not cumulative), the encoder adds them up and writes `+Inf` as `count`.
struct ConstHistogram<const N: usize> {
    count: u64,
    sum: f64,
    buckets: [(f64, u64); N],
}

impl<const N: usize> EncodeMetric for ConstHistogram<N> {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_histogram::<NoLabelSet>(self.sum, self.count, &self.buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_types_and_buckets_are_those_dashboards_read() {
        let stats = Arc::new(WriterStats::default());
        stats.batch_size_buckets[0].store(3, Ordering::Relaxed);
        stats.batch_size_buckets[2].store(1, Ordering::Relaxed);
        stats.batch_size_buckets[4].store(1, Ordering::Relaxed);
        stats.commands.store(2000, Ordering::Relaxed);
        stats.sync.nanos.store(1_500_000_000, Ordering::Relaxed);
        let telemetry = Telemetry::new(stats);
        telemetry.events_applied.inc_by(7);
        telemetry.record_request(
            "/v1/metrics/{key}/event".into(),
            "POST".into(),
            201,
            Duration::from_micros(700),
        );
        let text = telemetry.render();
        for line in [
            "# TYPE trophyd_http_requests_total counter",
            "trophyd_http_requests_total{route=\"/v1/metrics/{key}/event\",method=\"POST\",status=\"201\"} 1",
            "# TYPE trophyd_http_request_duration_seconds histogram",
            "trophyd_http_request_duration_seconds_bucket{le=\"0.0005\"} 0",
            "trophyd_http_request_duration_seconds_bucket{le=\"0.001\"} 1",
            "trophyd_http_request_duration_seconds_bucket{le=\"1\"} 1",
            "trophyd_http_request_duration_seconds_bucket{le=\"+Inf\"} 1",
            "trophyd_http_request_duration_seconds_count 1",
            "# HELP trophyd_events_applied_total Metric events applied by POST /v1/metrics/{key}/event (replays excluded).",
            "trophyd_events_applied_total 7",
            "# TYPE trophyd_writer_queue_depth gauge",
            "trophyd_writer_queue_depth 0",
            "# TYPE trophyd_writer_commands_total counter",
            "trophyd_writer_commands_total 2000",
            "trophyd_writer_sync_seconds_total 1.5",
            "# TYPE trophyd_writer_batch_size histogram",
            "trophyd_writer_batch_size_bucket{le=\"1\"} 3",
            "trophyd_writer_batch_size_bucket{le=\"10\"} 3",
            "trophyd_writer_batch_size_bucket{le=\"100\"} 4",
            "trophyd_writer_batch_size_bucket{le=\"1000\"} 4",
            "trophyd_writer_batch_size_bucket{le=\"+Inf\"} 5",
            "trophyd_writer_batch_size_sum 2000.0",
            "trophyd_writer_batch_size_count 5",
            "# TYPE trophyd_writer_feature_seconds_total counter",
            "trophyd_writer_feature_seconds_total{feature=\"checkpoint\"} 0.0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
    }

    #[test]
    fn the_requests_family_is_listed_before_its_first_request() {
        let text = Telemetry::new(Arc::default()).render();
        assert!(
            text.contains("# TYPE trophyd_http_requests_total counter\n"),
            "{text}"
        );
    }
}
