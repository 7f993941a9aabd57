//! Duty-aware push (H4, A4): auto- and forced assignment reach only reps on duty, available
//! and under their open-lead caps — exactly, also while those reps claim concurrently —
//! otherwise the rule's fallback pool, or the lead waits with the reason in its history. An
//! assignment that expires while its rep is off duty does not count against her acceptance.

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::future::join_all;
use leadpool_domain::{EventKind, LeadEvent, LeadId};
use leadpool_e2e::{Cluster, apply_policy, channel, claim_next, rep, submit_segmented};
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_proto::v1::intake_service_client::IntakeServiceClient;
use leadpool_testing::authed;
use tonic::transport::Channel;

use crate::jobs::run_job;
use crate::limits::reason;

/// Tuesday 3 March 2026 at `hour`:`minute` UTC.
fn tuesday(hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 3, hour, minute, 0).unwrap()
}

const SALES_TEAM: &str =
    "teams: [{ id: sales, timeZone: UTC, businessHours: { from: \"09:00\", to: \"17:00\" } }]\n";

async fn history(cluster: &Cluster, lead: &v1::Lead) -> Vec<LeadEvent> {
    let id = LeadId::from_name(&lead.name, "name").unwrap();
    cluster
        .env
        .db
        .store()
        .lead_events(id, 0, 100)
        .await
        .unwrap()
}

async fn push(intake: &mut IntakeServiceClient<Channel>, key: &str) -> v1::Lead {
    submit_segmented(intake, key, 50, "", "push").await
}

#[tokio::test]
async fn auto_assignment_skips_reps_off_duty_or_at_their_cap_and_uses_the_fallback_pool() {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        &format!(
            "apiVersion: leadpool.dev/v1\nkind: Policy\n{SALES_TEAM}\
             reps:\n  - {{ id: ann, team: sales, role: sdr, limits: {{ activeLeads: 1 }} }}\n\
             \x20 - {{ id: ben, team: sales, role: sdr, limits: {{ activeLeads: 1 }} }}\n\
             pools: [{{ id: overflow, type: open }}]\n\
             routing:\n  rules: [{{ name: push, assign: {{ strategy: round-robin, fallbackPool: overflow }} }}]\n"
        ),
    )
    .await;
    let mut intake = cluster.intake().await;
    let clock = &cluster.env.clock;

    clock.set(tuesday(20, 0));
    let at_night = push(&mut intake, "night").await;
    assert_eq!(
        (at_night.state(), at_night.pool.as_str()),
        (v1::LeadState::Available, "pools/overflow"),
        "nobody on duty at 20:00"
    );
    let routed = history(&cluster, &at_night).await.pop().unwrap();
    assert!(
        routed
            .reason
            .contains("reps/ann is off duty: team sales has no after-hours"),
        "{}",
        routed.reason
    );

    clock.set(tuesday(10, 0));
    let mut owners = vec![
        push(&mut intake, "morning-1").await.owner,
        push(&mut intake, "morning-2").await.owner,
    ];
    owners.sort();
    assert_eq!(owners, ["reps/ann", "reps/ben"]);
    let third = push(&mut intake, "morning-3").await;
    assert_eq!(
        third.pool, "pools/overflow",
        "both reps hold their one open lead"
    );
    let routed = history(&cluster, &third).await.pop().unwrap();
    assert!(
        routed
            .reason
            .contains("reps/ann holds 1 open leads, her cap is 1"),
        "{}",
        routed.reason
    );
    cluster.stop().await;
}

