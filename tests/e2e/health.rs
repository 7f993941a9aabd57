//! Pool health (M1–M7, X6) from a history made through the API on the injected clock, checked
//! against figures worked out by hand; WatchAlerts as alerts start and stop; the RPC metrics
//! that count claims and limit hits.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration};
use leadpool_e2e::{Cluster, add_rep, admin, apply_policy, channel, create_pool, rep, submit};
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_proto::v1::scheduler_service_client::SchedulerServiceClient;
use leadpool_server::convert::timestamp;
use leadpool_testing::authed;
use tokio_stream::StreamExt;

const POLICY: &str = r"
apiVersion: leadpool.dev/v1
kind: Policy
aging: { topHalfAfter: never, topTenthAfter: never, escalateAfter: never, assignAfter: never }
reps: [{ id: alice, role: sdr }]
pools:
  - id: inbound
    type: open
    health: { warning: 3, critical: 5, claimTarget: 1h }
routing:
  default: { pool: inbound }
";

fn manager() -> String {
    leadpool_testing::token("users/mia", &[leadpool_auth::Role::Manager])
}

fn secs(d: Option<&prost_types::Duration>) -> i64 {
    d.map_or(-1, |d| d.seconds)
}

/// `inbound` escalates leads unclaimed for 5 hours, so the test can make one escalated lead.
const HISTORY_POLICY: &str = r"
apiVersion: leadpool.dev/v1
kind: Policy
reps: [{ id: alice, role: sdr }]
pools:
  - id: inbound
    type: open
    lifecycle: [{ after: 5h, then: escalate }]
    health: { warning: 3, critical: 5, claimTarget: 1h }
routing:
  default: { pool: inbound }
";

/// What alice does with her leads, through the claim API.
struct Alice {
    claim: ClaimServiceClient<tonic::transport::Channel>,
}

impl Alice {
    async fn claims(&mut self, lead: &v1::Lead) {
        self.claim
            .claim_lead(authed(
                &rep("alice"),
                v1::ClaimLeadRequest {
                    name: lead.name.clone(),
                },
            ))
            .await
            .unwrap();
    }

    async fn contacts(&mut self, lead: &v1::Lead) {
        self.claim
            .record_contact(authed(
                &rep("alice"),
                v1::RecordContactRequest {
                    name: lead.name.clone(),
                    note: String::new(),
                },
            ))
            .await
            .unwrap();
    }

