//! What leadpoolctl prints: plain sentences for errors, aligned tables for lists.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use leadpool_proto::v1;
use tonic_types::StatusExt;

pub fn line(text: &str) {
    println!("{text}");
}

pub fn pools(pools: &[v1::Pool]) -> anyhow::Result<()> {
    println!(
        "{:<24} {:<10} {:>9} {:>10} {:>9}",
        "POOL", "KIND", "MIN SCORE", "SLA", "AVAILABLE"
    );
    for pool in pools {
        let kind = pool
            .kind()
            .as_str_name()
            .trim_start_matches("POOL_KIND_")
            .to_lowercase();
        let sla = pool.contact_sla.as_ref().map_or(0, |d| d.seconds);
        println!(
            "{:<24} {:<10} {:>9} {:>9}m {:>9}",
            pool.name.trim_start_matches("pools/"),
            kind,
            pool.min_score,
            sla / 60,
            pool.available_leads
        );
    }
    Ok(())
}

fn time(ts: Option<&prost_types::Timestamp>) -> String {
    ts.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map_or_else(
            || "-".to_owned(),
            |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
        )
}

pub fn jobs(jobs: &[v1::Job]) -> anyhow::Result<()> {
    println!(
        "{:<20} {:>9} {:<20} {:>8} {:<20}",
        "JOB", "EVERY", "LAST RUN (UTC)", "CHANGED", "NEXT RUN (UTC)"
    );
    for job in jobs {
        println!(
            "{:<20} {:>8}s {:<20} {:>8} {:<20}",
            job.name.trim_start_matches("jobs/"),
            job.interval.as_ref().map_or(0, |d| d.seconds),
            time(job.last_run_time.as_ref()),
            job.last_run_affected,
            time(job.next_run_time.as_ref())
        );
    }
    Ok(())
}

/// Prints an error as sentences a person can act on, including the gRPC error details.
pub fn error(err: &anyhow::Error) {
    if let Some(status) = err.downcast_ref::<tonic::Status>() {
        eprintln!("error: {} ({:?})", status.message(), status.code());
        let details = status.get_error_details();
        if let Some(bad) = details.bad_request() {
            for v in &bad.field_violations {
                eprintln!("  - {}: {}", v.field, v.description);
            }
        }
        if let Some(pre) = details.precondition_failure() {
            for v in &pre.violations {
                eprintln!("  - {} ({}): {}", v.subject, v.r#type, v.description);
            }
        }
        if let Some(quota) = details.quota_failure() {
            for v in &quota.violations {
                eprintln!("  - {}: {}", v.subject, v.description);
            }
        }
        if let Some(delay) = details.retry_info().and_then(|r| r.retry_delay) {
            eprintln!("  try again in {}s", delay.as_secs());
        }
    } else {
        eprintln!("error: {err:#}");
    }
}
