//! Claim limits (C1–C4): rolling windows, cooldown and open-lead caps, exact across claim
//! replicas, with errors a program can act on.

use std::time::Duration;

use chrono::Duration as Span;
use futures::future::join_all;
use leadpool_e2e::{Cluster, apply_policy, channel, claim_next, rep, submit_segmented};
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_testing::authed;
use tonic::Code;
use tonic_types::StatusExt;

/// Two pools fed by source; `limits` is the YAML of alice's limits.
fn policy(alice_limits: &str, pool_limits: &str) -> String {
    format!(
        "apiVersion: leadpool.dev/v1\nkind: Policy\n\
         reps: [{{ id: alice, role: sdr, limits: {alice_limits} }}, {{ id: bob, role: sdr }}]\n\
         pools:\n\
         - {{ id: hot, type: open, limits: {pool_limits} }}\n\
         - {{ id: cold, type: open }}\n\
         routing:\n  rules: [{{ name: hot, match: {{ sources: [hot] }}, pool: hot }}]\n  default: {{ pool: cold }}\n"
    )
}

/// Submits `count` leads that routing puts into `pool` (hot or cold).
pub async fn fill(cluster: &Cluster, pool: &str, count: usize) -> Vec<String> {
    let mut intake = cluster.intake().await;
    let mut names = Vec::new();
    for i in 0..count {
        let key = format!("{pool}-{i}");
        names.push(
            submit_segmented(&mut intake, &key, 50, "emea", pool)
                .await
                .name,
        );
    }
    names
}

