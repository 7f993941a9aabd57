//! Claims: the reps claiming through the claim processes (the full path: token, policy,
//! access, Redis limits, open-lead cap, claim, history) for a fixed time, and at a fixed
//! arrival rate, against the bare claim statement at several connection counts, on copies of
//! the same million leads.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use leadpool_e2e::rep;
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_testing::{TestDatabase, authed};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tonic::transport::Channel;

use crate::activity::{self, Activity};
use crate::cpu;
use crate::report::Latencies;
use crate::seed::{self, reps};
use crate::stack::Stack;

/// Channels the reps share, spread over the claim processes (at least one each).
const CHANNELS: usize = 8;

/// Connections the bare statements run on, one count after the other. The reps' number is not
/// the statement's best: on few cores 64 connections mostly wait on each other for the head of
/// the pool's index, so the ceiling is the best of these.
pub const CONNECTIONS: [usize; 4] = [4, 8, 16, 64];

/// The windows a run through Leadpool is counted in, to see whether it slows as it goes.
pub const WINDOW: Duration = Duration::from_secs(5);

/// What one timed run did.
pub struct Run {
    pub rows: usize,
    pub calls: usize,
    pub elapsed: Duration,
    pub latencies: Latencies,
    pub refused: usize,
    /// Rows answered in each whole `WINDOW` of a run through Leadpool (empty for the others).
    pub rows_by_window: Vec<usize>,
}

impl Run {
    pub fn rows_per_s(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64()
    }
}

pub async fn channels(stack: &Stack) -> Vec<Channel> {
    let claims: Vec<_> = stack.all("claim").collect();
    let mut channels = Vec::new();
    for i in 0..CHANNELS.max(claims.len()) {
        channels.push(claims[i % claims.len()].channel().await);
    }
    channels
}

/// Every rep asks for `count` leads (ClaimNext for 1, ClaimBatch otherwise) again and again
/// for `duration`; a refusal is counted, not retried.
pub async fn through_leadpool(channels: &[Channel], count: u32, duration: Duration) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let whole_windows = usize::try_from(duration.as_secs() / WINDOW.as_secs()).unwrap();
    let windows: Arc<Vec<AtomicUsize>> =
        Arc::new((0..whole_windows).map(|_| AtomicUsize::new(0)).collect());
    let reps = (0..reps()).map(|i| {
        let mut client = ClaimServiceClient::new(channels[i % channels.len()].clone());
        let (stop, windows) = (stop.clone(), windows.clone());
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
                        let window = started.elapsed().as_secs() / WINDOW.as_secs();
                        if let Some(counted) =
                            usize::try_from(window).ok().and_then(|w| windows.get(w))
                        {
                            counted.fetch_add(n, Ordering::Relaxed);
                        }
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
    let mut run = stop_after(duration, &stop, started, reps).await;
    run.rows_by_window = windows.iter().map(|n| n.load(Ordering::Relaxed)).collect();
    run
}

/// A bare claim statement: claims up to `count` leads for the rep, and says how many.
pub type Claim<Claimed> = fn(PgPool, String, i64) -> Claimed;

/// `claim` run for `count` leads at a time on `connections` connections, again and again for
/// `duration`, each connection claiming for a rep of its own while there are reps; with the
/// CPU it took by process.
pub async fn ceiling<Claimed>(
    db: &TestDatabase,
    claim: Claim<Claimed>,
    count: i64,
    connections: usize,
    duration: Duration,
) -> (Run, String)
where
    Claimed: Future<Output = usize> + Send + 'static,
{
    let pool = PgPoolOptions::new()
        .max_connections(u32::try_from(connections).unwrap())
        .connect(&db.url())
        .await
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let before = cpu::used();
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|i| {
            let (pool, stop) = (pool.clone(), stop.clone());
            // The bare statement claims for reps the policy knows (the owner is one of them).
            let rep = format!("rep-{}", i % reps());
            tokio::spawn(async move {
                let (mut latencies, mut rows) = (Vec::new(), 0);
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    rows += claim(pool.clone(), rep.clone(), count).await;
                    latencies.push(sent.elapsed());
                }
                (latencies, rows, 0)
            })
        })
        .collect();
    let run = stop_after(duration, &stop, started, workers).await;
    // Read while the connections' Postgres processes still run: an exited one is not counted.
    let cpu = cpu::spent(&before, &cpu::used());
    // Closed before the next run, so its connections are not still winding down in Postgres.
    pool.close().await;
    (run, cpu)
}

