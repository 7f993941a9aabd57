//! Every scheduler job, run through RunJob as of a moved clock: the exact leads it moves,
//! nothing else touched, and the history written for each lead moved.

use chrono::{DateTime, Duration, Utc};
use leadpool_domain::{Clock, EventKind, Lead, LeadEvent, LeadId, LeadState};
use leadpool_e2e::{
    Cluster, admin, all_pages, apply_policy, names_of, rep, submit, submit_segmented,
};
use leadpool_proto::v1;
use leadpool_server::convert::timestamp;
use leadpool_testing::authed;

/// Runs `jobs/{job}` as of `as_of` and returns the answer.
pub async fn run_job(cluster: &Cluster, job: &str, as_of: DateTime<Utc>) -> v1::RunJobResponse {
    cluster
        .scheduler()
        .await
        .run_job(authed(
            &admin(),
            v1::RunJobRequest {
                name: format!("jobs/{job}"),
                as_of: Some(timestamp(as_of)),
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

pub async fn lead(cluster: &Cluster, lead: &v1::Lead) -> Lead {
    cluster
        .env
        .db
        .store()
        .get_lead(LeadId::from_name(&lead.name, "name").unwrap())
        .await
        .unwrap()
}

pub async fn last_event(cluster: &Cluster, lead: &v1::Lead) -> LeadEvent {
    cluster
        .env
        .db
        .store()
        .lead_events(LeadId::from_name(&lead.name, "name").unwrap(), 0, 100)
        .await
        .unwrap()
        .pop()
        .unwrap()
}

/// The sorted names of `leads`.
pub fn names(leads: &[&v1::Lead]) -> Vec<String> {
    let mut names: Vec<String> = leads.iter().map(|l| l.name.clone()).collect();
    names.sort();
    names
}

/// The names of `leads`, in the order given.
pub fn in_order(leads: &[&v1::Lead]) -> Vec<String> {
    leads.iter().map(|l| l.name.clone()).collect()
}

/// The names of `pool`'s available leads in its claim order, as alice browses them two a
/// page (so that pages continue across the order's ranges).
pub async fn pool_order(cluster: &Cluster, pool: &str) -> Vec<String> {
    browse(cluster, pool, v1::LeadOrder::Priority, 2).await
}

/// The names of `pool`'s available leads in `order`, as alice browses them `page_size` a page;
/// no page is longer.
pub async fn browse(
    cluster: &Cluster,
    pool: &str,
    order: v1::LeadOrder,
    page_size: i32,
) -> Vec<String> {
    let claim = cluster.claim().await;
    all_pages(|page_token| {
        let mut claim = claim.clone();
        async move {
            let page = claim
                .list_pool_leads(authed(
                    &rep("alice"),
                    v1::ListPoolLeadsRequest {
                        parent: format!("pools/{pool}"),
                        order_by: order.into(),
                        page_size,
                        page_token,
                    },
                ))
                .await
                .expect("browse the pool")
                .into_inner();
            assert!(page.leads.len() <= page_size as usize);
            (names_of(page.leads), page.next_page_token)
        }
    })
    .await
}

pub fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

const ONE_POOL: &str = r"
apiVersion: leadpool.dev/v1
kind: Policy
reps:
  - { id: alice, role: sdr }
  - { id: bob, role: sdr }
  - { id: mia, role: manager }
pools:
  - id: inbound
    type: open
routing:
  default: { pool: inbound }
";

#[tokio::test]
async fn aging_moves_old_leads_into_the_top_half_then_the_top_tenth_then_escalates_them() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, ONE_POOL).await;
    let mut intake = cluster.intake().await;
    let t0 = cluster.env.clock.now();
    let old_a = submit(&mut intake, "old-a", 20).await;
    let old_b = submit(&mut intake, "old-b", 30).await;
    cluster.env.clock.advance(Duration::hours(13));
    let mut fresh = Vec::new();
    for (i, score) in [40, 50, 60, 70].into_iter().enumerate() {
        fresh.push(submit(&mut intake, &format!("fresh-{i}"), score).await);
    }

    // At 12h nothing is old enough yet (the young leads are not 12h old either).
    assert_eq!(
        run_job(
            &cluster,
            "aging",
            t0 + Duration::hours(12) - Duration::seconds(1)
        )
        .await
        .affected,
        0
    );
    // 13h: both old leads rank at the median of the younger ones (50), nothing else; the
    // place is derived when leads are read, so the run writes no lead and no history.
    let half = run_job(&cluster, "aging", t0 + Duration::hours(13)).await;
    assert_eq!(half.affected, 0, "aging writes places, not leads");
    assert_eq!(lead(&cluster, &old_a).await.priority, 50);
    assert_eq!(lead(&cluster, &old_b).await.priority, 50);
    for f in &fresh {
        let record = lead(&cluster, f).await;
        assert_eq!(
            record.priority, record.score,
            "young leads keep their priority"
        );
    }
    assert_eq!(
        last_event(&cluster, &old_a).await.kind,
        EventKind::Routed,
        "no history row for a place"
    );
    // Ties sort older first: the old leads ahead of the young one at 50.
    let at_half = [&fresh[3], &fresh[2], &old_a, &old_b, &fresh[1], &fresh[0]];
    assert_eq!(pool_order(&cluster, "inbound").await, in_order(&at_half));
    // Running it again changes nothing.
    run_job(&cluster, "aging", t0 + Duration::hours(13)).await;
    assert_eq!(pool_order(&cluster, "inbound").await, in_order(&at_half));

    // 24h: into the top tenth (the 90th percentile of the younger leads, 70).
    run_job(
        &cluster,
        "aging",
        t0 + Duration::hours(24) + Duration::minutes(1),
    )
    .await;
    assert_eq!(lead(&cluster, &old_b).await.priority, 70);
    assert_eq!(
        pool_order(&cluster, "inbound").await,
        in_order(&[&old_a, &old_b, &fresh[3], &fresh[2], &fresh[1], &fresh[0]])
    );

    // 48h: escalated to a manager, out of the pool; the younger leads (35h) stay.
    let escalated = run_job(&cluster, "aging", t0 + Duration::hours(48)).await;
    assert_eq!(sorted(escalated.leads), names(&[&old_a, &old_b]));
    let record = lead(&cluster, &old_a).await;
    assert_eq!(record.state, LeadState::Escalated);
    let event = last_event(&cluster, &old_a).await;
    assert_eq!(
        (
            event.from.map(|s| s.as_str()),
            event.to.as_str(),
            event.reason.as_str()
        ),
        (
            Some("available"),
            "escalated",
            "unclaimed 48h: escalated to a manager"
        )
    );
    for f in &fresh {
        assert_eq!(lead(&cluster, f).await.state, LeadState::Available);
    }
    cluster.stop().await;
}

#[tokio::test]
async fn forced_assignment_at_72_hours_goes_round_robin_to_reps_never_managers() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, ONE_POOL).await;
    let mut intake = cluster.intake().await;
    let t0 = cluster.env.clock.now();
    let leads = [
        submit(&mut intake, "a", 50).await,
        submit(&mut intake, "b", 50).await,
        submit(&mut intake, "c", 50).await,
    ];
    cluster.env.clock.advance(Duration::hours(60));
    let young = submit(&mut intake, "young", 50).await;
    // 48h: escalated first; forced assignment takes escalated leads too.
    assert_eq!(
        run_job(&cluster, "aging", t0 + Duration::hours(48))
            .await
            .leads
            .len(),
        3
    );
    assert_eq!(
        run_job(
            &cluster,
            "forced-assignment",
            t0 + Duration::hours(72) - Duration::seconds(1)
        )
        .await
        .affected,
        0
    );
    let forced = run_job(&cluster, "forced-assignment", t0 + Duration::hours(72)).await;
    assert_eq!(
        sorted(forced.leads),
        names(&[&leads[0], &leads[1], &leads[2]])
    );
    let mut owners = Vec::new();
    for l in &leads {
        let record = lead(&cluster, l).await;
        assert_eq!(record.state, LeadState::Assigned);
        assert!(record.contact_due_at.is_some(), "the contact SLA runs");
        owners.push(record.owner.clone().unwrap().to_string());
        let event = last_event(&cluster, l).await;
        assert_eq!(
            (event.from.map(|s| s.as_str()), event.to.as_str()),
            (Some("escalated"), "assigned")
        );
        assert!(
            event.reason.starts_with("forced assignment: unclaimed 72h"),
            "{}",
            event.reason
        );
        assert_eq!(event.rep, record.owner);
    }
    owners.sort();
    assert_eq!(
        owners,
        ["alice", "alice", "bob"],
        "round-robin, the manager is never chosen"
    );
    assert_eq!(
        lead(&cluster, &young).await.state,
        LeadState::Available,
        "12h old: untouched"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn the_daily_refresh_archives_nurtures_and_moves_to_the_priority_pool_by_age() {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        r"
apiVersion: leadpool.dev/v1
kind: Policy
aging: { topHalfAfter: never, topTenthAfter: never, escalateAfter: never, assignAfter: never }
pools:
  - id: inbound
    type: open
    refresh: { priorityPool: second-chance, moveAfter: 24h, nurtureAfter: 72h, archiveAfter: 7d }
  - id: second-chance
    type: open
routing:
  default: { pool: inbound }
",
    )
    .await;
    let mut intake = cluster.intake().await;
    let clock = &cluster.env.clock;
    let t0 = clock.now();
    let week_old = submit(&mut intake, "week-old", 50).await;
    clock.advance(Duration::days(2));
    let five_days = submit(&mut intake, "five-days", 50).await;
    clock.advance(Duration::days(4));
    let one_day = submit(&mut intake, "one-day", 50).await;
    clock.advance(Duration::hours(12));
    let half_day = submit(&mut intake, "half-day", 50).await;

    let now = t0 + Duration::days(7);
    let refresh = run_job(&cluster, "daily-refresh", now).await;
    assert_eq!(
        sorted(refresh.leads),
        names(&[&week_old, &five_days, &one_day])
    );
    let archived = lead(&cluster, &week_old).await;
    assert_eq!(
        (archived.state, archived.pool.as_ref().map(|p| p.as_str())),
        (LeadState::Archived, Some("inbound"))
    );
    assert_eq!(
        last_event(&cluster, &week_old).await.reason,
        "unclaimed after 7d: archived"
    );
    assert_eq!(lead(&cluster, &five_days).await.state, LeadState::Nurture);
    assert_eq!(
        last_event(&cluster, &five_days).await.reason,
        "older than 72h: to nurture"
    );
    let moved = lead(&cluster, &one_day).await;
    assert_eq!(
        (
            moved.state,
            moved.pool.as_ref().map(|p| p.as_str()),
            moved.pooled_at
        ),
        (LeadState::Available, Some("second-chance"), Some(now))
    );
    let event = last_event(&cluster, &one_day).await;
    assert_eq!(
        (
            event.reason.as_str(),
            event.pool.as_ref().map(|p| p.as_str())
        ),
        (
            "older than 24h: moved to the priority pool pools/second-chance",
            Some("second-chance")
        )
    );
    let young = lead(&cluster, &half_day).await;
    assert_eq!(
        (young.state, young.pool.as_ref().map(|p| p.as_str())),
        (LeadState::Available, Some("inbound"))
    );
    assert_eq!(
        run_job(&cluster, "daily-refresh", now).await.affected,
        0,
        "a second run moves nothing"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn the_weekly_cleanup_rejects_live_duplicates_naming_the_original() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, ONE_POOL).await;
    let mut intake = cluster.intake().await;
    let original = submit(&mut intake, "original", 50).await;
    cluster.env.clock.advance(Duration::minutes(5));
    let copy = submit(&mut intake, "copy", 50).await;
    let other = submit(&mut intake, "other", 50).await;
    // Data from before duplicate checks (an old import): the same person twice, in any case.
    sqlx::query("UPDATE lead_contacts SET email = 'ORIGINAL@example.com' WHERE id = $1")
        .bind(LeadId::from_name(&copy.name, "name").unwrap().0)
        .execute(cluster.env.db.store().pool())
        .await
        .unwrap();

    // Job history older than 30 days goes, except where each job's schedule continues from.
    let now = cluster.env.clock.now();
    for (job, days, trigger) in [
        ("release", 40, "schedule"),
        ("release", 35, "schedule"),
        ("aging", 31, "manual"),
        ("aging", 29, "manual"),
    ] {
        sqlx::query(
            "INSERT INTO job_runs (job, slot_start, started_at, trigger) VALUES ($1, $2, $2, $3)",
        )
        .bind(job)
        .bind(now - Duration::days(days))
        .bind(trigger)
        .execute(cluster.env.db.store().pool())
        .await
        .unwrap();
    }

    let cleanup = run_job(&cluster, "weekly-cleanup", now).await;
    assert_eq!(cleanup.leads, vec![copy.name.clone()]);
    assert_eq!(cleanup.affected, 1 + 2, "one duplicate, two old job runs");
    let kept: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT job, slot_start FROM job_runs WHERE job <> 'weekly-cleanup' ORDER BY slot_start",
    )
    .fetch_all(cluster.env.db.store().pool())
    .await
    .unwrap();
    assert_eq!(
        kept,
        [
            ("release".to_owned(), now - Duration::days(35)),
            ("aging".to_owned(), now - Duration::days(29)),
        ]
    );
    let rejected = lead(&cluster, &copy).await;
    assert_eq!(rejected.state, LeadState::Rejected);
    assert_eq!(
        rejected.duplicate_of,
        Some(LeadId::from_name(&original.name, "name").unwrap())
    );
    assert_eq!(
        last_event(&cluster, &copy).await.reason,
        format!("weekly cleanup: duplicate of {}", original.name)
    );
    assert_eq!(lead(&cluster, &original).await.state, LeadState::Available);
    assert_eq!(lead(&cluster, &other).await.state, LeadState::Available);
    cluster.stop().await;
}