/// The machine-readable reason of a refusal: ErrorInfo.reason.
pub fn reason(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

fn retry_delay(status: &tonic::Status) -> Duration {
    status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .expect("a RetryInfo with a delay")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_200_concurrent_claims_over_two_instances_an_hourly_limit_of_5_lets_exactly_5_through() {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        &policy("{ perHour: 5, perDay: 100 }", "{}"),
    )
    .await;
    fill(&cluster, "cold", 20).await;
    let second = cluster.env.start_claim(cluster.env.claim_config()).await;
    let channels = [
        channel(cluster.claim.addr).await,
        channel(second.addr).await,
    ];

    let attempts = (0..200).map(|i| {
        let mut client = ClaimServiceClient::new(channels[i % 2].clone());
        tokio::spawn(async move { claim_next(&mut client, "alice", "cold").await })
    });
    let results: Vec<_> = join_all(attempts)
        .await
        .into_iter()
        .map(|joined| joined.expect("claimer did not panic"))
        .collect();

    let won: Vec<&v1::Lead> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 5, "exactly the hourly limit");
    let refused: Vec<&tonic::Status> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(refused.len(), 195);
    for status in refused {
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert_eq!(reason(status), "HOURLY_CLAIM_LIMIT");
        let delay = retry_delay(status);
        assert!(
            delay > Duration::ZERO && delay <= Duration::from_secs(3600),
            "{delay:?}"
        );
        assert_eq!(
            status.get_details_quota_failure().unwrap().violations[0].subject,
            "reps/alice"
        );
    }
    let (owned,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM leads WHERE owner_rep_id = 'alice'")
            .fetch_one(cluster.env.db.store().pool())
            .await
            .unwrap();
    assert_eq!(owned, 5, "Postgres agrees with Redis");
    second.stop().await.unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn rolling_windows_free_up_one_claim_at_a_time_as_the_clock_moves() {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        &policy("{ perHour: 2, perDay: 3 }", "{}"),
    )
    .await;
    fill(&cluster, "cold", 6).await;
    let mut claim = cluster.claim().await;
    let clock = &cluster.env.clock;

    // 09:00 and 09:10: the hour's two claims.
    claim_next(&mut claim, "alice", "cold").await.unwrap();
    clock.advance(Span::minutes(10));
    claim_next(&mut claim, "alice", "cold").await.unwrap();
    // 09:20: the hourly window is full until the 09:00 claim leaves it at 10:00.
    clock.advance(Span::minutes(10));
    let refused = claim_next(&mut claim, "alice", "cold").await.unwrap_err();
    assert_eq!(reason(&refused), "HOURLY_CLAIM_LIMIT");
    assert_eq!(retry_delay(&refused), Duration::from_secs(40 * 60));
    // 10:00 exactly: a rolling hour, not a clock hour; one claim is free again, not two.
    clock.advance(Span::minutes(40));
    claim_next(&mut claim, "alice", "cold").await.unwrap();
    // 10:30: the hour holds only the 10:00 claim, but the day is full (09:00, 09:10, 10:00)
    // until 09:00 tomorrow.
    clock.advance(Span::minutes(30));
    let refused = claim_next(&mut claim, "alice", "cold").await.unwrap_err();
    assert_eq!(reason(&refused), "DAILY_CLAIM_LIMIT");
    assert_eq!(
        retry_delay(&refused),
        Duration::from_secs((22 * 60 + 30) * 60)
    );
    // Midnight does not reset anything.
    clock.advance(Span::hours(14));
    let refused = claim_next(&mut claim, "alice", "cold").await.unwrap_err();
    assert_eq!(reason(&refused), "DAILY_CLAIM_LIMIT");
    clock.advance(Span::minutes(8 * 60 + 30));
    claim_next(&mut claim, "alice", "cold").await.unwrap();
    // Bob's limits are his own.
    claim_next(&mut claim, "bob", "cold").await.unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn a_cooldown_pauses_a_rep_after_a_run_of_claims_and_a_break_ends_the_run() {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        &policy("{ perDay: 100, cooldown: { after: 3, pause: 30m } }", "{}"),
    )
    .await;
    fill(&cluster, "cold", 10).await;
    let mut claim = cluster.claim().await;
    let clock = &cluster.env.clock;

    for _ in 0..3 {
        claim_next(&mut claim, "alice", "cold").await.unwrap();
        clock.advance(Span::minutes(1));
    }
    // The third claim (at 09:02) started a 30-minute pause.
    let refused = claim_next(&mut claim, "alice", "cold").await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert_eq!(reason(&refused), "CLAIM_COOLDOWN");
    assert_eq!(retry_delay(&refused), Duration::from_secs(29 * 60));
    clock.advance(Span::minutes(29));
    claim_next(&mut claim, "alice", "cold").await.unwrap();

    // Two claims, then a break as long as the pause: the run starts over, three more fit.
    clock.advance(Span::minutes(1));
    claim_next(&mut claim, "alice", "cold").await.unwrap();
    clock.advance(Span::minutes(30));
    for _ in 0..3 {
        claim_next(&mut claim, "alice", "cold").await.unwrap();
    }
    let refused = claim_next(&mut claim, "alice", "cold").await.unwrap_err();
    assert_eq!(reason(&refused), "CLAIM_COOLDOWN");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_open_lead_cap_holds_under_concurrent_claims_on_two_instances() {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        &policy("{ perDay: 100, activeLeads: 3 }", "{}"),
    )
    .await;
    fill(&cluster, "cold", 12).await;
    let second = cluster.env.start_claim(cluster.env.claim_config()).await;
    let channels = [
        channel(cluster.claim.addr).await,
        channel(second.addr).await,
    ];
    let attempts = (0..20).map(|i| {
        let mut client = ClaimServiceClient::new(channels[i % 2].clone());
        tokio::spawn(async move {
            client
                .claim_batch(authed(
                    &rep("alice"),
                    v1::ClaimBatchRequest {
                        pool: "pools/cold".into(),
                        count: 2,
                    },
                ))
                .await
                .map(|r| r.into_inner().leads)
        })
    });
    let mut won = Vec::new();
    for result in join_all(attempts).await {
        match result.unwrap() {
            Ok(leads) => won.extend(leads),
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
                assert_eq!(reason(&status), "ACTIVE_LEAD_LIMIT");
                assert!(
                    status.get_details_retry_info().is_none(),
                    "no time frees an open lead"
                );
            }
        }
    }
    assert_eq!(won.len(), 3, "never more open leads than the cap");

    // A contacted lead is still open work; a released one is not.
    let mut claim = cluster.claim().await;
    claim
        .record_contact(authed(
            &rep("alice"),
            v1::RecordContactRequest {
                name: won[0].name.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap();
    let refused = claim_next(&mut claim, "alice", "cold").await.unwrap_err();
    assert_eq!(reason(&refused), "ACTIVE_LEAD_LIMIT");
    claim
        .release_lead(authed(
            &rep("alice"),
            v1::ReleaseLeadRequest {
                name: won[1].name.clone(),
                reason: "not my segment".into(),
            },
        ))
        .await
        .unwrap();
    claim_next(&mut claim, "alice", "cold").await.unwrap();
    second.stop().await.unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn a_pool_limit_caps_claims_from_that_pool_only() {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        &policy("{ perDay: 100 }", "{ perDay: 1, activeLeads: 2 }"),
    )
    .await;
    fill(&cluster, "hot", 3).await;
    fill(&cluster, "cold", 3).await;
    let mut claim = cluster.claim().await;

    claim_next(&mut claim, "alice", "hot").await.unwrap();
    let refused = claim_next(&mut claim, "alice", "hot").await.unwrap_err();
    assert_eq!(reason(&refused), "POOL_DAILY_CLAIM_LIMIT");
    assert_eq!(retry_delay(&refused), Duration::from_secs(24 * 3600));
    claim_next(&mut claim, "alice", "cold").await.unwrap();
    claim_next(&mut claim, "alice", "cold").await.unwrap();
    // Every rep has her own allowance from the pool.
    claim_next(&mut claim, "bob", "hot").await.unwrap();
    cluster.stop().await;
}
