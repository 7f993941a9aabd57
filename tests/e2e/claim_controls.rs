//! Cherry-picking controls (C6), fair access (C7) and the lead lifecycle (C8), each allowed and
//! refused, with the error detail a program would act on.

use chrono::Duration as Span;
use leadpool_e2e::{Cluster, apply_policy, assert_invalid, rep, submit, submit_segmented};
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_testing::authed;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use leadpool_domain::Clock;
use leadpool_server::convert::timestamp;

use leadpool_e2e::claim_next;

use crate::limits::fill;

const HEAD: &str = "apiVersion: leadpool.dev/v1\nkind: Policy\n";

/// Routes source `hot` to pool hot, `push` to auto-assignment, everything else to cold.
fn routing(assign_to: &str) -> String {
    format!(
        "routing:\n  rules:\n\
         \x20   - {{ name: hot, match: {{ sources: [hot] }}, pool: hot }}\n\
         \x20   - {{ name: push, match: {{ sources: [push] }}, assign: {{ strategy: round-robin, reps: [{assign_to}], fallbackPool: cold }} }}\n\
         \x20 default: {{ pool: cold }}\n"
    )
}

async fn start(policy: String) -> Cluster {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, &policy).await;
    cluster
}

/// The type of the first PreconditionFailure violation, and its subject.
fn precondition(status: &tonic::Status) -> (String, String) {
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let violation = status
        .get_details_precondition_failure()
        .expect("a PreconditionFailure")
        .violations
        .remove(0);
    (violation.r#type, violation.subject)
}

async fn claim_lead(
    claim: &mut ClaimServiceClient<Channel>,
    who: &str,
    lead: &str,
) -> Result<v1::Lead, tonic::Status> {
    claim
        .claim_lead(authed(
            &rep(who),
            v1::ClaimLeadRequest {
                name: lead.to_owned(),
            },
        ))
        .await
        .map(|r| r.into_inner().lead.expect("lead"))
}

async fn release(claim: &mut ClaimServiceClient<Channel>, who: &str, lead: &str) {
    claim
        .release_lead(authed(
            &rep(who),
            v1::ReleaseLeadRequest {
                name: lead.to_owned(),
                reason: "not for me".into(),
            },
        ))
        .await
        .expect("release");
}

async fn status(claim: &mut ClaimServiceClient<Channel>, who: &str) -> v1::GetRepStatusResponse {
    claim
        .get_rep_status(authed(&rep(who), v1::GetRepStatusRequest::default()))
        .await
        .expect("rep status")
        .into_inner()
}

fn pool_status<'a>(status: &'a v1::GetRepStatusResponse, pool: &str) -> &'a v1::RepPoolStatus {
    status
        .pools
        .iter()
        .find(|p| p.pool == format!("pools/{pool}"))
        .expect("pool in status")
}

