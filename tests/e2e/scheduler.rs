//! The scheduler: SLA expiry with an injected clock, and exactly-once job slots.

use chrono::Duration;
use futures::future::join_all;
use leadpool_domain::{Clock, LeadId, LeadState};
use leadpool_e2e::{Cluster, add_rep, create_pool, rep, submit};
use leadpool_proto::v1;
use leadpool_testing::authed;

async fn run_sla_expiry(
    cluster: &Cluster,
    as_of: chrono::DateTime<chrono::Utc>,
) -> v1::RunJobResponse {
    crate::jobs::run_job(cluster, "sla-expiry", as_of).await
}

#[tokio::test]
async fn uncontacted_leads_return_to_their_pool_when_the_sla_passes_and_contacted_ones_stay() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    create_pool(&mut routing, "inbound", 0).await;
    add_rep(&mut routing, "alice", 0).await;
    let mut intake = cluster.intake().await;
    submit(&mut intake, "a", 60).await;
    submit(&mut intake, "b", 50).await;
    let mut claim = cluster.claim().await;
    let batch = claim
        .claim_batch(authed(
            &rep("alice"),
            v1::ClaimBatchRequest {
                pool: "pools/inbound".into(),
                count: 2,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .leads;
    let (ignored, called) = (&batch[0], &batch[1]);
    claim
        .record_contact(authed(
            &rep("alice"),
            v1::RecordContactRequest {
                name: called.name.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap();
    let claimed_at = cluster.env.clock.now();

    // One second before the deadline nothing moves; at the deadline only the ignored lead does.
    let early = run_sla_expiry(
        &cluster,
        claimed_at + Duration::hours(2) - Duration::seconds(1),
    )
    .await;
    assert_eq!(early.affected, 0);
    let due = run_sla_expiry(&cluster, claimed_at + Duration::hours(2)).await;
    assert_eq!(due.leads, vec![ignored.name.clone()]);

    let store = cluster.env.db.store();
    let returned = store
        .get_lead(LeadId::from_name(&ignored.name, "name").unwrap())
        .await
        .unwrap();
    assert_eq!(returned.state, LeadState::Available);
    assert_eq!(returned.owner, None);
    assert_eq!(returned.pool.as_ref().map(|p| p.as_str()), Some("inbound"));
    let kept = store
        .get_lead(LeadId::from_name(&called.name, "name").unwrap())
        .await
        .unwrap();
    assert_eq!(kept.state, LeadState::Contacted);

    let history = store.lead_events(returned.id, 0, 100).await.unwrap();
    let expiry = history.last().unwrap();
    assert_eq!(expiry.reason, "contact SLA expired");
    assert_eq!(expiry.actor, "services/scheduler");
    assert_eq!(
        expiry.rep.as_ref().map(|r| r.as_str()),
        Some("alice"),
        "history says who lost it"
    );

    // Running it again changes nothing: the job is a function of state and time.
    assert_eq!(
        run_sla_expiry(&cluster, claimed_at + Duration::hours(3))
            .await
            .affected,
        0
    );
    let jobs = cluster
        .scheduler()
        .await
        .list_jobs(authed(&rep("alice"), v1::ListJobsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .jobs;
    assert_eq!(jobs.len(), leadpool_scheduler::Job::ALL.len());
    assert!(jobs.iter().any(|job| job.name == "jobs/sla-expiry"));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scheduled_slot_takes_effect_once_however_many_schedulers_race_for_it() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    create_pool(&mut routing, "inbound", 0).await;
    add_rep(&mut routing, "alice", 100).await;
    let mut intake = cluster.intake().await;
    for i in 0..20 {
        submit(&mut intake, &format!("lead-{i}"), 60).await;
    }
    let claimed = cluster
        .claim()
        .await
        .claim_batch(authed(
            &rep("alice"),
            v1::ClaimBatchRequest {
                pool: "pools/inbound".into(),
                count: 10,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .leads;
    assert_eq!(claimed.len(), 10);

    let config = cluster.env.scheduler_config().scheduler;
    let runner =
        leadpool_scheduler::Runner::new(cluster.env.db.store(), cluster.env.clock(), config);
    let at = cluster.env.clock.now() + Duration::hours(3);
    let attempts = (0..8).map(|_| {
        let runner = runner.clone();
        tokio::spawn(async move {
            runner
                .run_slot(leadpool_scheduler::Job::SlaExpiry, at)
                .await
                .unwrap()
        })
    });
    let results: Vec<Option<leadpool_scheduler::Outcome>> = join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let ran: Vec<&leadpool_scheduler::Outcome> = results.iter().flatten().collect();
    assert_eq!(ran.len(), 1, "exactly one attempt had the slot");
    assert_eq!(ran[0].leads.len(), 10);
    let (expiries, slot_rows): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM lead_events WHERE reason = 'contact SLA expired'), \
                (SELECT count(*) FROM job_runs WHERE trigger = 'schedule')",
    )
    .fetch_one(cluster.env.db.store().pool())
    .await
    .unwrap();
    assert_eq!((expiries, slot_rows), (10, 1));
    cluster.stop().await;
}

/// Jobs move their due leads in batches (`scheduler.batch_size`), each batch resuming its scan
/// after the last lead the batch before it moved. Leads claimed at one instant share their
/// deadline, and leads submitted at one instant their time in the pool: in batches of two, every
/// one of them still moves, and only once.
#[tokio::test]
async fn jobs_in_small_batches_move_every_due_lead_once_where_leads_tie_on_their_deadline_or_age() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    create_pool(&mut routing, "inbound", 0).await;
    add_rep(&mut routing, "alice", 100).await;
    add_rep(&mut routing, "bob", 100).await;
    let mut intake = cluster.intake().await;
    let t0 = cluster.env.clock.now();
    let mut submitted = Vec::new();
    for i in 0..9 {
        submitted.push(submit(&mut intake, &format!("lead-{i}"), 60).await.name);
    }
    let mut claim = cluster.claim().await;
    let mut claimed = Vec::new();
    for (who, count) in [("alice", 5), ("bob", 3)] {
        let leads = claim
            .claim_batch(authed(
                &rep(who),
                v1::ClaimBatchRequest {
                    pool: "pools/inbound".into(),
                    count,
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .leads;
        claimed.extend(leads.into_iter().map(|l| l.name));
    }
    assert_eq!(claimed.len(), 8);

    let config = leadpool_scheduler::SchedulerConfig {
        batch_size: 2,
        ..cluster.env.scheduler_config().scheduler
    };
    let runner =
        leadpool_scheduler::Runner::new(cluster.env.db.store(), cluster.env.clock(), config);
    let names = |outcome: leadpool_scheduler::Outcome| {
        let mut names: Vec<String> = outcome.leads.iter().map(|id| id.name()).collect();
        names.sort();
        names
    };
    let expired = runner
        .run_manually(leadpool_scheduler::Job::SlaExpiry, t0 + Duration::hours(3))
        .await
        .unwrap();
    claimed.sort();
    assert_eq!(names(expired), claimed, "every claim expired, each once");
    // Still in the pool since t0: at 48h all nine escalate, in five batches.
    let escalated = runner
        .run_manually(leadpool_scheduler::Job::Aging, t0 + Duration::hours(48))
        .await
        .unwrap();
    submitted.sort();
    assert_eq!(
        names(escalated),
        submitted,
        "every lead escalated, each once"
    );

    let history: Vec<(String, i64)> = sqlx::query_as(
        "SELECT kind, count(*) FROM lead_events \
         WHERE kind IN ('lead.sla_expired', 'lead.escalated') GROUP BY kind ORDER BY kind",
    )
    .fetch_all(cluster.env.db.store().pool())
    .await
    .unwrap();
    assert_eq!(
        history,
        vec![
            ("lead.escalated".to_owned(), 9),
            ("lead.sla_expired".to_owned(), 8)
        ]
    );
    cluster.stop().await;
}

#[tokio::test]
async fn slots_missed_while_no_scheduler_ran_are_caught_up_in_order_a_bounded_number_per_tick() {
    let cluster = Cluster::start().await;
    create_pool(&mut cluster.routing().await, "inbound", 0).await;
    let mut config = cluster.env.scheduler_config().scheduler;
    config.snapshot_interval = std::time::Duration::from_secs(60);
    config.catch_up_per_tick = 3;
    let runner =
        leadpool_scheduler::Runner::new(cluster.env.db.store(), cluster.env.clock(), config);
    let job = leadpool_scheduler::Job::PoolSnapshot;
    let t0 = cluster.env.clock.now();
    // The first run ever starts at the current slot.
    assert_eq!(runner.run_due(job, t0).await.unwrap(), t0);
    // Five minutes without a scheduler: the next ticks catch up 3, then the other 2.
    let later = t0 + Duration::minutes(5) + Duration::seconds(20);
    assert_eq!(
        runner.run_due(job, later).await.unwrap(),
        t0 + Duration::minutes(3)
    );
    assert_eq!(
        runner.run_due(job, later).await.unwrap(),
        t0 + Duration::minutes(5)
    );
    assert_eq!(
        runner.run_due(job, later).await.unwrap(),
        t0 + Duration::minutes(5),
        "nothing left"
    );
    let taken: Vec<(chrono::DateTime<chrono::Utc>,)> =
        sqlx::query_as("SELECT taken_at FROM pool_snapshots ORDER BY taken_at")
            .fetch_all(cluster.env.db.store().pool())
            .await
            .unwrap();
    let expected: Vec<_> = (0..=5).map(|m| (t0 + Duration::minutes(m),)).collect();
    assert_eq!(
        taken, expected,
        "each missed slot ran once, as of its own time"
    );
    cluster.stop().await;
}
