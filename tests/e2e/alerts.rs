//! M5/M7 alerts proven to fire and to resolve, each next to the boundary where it must not:
//! AGING (more than 20% of the pool older than 24h), LOW_VOLUME, QUOTA, a stagnant pool and
//! depletion below 0.8 for two days. Data is made through the API on the injected clock; the
//! alerts are read with ListAlerts as of a time.

use chrono::{DateTime, Duration, Utc};
use leadpool_domain::Clock;
use leadpool_e2e::{Cluster, admin, apply_policy, submit};
use leadpool_proto::v1;
use leadpool_server::convert::timestamp;
use leadpool_testing::authed;

use crate::jobs::run_job;

/// A 48h claim target keeps LOW_CLAIM_RATE to stagnation here, not slow claims.
const POLICY: &str = r"
apiVersion: leadpool.dev/v1
kind: Policy
reps: [{ id: alice, role: sdr }, { id: bob, role: sdr }]
pools: [{ id: inbound, type: open, health: { claimTarget: 48h } }]
health: { lowVolumePerWeek: 3, minClaimsPerDay: 2, agedAlertPercent: 20, depletionAlertBelow: 0.8, depletionAlertDays: 2 }
routing:
  default: { pool: inbound }
";

async fn start() -> Cluster {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    cluster
}

