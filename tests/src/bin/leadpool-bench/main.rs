//! `make bench`: Leadpool's hot paths against the bare database doing the same work, in one
//! run, on the same machine, each on its own throwaway databases:
//!
//! * claims: 64 reps (`BENCH_REPS`) claiming the next lead (and batches of 10) through two
//!   claim processes (`BENCH_CLAIM_PROCESSES`) for a fixed time, against the bare claim
//!   statement at its best of 4, 8, 16 and 64 connections, over a million leads in eight pools
//!   with one hot pool; no lead claimed twice; ClaimNext's latency at half its maximum rate
//!   (open loop); the same claim on a minimal table of its own;
//! * import: `ImportLeads` against a raw `COPY` of the same rows into the same tables;
//! * scheduler jobs over hundreds of thousands of leads, each one set-based run;
//! * the aging place derived on read instead of written (not built yet): what aging would
//!   still write, the derived claim order checked against the stored one, and the bare claim
//!   picking in each;
//! * memory: each service's resident set idle and under the claim load;
//! * lead search over the million leads, and browsing the hot pool page by page;
//! * claims that cannot be grouped: ClaimNext under a reclaim embargo, each claim its own
//!   transaction, against the bare claim with the embargo's filter;
//! * SimulatePolicy on a month of 100,000 leads and 50 reps: the engine in process, and the
//!   whole call with the history in Postgres.
//!
//! Prints a table and writes `target/bench/results.json`. Services run as release processes
//! (`make bench` builds them); the bench client shares the two cores with them.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)] // a report on stdout

mod activity;
mod aging_read;
mod browse;
mod claims;
mod cpu;
mod import;
mod jobs;
mod minimal;
mod report;
mod search;
mod seed;
mod simulation;
mod stack;
mod wal;

use std::time::Duration;

use leadpool_testing::TestDatabase;
use tonic::transport::Channel;

use crate::report::Report;
use crate::stack::Stack;

/// How long the claim-next runs last; the batch runs last half as long.
const CLAIM_RUN: Duration = Duration::from_secs(30);
/// How long each bare statement runs at each connection count; its batches half as long.
const CEILING_RUN: Duration = Duration::from_secs(10);
/// How long ClaimNext runs at a fixed arrival rate.
const OPEN_LOOP_RUN: Duration = Duration::from_secs(15);

#[tokio::main]
async fn main() {
    // `BENCH_ONLY=claims` (or claims-single, import, jobs, aging-read, simulation) measures one
    // part, while
    // working on it.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let part = |name: &str| only.is_empty() || only == name;
    let mut report = Report::default();
    // Every part's figures depend on these, whichever parts run.
    report.line(
        "Postgres",
        wal::settings(TestDatabase::new().await.store().pool()).await,
    );
    if part("claims") {
        measure_claims(&mut report).await;
        report.print();
    }
    if part("claims-single") {
        measure_single_claims(&mut report).await;
        report.print();
    }
    if part("import") {
        import::measure(&mut report).await;
        report.print();
    }
    if part("jobs") {
        jobs::measure(&mut report).await;
        report.print();
    }
    if part("aging-read") {
        aging_read::measure(&mut report).await;
        report.print();
    }
    if part("simulation") {
        simulation::measure(&mut report);
        simulation::measure_request(&mut report).await;
    }
    report.print();
    report.write(std::path::Path::new("target/bench/results.json"));
}

async fn measure_claims(report: &mut Report) {
    println!("claims: seeding a million leads (8 pools, one hot)");
    let db = TestDatabase::new().await;
    seed::apply(&db, &seed::claims_policy()).await;
    seed::claims_leads(&db).await;
    // The bare single claims and the bare batches each get a copy of their own, so that the hot
    // pool outlasts each set of runs (seed::HOT_LEADS).
    let raw = db.duplicate().await;
    let raw_batch = db.duplicate().await;
    let (stack, processes) = claims_stack(&db).await;
    report.set("rss_idle_mb", by_service(stack.rss()));
    let channels = claims::channels(&stack).await;
    let load = format!("{} reps, {processes} claim processes", seed::reps());

    let claims_per_s = claim_next(&db, &raw, &stack, &channels, &load, report).await;
    // Each later phase starts settled, as ClaimNext did and as each ceiling does: without the
    // dead index entries of the leads claimed before it (120,000–170,000 of the hot pool's by
    // the time ClaimBatch starts), and with no checkpoint under way.
    seed::settle(&db).await;
    open_loop(&db, &channels, claims_per_s / 2.0, report).await;
    seed::settle(&db).await;
    claim_batch(&raw_batch, &channels, &load, report).await;
    minimal_ceiling(claims_per_s, report).await;

    let claim = stack.one("claim");
    search::measure(&db, claim, report).await;
    browse::measure(claim, report).await;
    let idle: Vec<String> = stack
        .rss()
        .iter()
        .map(|(name, mib)| format!("{name} {mib:.0}"))
        .collect();
    report.line("RSS after the load (MiB)", idle.join(", "));
}

