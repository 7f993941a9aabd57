//! Claims: 64 reps claiming through two claim processes (the full path: token, policy,
//! access, Redis limits, open-lead cap, claim, history) for a fixed time, against the bare
//! claim statement on as many connections, on copies of the same million leads.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use leadpool_e2e::rep;
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_testing::{TestDatabase, authed};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tonic::transport::Channel;

use crate::report::Latencies;
use crate::seed::REPS;
use crate::stack::Stack;

/// Channels the reps share, spread over the claim processes.
const CHANNELS: usize = 8;

/// What one timed run did.
pub struct Run {
    pub rows: usize,
    pub calls: usize,
    pub elapsed: Duration,
    pub latencies: Latencies,
    pub refused: usize,
}

impl Run {
    pub fn rows_per_s(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64()
    }
}

pub async fn channels(stack: &Stack) -> Vec<Channel> {
    let claims: Vec<_> = stack.all("claim").collect();
    let mut channels = Vec::new();
    for i in 0..CHANNELS {
        channels.push(claims[i % claims.len()].channel().await);
    }
    channels
}

/// Every rep asks for `count` leads (ClaimNext for 1, ClaimBatch otherwise) again and again
/// for `duration`; a refusal is counted, not retried.
pub async fn through_leadpool(channels: &[Channel], count: u32, duration: Duration) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let reps = (0..REPS).map(|i| {
        let mut client = ClaimServiceClient::new(channels[i % channels.len()].clone());
        let stop = stop.clone();
        tokio::spawn(async move {
            let token = rep(&format!("rep-{i}"));
            let (mut latencies, mut rows, mut refused) = (Vec::new(), 0, 0);
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let claimed = if count == 1 {
                    let request = v1::ClaimNextRequest {
                        pool: "pools/hot".into(),
                    };
                    client.claim_next(authed(&token, request)).await.map(|_| 1)
                } else {
                    let request = v1::ClaimBatchRequest {
                        pool: "pools/hot".into(),
                        count: i32::try_from(count).unwrap(),
                    };
                    client
                        .claim_batch(authed(&token, request))
                        .await
                        .map(|answer| answer.into_inner().leads.len())
                };
                match claimed {
                    Ok(n) => {
                        latencies.push(sent.elapsed());
                        rows += n;
                    }
                    Err(status) => {
                        refused += 1;
                        if refused < 3 {
                            eprintln!("rep-{i}: {status:?}");
                        }
                    }
                }
            }
            (latencies, rows, refused)
        })
    });
    let reps: Vec<_> = reps.collect();
    stop_after(duration, &stop, started, reps).await
}

/// The bare claim statement — pick with `FOR UPDATE SKIP LOCKED`, update, history row, one
/// statement per claim — for `count` leads at a time on as many connections as reps.
pub async fn ceiling(db: &TestDatabase, count: i64, duration: Duration) -> Run {
    let pool = PgPoolOptions::new()
        .max_connections(u32::try_from(REPS).unwrap())
        .connect(&db.url())
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let connections: Vec<_> = (0..REPS)
        .map(|i| {
            let (pool, stop) = (pool.clone(), stop.clone());
            tokio::spawn(async move {
                let (mut latencies, mut rows) = (Vec::new(), 0);
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    rows += bare_claim(&pool, &format!("rep-{i}"), count).await;
                    latencies.push(sent.elapsed());
                }
                (latencies, rows, 0)
            })
        })
        .collect();
    stop_after(duration, &stop, started, connections).await
}

/// What each worker of a timed run did: its call latencies, rows claimed, calls refused.
type WorkerRun = (Vec<Duration>, usize, usize);

/// Lets the workers run for `duration`, stops them, and adds up what they did.
async fn stop_after(
    duration: Duration,
    stop: &AtomicBool,
    started: Instant,
    workers: Vec<tokio::task::JoinHandle<WorkerRun>>,
) -> Run {
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut run = Run {
        rows: 0,
        calls: 0,
        elapsed: Duration::ZERO,
        latencies: Latencies::default(),
        refused: 0,
    };
    for joined in join_all(workers).await {
        let (latencies, rows, refused) = joined.unwrap();
        run.calls += latencies.len();
        run.latencies.extend(latencies);
        run.rows += rows;
        run.refused += refused;
    }
    run.elapsed = started.elapsed();
    run
}

async fn bare_claim(pool: &PgPool, rep: &str, count: i64) -> usize {
    sqlx::query_scalar::<_, i64>(
        "WITH picked AS (SELECT id FROM leads WHERE pool_id = 'hot' AND state = 'available' \
           ORDER BY priority DESC, pooled_at, id LIMIT $3 FOR UPDATE SKIP LOCKED), \
         changed AS (UPDATE leads l SET state = 'claimed', owner_rep_id = $1, claimed_at = $2, \
           contact_due_at = $2 + interval '2 hours', updated_at = $2 FROM picked \
           WHERE l.id = picked.id RETURNING l.id, l.pool_id), \
         event AS (INSERT INTO lead_events (lead_id, from_state, to_state, kind, actor, pool_id, \
           rep_id, occurred_at) \
           SELECT id, 'available', 'claimed', 'lead.claimed', 'reps/' || $1, pool_id, $1, $2 \
           FROM changed) \
         SELECT count(*) FROM changed",
    )
    .bind(rep)
    .bind(chrono::Utc::now())
    .bind(count)
    .fetch_one(pool)
    .await
    .map_or(0, |n| usize::try_from(n).unwrap_or(0))
}

/// Leads that were claimed more than once (no lead is released in the run, so each may be
/// claimed once), and claims in the history.
pub async fn double_claims(db: &TestDatabase) -> (i64, i64) {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE claims > 1), coalesce(sum(claims), 0)::bigint FROM \
           (SELECT lead_id, count(*) AS claims FROM lead_events WHERE kind = 'lead.claimed' \
            GROUP BY lead_id) per_lead",
    )
    .fetch_one(db.store().pool())
    .await
    .unwrap()
}
