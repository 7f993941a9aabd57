//! Every example policy in `examples/` applied and exercised: routing, access and the product
//! behaviour each one illustrates (P1–P4, H1–H3; A1–A4 inside them).

use std::collections::HashMap;

use chrono::Duration;
use leadpool_e2e::{
    Cluster, apply_policy, code_of, example, may_claim, rep, submit, submit_request,
    submit_segmented,
};
use leadpool_proto::v1;
use leadpool_testing::authed;
use tonic::Code;

use crate::jobs::{last_event, lead, names, run_job, sorted};
use leadpool_domain::{Clock, LeadState};
use leadpool_policy::split_bucket;

async fn start_with(name: &str) -> Cluster {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, &example(name)).await;
    cluster
}

fn claim_lead_request(who: &str, lead: &v1::Lead) -> tonic::Request<v1::ClaimLeadRequest> {
    authed(
        &rep(who),
        v1::ClaimLeadRequest {
            name: lead.name.clone(),
        },
    )
}

#[tokio::test]
async fn p1_an_open_pool_lets_every_rep_claim_first_come_first_served() {
    let cluster = start_with("p1-open-pool").await;
    let mut intake = cluster.intake().await;
    let mut claim = cluster.claim().await;
    let first = submit(&mut intake, "a", 35).await;
    let second = submit(&mut intake, "b", 90).await;
    assert_eq!(
        (first.pool.as_str(), second.pool.as_str()),
        ("pools/all-leads", "pools/all-leads")
    );
    assert_eq!(
        submit(&mut intake, "low", 10).await.state(),
        v1::LeadState::Rejected,
        "below minScore 20"
    );
    for who in ["alice", "bob", "carol"] {
        assert!(may_claim(&mut claim, who, "all-leads").await, "{who}");
    }
    claim
        .claim_lead(claim_lead_request("alice", &first))
        .await
        .unwrap();
    let late = claim.claim_lead(claim_lead_request("bob", &first)).await;
    assert_eq!(
        code_of(&late),
        Code::FailedPrecondition,
        "first come, first served"
    );
    claim
        .claim_lead(claim_lead_request("bob", &second))
        .await
        .unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn p2_segmented_pools_route_by_source_and_territory_and_reps_reach_only_their_segments() {
    let cluster = start_with("p2-segmented-pools").await;
    let mut intake = cluster.intake().await;
    let mut claim = cluster.claim().await;
    // I3: ordered rules pick the pool.
    for (key, region, source, pool) in [
        ("demo", "west", "demo-request", "pools/demo-requests"),
        ("mql", "east", "mql", "pools/mqls"),
        ("reply", "emea", "outbound-reply", "pools/outbound-replies"),
        (
            "ebook",
            "west",
            "content-download",
            "pools/content-downloads",
        ),
        ("west", "west", "webinar", "pools/west"),
        ("east", "east", "", "pools/east"),
        ("emea", "emea", "event", "pools/emea"),
    ] {
        assert_eq!(
            submit_segmented(&mut intake, key, 50, region, source)
                .await
                .pool,
            pool,
            "{key}"
        );
    }
    let nowhere = submit_segmented(&mut intake, "apac", 50, "apac", "event").await;
    assert_eq!(
        nowhere.state(),
        v1::LeadState::Received,
        "no rule and no default: the lead waits"
    );

    // I2: qualification keeps rejected leads with their reason.
    let mut spam = leadpool_e2e::lead_request("spam", 50);
    spam.contact.as_mut().unwrap().email = "x@mailinator.com".into();
    let spam = submit_request(&mut intake, spam).await.lead.unwrap();
    assert_eq!(
        spam.rejection_reason,
        "domain mailinator.com is excluded (mailinator.com)"
    );
    let mut rival = leadpool_e2e::lead_request("rival", 50);
    rival.contact.as_mut().unwrap().company = "RivalSoft".into();
    assert_eq!(
        submit_request(&mut intake, rival)
            .await
            .lead
            .unwrap()
            .rejection_reason,
        "the lead is from a competitor (rivalsoft)"
    );
    let mut no_email = leadpool_e2e::lead_request("phone-only", 50);
    let contact = no_email.contact.as_mut().unwrap();
    contact.email = String::new();
    contact.phone = "+1 555 0100".into();
    assert_eq!(
        submit_request(&mut intake, no_email)
            .await
            .lead
            .unwrap()
            .rejection_reason,
        "required field(s) missing: email"
    );

    // A1 roles: AEs the demo and MQL pools, SDRs the outbound and content pools.
    assert!(may_claim(&mut claim, "wendy", "demo-requests").await);
    assert!(!may_claim(&mut claim, "wendy", "outbound-replies").await);
    assert!(may_claim(&mut claim, "sam", "outbound-replies").await);
    assert!(!may_claim(&mut claim, "sam", "mqls").await);
    // A2 geography: West reps only West; national accounts every regional pool.
    assert!(may_claim(&mut claim, "wendy", "west").await);
    assert!(!may_claim(&mut claim, "wendy", "east").await);
    assert!(
        may_claim(&mut claim, "nora", "west").await && may_claim(&mut claim, "nora", "east").await
    );
    assert!(!may_claim(&mut claim, "nora", "emea").await);
    // Enforced, not just explained: browsing and claiming outside the segment are refused.
    let browse = claim
        .list_pool_leads(authed(
            &rep("wendy"),
            v1::ListPoolLeadsRequest {
                parent: "pools/east".into(),
                ..Default::default()
            },
        ))
        .await;
    assert_eq!(code_of(&browse), Code::PermissionDenied);
    let grab = claim
        .claim_next(authed(
            &rep("sam"),
            v1::ClaimNextRequest {
                pool: "pools/demo-requests".into(),
            },
        ))
        .await;
    assert_eq!(code_of(&grab), Code::PermissionDenied);
    assert!(
        grab.unwrap_err()
            .message()
            .contains("role sdr is not one of [ae]")
    );
    // A1 managers see every pool, for oversight.
    let oversight = claim
        .list_pool_leads(authed(
            &leadpool_testing::token("reps/max", &[leadpool_auth::Role::Manager]),
            v1::ListPoolLeadsRequest {
                parent: "pools/emea".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(oversight.leads.len(), 1);
    cluster.stop().await;
}

#[tokio::test]
async fn p3_tiered_pools_route_by_score_with_an_access_hierarchy_performance_and_time_windows() {
    let cluster = start_with("p3-tiered-pools").await;
    let mut intake = cluster.intake().await;
    let mut claim = cluster.claim().await;
    assert_eq!(
        submit_segmented(&mut intake, "a", 85, "", "mql").await.pool,
        "pools/hot"
    );
    assert_eq!(
        submit_segmented(&mut intake, "b", 30, "", "referral")
            .await
            .pool,
        "pools/hot",
        "referrals are hot"
    );
    assert_eq!(
        submit_segmented(&mut intake, "c", 79, "", "mql").await.pool,
        "pools/warm"
    );
    assert_eq!(
        submit_segmented(&mut intake, "d", 10, "", "mql").await.pool,
        "pools/cold"
    );

    // The test clock starts Monday 10:00 in Berlin: business hours.
    let access = |claim: &mut leadpool_proto::v1::claim_service_client::ClaimServiceClient<_>,
                  who: &'static str| {
        let mut claim = claim.clone();
        async move {
            let mut tiers = Vec::new();
            for pool in ["hot", "warm", "cold"] {
                if may_claim(&mut claim, who, pool).await {
                    tiers.push(pool);
                }
            }
            tiers
        }
    };
    assert_eq!(
        access(&mut claim, "alice").await,
        ["hot", "warm", "cold"],
        "senior: every tier"
    );
    assert_eq!(
        access(&mut claim, "bob").await,
        ["hot", "warm", "cold"],
        "A3: a top performer reaches hot"
    );
    assert_eq!(
        access(&mut claim, "carol").await,
        ["warm", "cold"],
        "standard: warm and cold"
    );
    assert_eq!(
        access(&mut claim, "dan").await,
        ["cold"],
        "junior: cold only"
    );
    assert!(
        access(&mut claim, "eve").await.is_empty(),
        "A3: below quota, no pool access"
    );

    // A4: at 18:00 Berlin only the on-call rep (alice, this week) may claim.
    cluster.env.clock.advance(Duration::hours(8));
    assert_eq!(access(&mut claim, "alice").await, ["hot", "warm", "cold"]);
    assert!(access(&mut claim, "carol").await.is_empty());
    let refused = claim
        .claim_next(authed(
            &rep("carol"),
            v1::ClaimNextRequest {
                pool: "pools/cold".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused
            .message()
            .contains("outside team emea business hours"),
        "{}",
        refused.message()
    );
    // Saturday: the weekend duty team only.
    cluster.env.clock.advance(Duration::days(5));
    assert_eq!(access(&mut claim, "dan").await, ["cold"]);
    assert!(access(&mut claim, "alice").await.is_empty());
    let explained = claim
        .explain_access(authed(
            &rep("alice"),
            v1::ExplainAccessRequest {
                rep: String::new(),
                pool: "pools/cold".into(),
                at: None,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        explained.window.contains("not a business day"),
        "{explained:?}"
    );
    assert!(
        explained.reasons[0].contains("weekend duty"),
        "{explained:?}"
    );
    // And back on Monday morning everyone may claim again.
    cluster
        .env
        .clock
        .advance(Duration::days(2) - Duration::hours(1));
    assert_eq!(access(&mut claim, "carol").await, ["warm", "cold"]);
    cluster.stop().await;
}

#[tokio::test]
async fn p4_a_timed_pool_holds_its_leads_until_release_and_flash_leads_are_claimable_at_once() {
    let cluster = start_with("p4-timed-pools").await;
    let mut intake = cluster.intake().await;
    let waiting = submit(&mut intake, "later", 60).await;
    assert_eq!(
        (waiting.state(), waiting.pool.as_str()),
        (v1::LeadState::Scheduled, "pools/morning-drop")
    );
    let flash = submit(&mut intake, "now", 95).await;
    assert_eq!(
        (flash.state(), flash.pool.as_str()),
        (v1::LeadState::Available, "pools/flash")
    );
    let mut claim = cluster.claim().await;
    let hidden = claim
        .list_pool_leads(authed(
            &rep("alice"),
            v1::ListPoolLeadsRequest {
                parent: "pools/morning-drop".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        hidden.leads.is_empty(),
        "scheduled leads are not visible before the release"
    );
    // Flash: a lead scoring 80+ in the timed pool is available the moment it arrives (P4), not
    // at 08:00 and not at the next release run.
    let urgent = submit(&mut intake, "urgent", 85).await;
    assert_eq!(
        (urgent.state(), urgent.pool.as_str()),
        (v1::LeadState::Available, "pools/morning-drop")
    );
    assert!(urgent.pool_entry_time.is_some());
    let routed = last_event(&cluster, &urgent).await;
    assert_eq!(routed.kind, leadpool_domain::EventKind::Routed);
    assert!(
        routed.reason.ends_with("flash lead: released at once"),
        "{}",
        routed.reason
    );
    let visible = claim
        .list_pool_leads(authed(
            &rep("alice"),
            v1::ListPoolLeadsRequest {
                parent: "pools/morning-drop".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        visible.leads.iter().map(|l| &l.name).collect::<Vec<_>>(),
        [&urgent.name]
    );
    let release_run = run_job(&cluster, "release", cluster.env.clock.now()).await;
    assert!(release_run.leads.is_empty(), "{release_run:?}");
    assert_eq!(lead(&cluster, &waiting).await.state, LeadState::Scheduled);
    cluster.stop().await;
}

#[tokio::test]
async fn p4_the_0800_berlin_release_stays_at_0800_local_across_the_daylight_saving_change() {
    let cluster = start_with("p4-timed-pools").await;
    let mut intake = cluster.intake().await;
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc();
    // Friday 27 March (CET, UTC+1): a lead waits for Saturday's 08:00 = 07:00 UTC.
    cluster.env.clock.set(at("2026-03-27T15:00:00Z"));
    let friday = submit(&mut intake, "friday", 60).await;
    assert_eq!(
        run_job(&cluster, "release", at("2026-03-28T06:59:59Z"))
            .await
            .affected,
        0
    );
    let saturday = run_job(&cluster, "release", at("2026-03-28T07:00:00Z")).await;
    assert_eq!(saturday.leads, vec![friday.name.clone()]);
    assert_eq!(
        lead(&cluster, &friday).await.pooled_at,
        Some(at("2026-03-28T07:00:00Z"))
    );
    // Saturday afternoon; the clocks go forward that night (CEST, UTC+2): Sunday's 08:00 is
    // 06:00 UTC — not 07:00.
    cluster.env.clock.set(at("2026-03-28T15:00:00Z"));
    let saturday_lead = submit(&mut intake, "saturday", 60).await;
    assert_eq!(
        run_job(&cluster, "release", at("2026-03-29T05:59:59Z"))
            .await
            .affected,
        0
    );
    let sunday = run_job(&cluster, "release", at("2026-03-29T06:00:00Z")).await;
    assert_eq!(sunday.leads, vec![saturday_lead.name.clone()]);
    assert_eq!(
        lead(&cluster, &saturday_lead).await.pooled_at,
        Some(at("2026-03-29T06:00:00Z")),
        "08:00 Berlin summer time"
    );
    // The event pool drops every hour on the hour (Berlin hours, which are whole UTC hours).
    cluster.env.clock.set(at("2026-03-29T06:10:00Z"));
    let event = submit_segmented(&mut intake, "expo", 60, "", "event").await;
    assert_eq!(event.pool, "pools/hourly-drop");
    assert_eq!(
        run_job(&cluster, "release", at("2026-03-29T06:59:00Z"))
            .await
            .affected,
        0
    );
    assert_eq!(
        run_job(&cluster, "release", at("2026-03-29T07:00:00Z"))
            .await
            .leads,
        vec![event.name.clone()]
    );
    cluster.stop().await;
}

#[tokio::test]
async fn h1_sixty_percent_pooled_forty_percent_assigned_round_robin_to_available_reps() {
    let cluster = start_with("h1-pool-plus-auto-assign").await;
    let mut intake = cluster.intake().await;
    let mut per_owner: HashMap<String, usize> = HashMap::new();
    let mut pooled = 0;
    for i in 0..200 {
        let lead = submit_segmented(&mut intake, &format!("mql-{i}"), 60, "", "mql").await;
        // Each lead's share follows from its id (the policy crate's unit test checks that the
        // buckets spread evenly), so which lead is pooled is exact, not a matter of chance.
        let id = lead.name.strip_prefix("leads/").expect("a lead name");
        let bucket = split_bucket(id.parse().expect("a lead id"));
        match lead.state() {
            v1::LeadState::Available => {
                assert!(bucket < 60, "{} pooled from bucket {bucket}", lead.name);
                assert_eq!(lead.pool, "pools/mql-pool");
                pooled += 1;
            }
            v1::LeadState::Assigned => {
                assert!(bucket >= 60, "{} assigned from bucket {bucket}", lead.name);
                *per_owner.entry(lead.owner).or_default() += 1;
            }
            other => panic!("unexpected state {other:?}"),
        }
    }
    // 200 draws of 60%: 120 +- 6.9; this band fails by chance about once in 60,000 runs.
    assert!((90..=150).contains(&pooled), "about 60% pooled: {pooled}");
    let owners: Vec<&str> = {
        let mut o: Vec<&str> = per_owner.keys().map(String::as_str).collect();
        o.sort_unstable();
        o
    };
    assert_eq!(
        owners,
        ["reps/sara", "reps/tom"],
        "uma is on vacation and vic inactive: skipped"
    );
    assert!(
        per_owner["reps/sara"].abs_diff(per_owner["reps/tom"]) <= 1,
        "round-robin is fair: {per_owner:?}"
    );
    assert_eq!(
        submit_segmented(&mut intake, "other", 60, "", "event")
            .await
            .pool,
        "pools/everything-else"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn h2_each_territory_has_its_own_tiers_and_reps_claim_only_in_theirs() {
    let cluster = start_with("h2-tiers-inside-territories").await;
    let mut intake = cluster.intake().await;
    let mut claim = cluster.claim().await;
    assert_eq!(
        submit_segmented(&mut intake, "w1", 85, "west", "")
            .await
            .pool,
        "pools/west-hot"
    );
    assert_eq!(
        submit_segmented(&mut intake, "w2", 55, "west", "")
            .await
            .pool,
        "pools/west-warm"
    );
    assert_eq!(
        submit_segmented(&mut intake, "e1", 60, "east", "")
            .await
            .pool,
        "pools/east-warm"
    );
    assert_eq!(
        submit_segmented(&mut intake, "e2", 20, "east", "")
            .await
            .pool,
        "pools/east-cold"
    );
    assert_eq!(
        submit_segmented(&mut intake, "x", 90, "emea", "")
            .await
            .pool,
        "pools/unassigned-territory"
    );
    assert!(may_claim(&mut claim, "wes", "west-hot").await);
    assert!(
        !may_claim(&mut claim, "wil", "west-hot").await,
        "tiers apply inside the territory"
    );
    assert!(may_claim(&mut claim, "wil", "west-warm").await);
    assert!(
        !may_claim(&mut claim, "eli", "west-warm").await,
        "another territory's pools are closed"
    );
    let refused = claim
        .claim_next(authed(
            &rep("eli"),
            v1::ClaimNextRequest {
                pool: "pools/west-warm".into(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    claim
        .claim_next(authed(
            &rep("eli"),
            v1::ClaimNextRequest {
                pool: "pools/east-warm".into(),
            },
        ))
        .await
        .unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn h3_the_timed_pool_releases_every_two_hours_and_overflow_goes_to_the_territory_rep() {
    let cluster = start_with("h3-timed-pool-with-overflow").await;
    let mut intake = cluster.intake().await;
    // Monday 09:00 UTC: the release at 10:00 takes the waiting leads.
    let west = submit_segmented(&mut intake, "west", 60, "west", "").await;
    let east = submit_segmented(&mut intake, "east", 60, "east", "").await;
    assert_eq!(
        (west.state(), west.pool.as_str()),
        (v1::LeadState::Scheduled, "pools/two-hourly")
    );
    let t0 = cluster.env.clock.now();
    let early = run_job(&cluster, "release", t0 + Duration::minutes(59)).await;
    assert_eq!(early.affected, 0, "no release before 10:00");
    let release_at = t0 + Duration::hours(1);
    let released = run_job(&cluster, "release", release_at).await;
    assert_eq!(sorted(released.leads), names(&[&west, &east]));
    assert_eq!(lead(&cluster, &west).await.pooled_at, Some(release_at));
    assert_eq!(last_event(&cluster, &west).await.reason, "timed release");
    // 24 hours after the release nobody claimed them: each goes to the rep of its territory.
    let overflow = run_job(
        &cluster,
        "forced-assignment",
        release_at + Duration::hours(24),
    )
    .await;
    assert_eq!(sorted(overflow.leads), names(&[&west, &east]));
    assert_eq!(
        lead(&cluster, &west)
            .await
            .owner
            .as_ref()
            .map(|r| r.as_str()),
        Some("wes")
    );
    assert_eq!(
        lead(&cluster, &east)
            .await
            .owner
            .as_ref()
            .map(|r| r.as_str()),
        Some("eli")
    );
    cluster.stop().await;
}

#[tokio::test]
async fn x3_skills_decide_who_claims_and_the_contact_sla_counts_working_time() {
    let cluster = start_with("x3-working-time-and-skills").await;
    // Friday 13 March 2026, 17:00 in New York (22:00 in Berlin): an hour of working time left.
    cluster.env.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-03-13T21:00:00Z")
            .unwrap()
            .to_utc(),
    );
    let mut intake = cluster.intake().await;
    let mut claim = cluster.claim().await;
    let mut request = leadpool_e2e::lead_request("es", 60);
    request.source = "web".into();
    request.language = "es".into();
    request.product = "platform".into();
    let lead = submit_request(&mut intake, request).await.lead.unwrap();
    assert_eq!(lead.pool, "pools/warm");

    // Ben speaks no Spanish and does not sell the platform: the lead is not his to take.
    let refused = claim
        .claim_lead(claim_lead_request("ben", &lead))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert_eq!(crate::limits::reason(&refused), "SKILL_MISMATCH");
    let claimed = claim
        .claim_lead(claim_lead_request("nick", &lead))
        .await
        .unwrap()
        .into_inner()
        .lead
        .unwrap();
    // Two working hours: one on Friday until 18:00 in New York, one from 09:00 in Berlin on
    // Monday (08:00 UTC): due at 09:00 UTC.
    assert_eq!(
        claimed.contact_due_time.unwrap().seconds,
        chrono::DateTime::parse_from_rfc3339("2026-03-16T09:00:00Z")
            .unwrap()
            .timestamp()
    );
    // The enterprise pool asks for the platform: Ben (on call this week) may not, Nick may.
    assert!(!may_claim(&mut claim, "ben", "enterprise").await);
    assert!(may_claim(&mut claim, "nick", "enterprise").await);
    cluster.stop().await;
}