/// ClaimNext where the claims cannot be grouped (`ClaimRules::groupable`): the claims policy
/// with a reclaim embargo, so each claim is a transaction of its own whose pick passes over the
/// leads the rep gave up in the last day (as with skills, a claim ratio or a rotation window),
/// against the bare single claim with the same filter at its best.
async fn measure_single_claims(report: &mut Report) {
    println!("claims-single: seeding a million leads (a reclaim embargo: no groups)");
    let db = TestDatabase::new().await;
    let policy = format!(
        "{}limits: {{ reclaimEmbargo: 24h }}\n",
        seed::claims_policy()
    );
    seed::apply(&db, &policy).await;
    seed::claims_leads(&db).await;
    seed::intake_history(&db).await;
    let raw = db.duplicate().await;
    let (stack, processes) = claims_stack(&db).await;
    let channels = claims::channels(&stack).await;
    seed::settle(&db).await;
    println!("claims-single: ClaimNext for {CLAIM_RUN:?}");
    let watching = activity::sample(&db.url()).await;
    let cpu_before = cpu::used();
    let mut next = claims::through_leadpool(&channels, 1, CLAIM_RUN).await;
    let cpu_spent = cpu::spent(&cpu_before, &cpu::used());
    let in_database = watching.stop().await;
    println!("claims-single: the bare statement, {CEILING_RUN:?} at each connection count");
    let mut sweep = claims::sweep(&raw, claims::bare_embargoed_claim, 1, CEILING_RUN).await;
    let (double, claimed) = claims::double_claims(&db).await;
    let summary = sweep.summary();
    let ceiling = &mut sweep.best().run;
    report.set("single_claims_per_s", round(next.rows_per_s()));
    report.set("single_claim_ceiling_per_s", round(ceiling.rows_per_s()));
    report.set("single_claim_p99_ms", round2(next.latencies.ms(0.99)));
    report.set("single_double_claims", double);
    report.row(
        &format!(
            "ClaimNext, no groups (a reclaim embargo), {} reps, {processes} claim processes (claims/s)",
            seed::reps()
        ),
        next.rows_per_s(),
        ceiling.rows_per_s(),
        "",
    );
    report.line(
        "bare statement with the embargo by connections (claims/s)",
        summary,
    );
    report.line(
        "ClaimNext, no groups: latency",
        format!(
            "{}; {} refused",
            against_ceiling(&mut next, ceiling),
            next.refused
        ),
    );
    report.line(
        "ClaimNext, no groups: claims answered / in the history / leads claimed twice",
        format!("{} / {claimed} / {double}", next.rows),
    );
    report.line("ClaimNext, no groups: CPU by process", cpu_spent);
    in_database.report(
        report,
        "single_claim_db_activity",
        "ClaimNext, no groups: connections in a transaction, mean by what they did",
    );
}

/// A run's p50 and p99 latency, with the ceiling's p99 beside them.
fn against_ceiling(run: &mut claims::Run, ceiling: &mut claims::Run) -> String {
    format!(
        "p50 {:.1} ms, p99 {:.1} ms (ceiling p99 {:.1} ms)",
        run.latencies.ms(0.5),
        run.latencies.ms(0.99),
        ceiling.latencies.ms(0.99)
    )
}

/// The stack the claims run against on `db`: routing, the claim processes, intake and the
/// scheduler; with how many claim processes it has.
async fn claims_stack(db: &TestDatabase) -> (Stack, usize) {
    let processes = claim_processes();
    let services: Vec<&str> = std::iter::once("routing")
        .chain(std::iter::repeat_n("claim", processes))
        .chain(["intake", "scheduler"])
        .collect();
    (Stack::start(db, &services, &[]).await, processes)
}

/// Claim service replicas: `BENCH_CLAIM_PROCESSES`, 2 unless set.
fn claim_processes() -> usize {
    std::env::var("BENCH_CLAIM_PROCESSES")
        .map_or(2, |n| n.parse().expect("BENCH_CLAIM_PROCESSES: a number"))
}