/// The alerts of `kind` firing as of `at`: their summaries.
async fn firing(cluster: &Cluster, kind: v1::AlertKind, at: DateTime<Utc>) -> Vec<String> {
    cluster
        .scheduler()
        .await
        .list_alerts(authed(
            &admin(),
            v1::ListAlertsRequest {
                as_of: Some(timestamp(at)),
                pool: String::new(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .alerts
        .into_iter()
        .filter(|a| a.kind() == kind)
        .map(|a| format!("{}: {}", a.name, a.summary))
        .collect()
}

async fn claim(cluster: &Cluster, who: &str, lead: &v1::Lead) {
    crate::rules::claim_lead(cluster, who, &lead.name).await;
}

async fn submit_at(cluster: &Cluster, at: DateTime<Utc>, keys: &[&str]) -> Vec<v1::Lead> {
    cluster.env.clock.set(at);
    let mut intake = cluster.intake().await;
    let mut leads = Vec::new();
    for key in keys {
        leads.push(submit(&mut intake, key, 50).await);
    }
    leads
}

#[tokio::test]
async fn aging_fires_above_a_fifth_older_than_a_day_and_resolves_when_they_are_claimed() {
    let cluster = start().await;
    let t0 = cluster.env.clock.now();
    let old = submit_at(&cluster, t0, &["old-1"]).await;
    let older = submit_at(&cluster, t0 + Duration::minutes(30), &["old-2"]).await;
    submit_at(&cluster, t0 + Duration::hours(20), &["f1", "f2", "f3"]).await;
    use v1::AlertKind::Aging;
    // 24h15m: one of five (20%) is older than 24h — not above 20%.
    let boundary = t0 + Duration::hours(24) + Duration::minutes(15);
    assert!(firing(&cluster, Aging, boundary).await.is_empty());
    // 25h: two of five (40%).
    let later = t0 + Duration::hours(25);
    assert_eq!(
        firing(&cluster, Aging, later).await,
        ["pools/inbound/alerts/aging: 40% of the pool is older than 24h (alert above 20%)"]
    );
    cluster.env.clock.set(later);
    claim(&cluster, "alice", &old[0]).await;
    claim(&cluster, "alice", &older[0]).await;
    assert!(firing(&cluster, Aging, later).await.is_empty(), "resolved");
    cluster.stop().await;
}

#[tokio::test]
async fn low_volume_fires_below_the_weekly_minimum_and_resolves_at_it() {
    let cluster = start().await;
    let t0 = cluster.env.clock.now();
    submit_at(&cluster, t0, &["a", "b"]).await;
    use v1::AlertKind::LowVolume;
    assert_eq!(
        firing(&cluster, LowVolume, t0).await,
        ["pools/inbound/alerts/low-volume: 2 new leads in 7 days (below 3): a candidate to merge"]
    );
    submit_at(&cluster, t0, &["c"]).await;
    assert!(
        firing(&cluster, LowVolume, t0).await.is_empty(),
        "three is not below three"
    );
    // A week later the three no longer count.
    assert_eq!(
        firing(&cluster, LowVolume, t0 + Duration::days(7))
            .await
            .len(),
        1
    );
    cluster.stop().await;
}

#[tokio::test]
async fn quota_fires_for_a_rep_below_her_daily_minimum_and_resolves_a_day_later() {
    let cluster = start().await;
    let day = DateTime::parse_from_rfc3339("2026-03-09T10:00:00Z")
        .unwrap()
        .to_utc();
    let leads = submit_at(&cluster, day, &["q1", "q2", "q3"]).await;
    claim(&cluster, "alice", &leads[0]).await;
    claim(&cluster, "bob", &leads[1]).await;
    claim(&cluster, "bob", &leads[2]).await;
    let next_morning = day + Duration::hours(14) + Duration::minutes(5);
    cluster.env.clock.set(next_morning);
    assert_eq!(
        run_job(&cluster, "claim-quota", next_morning)
            .await
            .affected,
        1
    );
    use v1::AlertKind::Quota;
    assert_eq!(
        firing(&cluster, Quota, next_morning).await,
        ["reps/alice/alerts/quota: reps/alice claimed 1 of the 2 a day on 2026-03-09"],
        "bob made exactly his two"
    );
    assert!(
        firing(
            &cluster,
            Quota,
            next_morning + Duration::days(1) + Duration::seconds(1)
        )
        .await
        .is_empty(),
        "resolved once the day is over"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn a_stagnant_pool_fires_after_a_day_without_claims_and_resolves_with_one() {
    let cluster = start().await;
    let t0 = cluster.env.clock.now();
    let leads = submit_at(&cluster, t0, &["s1", "s2", "s3"]).await;
    cluster.env.clock.set(t0 + Duration::hours(1));
    claim(&cluster, "alice", &leads[2]).await;
    use v1::AlertKind::LowClaimRate;
    // The claim at 1h is still inside the last 24 hours at 24h59m.
    let boundary = t0 + Duration::hours(24) + Duration::minutes(59);
    assert!(firing(&cluster, LowClaimRate, boundary).await.is_empty());
    let stale = t0 + Duration::hours(25) + Duration::minutes(1);
    assert_eq!(
        firing(&cluster, LowClaimRate, stale).await,
        ["pools/inbound/alerts/low-claim-rate: stagnant: no claims in 24h while leads wait"]
    );
    cluster.env.clock.set(stale);
    claim(&cluster, "bob", &leads[0]).await;
    assert!(
        firing(&cluster, LowClaimRate, stale).await.is_empty(),
        "resolved"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn depletion_fires_after_two_days_below_the_limit_and_not_at_it() {
    let cluster = start().await;
    let t0 = cluster.env.clock.now();
    // Each day five new leads and three claims: 0.6.
    let first = submit_at(
        &cluster,
        t0 + Duration::hours(1),
        &["d1", "d2", "d3", "d4", "d5"],
    )
    .await;
    for lead in &first[..3] {
        claim(&cluster, "alice", lead).await;
    }
    let second = submit_at(
        &cluster,
        t0 + Duration::hours(25),
        &["e1", "e2", "e3", "e4", "e5"],
    )
    .await;
    for lead in &second[..3] {
        claim(&cluster, "bob", lead).await;
    }
    use v1::AlertKind::Depletion;
    let end = t0 + Duration::hours(48);
    assert_eq!(
        firing(&cluster, Depletion, end).await,
        [
            "pools/inbound/alerts/depletion: the pool is growing: claims ÷ new leads below 0.8 for 2 days (0.60, 0.60)"
        ]
    );
    // A fourth claim on the second day: 0.8, not below it — one day below is not enough.
    claim(&cluster, "bob", &second[3]).await;
    assert!(
        firing(&cluster, Depletion, end).await.is_empty(),
        "resolved"
    );
    cluster.stop().await;
}