#[tokio::test]
async fn backpressure_holds_low_priority_sources_while_critical_and_resumes_below_warning() {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        r"
apiVersion: leadpool.dev/v1
kind: Policy
reps: [{ id: alice, role: sdr }]
pools:
  - id: inbound
    type: open
    health: { warning: 2, critical: 3, pauseSources: [content-download] }
routing:
  default: { pool: inbound }
",
    )
    .await;
    let mut intake = cluster.intake().await;
    let clock = &cluster.env.clock;
    for i in 0..3 {
        submit_segmented(&mut intake, &format!("demo-{i}"), 60, "", "demo-request").await;
    }
    // Depth 3 = critical: the pause starts; nothing arrived from the paused source yet.
    assert_eq!(
        run_job(&cluster, "backpressure", clock.now())
            .await
            .affected,
        0
    );
    clock.advance(Duration::minutes(1));
    let ebooks = [
        submit_segmented(&mut intake, "ebook-1", 60, "", "content-download").await,
        submit_segmented(&mut intake, "ebook-2", 60, "", "content-download").await,
    ];
    let demo = submit_segmented(&mut intake, "demo-3", 60, "", "demo-request").await;
    let held = run_job(&cluster, "backpressure", clock.now()).await;
    assert_eq!(sorted(held.leads), names(&[&ebooks[0], &ebooks[1]]));
    assert_eq!(lead(&cluster, &ebooks[0]).await.state, LeadState::Scheduled);
    assert_eq!(
        last_event(&cluster, &ebooks[0]).await.reason,
        "backpressure: pool critical, source content-download paused"
    );
    assert_eq!(
        lead(&cluster, &demo).await.state,
        LeadState::Available,
        "other sources flow on"
    );

    // Claims bring the pool below its warning level: the sources resume, the held leads enter.
    let mut claim = cluster.claim().await;
    claim
        .claim_batch(authed(
            &rep("alice"),
            v1::ClaimBatchRequest {
                pool: "pools/inbound".into(),
                count: 3,
            },
        ))
        .await
        .unwrap();
    clock.advance(Duration::minutes(1));
    let resumed = run_job(&cluster, "backpressure", clock.now()).await;
    assert_eq!(sorted(resumed.leads), names(&[&ebooks[0], &ebooks[1]]));
    let back = lead(&cluster, &ebooks[1]).await;
    assert_eq!(
        (back.state, back.pooled_at),
        (LeadState::Available, Some(clock.now()))
    );
    assert_eq!(
        last_event(&cluster, &ebooks[1]).await.reason,
        "backpressure lifted: source resumed"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn claim_quota_records_reps_below_their_daily_minimum_in_their_team_day() {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        r"
apiVersion: leadpool.dev/v1
kind: Policy
health: { minClaimsPerDay: 2 }
teams: [{ id: emea, timeZone: Europe/Berlin }]
reps:
  - { id: alice, role: sdr, team: emea }
  - { id: bob, role: sdr, team: emea }
  - { id: mia, role: manager, team: emea }
pools: [{ id: inbound, type: open }]
routing:
  default: { pool: inbound }
",
    )
    .await;
    let mut intake = cluster.intake().await;
    for i in 0..3 {
        submit(&mut intake, &format!("l{i}"), 50).await;
    }
    let mut claim = cluster.claim().await;
    for (who, count) in [("alice", 2), ("bob", 1)] {
        claim
            .claim_batch(authed(
                &rep(who),
                v1::ClaimBatchRequest {
                    pool: "pools/inbound".into(),
                    count,
                },
            ))
            .await
            .unwrap();
    }
    // Monday 2 March 10:00 Berlin; the job after Berlin midnight judges Monday.
    let after_midnight = DateTime::parse_from_rfc3339("2026-03-02T23:00:30Z")
        .unwrap()
        .to_utc();
    let quota = run_job(&cluster, "claim-quota", after_midnight).await;
    assert_eq!(quota.affected, 1);
    let rows: Vec<(String, chrono::NaiveDate, i32, i32)> =
        sqlx::query_as("SELECT rep_id, day, claims, minimum FROM quota_shortfalls")
            .fetch_all(cluster.env.db.store().pool())
            .await
            .unwrap();
    assert_eq!(
        rows,
        [(
            "bob".to_owned(),
            chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            1,
            2
        )],
        "alice met the quota, the manager has none"
    );
    assert_eq!(
        run_job(&cluster, "claim-quota", after_midnight)
            .await
            .affected,
        0,
        "once per day"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn a_pool_snapshot_records_each_pools_depth_once() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, ONE_POOL).await;
    submit(&mut cluster.intake().await, "a", 50).await;
    let snapshot = run_job(&cluster, "pool-snapshot", cluster.env.clock.now()).await;
    assert_eq!((snapshot.affected, snapshot.leads.len()), (1, 0));
    let (pool, available): (String, i64) =
        sqlx::query_as("SELECT pool_id, available FROM pool_snapshots")
            .fetch_one(cluster.env.db.store().pool())
            .await
            .unwrap();
    assert_eq!((pool.as_str(), available), ("inbound", 1));
    cluster.stop().await;
}

