//! Pool health (M1–M7) from a seeded history, checked against figures worked out by hand;
//! WatchAlerts as alerts start and stop; the RPC metrics that count claims and limit hits.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use leadpool_e2e::{Cluster, add_rep, admin, apply_policy, channel, create_pool, rep, submit};
use leadpool_proto::v1;
use leadpool_proto::v1::scheduler_service_client::SchedulerServiceClient;
use leadpool_server::convert::timestamp;
use leadpool_testing::authed;
use sqlx::PgPool;
use tokio_stream::StreamExt;
use uuid::Uuid;

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

/// A lead that entered `inbound` at `pooled_at` (with its arrival in the history). A closed
/// lead must have an outcome: it starts as lost, and the test sets the one it needs.
async fn seed(db: &PgPool, state: &str, pooled_at: DateTime<Utc>) -> Uuid {
    let (id,): (Uuid,) = sqlx::query_as(
        "WITH lead AS (INSERT INTO leads (id, idempotency_key, request_hash, state, score, priority, pool_id, \
           owner_rep_id, received_at, pooled_at, claimed_at, contact_due_at, outcome, updated_at) \
         VALUES (gen_random_uuid(), gen_random_uuid()::text, '\\x00', $1, 50, 50, 'inbound', \
           CASE WHEN $1 IN ('claimed', 'contacted') THEN 'alice' END, $2, $2, \
           CASE WHEN $1 = 'claimed' THEN $2 END, CASE WHEN $1 = 'claimed' THEN $2 + interval '2 hours' END, \
           CASE WHEN $1 = 'closed' THEN 'lost' END, $2) \
         RETURNING id), \
         arrival AS (INSERT INTO lead_events (lead_id, from_state, to_state, kind, actor, pool_id, occurred_at) \
           SELECT id, 'received', 'available', 'lead.routed', 'services/routing', 'inbound', $2 FROM lead) \
         SELECT id FROM lead",
    )
    .bind(state)
    .bind(pooled_at)
    .fetch_one(db)
    .await
    .unwrap();
    id
}

async fn event(db: &PgPool, lead: Uuid, from: &str, to: &str, at: DateTime<Utc>) {
    sqlx::query(
        "INSERT INTO lead_events (lead_id, from_state, to_state, kind, actor, pool_id, rep_id, occurred_at) \
         VALUES ($1, $2, $3, CASE $3 WHEN 'closed' THEN 'lead.lost' ELSE 'lead.' || $3 END, 'reps/alice', 'inbound', 'alice', $4)",
    )
    .bind(lead)
    .bind(from)
    .bind(to)
    .bind(at)
    .execute(db)
    .await
    .unwrap();
}

async fn outcome(db: &PgPool, lead: Uuid, outcome: &str, deal: i64, updated_at: DateTime<Utc>) {
    sqlx::query(
        "UPDATE leads SET outcome = $2, deal_size_minor = $3, updated_at = $4 WHERE id = $1",
    )
    .bind(lead)
    .bind(outcome)
    .bind(deal)
    .bind(updated_at)
    .execute(db)
    .await
    .unwrap();
}

fn manager() -> String {
    leadpool_testing::token("users/mia", &[leadpool_auth::Role::Manager])
}

fn secs(d: Option<&prost_types::Duration>) -> i64 {
    d.map_or(-1, |d| d.seconds)
}

#[tokio::test]
async fn health_figures_from_a_seeded_history_match_the_hand_computed_ones() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    let db = cluster.env.db.store().pool().clone();
    // Tuesday 10 March 2026, noon UTC.
    let t = DateTime::parse_from_rfc3339("2026-03-10T12:00:00Z")
        .unwrap()
        .to_utc();
    let h = Duration::hours;
    // Waiting: three fresh (2h), one 13h, one 30h; one escalated.
    for _ in 0..3 {
        seed(&db, "available", t - h(2)).await;
    }
    seed(&db, "available", t - h(13)).await;
    seed(&db, "available", t - h(30)).await;
    let escalated = seed(&db, "escalated", t - h(40)).await;
    event(&db, escalated, "available", "escalated", t - h(35)).await;
    // Claimed: after 2h (at 11:00), 30m (07:00), 1h (Sunday 14:00) and 4h (Wednesday 4th, 12:00).
    let c1 = seed(&db, "claimed", t - h(3)).await;
    event(&db, c1, "available", "claimed", t - h(1)).await;
    let c2 = seed(&db, "contacted", t - h(5) - Duration::minutes(30)).await;
    event(&db, c2, "available", "claimed", t - h(5)).await;
    let c3 = seed(&db, "closed", t - h(47)).await;
    event(&db, c3, "available", "claimed", t - h(46)).await;
    event(&db, c3, "contacted", "closed", t - h(20)).await;
    let c4 = seed(&db, "closed", t - Duration::days(6) - h(4)).await;
    event(&db, c4, "available", "claimed", t - Duration::days(6)).await;
    outcome(&db, c1, "opportunity", 0, t - h(1)).await;
    outcome(&db, c3, "customer", 500_000, t - h(20)).await;
    outcome(&db, c4, "customer", 300_000, t - Duration::days(3)).await;
    // Hourly depth snapshots (two of them here): 1 and 2 leads, a mean of 1.5 over the week.
    for (hours_ago, available) in [(2, 1_i64), (30, 2)] {
        sqlx::query(
            "INSERT INTO pool_snapshots (pool_id, taken_at, available, scheduled, escalated) \
             VALUES ('inbound', $1, $2, 0, 0)",
        )
        .bind(t - h(hours_ago))
        .bind(available)
        .execute(&db)
        .await
        .unwrap();
    }

    let health = cluster
        .scheduler()
        .await
        .get_pool_health(authed(
            &rep("alice"),
            v1::GetPoolHealthRequest {
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
    // M4: 10 leads entered in 30 days; 3 reached opportunity, 2 became customers (500 000 and
    // 300 000 → 400 000), cycles 27h and 76h → 51h30m.
    let c = health.conversion.as_ref().unwrap();
    assert_eq!((c.leads, c.opportunities, c.customers), (10, 3, 2));
    assert!(
        (c.opportunity_percent - 30.0).abs() < 1e-9 && (c.customer_percent - 20.0).abs() < 1e-9
    );
    assert_eq!(c.average_deal_size_minor, 400_000);
    assert_eq!(secs(c.average_cycle.as_ref()), 51 * 3600 + 1800);
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
    // M6: 4 claims in 7 days → 0.6 a day, healthy 1 to 2. 5 wait now, but the week's mean
    // depth (1.5) is inside: not consistently above.
    let s = health.sizing.as_ref().unwrap();
    assert_eq!(
        (s.daily_claim_capacity, s.healthy_min, s.healthy_max),
        (0.6, 1, 2)
    );
    assert_eq!(s.average_depth_7d, Some(1.5));
    assert_eq!(s.recommendation, "ok");
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
