//! Scheduler jobs over large pools, each one run as of a time through RunJob (one transaction,
//! its slot recorded with its effect, a history row per lead moved):
//!
//! * aging over 1,000,000 available leads aged 0–72 hours evenly: the oldest third escalated,
//!   the older half's places (top half or tenth of their pool) derived on read from the bars
//!   the run stores (before issue 22.3 the run raised their priorities, 377,000 rows);
//! * a timed release of 100,000 leads;
//! * the SLA sweep over 1,000,000 claimed leads, every one of them past its deadline;
//!
//! each against its bare statements on a copy of the same leads.

use std::time::{Duration, Instant};

use leadpool_auth::Role;
use leadpool_proto::v1;
use leadpool_proto::v1::scheduler_service_client::SchedulerServiceClient;
use leadpool_testing::{TestDatabase, authed, token};

use crate::report::Report;
use crate::stack::Stack;

const AGING: i64 = 1_000_000;
const RELEASE: i64 = 100_000;
const CLAIMED: i64 = 1_000_000;

const POLICY: &str = "apiVersion: leadpool.dev/v1\nkind: Policy\n\
    reps: [{ id: rep-0, role: sdr }, { id: rep-1, role: sdr }]\n\
    pools:\n\
    - { id: aging, type: open }\n\
    - { id: timed, type: timed, release: { at: [\"08:00\"], timeZone: UTC } }\n\
    - { id: work, type: open, contactSla: 1h }\n\
    routing: { default: { pool: aging } }\n";

pub async fn measure(report: &mut Report) {
    println!("scheduler: seeding 2.1 million leads");
    let db = TestDatabase::new().await;
    crate::seed::apply(&db, POLICY).await;
    let now = chrono::Utc::now();
    seed(&db, now, (AGING, RELEASE, CLAIMED)).await;
    let raw = db.duplicate().await;
    let stack = Stack::start(&db, &["scheduler"], &[]).await;
    // No time limit: a job is one call.
    let mut scheduler =
        SchedulerServiceClient::new(leadpool_e2e::channel(stack.one("scheduler").addr).await);
    for (job, key, label) in [
        ("aging", "aging_1m_s", "aging, 1M available leads"),
        ("release", "release_100k_s", "timed release, 100k leads"),
        (
            "sla-expiry",
            "sla_sweep_1m_s",
            "SLA sweep, 1M claimed leads past due",
        ),
    ] {
        println!("scheduler: {job}, then its bare statements");
        // Each run starts settled: otherwise a checkpoint begun by the copy of 2.1 million
        // leads, or by the run before it, falls into the next run.
        crate::seed::settle(&db).await;
        let (took, affected) = run_job(&mut scheduler, job, now).await;
        crate::seed::settle(&raw).await;
        let bare = bare_job(&raw, job, now).await;
        report.set(key, crate::round2(took.as_secs_f64()));
        report.set(&format!("{key}_bare"), crate::round2(bare.as_secs_f64()));
        report.time_row(&format!("{label}: {affected} leads changed"), took, bare);
    }
}

/// What each job does at the least, on the same leads: one statement per move, over every
/// due lead at once, with its history rows. Nothing else (no slot, no batches, no policy).
async fn bare_job(db: &TestDatabase, job: &str, now: chrono::DateTime<chrono::Utc>) -> Duration {
    let statements = match job {
        // What aging writes: the escalations (the places are read, not written).
        "aging" => vec![escalation()],
        "release" => vec![format!(
            "WITH out AS (UPDATE leads SET state = 'available', pooled_at = $1, updated_at = $1 \
               WHERE pool_id = 'timed' AND state = 'scheduled' AND received_at <= $1 \
               RETURNING *, 'scheduled'::text AS old_state){}",
            history("lead.pool_released")
        )],
        _ => vec![format!(
            "WITH out AS (UPDATE leads SET state = 'available', owner_rep_id = NULL, \
               claimed_at = NULL, contact_due_at = NULL, updated_at = $1 \
               WHERE state = 'claimed' AND contact_due_at <= $1 \
               RETURNING *, 'claimed'::text AS old_state){}",
            history("lead.sla_expired")
        )],
    };
    run_bare(db, &statements, now).await
}

/// Aging's escalations as one bare statement: the aging pool's available leads 48 hours in it.
pub fn escalation() -> String {
    format!(
        "WITH out AS (UPDATE leads SET state = 'escalated', updated_at = $1 \
           WHERE pool_id = 'aging' AND state = 'available' \
             AND pooled_at <= $1 - interval '48 hours' \
           RETURNING *, 'available'::text AS old_state){}",
        history("lead.escalated")
    )
}

/// The aging pool's bars as of `$1`: the median (`p50`) and 90th percentile (`p90`) priority
/// of its available leads younger than the first step (12 hours), as one row.
pub const BARS: &str = "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY priority) AS p50, \
       percentile_disc(0.9) WITHIN GROUP (ORDER BY priority) AS p90 FROM leads \
     WHERE pool_id = 'aging' AND state = 'available' AND pooled_at > $1 - interval '12 hours'";

