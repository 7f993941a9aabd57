//! `make bench`: Leadpool's hot paths against the bare database doing the same work, in one
//! run, on the same machine, each on its own throwaway databases:
//!
//! * claims: 64 reps claiming the next lead (and batches of 10) through two claim processes for
//!   a fixed time, against the bare claim statement on as many connections, over a million
//!   leads in eight pools with one hot pool; no lead claimed twice;
//! * import: `ImportLeads` against a raw `COPY` of the same rows into the same tables;
//! * scheduler jobs over hundreds of thousands of leads, each one set-based run;
//! * memory: each service's resident set idle and under the claim load;
//! * lead search over the million leads.
//!
//! Prints a table and writes `target/bench/results.json`. Services run as release processes
//! (`make bench` builds them); the bench client shares the two cores with them.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)] // a report on stdout

mod claims;
mod cpu;
mod import;
mod jobs;
mod report;
mod search;
mod seed;
mod stack;

use std::time::Duration;

use leadpool_testing::TestDatabase;

use crate::report::Report;
use crate::stack::Stack;

/// How long the claim-next runs last; the batch runs last half as long.
const CLAIM_RUN: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() {
    // `BENCH_ONLY=claims` (or import, jobs) measures one part, while working on it.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let part = |name: &str| only.is_empty() || only == name;
    let mut report = Report::default();
    if part("claims") {
        measure_claims(&mut report).await;
        report.print();
    }
    if part("import") {
        import::measure(&mut report).await;
        report.print();
    }
    if part("jobs") {
        jobs::measure(&mut report).await;
    }
    report.print();
    report.write(std::path::Path::new("target/bench/results.json"));
}

async fn measure_claims(report: &mut Report) {
    println!("claims: seeding a million leads (8 pools, one hot)");
    let db = TestDatabase::new().await;
    seed::apply(&db, &seed::claims_policy()).await;
    seed::claims_leads(&db).await;
    let raw = db.duplicate().await;
    let stack = Stack::start(
        &db,
        &["routing", "claim", "claim", "intake", "scheduler"],
        &[],
    )
    .await;
    report.set("rss_idle_mb", by_service(stack.rss()));
    let channels = claims::channels(&stack).await;

    println!("claims: {} reps, ClaimNext for {CLAIM_RUN:?}", seed::REPS);
    let sampling = sample_rss(&stack);
    let cpu_before = cpu::used();
    let mut next = claims::through_leadpool(&channels, 1, CLAIM_RUN).await;
    let leadpool_cpu = cpu::spent(&cpu_before, &cpu::used());
    let peak = sampling.stop().await;
    let cpu_before = cpu::used();
    let mut ceiling = claims::ceiling(&raw, 1, CLAIM_RUN).await;
    let ceiling_cpu = cpu::spent(&cpu_before, &cpu::used());
    let (double, claimed) = claims::double_claims(&db).await;
    report.set("claims_per_s", round(next.rows_per_s()));
    report.set("claim_ceiling_per_s", round(ceiling.rows_per_s()));
    report.set(
        "claim_ratio",
        round2(next.rows_per_s() / ceiling.rows_per_s()),
    );
    report.set("claim_p50_ms", round2(next.latencies.ms(0.5)));
    report.set("claim_p99_ms", round2(next.latencies.ms(0.99)));
    report.set("claim_ceiling_p99_ms", round2(ceiling.latencies.ms(0.99)));
    report.set("claim_refusals", next.refused);
    report.set("double_claims", double);
    report.row(
        "ClaimNext, 64 reps (claims/s)",
        next.rows_per_s(),
        ceiling.rows_per_s(),
        "",
    );
    report.line(
        "ClaimNext latency",
        format!(
            "p50 {:.1} ms, p99 {:.1} ms (ceiling p99 {:.1} ms)",
            next.latencies.ms(0.5),
            next.latencies.ms(0.99),
            ceiling.latencies.ms(0.99)
        ),
    );
    report.line("ClaimNext: CPU by process", leadpool_cpu);
    report.line("bare statement: CPU by process", ceiling_cpu);
    report.line(
        "claims answered / in the history / leads claimed twice",
        format!("{} / {claimed} / {double}", next.rows),
    );
    report.set("rss_load_mb", by_service(peak));

    let batch_run = CLAIM_RUN / 2;
    println!("claims: ClaimBatch of 10 for {batch_run:?}");
    let batch = claims::through_leadpool(&channels, 10, batch_run).await;
    let batch_ceiling = claims::ceiling(&raw, 10, batch_run).await;
    report.set("batch_rows_per_s", round(batch.rows_per_s()));
    report.set(
        "batch_ceiling_rows_per_s",
        round(batch_ceiling.rows_per_s()),
    );
    report.row(
        "ClaimBatch of 10, 64 reps (leads/s)",
        batch.rows_per_s(),
        batch_ceiling.rows_per_s(),
        "",
    );
    let claim = stack.one("claim");
    search::measure(&db, claim, report).await;
    let idle: Vec<String> = stack
        .rss()
        .iter()
        .map(|(name, mib)| format!("{name} {mib:.0}"))
        .collect();
    report.line("RSS after the load (MiB)", idle.join(", "));
}

/// `claim#1` → `claim`.
/// MiB by service ("claim"), the largest of its replicas ("claim#0", "claim#1").
fn by_service(by_replica: impl IntoIterator<Item = (String, f64)>) -> serde_json::Value {
    let mut services = serde_json::Map::new();
    for (replica, mib) in by_replica {
        let service = replica.split('#').next().unwrap_or(&replica).to_owned();
        let largest = services
            .get(&service)
            .and_then(serde_json::Value::as_f64)
            .map_or(mib, |seen| seen.max(mib));
        services.insert(service, round(largest).into());
    }
    services.into()
}

fn round(x: f64) -> f64 {
    x.round()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Samples every service's resident memory while a measurement runs; `stop` gives each one's
/// peak.
struct RssSampler {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Vec<(String, f64)>>,
}

fn sample_rss(stack: &Stack) -> RssSampler {
    let pids: Vec<(String, u32)> = stack
        .replicas
        .iter()
        .filter_map(|r| Some((r.name.clone(), r.pid()?)))
        .collect();
    let (stop, mut stopped) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let mut peak: Vec<(String, f64)> = pids.iter().map(|(n, _)| (n.clone(), 0.0)).collect();
        loop {
            for ((_, pid), (_, max)) in pids.iter().zip(peak.iter_mut()) {
                if let Some(mib) = leadpool_e2e::process::rss_of(*pid) {
                    *max = max.max(mib);
                }
            }
            tokio::select! {
                _ = &mut stopped => return peak,
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    });
    RssSampler { stop, task }
}

impl RssSampler {
    async fn stop(self) -> Vec<(String, f64)> {
        let _ = self.stop.send(());
        self.task.await.unwrap()
    }
}