#[tokio::test]
async fn a_run_over_more_leads_than_an_answer_holds_counts_them_all_and_names_the_first_thousand() {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        "apiVersion: leadpool.dev/v1\nkind: Policy\n\
         pools: [{ id: drop, type: timed, release: { at: [\"08:00\"], timeZone: UTC } }]\n\
         routing: { default: { pool: drop } }\n",
    )
    .await;
    const WAITING: i64 = 1_001;
    let rows = (0..WAITING)
        .map(|n| v1::ImportRow {
            row_number: n,
            lead: Some(leadpool_e2e::lead_request(&format!("drop-{n}"), 60)),
        })
        .collect();
    let imported = cluster
        .intake()
        .await
        .import_leads(authed(
            &admin(),
            tokio_stream::iter([v1::ImportLeadsRequest {
                import_id: "drop".into(),
                rows,
            }]),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(imported.accepted, WAITING);
    let store = cluster.env.db.store();
    leadpool_e2e::eventually(std::time::Duration::from_secs(30), "all routed", || async {
        let waiting: i64 =
            sqlx::query_scalar("SELECT count(*) FROM leads WHERE state = 'scheduled'")
                .fetch_one(store.pool())
                .await
                .unwrap();
        waiting == WAITING
    })
    .await;

    let released = run_job(
        &cluster,
        "release",
        cluster.env.clock.now() + Duration::days(1),
    )
    .await;
    assert_eq!(released.affected, WAITING);
    assert_eq!(released.leads.len(), 1_000);
    assert!(released.leads_truncated);
    let again = run_job(
        &cluster,
        "release",
        cluster.env.clock.now() + Duration::days(1),
    )
    .await;
    assert_eq!((again.affected, again.leads_truncated), (0, false));
    cluster.stop().await;
}