    async fn records(&mut self, lead: &v1::Lead, outcome: v1::Outcome, deal: i64) {
        self.claim
            .record_outcome(authed(
                &rep("alice"),
                v1::RecordOutcomeRequest {
                    name: lead.name.clone(),
                    outcome: outcome.into(),
                    deal_size_minor: deal,
                    note: String::new(),
                },
            ))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn health_figures_from_a_history_made_through_the_api_match_the_hand_computed_ones() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, HISTORY_POLICY).await;
    let mut intake = cluster.intake().await;
    let mut alice = Alice {
        claim: cluster.claim().await,
    };
    let clock = &cluster.env.clock;
    // Tuesday 10 March 2026, noon UTC; everything below happens at the time set before it.
    let t = DateTime::parse_from_rfc3339("2026-03-10T12:00:00Z")
        .unwrap()
        .to_utc();
    let h = Duration::hours;
    // C4 enters Tue 3 Mar 08:00, is claimed 4h later (Wed 4th 12:00) and won 3 days ago.
    clock.set(t - Duration::days(6) - h(4));
    let c4 = submit(&mut intake, "c4", 50).await;
    clock.set(t - Duration::days(6));
    alice.claims(&c4).await;
    clock.set(t - Duration::days(3));
    alice.contacts(&c4).await;
    alice.records(&c4, v1::Outcome::Customer, 300_000).await;
    // C3 enters 47h ago, claimed an hour later (Sunday 14:00), won 20h ago.
    clock.set(t - h(47));
    let c3 = submit(&mut intake, "c3", 50).await;
    clock.set(t - h(46));
    alice.claims(&c3).await;
    // E1 enters 40h ago; unclaimed for 5h it is escalated.
    clock.set(t - h(40));
    submit(&mut intake, "e1", 50).await;
    clock.set(t - h(35));
    assert_eq!(
        crate::jobs::run_job(&cluster, "aging", t - h(35))
            .await
            .leads
            .len(),
        1
    );
    // A5 enters 30h ago; the hourly snapshot then sees one lead waiting.
    clock.set(t - h(30));
    submit(&mut intake, "a5", 50).await;
    crate::jobs::run_job(&cluster, "pool-snapshot", t - h(30)).await;
    clock.set(t - h(20));
    alice.contacts(&c3).await;
    alice.records(&c3, v1::Outcome::Customer, 500_000).await;
    clock.set(t - h(13));
    submit(&mut intake, "a4", 50).await;
    // C2 enters 5h30m ago, claimed after 30m (07:00), becomes an opportunity, then is lost.
    clock.set(t - h(5) - Duration::minutes(30));
    let c2 = submit(&mut intake, "c2", 50).await;
    clock.set(t - h(5));
    alice.claims(&c2).await;
    alice.contacts(&c2).await;
    clock.set(t - h(4));
    alice.records(&c2, v1::Outcome::Opportunity, 0).await;
    clock.set(t - h(3));
    alice.records(&c2, v1::Outcome::Lost, 0).await;
    let c1 = submit(&mut intake, "c1", 50).await;
    // Three fresh ones 2h ago; the snapshot then sees six waiting (A1–A3, A4, A5, C1).
    clock.set(t - h(2));
    for key in ["a1", "a2", "a3"] {
        submit(&mut intake, key, 50).await;
    }
    crate::jobs::run_job(&cluster, "pool-snapshot", t - h(2)).await;
    // C1 is claimed after 2h (11:00) and becomes an opportunity.
    clock.set(t - h(1));
    alice.claims(&c1).await;
    alice.records(&c1, v1::Outcome::Opportunity, 0).await;
    clock.set(t);