/// One run of a bare statement at a number of connections, the CPU it took by process, and
/// what its connections were doing in the database.
pub struct AtConnections {
    pub connections: usize,
    pub run: Run,
    pub cpu: String,
    pub activity: Activity,
}

/// A bare statement's runs at each of `CONNECTIONS`.
pub struct Sweep(Vec<AtConnections>);

/// `claim` for `count` leads at a time at each of `CONNECTIONS`, `duration` each.
pub async fn sweep<Claimed>(
    db: &TestDatabase,
    claim: Claim<Claimed>,
    count: i64,
    duration: Duration,
) -> Sweep
where
    Claimed: Future<Output = usize> + Send + 'static,
{
    let mut runs = Vec::new();
    for connections in CONNECTIONS {
        // Each count starts from the state the first did. Without the vacuum each run walked
        // the dead index entries of every lead the runs before it had claimed at the head of
        // the pool (autovacuum is off on the development machines), and the figures fell with
        // each run whatever its count: 4, 8, 16, 64 connections gave 1,903, 1,843, 1,556 and
        // 1,533 claims/s; the order 64, 16, 8, 4 gave 2,062, 1,989, 1,563 and 1,333.
        seed::settle(db).await;
        let watching = activity::sample(&db.url()).await;
        let (run, cpu) = ceiling(db, claim, count, connections, duration).await;
        let activity = watching.stop().await;
        runs.push(AtConnections {
            connections,
            run,
            cpu,
            activity,
        });
    }
    Sweep(runs)
}

impl Sweep {
    /// The run that claimed the most rows a second: the ceiling.
    pub fn best(&mut self) -> &mut AtConnections {
        self.0
            .iter_mut()
            .max_by(|a, b| a.run.rows_per_s().total_cmp(&b.run.rows_per_s()))
            .expect("a run at each connection count")
    }

