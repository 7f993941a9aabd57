//! How the set-based jobs behave on large pools, against a raw-SQL baseline doing the same
//! change in one statement. Ignored by default (it seeds 300 000 leads); run it with
//!
//!     cargo nextest run -p leadpool-scheduler --run-ignored only --no-capture scale
//!
//! and record the figures in docs/scheduler-and-health.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use leadpool_domain::ManualClock;
use leadpool_scheduler::{Job, Runner, SchedulerConfig};
use leadpool_testing::{TestDatabase, test_epoch};
use sqlx::PgPool;

const AVAILABLE: i64 = 200_000;
const SCHEDULED: i64 = 100_000;

const POLICY: &str = "apiVersion: leadpool.dev/v1\nkind: Policy\npools:\n  - { id: big, type: open }\n  - { id: drop, type: timed, release: { every: 1h } }\n";

async fn seed(db: &PgPool, now: DateTime<Utc>) {
    // Available: entered the pool uniformly over the last 96 hours, priorities 0–99.
    sqlx::query(
        "INSERT INTO leads (id, state, score, priority, pool_id, received_at, pooled_at, updated_at) \
         SELECT gen_random_uuid(), 'available', i % 100, (i * 37) % 100, 'big', \
           $1 - make_interval(secs => (i % 345600)), $1 - make_interval(secs => (i % 345600)), $1 \
         FROM generate_series(1, $2) AS i",
    )
    .bind(now)
    .bind(AVAILABLE)
    .execute(db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO leads (id, state, score, priority, pool_id, received_at, updated_at) \
         SELECT gen_random_uuid(), 'scheduled', 50, 50, 'drop', $1 - interval '10 minutes', $1 \
         FROM generate_series(1, $2) AS i",
    )
    .bind(now)
    .bind(SCHEDULED)
    .execute(db)
    .await
    .unwrap();
    sqlx::query("ANALYZE leads").execute(db).await.unwrap();
}

/// Runs `sql` (which returns how many leads it changed) in a transaction that is rolled back:
/// the one-statement baseline a batched job is compared with.
async fn baseline(db: &PgPool, sql: &str, now: DateTime<Utc>) -> (u128, i64) {
    let mut tx = db.begin().await.unwrap();
    let started = Instant::now();
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let took = started.elapsed().as_millis();
    tx.rollback().await.unwrap();
    (took, n)
}

const BASELINE_RELEASE: &str = "WITH changed AS (UPDATE leads SET state = 'available', pooled_at = $1, updated_at = $1 \
       WHERE pool_id = 'drop' AND state = 'scheduled' AND received_at <= $1 RETURNING id, pool_id), \
     event AS (INSERT INTO lead_events (lead_id, from_state, to_state, actor, reason, pool_id, occurred_at) \
       SELECT id, 'scheduled', 'available', 'baseline', 'timed release', pool_id, $1 FROM changed) \
     SELECT count(*) FROM changed";

const BASELINE_ESCALATION: &str = "WITH changed AS (UPDATE leads SET state = 'escalated', updated_at = $1 \
       WHERE pool_id = 'big' AND state = 'available' AND pooled_at <= $1 - interval '48 hours' RETURNING id, pool_id), \
     event AS (INSERT INTO lead_events (lead_id, from_state, to_state, actor, reason, pool_id, occurred_at) \
       SELECT id, 'available', 'escalated', 'baseline', 'escalated', pool_id, $1 FROM changed) \
     SELECT count(*) FROM changed";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "seeds 300 000 leads; run by hand to measure"]
async fn scale() {
    let db = TestDatabase::new().await;
    let store = db.store();
    let now = test_epoch();
    let policy = leadpool_policy::load(POLICY).unwrap();
    store
        .apply_policy(&policy, POLICY, None, false, "users/bench", now)
        .await
        .unwrap();
    seed(store.pool(), now).await;

    for batch_size in [500, 5_000] {
        let config = SchedulerConfig {
            batch_size,
            ..SchedulerConfig::default()
        };
        let runner = Runner::new(store.clone(), Arc::new(ManualClock::new(now)), config);
        let started = Instant::now();
        let released = runner.run_manually(Job::Release, now).await.unwrap();
        let release_ms = started.elapsed().as_millis();
        let started = Instant::now();
        let aged = runner.run_manually(Job::Aging, now).await.unwrap();
        let aging_ms = started.elapsed().as_millis();
        println!(
            "batch {batch_size:>5}: release {} leads in {release_ms} ms; aging (escalate + boost) {} leads in {aging_ms} ms",
            released.leads.len(),
            aged.leads.len()
        );
        // Put the leads back, so the next batch size moves the same leads.
        sqlx::query(
            "UPDATE leads SET state = 'scheduled', pooled_at = NULL WHERE pool_id = 'drop'",
        )
        .execute(store.pool())
        .await
        .unwrap();
        sqlx::query(
            "UPDATE leads SET state = 'available', priority = (score * 37) % 100 WHERE pool_id = 'big'",
        )
        .execute(store.pool())
        .await
        .unwrap();
    }
    let (ms, n) = baseline(store.pool(), BASELINE_RELEASE, now).await;
    println!("baseline: one statement releases {n} leads in {ms} ms");
    let (ms, n) = baseline(store.pool(), BASELINE_ESCALATION, now).await;
    println!("baseline: one statement escalates {n} leads in {ms} ms");

    let policy = leadpool_policy::load(POLICY).unwrap();
    let pool = policy
        .pool(&leadpool_domain::PoolId::parse("big", "pool").unwrap())
        .unwrap();
    let started = Instant::now();
    let counts = store.pool_counts(&pool.id, now).await.unwrap();
    let flows = store
        .pool_flows(
            &pool.id,
            &[
                (now - Duration::days(1), now),
                (now - Duration::days(7), now),
            ],
        )
        .await
        .unwrap();
    println!(
        "health figures of a {}-lead pool in {} ms ({flows:?})",
        counts.available,
        started.elapsed().as_millis()
    );
}
