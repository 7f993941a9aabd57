//! X2: a lead's life in its pool as one declarative `lifecycle` (`examples/x2-lifecycle.yaml`),
//! every step counted from pool entry, walked on the injected clock through the scheduler's jobs.

use chrono::{DateTime, Duration, Utc};
use leadpool_domain::{Clock, LeadState};
use leadpool_e2e::{Cluster, apply_policy, example, submit, submit_segmented};
use leadpool_proto::v1;

use crate::jobs::{last_event, lead, run_job};

/// Runs `job` as of `at` and answers whether it moved `walker`.
async fn moves(cluster: &Cluster, job: &str, at: DateTime<Utc>, walker: &v1::Lead) -> bool {
    run_job(cluster, job, at).await.leads.contains(&walker.name)
}

#[tokio::test]
async fn one_lead_walks_every_step_of_its_lifecycle_from_pool_entry() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, &example("x2-lifecycle")).await;
    let mut intake = cluster.intake().await;
    let clock = &cluster.env.clock;
    let t0 = clock.now();
    let walker = submit(&mut intake, "walker", 20).await;
    clock.advance(Duration::hours(13));
    for (i, score) in [40, 50, 60, 70].into_iter().enumerate() {
        submit(&mut intake, &format!("younger-{i}"), score).await;
    }
    let reason = async || last_event(&cluster, &walker).await.reason;

    // Each step only once its age is reached; the places rank the walker without moving it.
    let priority = async || lead(&cluster, &walker).await.priority;
    run_job(
        &cluster,
        "aging",
        t0 + Duration::hours(12) - Duration::seconds(1),
    )
    .await;
    assert_eq!(priority().await, 20);
    run_job(&cluster, "aging", t0 + Duration::hours(13)).await;
    assert_eq!(priority().await, 50, "top half: the younger leads' median");
    run_job(&cluster, "aging", t0 + Duration::hours(24)).await;
    assert_eq!(priority().await, 70, "top tenth: their 90th percentile");
    assert!(
        !moves(
            &cluster,
            "aging",
            t0 + Duration::hours(48) - Duration::seconds(1),
            &walker
        )
        .await
    );
    assert!(moves(&cluster, "aging", t0 + Duration::hours(48), &walker).await);
    assert_eq!(lead(&cluster, &walker).await.state, LeadState::Escalated);
    assert_eq!(reason().await, "unclaimed 48h: escalated to a manager");

    assert!(
        !moves(
            &cluster,
            "forced-assignment",
            t0 + Duration::hours(72) - Duration::seconds(1),
            &walker
        )
        .await
    );
    assert!(
        moves(
            &cluster,
            "forced-assignment",
            t0 + Duration::hours(72),
            &walker
        )
        .await
    );
    let assigned = lead(&cluster, &walker).await;
    assert_eq!(
        (assigned.state, assigned.owner.map(|o| o.to_string())),
        (LeadState::Assigned, Some("ana".to_owned()))
    );
    // Not accepted within the pool's hour: she had no choice, so not back to the pool but to
    // the managers' escalation queue; its age in the pool unchanged, and not forced again.
    assert!(moves(&cluster, "sla-expiry", t0 + Duration::hours(73), &walker).await);
    let back = lead(&cluster, &walker).await;
    assert_eq!(
        (back.state, back.pooled_at),
        (LeadState::Escalated, Some(t0))
    );
    assert_eq!(
        reason().await,
        "forced assignment not worked in time: to the managers' escalation queue"
    );
    assert!(
        !moves(
            &cluster,
            "forced-assignment",
            t0 + Duration::hours(74),
            &walker
        )
        .await,
        "the forced step is taken once per stay in the pool"
    );

    assert!(
        !moves(
            &cluster,
            "daily-refresh",
            t0 + Duration::hours(96) - Duration::seconds(1),
            &walker
        )
        .await
    );
    let moved_at = t0 + Duration::hours(96);
    assert!(moves(&cluster, "daily-refresh", moved_at, &walker).await);
    let moved = lead(&cluster, &walker).await;
    assert_eq!(
        (
            moved.state,
            moved.pool.map(|p| p.to_string()),
            moved.pooled_at
        ),
        (
            LeadState::Available,
            Some("second-chance".to_owned()),
            Some(moved_at)
        ),
        "a move starts the lead's age again in its new pool"
    );
    assert_eq!(
        reason().await,
        "older than 96h: moved to the priority pool pools/second-chance"
    );

    // In the second pool, its own lifecycle: a day after entering it, to nurture.
    assert!(
        !moves(
            &cluster,
            "daily-refresh",
            moved_at + Duration::hours(24) - Duration::seconds(1),
            &walker
        )
        .await
    );
    assert!(
        moves(
            &cluster,
            "daily-refresh",
            moved_at + Duration::hours(24),
            &walker
        )
        .await
    );
    assert_eq!(lead(&cluster, &walker).await.state, LeadState::Nurture);
    assert_eq!(reason().await, "older than 24h: to nurture");
    cluster.stop().await;
}

#[tokio::test]
async fn a_lead_nobody_claims_is_archived_and_unlisted_steps_never_happen() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, &example("x2-lifecycle")).await;
    let mut intake = cluster.intake().await;
    let t0 = cluster.env.clock.now();
    let lead_a = submit_segmented(&mut intake, "quiet-a", 50, "", "newsletter").await;
    let almost = t0 + Duration::days(7) - Duration::seconds(1);
    // No aging, escalation, forced assignment or earlier refresh: the list names none.
    for job in ["aging", "forced-assignment", "daily-refresh"] {
        assert_eq!(run_job(&cluster, job, almost).await.affected, 0, "{job}");
    }
    assert_eq!(lead(&cluster, &lead_a).await.state, LeadState::Available);
    assert!(moves(&cluster, "daily-refresh", t0 + Duration::days(7), &lead_a).await);
    assert_eq!(lead(&cluster, &lead_a).await.state, LeadState::Archived);
    assert_eq!(
        last_event(&cluster, &lead_a).await.reason,
        "unclaimed after 7d: archived"
    );
    cluster.stop().await;
}