    /// Rows a second by connection count, for results.json: `{"4": …, "64": …}`.
    pub fn by_connections(&self) -> serde_json::Value {
        self.0
            .iter()
            .map(|at| {
                let per_s = at.run.rows_per_s().round();
                (at.connections.to_string(), per_s.into())
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    /// Rows a second by connection count, for the table: "4: 1210, 8: 1268, …".
    pub fn summary(&self) -> String {
        self.0
            .iter()
            .map(|at| format!("{}: {:.0}", at.connections, at.run.rows_per_s()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// ClaimNext at a fixed `rate` for `duration`, rotating over the reps and the channels: request
/// k is sent at start + k/rate whether or not earlier ones have answered, and its latency runs
/// from that scheduled time, so a request sent late (behind a busy sender or runtime) counts its
/// wait too: no coordinated omission.
pub async fn open_loop(channels: &[Channel], rate: f64, duration: Duration) -> Run {
    let tokens: Vec<String> = (0..reps()).map(|i| rep(&format!("rep-{i}"))).collect();
    // A rep is one person: she asks again only once answered. Request k is due at k / rate
    // and goes out as the next rep with no call in flight; waiting for one counts in its
    // latency, which runs from when it was due (no coordinated omission).
    let free = Arc::new(std::sync::Mutex::new(
        (0..tokens.len()).collect::<Vec<usize>>(),
    ));
    let reps_free = Arc::new(tokio::sync::Semaphore::new(tokens.len()));
    let tokens = Arc::new(tokens);
    let arrivals = (rate * duration.as_secs_f64()) as usize;
    let started = tokio::time::Instant::now();
    let mut requests = Vec::with_capacity(arrivals);
    for k in 0..arrivals {
        let due = started + Duration::from_secs_f64(k as f64 / rate);
        tokio::time::sleep_until(due).await;
        let mut client = ClaimServiceClient::new(channels[k % channels.len()].clone());
        let (free, reps_free, tokens) = (free.clone(), reps_free.clone(), tokens.clone());
        requests.push(tokio::spawn(async move {
            let _turn = reps_free.acquire().await.expect("the semaphore stays open");
            let who = free
                .lock()
                .expect("free reps")
                .pop()
                .expect("a permit means a free rep");
            let request = v1::ClaimNextRequest {
                pool: "pools/hot".into(),
            };
            let answer = client.claim_next(authed(&tokens[who], request)).await;
            free.lock().expect("free reps").push(who);
            answer.map(|_| due.elapsed())
        }));
    }
    let mut run = Run {
        rows: 0,
        calls: arrivals,
        elapsed: duration,
        latencies: Latencies::default(),
        refused: 0,
        rows_by_window: Vec::new(),
    };
    let mut latencies = Vec::with_capacity(arrivals);
    for answered in join_all(requests).await {
        match answered.unwrap() {
            Ok(latency) => latencies.push(latency),
            Err(status) => {
                run.refused += 1;
                if run.refused < 3 {
                    eprintln!("open loop: {status:?}");
                }
            }
        }
    }
    run.rows = latencies.len();
    run.latencies.extend(latencies);
    run
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
        rows_by_window: Vec::new(),
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

/// The bare claim statement on Leadpool's schema — pick with `FOR UPDATE SKIP LOCKED`, update,
/// history row, one statement per claim — for `count` of the hot pool's leads.
pub async fn bare_claim(pool: PgPool, rep: String, count: i64) -> usize {
    claim_picked(
        "SELECT id FROM leads WHERE pool_id = 'hot' AND state = 'available' \
         ORDER BY priority DESC, pooled_at, id LIMIT {count} FOR UPDATE SKIP LOCKED",
        pool,
        rep,
        count,
    )
    .await
}

/// The bare claim statement with the reclaim embargo's filter, as Leadpool's single claim has
/// it: the hot pool's best leads that the rep did not give up in the last day.
pub async fn bare_embargoed_claim(pool: PgPool, rep: String, count: i64) -> usize {
    claim_picked(
        "SELECT l.id FROM leads l WHERE l.pool_id = 'hot' AND l.state = 'available' \
           AND NOT EXISTS (SELECT 1 FROM lead_events e WHERE e.lead_id = l.id AND e.rep_id = $1 \
             AND e.occurred_at > $2 - interval '24 hours' \
             AND e.from_state IN ('claimed', 'assigned', 'contacted') \
             AND e.to_state IN ('available', 'received') OFFSET 0) \
         ORDER BY l.priority DESC, l.pooled_at, l.id LIMIT {count} FOR UPDATE SKIP LOCKED",
        pool,
        rep,
        count,
    )
    .await
}

/// The bare claim statement with `pick` (the ids of at most `{count}` leads, locked) choosing
/// the leads; the one place that knows it.
///
/// The count is written into the statement, not bound: bound, it is a LIMIT the planner cannot
/// see, which it takes for a tenth of the pool, so Postgres' plan cache never settles on one
/// plan (its generic plan would join that tenth by a sequential scan) and plans the statement
/// anew for every claim — a quarter of the statement's throughput (3,100 against 4,300 claims/s
/// in pgbench, 16 connections). Written in, each count is one statement whose plan is cached
/// after five runs, as Leadpool's group statement's is (`force_generic_plan`).
pub async fn claim_picked(pick: &str, pool: PgPool, rep: String, count: i64) -> usize {
    let statement = format!(
        "WITH picked AS ({}), \
         changed AS (UPDATE leads l SET state = 'claimed', owner_rep_id = $1, claimed_at = $2, \
           contact_due_at = $2 + interval '2 hours', updated_at = $2 FROM picked \
           WHERE l.id = picked.id RETURNING l.id, l.pool_id), \
         event AS (INSERT INTO lead_events (lead_id, from_state, to_state, kind, actor, pool_id, \
           rep_id, occurred_at) \
           SELECT id, 'available', 'claimed', 'lead.claimed', 'reps/' || $1, pool_id, $1, $2 \
           FROM changed) \
         SELECT count(*) FROM changed",
        pick.replace("{count}", &count.to_string())
    );
    sqlx::query_scalar::<_, i64>(&statement)
        .bind(rep)
        .bind(chrono::Utc::now())
        .fetch_one(&pool)
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
