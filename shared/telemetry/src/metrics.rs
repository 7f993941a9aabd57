//! Prometheus metrics, one registry per process. Every service records its RPCs here (through
//! [`crate::GrpcTraceLayer`]); the scheduler adds its job runs and the pool gauges it reads from
//! the database. [`render`] is what `GET /metrics` answers.
//!
//! Claims and limit hits need no code in the claim service: they are the RPC counters of
//! `leadpool.v1.ClaimService` (`code="ResourceExhausted"` is a limit hit).

use std::sync::LazyLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

// Names and labels are constants, so construction cannot fail; the unit test below builds
// every metric, so a typo fails the build's tests rather than a running service.
#[allow(clippy::expect_used)]
fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    let _ = REGISTRY.register(Box::new(metric.clone()));
    metric
}

#[allow(clippy::expect_used)]
fn gauge(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let metric = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    let _ = REGISTRY.register(Box::new(metric.clone()));
    metric
}

#[allow(clippy::expect_used)]
fn histogram(name: &str, help: &str, labels: &[&str], buckets: Vec<f64>) -> HistogramVec {
    let metric = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        .expect("valid metric");
    let _ = REGISTRY.register(Box::new(metric.clone()));
    metric
}

/// Finished RPCs by service, method and gRPC code name.
pub static RPC_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "leadpool_rpc_requests_total",
        "Finished gRPC calls by service, method and status code.",
        &["service", "method", "code"],
    )
});

/// RPC latency by service and method.
pub static RPC_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    histogram(
        "leadpool_rpc_duration_seconds",
        "gRPC call latency until the response headers.",
        &["service", "method"],
        vec![
            0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ],
    )
});

/// Job runs by job, trigger (`schedule`, `manual`) and outcome (`ok`, `error`, `skipped`:
/// another replica had the slot).
pub static JOB_RUNS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "leadpool_job_runs_total",
        "Scheduler job runs by job, trigger and outcome.",
        &["job", "trigger", "outcome"],
    )
});

pub static JOB_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    histogram(
        "leadpool_job_duration_seconds",
        "How long a job run took, effect and commit included.",
        &["job"],
        vec![0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0],
    )
});

/// Leads (or records) changed by job runs.
pub static JOB_AFFECTED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "leadpool_job_affected_total",
        "Leads or records changed by scheduler job runs.",
        &["job"],
    )
});

/// Leads per pool and state (available, scheduled, escalated).
pub static POOL_LEADS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge(
        "leadpool_pool_leads",
        "Leads in a pool by state.",
        &["pool", "state"],
    )
});

/// Available leads per pool by age bucket (0-12h, 12-24h, 24-48h, 48h+).
pub static POOL_AGE: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge(
        "leadpool_pool_available_by_age",
        "Available leads in a pool by time since they entered it.",
        &["pool", "bucket"],
    )
});

/// The policy's depth thresholds per pool (`warning`, `critical`), for alert rules.
pub static POOL_THRESHOLD: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge(
        "leadpool_pool_depth_threshold",
        "Depth thresholds from the policy, per pool and level.",
        &["pool", "level"],
    )
});

/// Open alerts by pool, kind and severity, as GetPoolHealth computes them.
pub static POOL_ALERTS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge(
        "leadpool_pool_alerts",
        "Pool-health alerts currently firing (1) by pool, kind and severity.",
        &["pool", "kind", "severity"],
    )
});

/// Webhook delivery attempts by outcome (`delivered`, `failed`: retried later, `dead`: given up).
pub static WEBHOOK_DELIVERIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    counter(
        "leadpool_webhook_deliveries_total",
        "Webhook delivery attempts by outcome.",
        &["outcome"],
    )
});

pub static WEBHOOK_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    histogram(
        "leadpool_webhook_delivery_seconds",
        "How long a webhook endpoint took to answer (or to time out).",
        &["outcome"],
        vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
    )
});

/// Events numbered but not yet delivered to a subscription, oldest first counted.
pub static WEBHOOK_BACKLOG: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge(
        "leadpool_webhook_backlog",
        "Webhook deliveries waiting (pending) and given up (dead).",
        &["state"],
    )
});

/// Everything registered, in Prometheus' text format.
pub fn render() -> String {
    let mut out = Vec::new();
    // Encoding into a Vec cannot fail on I/O; a metric family that fails is left out.
    let _ = TextEncoder::new().encode(&REGISTRY.gather(), &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// The content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_builds_and_renders() {
        RPC_REQUESTS.with_label_values(&["s", "m", "Ok"]).inc();
        RPC_DURATION.with_label_values(&["s", "m"]).observe(0.01);
        JOB_RUNS.with_label_values(&["j", "schedule", "ok"]).inc();
        JOB_DURATION.with_label_values(&["j"]).observe(0.1);
        JOB_AFFECTED.with_label_values(&["j"]).inc_by(3);
        POOL_LEADS.with_label_values(&["p", "available"]).set(4);
        POOL_AGE.with_label_values(&["p", "0-12h"]).set(4);
        POOL_THRESHOLD.with_label_values(&["p", "warning"]).set(50);
        POOL_ALERTS
            .with_label_values(&["p", "capacity", "warning"])
            .set(1);
        WEBHOOK_DELIVERIES.with_label_values(&["delivered"]).inc();
        WEBHOOK_DURATION
            .with_label_values(&["delivered"])
            .observe(0.02);
        WEBHOOK_BACKLOG.with_label_values(&["pending"]).set(2);
        let text = render();
        for name in [
            "leadpool_rpc_requests_total{code=\"Ok\",method=\"m\",service=\"s\"} 1",
            "leadpool_rpc_duration_seconds_bucket",
            "leadpool_job_runs_total",
            "leadpool_job_duration_seconds_bucket",
            "leadpool_job_affected_total{job=\"j\"} 3",
            "leadpool_pool_leads{pool=\"p\",state=\"available\"} 4",
            "leadpool_pool_available_by_age",
            "leadpool_pool_depth_threshold",
            "leadpool_pool_alerts",
            "leadpool_webhook_deliveries_total{outcome=\"delivered\"} 1",
            "leadpool_webhook_delivery_seconds_bucket",
            "leadpool_webhook_backlog{state=\"pending\"} 2",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }
}