/// ClaimNext for `CLAIM_RUN` by `load` (its reps and processes) against the bare statement's
/// best; the claims a second Leadpool
/// answered.
async fn claim_next(
    db: &TestDatabase,
    raw: &TestDatabase,
    stack: &Stack,
    channels: &[Channel],
    load: &str,
    report: &mut Report,
) -> f64 {
    // The copies made for the ceilings wrote two million leads to the WAL since the seed.
    seed::settle(db).await;
    println!("claims: {load}, ClaimNext for {CLAIM_RUN:?}");
    let wal_before = wal::mark(db.store().pool()).await;
    let sampling = sample_rss(stack);
    let watching = activity::sample(&db.url()).await;
    let cpu_before = cpu::used();
    let mut next = claims::through_leadpool(channels, 1, CLAIM_RUN).await;
    let leadpool_cpu = cpu::spent(&cpu_before, &cpu::used());
    let in_database = watching.stop().await;
    let peak = sampling.stop().await;
    let (wal_mb, checkpoints) = wal_before.since(db.store().pool()).await;
    println!("claims: the bare statement, {CEILING_RUN:?} at each connection count");
    let mut sweep = claims::sweep(raw, claims::bare_claim, 1, CEILING_RUN).await;
    let (double, claimed) = claims::double_claims(db).await;
    report.set("claim_ceiling_by_connections", sweep.by_connections());
    let summary = sweep.summary();
    let best = sweep.best();
    let ceiling = &mut best.run;
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
        &format!("ClaimNext, {load} (claims/s)"),
        next.rows_per_s(),
        ceiling.rows_per_s(),
        "",
    );
    report.line("bare statement by connections (claims/s)", summary);
    report.line("ClaimNext latency", against_ceiling(&mut next, ceiling));
    report.set("claim_rows_by_window", next.rows_by_window.clone());
    report.line(
        &format!(
            "ClaimNext by {}-s window (claims)",
            claims::WINDOW.as_secs()
        ),
        next.rows_by_window
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    );
    report.set("claim_wal_mb", round(wal_mb));
    report.set("claim_checkpoints", checkpoints);
    report.line(
        "ClaimNext: WAL written, checkpoints begun",
        format!("{wal_mb:.0} MB, {checkpoints}"),
    );
    report.line("ClaimNext: CPU by process", leadpool_cpu);
    in_database.report(
        report,
        "claim_db_activity",
        "ClaimNext: connections in a transaction, mean by what they did",
    );
    report.line(
        &format!(
            "bare statement, {} connections: CPU by process",
            best.connections
        ),
        best.cpu.clone(),
    );
    best.activity.report(
        report,
        "claim_ceiling_db_activity",
        &format!(
            "bare statement, {} connections: in a transaction, mean by what they did",
            best.connections
        ),
    );
    report.line(
        "claims answered / in the history / leads claimed twice",
        format!("{} / {claimed} / {double}", next.rows),
    );
    report.set("rss_load_mb", by_service(peak));
    next.rows_per_s()
}

/// ClaimNext at a fixed `rate` for `OPEN_LOOP_RUN`, latencies from each request's scheduled
/// time: what a caller sees below saturation, which the closed loop (each rep waiting for its
/// answer before asking again) cannot show.
async fn open_loop(db: &TestDatabase, channels: &[Channel], rate: f64, report: &mut Report) {
    println!("claims: ClaimNext at {rate:.0}/s (open loop) for {OPEN_LOOP_RUN:?}");
    let watching = activity::sample(&db.url()).await;
    let mut open = claims::open_loop(channels, rate, OPEN_LOOP_RUN).await;
    let in_database = watching.stop().await;
    report.set("claim_open_loop_rate", round(rate));
    report.set("claim_open_loop_p50_ms", round2(open.latencies.ms(0.5)));
    report.set("claim_open_loop_p99_ms", round2(open.latencies.ms(0.99)));
    report.set("claim_open_loop_refusals", open.refused);
    report.line(
        &format!("ClaimNext open loop at {rate:.0}/s (half the maximum)"),
        format!(
            "p50 {:.1} ms, p99 {:.1} ms from the scheduled send, {} refused",
            open.latencies.ms(0.5),
            open.latencies.ms(0.99),
            open.refused
        ),
    );
    in_database.report(
        report,
        "claim_open_loop_db_activity",
        "open loop: connections in a transaction, mean by what they did",
    );
}

/// ClaimBatch of 10 for half `CLAIM_RUN` against the bare 10-row statement's best.
async fn claim_batch(raw: &TestDatabase, channels: &[Channel], load: &str, report: &mut Report) {
    let batch_run = CLAIM_RUN / 2;
    println!("claims: ClaimBatch of 10 for {batch_run:?}");
    let batch = claims::through_leadpool(channels, 10, batch_run).await;
    let mut sweep = claims::sweep(raw, claims::bare_claim, 10, CEILING_RUN / 2).await;
    report.set("batch_rows_per_s", round(batch.rows_per_s()));
    report.set("batch_ceiling_by_connections", sweep.by_connections());
    let summary = sweep.summary();
    let ceiling = &sweep.best().run;
    report.set("batch_ceiling_rows_per_s", round(ceiling.rows_per_s()));
    report.row(
        &format!("ClaimBatch of 10, {load} (leads/s)"),
        batch.rows_per_s(),
        ceiling.rows_per_s(),
        "",
    );
    report.line("bare 10-row statement by connections (leads/s)", summary);
}

/// The same single claim on a minimal table of its own, against Leadpool's `claims_per_s`.
async fn minimal_ceiling(claims_per_s: f64, report: &mut Report) {
    println!("claims: the minimal table, {CEILING_RUN:?} at each connection count");
    let minimal = minimal::database().await;
    let mut sweep = claims::sweep(&minimal, minimal::claim, 1, CEILING_RUN).await;
    drop(minimal);
    report.set("claim_minimal_by_connections", sweep.by_connections());
    let summary = sweep.summary();
    let ceiling = sweep.best().run.rows_per_s();
    report.set("claim_minimal_ceiling_per_s", round(ceiling));
    report.set("claim_minimal_ratio", round2(claims_per_s / ceiling));
    report.row(
        "ClaimNext against the minimal table (claims/s)",
        claims_per_s,
        ceiling,
        "",
    );
    report.line("minimal-table claim by connections (claims/s)", summary);
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
