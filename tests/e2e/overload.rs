//! Overload: a burst at ten times what a service admits is shed at once (UNAVAILABLE with a
//! retry delay, reason OVERLOADED) while health stays SERVING, admitted calls stay quick, nothing
//! answers INTERNAL and nothing is half-written. A caller's deadline stops the database work
//! it is waiting on.

use std::time::{Duration, Instant};

use futures::future::join_all;
use leadpool_e2e::{Cluster, apply_policy, channel, rep};
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_testing::authed;
use tonic::Code;
use tonic_types::StatusExt;

use crate::limits::{fill, reason};

/// Forty reps, all allowed plenty of claims, and one open pool.
fn policy() -> String {
    let reps: String = (0..40)
        .map(|i| format!("  - {{ id: r{i}, role: sdr }}\n"))
        .collect();
    format!(
        "apiVersion: leadpool.dev/v1\nkind: Policy\nlimits: {{ perDay: 1000 }}\nreps:\n{reps}\
         pools: [{{ id: cold, type: open }}]\nrouting:\n  default: {{ pool: cold }}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_at_ten_times_what_is_admitted_is_shed_at_once_and_health_stays_serving() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, &policy()).await;
    fill(&cluster, "cold", 160).await;
    let mut config = cluster.env.claim_config();
    config.server.max_concurrent_requests = 4;
    let claim = cluster.env.start_claim(config).await;
    let claim_channel = channel(claim.addr).await;

    let mut admitted = Vec::new();
    let mut shed = 0;
    for wave in 0..4 {
        let calls = (0..40).map(|i| {
            let mut client = ClaimServiceClient::new(claim_channel.clone());
            tokio::spawn(async move {
                let started = Instant::now();
                let answer = client
                    .claim_next(authed(
                        &rep(&format!("r{i}")),
                        v1::ClaimNextRequest {
                            pool: "pools/cold".into(),
                        },
                    ))
                    .await;
                (answer, started.elapsed())
            })
        });
        let mut health = tonic_health::pb::health_client::HealthClient::new(claim_channel.clone());
        let (answers, serving) = tokio::join!(
            join_all(calls),
            health.check(tonic_health::pb::HealthCheckRequest::default())
        );
        assert_eq!(
            serving.unwrap().into_inner().status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "wave {wave}: health is always answered"
        );
        for answer in answers {
            match answer.unwrap() {
                (Ok(_), took) => admitted.push(took),
                (Err(status), _) => {
                    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                    assert_eq!(reason(&status), "OVERLOADED");
                    assert!(
                        status.get_details_retry_info().is_some(),
                        "says when to retry"
                    );
                    shed += 1;
                }
            }
        }
    }
    assert!(
        shed > 0 && !admitted.is_empty(),
        "{shed} shed, {} admitted",
        admitted.len()
    );
    admitted.sort();
    let p99 = admitted[(admitted.len() * 99).div_ceil(100) - 1];
    assert!(p99 < Duration::from_secs(2), "admitted p99 {p99:?}");
    // Every claim a caller was told about is in the history, and no other.
    let (claimed,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM lead_events WHERE kind = 'lead.claimed'")
            .fetch_one(cluster.env.db.store().pool())
            .await
            .unwrap();
    assert_eq!(claimed, admitted.len() as i64, "nothing half-written");
    claim.stop().await.unwrap();
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_deadline_stops_the_database_statement_it_waits_on() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, &policy()).await;
    fill(&cluster, "cold", 2).await;
    let db = cluster.env.db.store().pool().clone();
    // Someone else holds r0's claim lock, so her claim waits on it.
    let mut holder = db.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('claim:' || 'r0', 0))")
        .execute(&mut *holder)
        .await
        .unwrap();
    let mut request = authed(
        &rep("r0"),
        v1::ClaimNextRequest {
            pool: "pools/cold".into(),
        },
    );
    request.set_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let refused = cluster.claim().await.claim_next(request).await.unwrap_err();
    assert!(
        matches!(refused.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{refused:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    // The statement that waited for the lock is gone, though the lock is still held.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let (waiting,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock%' \
             AND pid <> pg_backend_pid()",
        )
        .fetch_one(&db)
        .await
        .unwrap();
        if waiting == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the claim's statement still waits"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    holder.rollback().await.unwrap();
    cluster.stop().await;
}