#[tokio::test]
async fn a_push_nobody_can_take_waits_and_says_why_once() {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        &format!(
            "apiVersion: leadpool.dev/v1\nkind: Policy\n{SALES_TEAM}\
             reps: [{{ id: ann, team: sales, role: sdr }}]\n\
             routing:\n  rules: [{{ name: push, assign: {{ strategy: round-robin }} }}]\n"
        ),
    )
    .await;
    cluster.env.clock.set(tuesday(18, 0));
    let mut intake = cluster.intake().await;
    let lead = push(&mut intake, "evening").await;
    assert_eq!(
        lead.state(),
        v1::LeadState::Received,
        "it waits for routing"
    );
    // Routing it again (as intake's retry loop does) finds the same reason: no second row.
    let mut routing = cluster.routing().await;
    let retried = routing
        .route_lead(authed(
            &leadpool_testing::token("services/intake", &[leadpool_auth::Role::Service]),
            v1::RouteLeadRequest {
                name: lead.name.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(reason(&retried), "NO_REP_AVAILABLE");
    let waits: Vec<LeadEvent> = history(&cluster, &lead)
        .await
        .into_iter()
        .filter(|e| e.kind == EventKind::Waiting)
        .collect();
    assert_eq!(waits.len(), 1, "{waits:#?}");
    assert!(
        waits[0].reason.starts_with("auto-assignment waits: ")
            && waits[0].reason.contains("reps/ann is off duty"),
        "{}",
        waits[0].reason
    );
    // In the morning the retry reaches her.
    cluster.env.clock.set(tuesday(9, 0) + Duration::days(1));
    let assigned = routing
        .route_lead(authed(
            &leadpool_testing::token("services/intake", &[leadpool_auth::Role::Service]),
            v1::RouteLeadRequest { name: lead.name },
        ))
        .await
        .unwrap()
        .into_inner()
        .lead
        .unwrap();
    assert_eq!(assigned.owner, "reps/ann");
    cluster.stop().await;
}

#[tokio::test]
async fn forced_assignment_waits_for_duty_and_room_and_records_why() {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        &format!(
            "apiVersion: leadpool.dev/v1\nkind: Policy\n{SALES_TEAM}\
             reps: [{{ id: ann, team: sales, role: sdr, limits: {{ activeLeads: 1 }} }}]\n\
             pools:\n  - {{ id: inbound, type: open, lifecycle: [{{ after: 1h, then: force-assign }}] }}\n\
             routing:\n  default: {{ pool: inbound }}\n"
        ),
    )
    .await;
    let clock = &cluster.env.clock;
    clock.set(tuesday(16, 0));
    let mut intake = cluster.intake().await;
    let first = submit_segmented(&mut intake, "first", 50, "", "web").await;
    clock.set(tuesday(16, 1));
    let second = submit_segmented(&mut intake, "second", 50, "", "web").await;

    // 17:30: overdue, but ann is off duty. Both wait, saying why, once however often it runs.
    for minute in [30, 35] {
        let run = run_job(&cluster, "forced-assignment", tuesday(17, minute)).await;
        assert!(run.leads.is_empty());
    }
    for lead in [&first, &second] {
        let waits: Vec<LeadEvent> = history(&cluster, lead)
            .await
            .into_iter()
            .filter(|e| e.kind == EventKind::Waiting)
            .collect();
        assert_eq!(waits.len(), 1);
        assert!(
            waits[0]
                .reason
                .starts_with("forced assignment waits: unclaimed 1h, nobody can take it now")
                && waits[0].reason.contains("team sales has no after-hours"),
            "{}",
            waits[0].reason
        );
    }

    // Next morning: she takes one; her cap of one open lead keeps the other waiting.
    let morning = tuesday(9, 0) + Duration::days(1);
    let run = run_job(&cluster, "forced-assignment", morning).await;
    assert_eq!(
        run.leads,
        std::slice::from_ref(&first.name),
        "the older lead first"
    );
    let waits = history(&cluster, &second).await.pop().unwrap();
    assert_eq!(waits.kind, EventKind::Waiting);
    assert!(
        waits
            .reason
            .contains("reps/ann holds 1 open leads, her cap is 1"),
        "{}",
        waits.reason
    );
    cluster.stop().await;
}

async fn acceptance(claim: &mut ClaimServiceClient<Channel>) -> (i32, i32) {
    let status = claim
        .get_rep_status(authed(&rep("ann"), v1::GetRepStatusRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let acceptance = status.acceptance.unwrap();
    (acceptance.accepted, acceptance.decided)
}

#[tokio::test]
async fn an_assignment_that_expires_after_hours_does_not_count_against_acceptance() {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        &format!(
            "apiVersion: leadpool.dev/v1\nkind: Policy\n{SALES_TEAM}\
             reps: [{{ id: ann, team: sales, role: sdr }}]\n\
             acceptance: {{ minimum: 80, window: 30d, consequence: warn, minDecisions: 1 }}\n\
             pools: [{{ id: inbound, type: open, contactSla: 1h }}]\n\
             routing:\n  rules: [{{ name: push, assign: {{ strategy: round-robin, fallbackPool: inbound }} }}]\n"
        ),
    )
    .await;
    let clock = &cluster.env.clock;
    let mut intake = cluster.intake().await;
    let mut claim = cluster.claim().await;

    // Pushed at 10:00, not accepted by 11:00, while she is on duty: a decision against her.
    clock.set(tuesday(10, 0));
    push(&mut intake, "morning").await;
    assert_eq!(
        run_job(&cluster, "sla-expiry", tuesday(11, 0))
            .await
            .leads
            .len(),
        1
    );
    assert_eq!(acceptance(&mut claim).await, (0, 1));

    // Pushed at 16:30, due at 17:30, when her day has ended: excused.
    clock.set(tuesday(16, 30));
    let late = push(&mut intake, "late").await;
    assert_eq!(late.owner, "reps/ann");
    assert_eq!(
        run_job(&cluster, "sla-expiry", tuesday(17, 30))
            .await
            .leads
            .len(),
        1
    );
    clock.set(tuesday(17, 31));
    assert_eq!(
        acceptance(&mut claim).await,
        (0, 1),
        "the evening expiry is not counted"
    );
    cluster.stop().await;
}

/// Caps stay exact while a rep claims and routing pushes to her at the same time: both take
/// her claim lock before counting what she holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn open_lead_caps_hold_exactly_while_reps_claim_and_routing_pushes_at_once() {
    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        "apiVersion: leadpool.dev/v1\nkind: Policy\n\
         limits: { perDay: 1000, activeLeads: 3 }\n\
         reps: [{ id: ann, role: sdr }, { id: ben, role: sdr }, { id: cid, role: sdr }]\n\
         pools: [{ id: inbound, type: open }, { id: spill, type: open }]\n\
         routing:\n  rules: [{ name: push, match: { sources: [push] }, assign: { strategy: round-robin, fallbackPool: spill } }]\n\
         \x20 default: { pool: inbound }\n",
    )
    .await;
    let mut intake = cluster.intake().await;
    for i in 0..30 {
        submit_segmented(&mut intake, &format!("pooled-{i}"), 50, "", "web").await;
    }
    let (claim_channel, intake_channel) = (
        channel(cluster.claim.addr).await,
        channel(cluster.intake.addr).await,
    );
    let claims = ["ann", "ben", "cid"].map(|who| {
        let mut claim = ClaimServiceClient::new(claim_channel.clone());
        tokio::spawn(async move {
            let mut won = 0;
            while claim_next(&mut claim, who, "inbound").await.is_ok() {
                won += 1;
            }
            won
        })
    });
    let pushes = (0..24).map(|i| {
        let mut intake = IntakeServiceClient::new(intake_channel.clone());
        tokio::spawn(async move { push(&mut intake, &format!("pushed-{i}")).await })
    });
    let (claimed, pushed) = tokio::join!(join_all(claims), join_all(pushes));
    let pushed: Vec<v1::Lead> = pushed.into_iter().map(Result::unwrap).collect();
    let claimed: i32 = claimed.into_iter().map(Result::unwrap).sum();

    let mut held = std::collections::HashMap::new();
    for lead in pushed
        .iter()
        .filter(|l| l.state() == v1::LeadState::Assigned)
    {
        *held.entry(lead.owner.clone()).or_insert(0) += 1;
    }
    let assigned: i32 = held.values().sum();
    assert_eq!(
        claimed + assigned,
        9,
        "three reps, three open leads each: {held:?}"
    );
    let mut claim = cluster.claim().await;
    for who in ["ann", "ben", "cid"] {
        let status = claim
            .get_rep_status(authed(&rep(who), v1::GetRepStatusRequest::default()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(status.open_leads.len(), 3, "{who}");
    }
    let spilled = pushed
        .iter()
        .filter(|l| l.state() == v1::LeadState::Available && l.pool == "pools/spill")
        .count();
    assert_eq!(
        spilled as i32 + assigned,
        24,
        "every push assigned or in the fallback pool"
    );
    cluster.stop().await;
}