async fn contact(claim: &mut ClaimServiceClient<Channel>, who: &str, lead: &v1::Lead) {
    claim
        .record_contact(authed(
            &rep(who),
            v1::RecordContactRequest {
                name: lead.name.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap();
}

fn hot_ratio(status: &v1::GetRepStatusResponse) -> (i32, i32, i32, bool) {
    let ratio = pool_status(status, "hot").ratio.clone().unwrap();
    (ratio.required, ratio.made, ratio.pending, ratio.satisfied)
}

#[tokio::test]
async fn a_claim_ratio_counts_only_worked_claims_two_cold_before_each_hot_one() {
    let cluster = start(format!(
        "{HEAD}reps: [{{ id: alice, role: sdr }}]\n\
         pools:\n- {{ id: hot, type: open, requires: {{ claims: 2, from: [cold], minHold: 30m }} }}\n- {{ id: cold, type: open }}\n{}",
        routing("alice")
    ))
    .await;
    fill(&cluster, "hot", 3).await;
    fill(&cluster, "cold", 8).await;
    let mut claim = cluster.claim().await;

    let refused = claim_next(&mut claim, "alice", "hot").await.unwrap_err();
    assert_eq!(
        precondition(&refused),
        ("CLAIM_RATIO".into(), "pools/hot".into())
    );
    // Two cold claims released at once are clicks, not work: the hot pool stays shut.
    for _ in 0..2 {
        let lead = claim_next(&mut claim, "alice", "cold").await.unwrap();
        release(&mut claim, "alice", &lead.name).await;
    }
    let refused = claim_next(&mut claim, "alice", "hot").await.unwrap_err();
    assert!(
        refused.message().contains("you have 0 worked")
            && refused.message().contains("contacted or kept 30m"),
        "{refused:?}"
    );

    // Two held: pending until one is contacted and the other kept 30 minutes.
    let first = claim_next(&mut claim, "alice", "cold").await.unwrap();
    claim_next(&mut claim, "alice", "cold").await.unwrap();
    let standing = status(&mut claim, "alice").await;
    assert_eq!(hot_ratio(&standing), (2, 0, 2, false));
    let hot = pool_status(&standing, "hot");
    assert_eq!(
        hot.ratio.as_ref().unwrap().min_hold,
        Some(prost_types::Duration {
            seconds: 1800,
            nanos: 0
        })
    );
    assert!(
        hot.reasons
            .iter()
            .any(|r| r.contains("needs 2 more worked claims from pools/cold")),
        "{:?}",
        hot.reasons
    );
    contact(&mut claim, "alice", &first).await;
    assert_eq!(
        hot_ratio(&status(&mut claim, "alice").await),
        (2, 1, 1, false)
    );
    cluster
        .env
        .clock
        .advance(Span::minutes(30) - Span::seconds(1));
    assert_eq!(
        hot_ratio(&status(&mut claim, "alice").await),
        (2, 1, 1, false)
    );
    cluster.env.clock.advance(Span::seconds(1));
    assert_eq!(
        hot_ratio(&status(&mut claim, "alice").await),
        (2, 2, 0, true)
    );

    // A batch from a ratio pool takes one lead: each needs its own two.
    let batch = claim
        .claim_batch(authed(
            &rep("alice"),
            v1::ClaimBatchRequest {
                pool: "pools/hot".into(),
                count: 3,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .leads;
    assert_eq!(batch.len(), 1);
    let worked = claim_next(&mut claim, "alice", "cold").await.unwrap();
    contact(&mut claim, "alice", &worked).await;
    let refused = claim_next(&mut claim, "alice", "hot").await.unwrap_err();
    assert_eq!(precondition(&refused).0, "CLAIM_RATIO");
    assert!(
        refused.message().contains("you have 1 worked"),
        "{refused:?}"
    );
    let worked = claim_next(&mut claim, "alice", "cold").await.unwrap();
    contact(&mut claim, "alice", &worked).await;
    claim_next(&mut claim, "alice", "hot").await.unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn a_gated_tier_opens_only_once_the_pool_before_it_is_empty() {
    let cluster = start(format!(
        "{HEAD}reps: [{{ id: alice, role: sdr }}]\n\
         pools:\n- {{ id: hot, type: open, opensWhenEmpty: [cold] }}\n- {{ id: cold, type: open }}\n{}",
        routing("alice")
    ))
    .await;
    fill(&cluster, "hot", 1).await;
    fill(&cluster, "cold", 2).await;
    let mut claim = cluster.claim().await;

    let refused = claim_next(&mut claim, "alice", "hot").await.unwrap_err();
    assert_eq!(
        precondition(&refused),
        ("TIER_GATED".into(), "pools/hot".into())
    );
    assert!(refused.message().contains("2 leads left"), "{refused:?}");
    assert!(!pool_status(&status(&mut claim, "alice").await, "hot").claimable);
    claim_next(&mut claim, "alice", "cold").await.unwrap();
    claim_next(&mut claim, "alice", "cold").await.unwrap();
    claim_next(&mut claim, "alice", "hot").await.unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn rejecting_too_many_assignments_costs_pool_access_until_the_rate_recovers() {
    let cluster = start(format!(
        "{HEAD}reps: [{{ id: alice, role: sdr }}]\n\
         pools:\n- {{ id: hot, type: open }}\n- {{ id: cold, type: open }}\n\
         acceptance: {{ minimum: 80, window: 30d, minDecisions: 5, consequence: lose-pool-access }}\n{}",
        routing("alice")
    ))
    .await;
    fill(&cluster, "cold", 3).await;
    let pushed = fill(&cluster, "push", 10).await;
    let mut claim = cluster.claim().await;

    // 3 of 5 accepted: 60%, below 80%.
    for (i, lead) in pushed[..5].iter().enumerate() {
        if i < 3 {
            let accepted = claim
                .accept_assignment(authed(
                    &rep("alice"),
                    v1::AcceptAssignmentRequest { name: lead.clone() },
                ))
                .await
                .unwrap()
                .into_inner()
                .lead
                .unwrap();
            assert_eq!(accepted.state(), v1::LeadState::Claimed);
            assert!(accepted.contact_due_time.is_some(), "the contact SLA runs");
        } else {
            let rejected = claim
                .reject_assignment(authed(
                    &rep("alice"),
                    v1::RejectAssignmentRequest {
                        name: lead.clone(),
                        reason: "wrong territory".into(),
                    },
                ))
                .await
                .unwrap()
                .into_inner()
                .lead
                .unwrap();
            assert_eq!(rejected.state(), v1::LeadState::Available);
            assert_eq!(rejected.pool, "pools/cold", "back to the fallback pool");
        }
    }
    let refused = claim_next(&mut claim, "alice", "cold").await.unwrap_err();
    assert_eq!(
        precondition(&refused),
        ("ACCEPTANCE_TOO_LOW".into(), "reps/alice".into())
    );
    let acceptance = status(&mut claim, "alice").await.acceptance.unwrap();
    assert_eq!(
        (
            acceptance.accepted,
            acceptance.decided,
            acceptance.below_minimum
        ),
        (3, 5, true)
    );
    // Accepting 5 more: 8 of 10, exactly the minimum; pools reopen.
    for lead in &pushed[5..] {
        claim
            .accept_assignment(authed(
                &rep("alice"),
                v1::AcceptAssignmentRequest { name: lead.clone() },
            ))
            .await
            .unwrap();
    }
    claim_next(&mut claim, "alice", "cold").await.unwrap();
    // An assignment can be decided once.
    let again = claim
        .accept_assignment(authed(
            &rep("alice"),
            v1::AcceptAssignmentRequest {
                name: pushed[0].clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&again).0, "LEAD_NOT_OWNED");
    cluster.stop().await;
}

#[tokio::test]
async fn rotation_windows_give_each_rep_new_leads_first_in_turn() {
    let cluster = start(format!(
        "{HEAD}reps: [{{ id: alice, role: sdr }}, {{ id: bob, role: sdr }}]\n\
         pools:\n- {{ id: hot, type: open, rotation: {{ window: 15m, reps: [alice, bob] }} }}\n- {{ id: cold, type: open }}\n{}",
        routing("alice")
    ))
    .await;
    let mut claim = cluster.claim().await;
    let mut intake = cluster.intake().await;
    let clock = &cluster.env.clock;
    let mut new_lead = async |key: &str, score: i32| {
        submit_segmented(&mut intake, key, score, "emea", "hot")
            .await
            .name
    };
    // Windows are aligned to the clock (09:00 starts one); whose turn it is depends on the
    // date, so ask.
    let rotation = pool_status(&status(&mut claim, "alice").await, "hot")
        .rotation
        .clone()
        .unwrap();
    let (first, second) = if rotation.holder == "reps/alice" {
        ("alice", "bob")
    } else {
        ("bob", "alice")
    };
    let old = new_lead("hot-old", 50).await;

    // 09:15: `second`'s window. Leads entering now are hers first.
    clock.advance(Span::minutes(15));
    // Scored higher than the old lead, so only the window keeps ClaimNext off it.
    let fresh = new_lead("hot-fresh", 90).await;
    let refused = claim_lead(&mut claim, first, &fresh).await.unwrap_err();
    assert_eq!(
        precondition(&refused),
        ("ROTATION_WINDOW".into(), "pools/hot".into())
    );
    // ClaimNext passes over the exclusive lead and takes the older, lower-priority one.
    assert_eq!(
        claim_next(&mut claim, first, "hot").await.unwrap().name,
        old
    );
    let turn = pool_status(&status(&mut claim, first).await, "hot")
        .rotation
        .clone()
        .unwrap();
    assert_eq!(turn.holder, format!("reps/{second}"));
    assert_eq!(turn.next_window_start_time, turn.window_end_time);

    // 09:30: `first`'s window again. The lead from `second`'s window is open to everyone;
    // the ones entering now are `first`'s.
    clock.advance(Span::minutes(15));
    let mine = new_lead("hot-mine", 50).await;
    let refused = claim_lead(&mut claim, second, &mine).await.unwrap_err();
    assert_eq!(precondition(&refused).0, "ROTATION_WINDOW");
    claim_lead(&mut claim, second, &fresh).await.unwrap();
    claim_lead(&mut claim, first, &mine).await.unwrap();
    cluster.stop().await;
}

/// Alice and Bob, a one-day reclaim embargo, pools hot and cold.
async fn start_with_embargo() -> Cluster {
    start(format!(
        "{HEAD}reps: [{{ id: alice, role: sdr }}, {{ id: bob, role: sdr }}]\n\
         limits: {{ perDay: 50, reclaimEmbargo: 24h }}\n\
         pools:\n- {{ id: hot, type: open }}\n- {{ id: cold, type: open }}\n{}",
        routing("alice")
    ))
    .await
}

#[tokio::test]
async fn a_released_lead_cannot_be_reclaimed_by_the_same_rep_during_the_embargo() {
    let cluster = start_with_embargo().await;
    let leads = fill(&cluster, "cold", 1).await;
    let mut claim = cluster.claim().await;
    claim_lead(&mut claim, "alice", &leads[0]).await.unwrap();
    release(&mut claim, "alice", &leads[0]).await;

    cluster.env.clock.advance(Span::hours(1));
    let refused = claim_lead(&mut claim, "alice", &leads[0])
        .await
        .unwrap_err();
    assert_eq!(
        precondition(&refused),
        ("RECLAIM_EMBARGO".into(), leads[0].clone())
    );
    let none = claim_next(&mut claim, "alice", "cold").await.unwrap_err();
    assert_eq!(
        precondition(&none).0,
        "POOL_EMPTY",
        "ClaimNext skips it too"
    );
    // Someone else may take it; after the embargo, so may she.
    claim_lead(&mut claim, "bob", &leads[0]).await.unwrap();
    release(&mut claim, "bob", &leads[0]).await;
    cluster.env.clock.advance(Span::hours(23));
    claim_next(&mut claim, "alice", "cold").await.unwrap();
    cluster.stop().await;
}

/// An embargo keeps a pool's claims from being grouped: each is a pick of its own, of one lead
/// (ClaimNext) or of several (ClaimBatch), and both keep the pool's claim order.
#[tokio::test]
async fn claims_past_an_embargoed_lead_come_one_or_several_in_the_pools_claim_order() {
    let cluster = start_with_embargo().await;
    let mut intake = cluster.intake().await;
    let mut best_first = Vec::new();
    for (i, score) in [90, 80, 70, 60, 50].into_iter().enumerate() {
        best_first.push(submit(&mut intake, &format!("order-{i}"), score).await.name);
    }
    let mut claim = cluster.claim().await;
    claim_lead(&mut claim, "alice", &best_first[0])
        .await
        .unwrap();
    release(&mut claim, "alice", &best_first[0]).await;

    let next = claim_next(&mut claim, "alice", "cold").await.unwrap();
    assert_eq!(next.name, best_first[1], "the best lead she may take");
    let batch: Vec<String> = claim
        .claim_batch(authed(
            &rep("alice"),
            v1::ClaimBatchRequest {
                pool: "pools/cold".into(),
                count: 3,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .leads
        .into_iter()
        .map(|lead| lead.name)
        .collect();
    assert_eq!(batch, best_first[2..], "the next three, best first");
    let given_up = claim_next(&mut claim, "bob", "cold").await.unwrap();
    assert_eq!(given_up.name, best_first[0], "the embargo is hers alone");
    cluster.stop().await;
}

#[tokio::test]
async fn a_blind_pool_hides_who_a_lead_is_until_it_is_claimed() {
    let cluster = start(format!(
        "{HEAD}reps: [{{ id: alice, role: sdr }}]\n\
         pools:\n- {{ id: hot, type: open, blind: true }}\n- {{ id: cold, type: open }}\n{}",
        routing("alice")
    ))
    .await;
    fill(&cluster, "hot", 1).await;
    fill(&cluster, "cold", 1).await;
    let mut claim = cluster.claim().await;
    let browse = |pool: &str| v1::ListPoolLeadsRequest {
        parent: format!("pools/{pool}"),
        ..Default::default()
    };
    let hidden = claim
        .list_pool_leads(authed(&rep("alice"), browse("hot")))
        .await
        .unwrap()
        .into_inner()
        .leads
        .remove(0);
    let contact = hidden.contact.clone().unwrap();
    assert!(contact.email.is_empty() && contact.name.is_empty() && contact.company.is_empty());
    assert_eq!(hidden.score, 50, "what the lead is worth stays visible");
    let shown = claim
        .list_pool_leads(authed(&rep("alice"), browse("cold")))
        .await
        .unwrap()
        .into_inner()
        .leads
        .remove(0);
    assert!(!shown.contact.unwrap().email.is_empty());
    let claimed = claim_lead(&mut claim, "alice", &hidden.name).await.unwrap();
    assert_eq!(claimed.contact.unwrap().email, "hot-0@example.com");
    cluster.stop().await;
}

#[tokio::test]
async fn outcomes_close_leads_in_their_history_and_status_shows_deadlines() {
    let cluster = start(format!(
        "{HEAD}reps: [{{ id: alice, role: sdr, limits: {{ perDay: 10, perHour: 4, activeLeads: 5 }} }}, {{ id: bob, role: sdr }}]\n\
         pools:\n- {{ id: hot, type: open, contactSla: 30m }}\n- {{ id: cold, type: open }}\n{}",
        routing("alice")
    ))
    .await;
    let leads = fill(&cluster, "hot", 3).await;
    let mut claim = cluster.claim().await;
    for lead in &leads {
        claim_lead(&mut claim, "alice", lead).await.unwrap();
    }
    let outcome = |name: &str, outcome: v1::Outcome, deal| v1::RecordOutcomeRequest {
        name: name.to_owned(),
        outcome: outcome.into(),
        deal_size_minor: deal,
        note: "signed".into(),
    };
    // An opportunity can still become a customer; a customer is final.
    let opportunity = claim
        .record_outcome(authed(
            &rep("alice"),
            outcome(&leads[0], v1::Outcome::Opportunity, 0),
        ))
        .await
        .unwrap()
        .into_inner()
        .lead
        .unwrap();
    assert_eq!(opportunity.state(), v1::LeadState::Closed);
    let customer = claim
        .record_outcome(authed(
            &rep("alice"),
            outcome(&leads[0], v1::Outcome::Customer, 1_250_000),
        ))
        .await
        .unwrap()
        .into_inner()
        .lead
        .unwrap();
    assert_eq!(
        (customer.outcome(), customer.deal_size_minor),
        (v1::Outcome::Customer, 1_250_000)
    );
    let final_ = claim
        .record_outcome(authed(
            &rep("alice"),
            outcome(&leads[0], v1::Outcome::Lost, 0),
        ))
        .await
        .unwrap_err();
    assert_eq!(precondition(&final_).0, "LEAD_NOT_OWNED");
    let not_hers = claim
        .record_outcome(authed(
            &rep("bob"),
            outcome(&leads[1], v1::Outcome::Lost, 0),
        ))
        .await
        .unwrap_err();
    assert_eq!(not_hers.code(), Code::PermissionDenied);
    assert_invalid(
        claim
            .record_outcome(authed(
                &rep("alice"),
                outcome(&leads[1], v1::Outcome::Unspecified, -5),
            ))
            .await,
        &["outcome", "deal_size_minor"],
    );

    let history: Vec<(String, String)> = claim
        .list_lead_events(authed(
            &rep("alice"),
            v1::ListLeadEventsRequest {
                parent: leads[0].clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .events
        .into_iter()
        .map(|e| (e.to_state().as_str_name().to_owned(), e.reason))
        .collect();
    assert_eq!(
        history[history.len() - 2..],
        [
            (
                "LEAD_STATE_CLOSED".to_owned(),
                "outcome opportunity (deal size 0): signed".to_owned()
            ),
            (
                "LEAD_STATE_CLOSED".to_owned(),
                "outcome customer (deal size 1250000): signed".to_owned()
            )
        ]
    );

    let now = cluster.env.clock.now();
    let status = status(&mut claim, "alice").await;
    let usage = |limit: &str| {
        status
            .limits
            .iter()
            .find(|l| l.limit == limit)
            .map(|l| (l.used, l.remaining))
            .unwrap()
    };
    assert_eq!(usage("DAILY_CLAIM_LIMIT"), (3, 7));
    assert_eq!(usage("HOURLY_CLAIM_LIMIT"), (3, 1));
    assert_eq!(
        usage("ACTIVE_LEAD_LIMIT"),
        (2, 3),
        "the closed lead is done"
    );
    let hourly = status
        .limits
        .iter()
        .find(|l| l.limit == "HOURLY_CLAIM_LIMIT")
        .unwrap();
    assert_eq!(
        hourly.reset_time.unwrap().seconds,
        (now + Span::hours(1)).timestamp()
    );
    assert_eq!(status.open_leads.len(), 2);
    assert_eq!(
        status.open_leads[0].contact_due_time.unwrap().seconds,
        (now + Span::minutes(30)).timestamp(),
        "the pool's contact SLA"
    );
    assert!(status.pools.iter().all(|p| p.claimable));
    // The rep is warned 15 minutes before the deadline (half the 30-minute SLA at most).
    let open = &status.open_leads[0];
    assert!(!open.due_soon);
    assert_eq!(
        open.warning_time.unwrap().seconds,
        (now + Span::minutes(15)).timestamp()
    );
    cluster.env.clock.advance(Span::minutes(15));
    let warned = claim
        .get_rep_status(authed(&rep("alice"), v1::GetRepStatusRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(warned.open_leads.iter().all(|l| l.due_soon));
    cluster.stop().await;
}

#[tokio::test]
async fn an_assignment_not_accepted_within_the_sla_goes_back_to_the_pool_and_counts_as_declined() {
    let cluster = start(format!(
        "{HEAD}reps: [{{ id: alice, role: sdr }}]\n\
         pools:\n- {{ id: hot, type: open }}\n- {{ id: cold, type: open, contactSla: 1h }}\n\
         acceptance: {{ minimum: 80, window: 30d, minDecisions: 1, consequence: warn }}\n{}",
        routing("alice")
    ))
    .await;
    let pushed = fill(&cluster, "push", 2).await;
    let mut claim = cluster.claim().await;
    claim
        .accept_assignment(authed(
            &rep("alice"),
            v1::AcceptAssignmentRequest {
                name: pushed[0].clone(),
            },
        ))
        .await
        .unwrap();
    let status_before = status(&mut claim, "alice").await;
    assert_eq!(status_before.open_leads.len(), 2);
    assert!(
        status_before
            .open_leads
            .iter()
            .all(|l| l.contact_due_time.is_some()),
        "the rep sees every deadline"
    );

    let run = cluster
        .scheduler()
        .await
        .run_job(authed(
            &leadpool_e2e::admin(),
            v1::RunJobRequest {
                name: "jobs/sla-expiry".into(),
                as_of: Some(timestamp(cluster.env.clock.now() + Span::hours(1))),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        run.affected, 2,
        "the unaccepted assignment and the uncontacted claim"
    );
    let history = claim
        .list_lead_events(authed(
            &leadpool_e2e::admin(),
            v1::ListLeadEventsRequest {
                parent: pushed[1].clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .events;
    let last = history.last().unwrap();
    assert_eq!(
        (
            last.from_state(),
            last.to_state(),
            last.reason.as_str(),
            last.owner.as_str()
        ),
        (
            v1::LeadState::Assigned,
            v1::LeadState::Available,
            "assignment not accepted in time",
            "reps/alice"
        )
    );
    // One accepted of two decided: below 80%, with a warning only; claiming goes on.
    let acceptance = status(&mut claim, "alice").await.acceptance.unwrap();
    assert_eq!(
        (
            acceptance.accepted,
            acceptance.decided,
            acceptance.below_minimum
        ),
        (1, 2, true)
    );
    claim_next(&mut claim, "alice", "cold").await.unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn the_claim_rules_example_applies_and_a_rep_sees_every_rule_in_her_status() {
    let cluster = start(leadpool_e2e::example("c-claim-rules")).await;
    let mut claim = cluster.claim().await;
    let bob = status(&mut claim, "bob").await;
    let limits: Vec<(&str, &str, i32)> = bob
        .limits
        .iter()
        .map(|l| (l.limit.as_str(), l.pool.as_str(), l.max))
        .collect();
    assert_eq!(
        limits,
        [
            ("DAILY_CLAIM_LIMIT", "", 20),
            ("HOURLY_CLAIM_LIMIT", "", 6),
            ("ACTIVE_LEAD_LIMIT", "", 8),
            ("POOL_DAILY_CLAIM_LIMIT", "pools/hot", 3),
        ]
    );
    let cooldown = bob.cooldown.unwrap();
    assert_eq!((cooldown.after_claims, cooldown.claims_in_run), (4, 0));
    let hot = pool_status(&bob, "hot");
    assert!(!hot.claimable, "two warm claims first");
    assert_eq!(hot.ratio.as_ref().unwrap().required, 2);
    assert!(hot.rotation.is_some());
    let cold = pool_status(&bob, "cold");
    assert!(cold.claimable, "warm is empty, so cold is open");
    assert_eq!(bob.acceptance.unwrap().minimum_percent, 80);
    let alice = status(&mut claim, "alice").await;
    assert!(
        alice
            .limits
            .iter()
            .any(|l| l.limit == "ACTIVE_LEAD_LIMIT" && l.max == 12),
        "a rep's own limit beats her team's"
    );
    cluster.stop().await;
}

/// C6's three controls in one claim sequence, each refusing in the documented order (policy
/// checks, then Redis, then the claim transaction — docs/claim-rules.md "When several rules
/// bind"): the ratio refuses hot, the gate refuses warm, and once both are met the cooldown
/// refuses hot — a claim the ratio refused did not count towards the run.
#[tokio::test]
async fn ratio_gating_and_cooldown_each_refuse_in_turn_in_one_claim_sequence() {
    let cluster = start(format!(
        "{HEAD}reps: [{{ id: alice, role: sdr }}]\n\
         limits: {{ perDay: 50, cooldown: {{ after: 2, pause: 30m }} }}\n\
         pools:\n\
         - {{ id: hot, type: open, requires: {{ claims: 1, from: [warm] }} }}\n\
         - {{ id: warm, type: open, opensWhenEmpty: [cold] }}\n\
         - {{ id: cold, type: open }}\n\
         routing:\n  rules:\n\
         \x20   - {{ name: hot, match: {{ sources: [hot] }}, pool: hot }}\n\
         \x20   - {{ name: warm, match: {{ sources: [warm] }}, pool: warm }}\n\
         \x20 default: {{ pool: cold }}\n"
    ))
    .await;
    fill(&cluster, "hot", 1).await;
    fill(&cluster, "warm", 1).await;
    fill(&cluster, "cold", 1).await;
    let mut claim = cluster.claim().await;

    // 1. Hot needs a worked warm claim first: the claim transaction refuses it, and the
    //    reservation it made in Redis is handed back.
    let refused = claim_next(&mut claim, "alice", "hot").await.unwrap_err();
    assert_eq!(
        precondition(&refused),
        ("CLAIM_RATIO".into(), "pools/hot".into())
    );
    // 2. Warm opens only once cold is empty: refused before anything is reserved.
    let refused = claim_next(&mut claim, "alice", "warm").await.unwrap_err();
    assert_eq!(
        precondition(&refused),
        ("TIER_GATED".into(), "pools/warm".into())
    );
    // 3. Cold, then warm (now open), worked: two claims in a row — the refusals above did not
    //    count, or the second would already have hit the cooldown.
    claim_next(&mut claim, "alice", "cold").await.unwrap();
    let warm = claim_next(&mut claim, "alice", "warm").await.unwrap();
    contact(&mut claim, "alice", &warm).await;
    assert!(
        hot_ratio(&status(&mut claim, "alice").await).3,
        "the ratio is met"
    );
    // 4. The ratio is met, but two claims in a row started the pause: Redis refuses first.
    let refused = claim_next(&mut claim, "alice", "hot").await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(crate::limits::reason(&refused), "CLAIM_COOLDOWN");
    // 5. After the pause, hot is hers.
    cluster.env.clock.advance(Span::minutes(30));
    claim_next(&mut claim, "alice", "hot").await.unwrap();
    cluster.stop().await;
}