    let health = cluster
        .scheduler()
        .await
        .get_pool_health(authed(
            &rep("alice"),
            v1::GetPoolHealthRequest {
                depletion_days: 0,
                name: "pools/inbound".into(),
                as_of: Some(timestamp(t)),
                time_zone: "UTC".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();

    // M1: 5 available, critical at 5.
    assert_eq!(
        (health.depth, health.escalated, health.scheduled),
        (5, 1, 0)
    );
    assert_eq!(health.level(), v1::DepthLevel::Critical);
    // M2: last 24h: 2 claims (C1, C2) ÷ 6 new (A1–A4, C1, C2); the day before: 1 (C3) ÷ 3
    // (A5, E1, C3). Both below 0.8, so the 2-day alert fires.
    let d = health.depletion.as_ref().unwrap();
    assert_eq!((d.claims, d.new_leads), (2, 6));
    assert!((d.rate.unwrap() - 2.0 / 6.0).abs() < 1e-9);
    let days: Vec<(i64, i64)> = health
        .depletion_by_day
        .iter()
        .map(|d| (d.claims, d.new_leads))
        .collect();
    assert_eq!(days, [(2, 6), (1, 3)]);
    // M3: 2h, 30m, 1h, 4h → mean 6750 s, median 5400 s, 2 of 4 within the 1h target.
    let v = health.velocity.as_ref().unwrap();
    assert_eq!(v.claims, 4);
    assert_eq!(
        (
            secs(v.mean.as_ref()),
            secs(v.median.as_ref()),
            secs(v.target.as_ref())
        ),
        (6750, 5400, 3600)
    );
    assert!((v.within_target_percent - 50.0).abs() < 1e-9);
    let hours: Vec<(usize, i64)> = v
        .claims_by_hour
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, n)| *n > 0)
        .collect();
    assert_eq!(hours, [(7, 1), (11, 1), (12, 1), (14, 1)]);
    assert_eq!(
        v.claims_by_weekday,
        [0, 2, 1, 0, 0, 0, 1],
        "Tue ×2, Wed, Sun"
    );
    // M3 by slot: the p90 of all four is the slowest (4h); at 07:00 the one claim came in
    // 30m (within the 1h target), at 11:00 in 2h (not); Tuesday: 30m and 2h → median 1h15m,
    // p90 2h, over the target.
    assert_eq!(secs(v.p90.as_ref()), 4 * 3600);
    let slot = |s: &v1::SlotVelocity| {
        (
            s.slot,
            s.claims,
            secs(s.median.as_ref()),
            secs(s.p90.as_ref()),
            s.meets_target,
        )
    };
    assert_eq!(v.by_hour.len(), 24);
    assert_eq!(slot(&v.by_hour[7]), (7, 1, 1800, 1800, true));
    assert_eq!(slot(&v.by_hour[11]), (11, 1, 7200, 7200, false));
    assert_eq!(
        slot(&v.by_hour[3]),
        (3, 0, -1, -1, false),
        "nobody claims at 03:00"
    );
    assert_eq!(slot(&v.by_weekday[1]), (2, 2, 4500, 7200, false));
    // The heat map: one cell per weekday × hour with a claim — Tue 07:00 and 11:00, Wed 12:00,
    // Sun 14:00.
    let cells: Vec<(i32, i32, i64)> = v
        .by_weekday_hour
        .iter()
        .filter(|c| c.claims > 0)
        .map(|c| (c.weekday, c.hour, c.claims))
        .collect();
    assert_eq!(v.by_weekday_hour.len(), 168);
    assert_eq!(cells, [(2, 7, 1), (2, 11, 1), (3, 12, 1), (7, 14, 1)]);
    // M4 from the history: 10 leads entered in 30 days; 4 ever reached opportunity (C1; C2,
    // later lost; C3 and C4, won), 2 customers (500 000 and 300 000 → 400 000), 1 lost. The
    // cycle runs from pool entry to the final close: 76h (C4), 27h (C3), 2h30m (C2, lost) →
    // 35h10m.
    let c = health.conversion.as_ref().unwrap();
    assert_eq!(
        (c.leads, c.opportunities, c.customers, c.lost),
        (10, 4, 2, 1)
    );
    assert!(
        (c.opportunity_percent - 40.0).abs() < 1e-9 && (c.customer_percent - 20.0).abs() < 1e-9
    );
    assert_eq!(c.average_deal_size_minor, 400_000);
    assert_eq!(secs(c.average_cycle.as_ref()), 35 * 3600 + 600);
    // M5: 3 / 1 / 1 of 5 → 60% / 20% / 20%: not healthy (20% ≥ 10%), no alert (not above 20%).
    let a = health.ages.as_ref().unwrap();
    assert_eq!((a.under_12h, a.from_12h_to_24h, a.over_24h), (3, 1, 1));
    assert_eq!(
        (
            a.under_12h_percent,
            a.from_12h_to_24h_percent,
            a.over_24h_percent
        ),
        (60.0, 20.0, 20.0)
    );
    assert!(!a.healthy);
    // M6: 4 claims in 7 days → 0.6 a day, healthy 1 to 2; the week's snapshots average 3.5
    // (1 and 6): consistently above.
    let s = health.sizing.as_ref().unwrap();
    assert_eq!(
        (s.daily_claim_capacity, s.healthy_min, s.healthy_max),
        (0.6, 1, 2)
    );
    assert_eq!(s.average_depth_7d, Some(3.5));
    assert_eq!(s.recommendation, "above: add reps or qualify stricter");
    // X6: 4 claims and 10 new leads in 168 hours: it grows, and it is critical already.
    let f = health.forecast.as_ref().unwrap();
    assert_eq!(
        (f.depth, f.empty_time.is_none(), f.critical_time.is_none()),
        (5, true, true)
    );
    assert!((f.claims_per_hour - 4.0 / 168.0).abs() < 1e-9);
    assert!((f.new_leads_per_hour - 10.0 / 168.0).abs() < 1e-9);
    assert_eq!(f.summary, "never empty (claims 0.0/h, new 0.1/h)");
    assert_eq!(health.new_last_7_days, 10);
    // M7.
    let mut kinds: Vec<(v1::AlertKind, v1::AlertSeverity)> = health
        .alerts
        .iter()
        .map(|a| (a.kind(), a.severity()))
        .collect();
    kinds.sort_by_key(|k| k.0 as i32);
    assert_eq!(
        kinds,
        [
            (v1::AlertKind::Capacity, v1::AlertSeverity::Critical),
            (v1::AlertKind::Depletion, v1::AlertSeverity::Warning),
            (v1::AlertKind::Escalated, v1::AlertSeverity::Warning),
            (v1::AlertKind::LowClaimRate, v1::AlertSeverity::Warning),
        ]
    );
    let listed = cluster
        .scheduler()
        .await
        .list_pool_health(authed(
            &admin(),
            v1::ListPoolHealthRequest {
                as_of: Some(timestamp(t)),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.pools.len(), 1);
    assert_eq!(listed.pools[0].depth, 5);

    // Depletion over a week, for a chart: the two days above, three quiet days, and the
    // seventh day back (windows end inclusive) holding C4's entry and its claim exactly 6
    // days ago.
    let mut scheduler = cluster.scheduler().await;
    let week = |days| v1::GetPoolHealthRequest {
        name: "pools/inbound".into(),
        as_of: Some(timestamp(t)),
        depletion_days: days,
        ..Default::default()
    };
    let by_day: Vec<(i64, i64)> = scheduler
        .get_pool_health(authed(&rep("alice"), week(7)))
        .await
        .unwrap()
        .into_inner()
        .depletion_by_day
        .iter()
        .map(|d| (d.claims, d.new_leads))
        .collect();
    assert_eq!(
        by_day,
        [(2, 6), (1, 3), (0, 0), (0, 0), (0, 0), (0, 0), (1, 1)]
    );
    leadpool_e2e::assert_invalid(
        scheduler
            .get_pool_health(authed(&rep("alice"), week(91)))
            .await,
        &["depletion_days"],
    );
    cluster.stop().await;
}

async fn next_alert(stream: &mut tonic::Streaming<v1::AlertEvent>) -> v1::AlertEvent {
    tokio::time::timeout(StdDuration::from_secs(10), stream.next())
        .await
        .expect("an alert event in time")
        .expect("the stream stays open")
        .expect("an event, not an error")
}

/// The next event about `kind`, skipping others.
async fn next_of(
    stream: &mut tonic::Streaming<v1::AlertEvent>,
    kind: v1::AlertKind,
) -> v1::AlertEvent {
    loop {
        let event = next_alert(stream).await;
        if event.alert.as_ref().is_some_and(|a| a.kind() == kind) {
            return event;
        }
    }
}

#[tokio::test]
async fn watch_alerts_streams_an_alert_when_it_starts_and_when_it_resolves() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    let mut config = cluster.env.scheduler_config();
    config.scheduler.alert_interval = StdDuration::from_millis(100);
    let watcher = cluster.env.start_scheduler(config).await;
    let mut scheduler = SchedulerServiceClient::new(channel(watcher.addr).await);
    let denied = scheduler
        .watch_alerts(authed(&rep("alice"), v1::WatchAlertsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(
        denied.code(),
        tonic::Code::PermissionDenied,
        "reps do not see quota alerts"
    );
    let unknown = scheduler
        .watch_alerts(authed(
            &manager(),
            v1::WatchAlertsRequest {
                pool: "pools/nowhere".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    let mut stream = scheduler
        .watch_alerts(authed(
            &manager(),
            v1::WatchAlertsRequest {
                pool: "pools/inbound".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let mut intake = cluster.intake().await;
    for i in 0..3 {
        submit(&mut intake, &format!("l{i}"), 50).await;
    }
    let warning = next_of(&mut stream, v1::AlertKind::Capacity).await;
    assert!(!warning.resolved);
    let alert = warning.alert.unwrap();
    assert_eq!(alert.name, "pools/inbound/alerts/capacity");
    assert_eq!(alert.severity(), v1::AlertSeverity::Warning);
    assert_eq!(alert.summary, "3 leads waiting, warning at 3");

    cluster
        .claim()
        .await
        .claim_batch(authed(
            &rep("alice"),
            v1::ClaimBatchRequest {
                pool: "pools/inbound".into(),
                count: 2,
            },
        ))
        .await
        .unwrap();
    let resolved = next_of(&mut stream, v1::AlertKind::Capacity).await;
    assert!(resolved.resolved, "{resolved:?}");
    drop(stream);
    watcher.stop().await.unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn claims_and_limit_hits_are_counted_by_the_rpc_metrics() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    create_pool(&mut routing, "inbound", 0).await;
    add_rep(&mut routing, "alice", 1).await;
    let mut intake = cluster.intake().await;
    submit(&mut intake, "a", 50).await;
    submit(&mut intake, "b", 50).await;
    let mut claim = cluster.claim().await;
    let next = || {
        authed(
            &rep("alice"),
            v1::ClaimNextRequest {
                pool: "pools/inbound".into(),
            },
        )
    };
    claim.claim_next(next()).await.unwrap();
    let refused = claim.claim_next(next()).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
    // The services run in this test's process, so they share its registry.
    let text = leadpool_telemetry::metrics::render();
    for line in [
        "leadpool_rpc_requests_total{code=\"Ok\",method=\"ClaimNext\",service=\"leadpool.v1.ClaimService\"} 1",
        "leadpool_rpc_requests_total{code=\"ResourceExhausted\",method=\"ClaimNext\",service=\"leadpool.v1.ClaimService\"} 1",
        "leadpool_rpc_duration_seconds_count{method=\"ClaimNext\",service=\"leadpool.v1.ClaimService\"} 2",
    ] {
        assert!(text.contains(line), "{line} missing from:\n{text}");
    }
    cluster.stop().await;
}

#[tokio::test]
async fn the_scheduler_keeps_the_pool_gauges_of_the_metrics_current() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    let mut intake = cluster.intake().await;
    for i in 0..3 {
        submit(&mut intake, &format!("l{i}"), 50).await;
    }
    // Metrics on: the in-process scheduler refreshes the gauges (its HTTP endpoint is the
    // binary's, tested in services/scheduler/tests/replicas.rs).
    let mut config = cluster.env.scheduler_config();
    config.metrics.enabled = true;
    config.scheduler.alert_interval = StdDuration::from_millis(100);
    let gauges = cluster.env.start_scheduler(config).await;
    leadpool_e2e::eventually(
        StdDuration::from_secs(10),
        "the gauges show the pool",
        || async {
            let text = leadpool_telemetry::metrics::render();
            [
                "leadpool_pool_leads{pool=\"inbound\",state=\"available\"} 3",
                "leadpool_pool_available_by_age{bucket=\"0-12h\",pool=\"inbound\"} 3",
                "leadpool_pool_depth_threshold{level=\"critical\",pool=\"inbound\"} 5",
                "leadpool_pool_alerts{kind=\"capacity\",pool=\"inbound\",severity=\"warning\"} 1",
            ]
            .iter()
            .all(|line| text.contains(line))
        },
    )
    .await;
    gauges.stop().await.unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn a_segment_far_below_its_fair_share_of_new_leads_is_reported_unbalanced() {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        r"
apiVersion: leadpool.dev/v1
kind: Policy
pools:
  - { id: west, type: segmented }
  - { id: east, type: segmented }
  - { id: emea, type: segmented }
routing:
  rules:
    - { name: west, match: { regions: [west] }, pool: west }
    - { name: east, match: { regions: [east] }, pool: east }
  default: { pool: emea }
",
    )
    .await;
    let mut intake = cluster.intake().await;
    for i in 0..5 {
        leadpool_e2e::submit_segmented(&mut intake, &format!("w{i}"), 50, "west", "").await;
    }
    leadpool_e2e::submit_segmented(&mut intake, "e", 50, "east", "").await;
    let pools = cluster
        .scheduler()
        .await
        .list_pool_health(authed(&admin(), v1::ListPoolHealthRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .pools;
    let by_name = |name: &str| pools.iter().find(|p| p.pool == name).unwrap();
    // 5, 1 and 0 of 6: a fair share is 33.3%; below a third of it (11.1%) is unbalanced.
    assert_eq!(by_name("pools/west").segment_share_percent, Some(83.3));
    assert_eq!(by_name("pools/east").segment_share_percent, Some(16.7));
    assert_eq!(by_name("pools/emea").segment_share_percent, Some(0.0));
    let unbalanced: Vec<&str> = pools
        .iter()
        .filter(|p| {
            p.alerts
                .iter()
                .any(|a| a.kind() == v1::AlertKind::UnbalancedSegment)
        })
        .map(|p| p.pool.as_str())
        .collect();
    assert_eq!(unbalanced, ["pools/emea"]);
    cluster.stop().await;
}

/// M3 per pool type: the claims of both hot pools together against the hot type's 30 minutes
/// (not the 2 hours one of them sets for itself), the cold pool against 24 hours.
#[tokio::test]
async fn claim_velocity_rolls_up_per_pool_type_against_the_types_target() {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        r"
apiVersion: leadpool.dev/v1
kind: Policy
aging: { topHalfAfter: never, topTenthAfter: never, escalateAfter: never, assignAfter: never }
reps: [{ id: alice, role: sdr }]
pools:
  - { id: hot-a, type: tiered, tier: hot, health: { claimTarget: 2h } }
  - { id: hot-b, type: tiered, tier: hot }
  - { id: cold, type: tiered, tier: cold }
routing:
  rules:
    - { name: a, match: { regions: [a] }, pool: hot-a }
    - { name: b, match: { regions: [b] }, pool: hot-b }
  default: { pool: cold }
",
    )
    .await;
    let mut intake = cluster.intake().await;
    let mut alice = Alice {
        claim: cluster.claim().await,
    };
    let clock = &cluster.env.clock;
    let t = DateTime::parse_from_rfc3339("2026-03-10T12:00:00Z")
        .unwrap()
        .to_utc();
    let m = Duration::minutes;
    clock.set(t - Duration::hours(40));
    let cold = leadpool_e2e::submit_segmented(&mut intake, "c", 10, "", "").await;
    clock.set(t - Duration::hours(10));
    alice.claims(&cold).await;
    // Hot: 10, 20 and 50 minutes from entry to claim, over the two pools.
    for (key, region, waited) in [("a", "a", 10), ("b1", "b", 20), ("b2", "b", 50)] {
        clock.set(t - m(120));
        let lead = leadpool_e2e::submit_segmented(&mut intake, key, 90, region, "").await;
        clock.set(t - m(120) + m(waited));
        alice.claims(&lead).await;
    }
    clock.set(t);

    let types = cluster
        .scheduler()
        .await
        .list_pool_type_velocity(authed(
            &manager(),
            v1::ListPoolTypeVelocityRequest {
                as_of: Some(timestamp(t)),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .types;
    let kinds: Vec<&str> = types.iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(kinds, ["tiered/cold", "tiered/hot"]);
    let (cold, hot) = (&types[0], &types[1]);
    assert_eq!(hot.pools, ["pools/hot-a", "pools/hot-b"]);
    let v = hot.velocity.as_ref().unwrap();
    assert_eq!(v.claims, 3);
    assert_eq!(secs(v.target.as_ref()), 30 * 60, "the type's target");
    assert_eq!(secs(v.median.as_ref()), 20 * 60);
    assert_eq!(
        v.within_target_percent, 66.7,
        "two of three within 30 minutes"
    );
    assert!(hot.meets_target);
    let v = cold.velocity.as_ref().unwrap();
    assert_eq!((v.claims, secs(v.target.as_ref())), (1, 24 * 3600));
    assert_eq!(secs(v.median.as_ref()), 30 * 3600);
    assert!(!cold.meets_target, "30 hours is over the cold target");
    cluster.stop().await;
}
