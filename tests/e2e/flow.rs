//! One lead's whole walk through all four services.

use chrono::Duration;
use leadpool_domain::Clock;
use leadpool_e2e::{Cluster, add_rep, admin, claim_next, create_pool, eventually, rep, submit};
use leadpool_proto::v1;
use leadpool_server::convert::timestamp;
use leadpool_testing::authed;

#[tokio::test]
async fn a_lead_walks_from_submission_to_recorded_contact() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    let mut intake = cluster.intake().await;
    let mut claim = cluster.claim().await;
    let mut scheduler = cluster.scheduler().await;
    create_pool(&mut routing, "inbound", 0).await;
    add_rep(&mut routing, "alice", 0).await;

    // Intake stores the lead and routing places it in its pool before SubmitLead answers.
    let submitted = submit(&mut intake, "form-1", 80).await;
    assert_eq!(submitted.state(), v1::LeadState::Available);
    assert_eq!(submitted.pool, "pools/inbound");

    // Alice sees it in the pool and takes the next lead: it is this one.
    let listed = claim
        .list_pool_leads(authed(
            &rep("alice"),
            v1::ListPoolLeadsRequest {
                parent: "pools/inbound".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.leads.len(), 1);
    assert_eq!(listed.leads[0].name, submitted.name);

    let claimed = claim
        .claim_next(authed(
            &rep("alice"),
            v1::ClaimNextRequest {
                pool: "pools/inbound".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .lead
        .unwrap();
    assert_eq!(claimed.name, submitted.name);
    assert_eq!(claimed.state(), v1::LeadState::Claimed);
    assert_eq!(claimed.owner, "reps/alice");
    let now = cluster.env.clock.now();
    assert_eq!(
        claimed.contact_due_time,
        Some(timestamp(now + Duration::hours(2)))
    );

    // She calls the lead within the SLA.
    cluster.env.clock.advance(Duration::minutes(30));
    let contacted = claim
        .record_contact(authed(
            &rep("alice"),
            v1::RecordContactRequest {
                name: submitted.name.clone(),
                note: "left a voicemail".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .lead
        .unwrap();
    assert_eq!(contacted.state(), v1::LeadState::Contacted);

    // The SLA job, run three hours later, leaves a contacted lead alone.
    let run = scheduler
        .run_job(authed(
            &admin(),
            v1::RunJobRequest {
                name: "jobs/sla-expiry".into(),
                as_of: Some(timestamp(now + Duration::hours(3))),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(run.affected, 0);

    // Every step is in the lead's history, in order, with who did it.
    let events = claim
        .list_lead_events(authed(
            &rep("alice"),
            v1::ListLeadEventsRequest {
                parent: submitted.name.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .events;
    let steps: Vec<(v1::LeadState, &str)> = events
        .iter()
        .map(|e| (e.to_state(), e.actor.as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            (v1::LeadState::Received, "services/web-forms"),
            (v1::LeadState::Available, "services/intake"),
            (v1::LeadState::Claimed, "reps/alice"),
            (v1::LeadState::Contacted, "reps/alice"),
        ]
    );
    assert_eq!(events[3].reason, "left a voicemail");
    cluster.stop().await;
}

/// An operator reading `pg_stat_activity` (who holds a lock, who sits in a transaction) sees
/// which service each connection belongs to.
#[tokio::test]
async fn each_service_names_its_database_connections() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    create_pool(&mut routing, "inbound", 0).await;
    add_rep(&mut routing, "alice", 0).await;
    submit(&mut cluster.intake().await, "form-1", 80).await;
    claim_next(&mut cluster.claim().await, "alice", "inbound")
        .await
        .unwrap();

    let expected = [
        "leadpool-claim",
        "leadpool-intake",
        "leadpool-routing",
        "leadpool-scheduler",
    ];
    let database = cluster.env.db.store();
    eventually(
        std::time::Duration::from_secs(10),
        "every service's connection is named",
        || {
            let database = database.clone();
            async move {
                let named: Vec<String> = sqlx::query_scalar(
                    "SELECT DISTINCT application_name FROM pg_stat_activity \
                     WHERE datname = current_database() AND application_name LIKE 'leadpool-%' \
                     ORDER BY 1",
                )
                .fetch_all(database.pool())
                .await
                .unwrap();
                named == expected
            }
        },
    )
    .await;
    cluster.stop().await;
}
