//! `leadpoolctl simulate`: what a candidate policy would have done over a past window, beside
//! the policy in force — as a table, as JSON (`--json`) and as a report to open (`--html`).

#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use anyhow::Context;
use leadpool_proto::v1;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};

use crate::client::Connection;
use crate::manage::timestamp;
use crate::report;

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// The candidate policy (YAML).
    #[arg(short = 'f', long = "filename")]
    file: PathBuf,
    /// The window replayed, RFC 3339: e.g. --from 2026-11-01T00:00:00Z --to 2026-12-01T00:00:00Z.
    #[arg(long)]
    from: String,
    #[arg(long)]
    to: String,
    /// The first seed; each further run uses the next.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Runs (seeds), 1 to 20: the figures are the first run's, intervals span them all.
    #[arg(long, default_value_t = 5)]
    runs: i32,
    /// Also write a self-contained HTML report with plots to this file.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Print the report as JSON (the proto's JSON mapping) instead of the table.
    #[arg(long)]
    json: bool,
}

pub async fn run(conn: &Connection, args: SimulateArgs) -> anyhow::Result<()> {
    let document = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let request = v1::SimulatePolicyRequest {
        document,
        from_time: Some(timestamp("from", &args.from)?),
        to_time: Some(timestamp("to", &args.to)?),
        seed: args.seed,
        runs: args.runs,
    };
    let token = conn.token()?;
    let report = conn
        .scheduler()
        .await?
        .simulate_policy(conn.request(&token, request)?)
        .await?
        .into_inner();
    if let Some(path) = &args.html {
        std::fs::write(path, report::html(&report))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json(&report)?)?);
    } else {
        table(&report);
        if let Some(path) = &args.html {
            println!("\nreport: {}", path.display());
        }
    }
    Ok(())
}

/// The report in the proto's canonical JSON mapping.
pub fn json(report: &v1::SimulationReport) -> anyhow::Result<serde_json::Value> {
    let pool = DescriptorPool::decode(leadpool_proto::FILE_DESCRIPTOR_SET)?;
    let descriptor = pool
        .get_message_by_name("leadpool.v1.SimulationReport")
        .context("SimulationReport is not in the descriptor set")?;
    let message = DynamicMessage::decode(descriptor, report.encode_to_vec().as_slice())?;
    Ok(serde_json::to_value(&message)?)
}

fn table(report: &v1::SimulationReport) {
    let current = report.current.clone().unwrap_or_default();
    let candidate = report.candidate.clone().unwrap_or_default();
    println!(
        "{:<22} {:>16} {:>16} {:>16} {:>16} {:>18}",
        "POOL", "CLAIMED", "ESCALATED", "SLA EXPIRED", "LEFT AVAILABLE", "MEDIAN TO CLAIM"
    );
    let mut names: Vec<&str> = current.pools.iter().map(|p| p.pool.as_str()).collect();
    for pool in &candidate.pools {
        if !names.contains(&pool.pool.as_str()) {
            names.push(&pool.pool);
        }
    }
    for name in names {
        let find =
            |policy: &v1::SimulatedPolicy| policy.pools.iter().find(|p| p.pool == name).cloned();
        let (a, b) = (find(&current), find(&candidate));
        let figure = |f: fn(&v1::SimulatedTotals) -> i64| {
            let get =
                |p: &Option<v1::SimulatedPool>| p.as_ref().and_then(|p| p.totals).map(|t| f(&t));
            compared(get(&a), get(&b))
        };
        let median = |p: &Option<v1::SimulatedPool>| {
            p.as_ref().and_then(|p| p.median_to_claim).map_or_else(
                || "-".to_owned(),
                |d| crate::output::short_duration(d.seconds),
            )
        };
        println!(
            "{:<22} {:>16} {:>16} {:>16} {:>16} {:>18}",
            name.trim_start_matches("pools/"),
            figure(|t| t.claimed),
            figure(|t| t.escalated),
            figure(|t| t.contact_sla_expired),
            figure(|t| t.available_at_end),
            format!("{} → {}", median(&a), median(&b)),
        );
    }
    let fairness = |p: &v1::SimulatedPolicy| p.fairness.clone().unwrap_or_default().gini;
    println!(
        "\nclaims per rep, Gini: {:.2} → {:.2}   refused claim attempts: {} → {}",
        fairness(&current),
        fairness(&candidate),
        current.refused,
        candidate.refused
    );
    if let Some(validation) = &report.validation {
        println!("model check: {}", validation.summary);
    }
    if let Some(model) = &report.model {
        println!(
            "{} leads replayed, {} run(s) from seed {}; behaviour fitted for {} rep(s), borrowed by {}",
            model.leads,
            report.runs,
            report.seed,
            model.fitted_reps.len(),
            model.borrowed_reps.len()
        );
    }
}

/// "120 → 96 (-24)", "- → 40" for a pool only one policy has.
fn compared(current: Option<i64>, candidate: Option<i64>) -> String {
    let show = |v: Option<i64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    match (current, candidate) {
        (Some(a), Some(b)) => format!("{a} → {b} ({:+})", b - a),
        _ => format!("{} → {}", show(current), show(candidate)),
    }
}