/// Aging's raises as one bare statement: the aging pool's available leads 12 (24) hours in
/// it raised to the median (90th percentile) priority of its younger leads (`BARS`).
pub fn raise() -> String {
    format!(
        "WITH bar AS ({BARS}), \
         old AS (SELECT id, CASE WHEN pooled_at <= $1 - interval '24 hours' THEN p90 ELSE p50 END \
           AS target FROM leads, bar WHERE pool_id = 'aging' AND state = 'available' \
           AND pooled_at <= $1 - interval '12 hours'), \
         out AS (UPDATE leads l SET priority = old.target, updated_at = $1 FROM old \
           WHERE l.id = old.id AND old.target > l.priority \
           RETURNING l.*, 'available'::text AS old_state){}",
        history("lead.prioritized")
    )
}

/// The history rows of the leads a bare statement's `out` moved, and their count.
fn history(kind: &str) -> String {
    format!(
        ", event AS (INSERT INTO lead_events (lead_id, from_state, to_state, kind, actor, \
           reason, pool_id, occurred_at) SELECT id, old_state, state, '{kind}', 'bench', '', \
           pool_id, $1 FROM out) SELECT count(*) FROM out"
    )
}

/// `statements` as of `now` in one transaction, without a time limit; how long they took.
pub async fn run_bare(
    db: &TestDatabase,
    statements: &[String],
    now: chrono::DateTime<chrono::Utc>,
) -> Duration {
    let started = Instant::now();
    let mut tx = db.store().pool().begin().await.unwrap();
    sqlx::query("SET LOCAL statement_timeout = 0")
        .execute(&mut *tx)
        .await
        .unwrap();
    for statement in statements {
        sqlx::query(statement)
            .bind(now)
            .execute(&mut *tx)
            .await
            .expect("the bare job statement");
    }
    tx.commit().await.unwrap();
    started.elapsed()
}

async fn run_job(
    scheduler: &mut SchedulerServiceClient<tonic::transport::Channel>,
    job: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> (Duration, i64) {
    let started = Instant::now();
    let ran = scheduler
        .run_job(authed(
            &token("users/bench", &[Role::Admin]),
            v1::RunJobRequest {
                name: format!("jobs/{job}"),
                as_of: Some(prost_types::Timestamp {
                    seconds: now.timestamp(),
                    nanos: 0,
                }),
            },
        ))
        .await
        .expect("the job runs")
        .into_inner();
    (started.elapsed(), ran.affected)
}

/// `aging` available leads aged evenly over 72 hours in pool `aging`, `release` leads waiting
/// in pool `timed` since before today's 08:00 release, and `claimed` leads in pool `work`
/// whose deadline passed an hour ago.
pub async fn seed(
    db: &TestDatabase,
    now: chrono::DateTime<chrono::Utc>,
    (aging, release, claimed): (i64, i64, i64),
) {
    let release_at = now.date_naive().and_hms_opt(8, 0, 0).unwrap().and_utc();
    let release_at = if release_at > now {
        release_at - chrono::Duration::days(1)
    } else {
        release_at
    };
    sqlx::query(
        "INSERT INTO leads (id, state, score, priority, \
           source, pool_id, owner_rep_id, received_at, pooled_at, claimed_at, contact_due_at, \
           updated_at) \
         SELECT gen_random_uuid(), s.state, \
           20 + n % 80, 20 + n % 80, 'web', s.pool, s.owner, s.received, \
           CASE WHEN s.state <> 'scheduled' THEN s.received END, \
           CASE WHEN s.state = 'claimed' THEN $5 - interval '2 hours' END, \
           CASE WHEN s.state = 'claimed' THEN $5 - interval '1 hour' END, $5 \
         FROM generate_series(1, $1 + $2 + $3) AS n, LATERAL (SELECT \
           CASE WHEN n <= $1 THEN 'available' WHEN n <= $1 + $2 THEN 'scheduled' ELSE 'claimed' END \
             AS state, \
           CASE WHEN n <= $1 THEN 'aging' WHEN n <= $1 + $2 THEN 'timed' ELSE 'work' END AS pool, \
           CASE WHEN n > $1 + $2 THEN 'rep-' || (n % 2) END AS owner, \
           CASE WHEN n <= $1 THEN $5 - (n % 4320) * interval '1 minute' \
             ELSE $4 - interval '1 hour' END AS received) s",
    )
    .bind(aging)
    .bind(release)
    .bind(claimed)
    .bind(release_at)
    .bind(now)
    .execute(db.store().pool())
    .await
    .expect("seed the scheduler's leads");
    sqlx::query(
        "INSERT INTO lead_contacts (id, idempotency_key, request_hash, email) \
         SELECT id, 'seed-' || id, '\\x00', id || '@example.com' FROM leads",
    )
    .execute(db.store().pool())
    .await
    .expect("seed the scheduler's leads' contacts");
    crate::seed::settle(db).await;
}
