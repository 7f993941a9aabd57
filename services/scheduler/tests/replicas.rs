//! Exactly once with several replicas, as Kubernetes would run them: three scheduler processes
//! (the real binary) on one database, a job on a one-second schedule, one replica killed with
//! SIGKILL and one frozen with SIGSTOP and thawed with SIGCONT while the others keep going.
//! Every slot must have taken effect exactly once: no gap, no duplicate.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, Utc};
use leadpool_testing::{TEST_SECRET, TestDatabase, free_local_addr};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

const POOLS: i64 = 2;

fn spawn(db: &TestDatabase, metrics: SocketAddr) -> Child {
    Command::new(env!("CARGO_BIN_EXE_leadpool-scheduler"))
        .env(
            "LEADPOOL_SERVER__LISTEN_ADDR",
            free_local_addr().to_string(),
        )
        .env("LEADPOOL_SERVER__DRAIN_DELAY", "0s")
        .env("LEADPOOL_METRICS__LISTEN_ADDR", metrics.to_string())
        .env("LEADPOOL_DATABASE__URL", db.url())
        // A frozen replica loses its open transaction after this, so its slot is taken over.
        .env("LEADPOOL_DATABASE__IDLE_IN_TRANSACTION_TIMEOUT", "1s")
        .env("LEADPOOL_AUTH__HS256_SECRET", TEST_SECRET)
        .env("LEADPOOL_TELEMETRY__LOG_FILTER", "error")
        .env("LEADPOOL_SCHEDULER__TICK", "100ms")
        .env("LEADPOOL_SCHEDULER__SNAPSHOT_INTERVAL", "1s")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("scheduler binary starts")
}

fn signal(child: &Child, name: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().expect("running").to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name}");
}

/// Slots of the snapshot job that took effect.
async fn slots(db: &PgPool) -> Vec<DateTime<Utc>> {
    sqlx::query_as::<_, (DateTime<Utc>,)>(
        "SELECT slot_start FROM job_runs WHERE job = 'pool-snapshot' AND trigger = 'schedule' ORDER BY slot_start",
    )
    .fetch_all(db)
    .await
    .unwrap()
    .into_iter()
    .map(|(slot,)| slot)
    .collect()
}

/// Waits (polling the database, bounded) until `more` slots beyond `after` took effect.
async fn wait_for_slots(db: &PgPool, after: usize, more: usize, what: &str) -> usize {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let n = slots(db).await.len();
        if n >= after + more {
            return n;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {n} slots"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn scrape(addr: SocketAddr) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_one_killed_one_frozen_every_slot_takes_effect_exactly_once() {
    let db = TestDatabase::new().await;
    let pool = db.store().pool().clone();
    for id in ["west", "east"] {
        sqlx::query(
            "INSERT INTO pools (id, display_name, kind, created_at, updated_at) VALUES ($1, $1, 'open', now(), now())",
        )
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    }
    let metrics: Vec<SocketAddr> = (0..3).map(|_| free_local_addr()).collect();
    let mut replicas: Vec<Child> = metrics.iter().map(|m| spawn(&db, *m)).collect();

    let n = wait_for_slots(&pool, 0, 3, "three replicas running").await;
    replicas[0].start_kill().unwrap();
    replicas[0].wait().await.unwrap();
    let n = wait_for_slots(&pool, n, 3, "slots after the kill").await;
    signal(&replicas[1], "STOP");
    let n = wait_for_slots(&pool, n, 3, "slots while one replica is frozen").await;
    signal(&replicas[1], "CONT");
    wait_for_slots(&pool, n, 3, "slots after the thaw").await;

    let scraped = scrape(metrics[2]).await;
    assert!(scraped.starts_with("HTTP/1.1 200"), "{scraped}");
    assert!(
        scraped.contains("leadpool_job_runs_total{job=\"pool-snapshot\",outcome=\"ok\",trigger=\"schedule\"}")
            || scraped.contains("leadpool_job_runs_total{job=\"pool-snapshot\",outcome=\"skipped\",trigger=\"schedule\"}"),
        "{scraped}"
    );
    for replica in &mut replicas[1..] {
        signal(replica, "TERM");
        replica.wait().await.unwrap();
    }

    let slots = slots(&pool).await;
    assert!(slots.len() >= 12, "{} slots", slots.len());
    for pair in slots.windows(2) {
        assert_eq!(
            pair[1] - pair[0],
            chrono::Duration::seconds(1),
            "no gap and no repeat between {} and {}",
            pair[0],
            pair[1]
        );
    }
    let effects: BTreeMap<DateTime<Utc>, i64> = sqlx::query_as::<_, (DateTime<Utc>, i64)>(
        "SELECT taken_at, count(*) FROM pool_snapshots GROUP BY taken_at",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .into_iter()
    .collect();
    assert_eq!(
        effects.keys().copied().collect::<Vec<_>>(),
        slots,
        "an effect for every slot that ran, and none without"
    );
    assert!(
        effects.values().all(|n| *n == POOLS),
        "each slot's effect exactly once: {effects:?}"
    );
}
