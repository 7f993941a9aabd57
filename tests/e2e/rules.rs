//! The brief's rules without loopholes (issue 11): returning contacts, retired pools, duty-aware
//! push, ratios that count work, performance from results, one lifecycle, the weekly cleanup's
//! proposal — each through the API, as users see it.

use chrono::Duration;
use leadpool_e2e::{Cluster, admin, apply_policy, rep, submit_request};
use leadpool_proto::v1;
use leadpool_testing::authed;

const ONE_POOL: &str = r"
apiVersion: leadpool.dev/v1
kind: Policy
reps:
  - { id: alice, role: sdr }
pools:
  - { id: inbound, type: open }
routing:
  default: { pool: inbound }
";

fn inquiry(key: &str, email: &str, score: i32) -> v1::SubmitLeadRequest {
    let mut request = leadpool_e2e::lead_request(key, score);
    request.contact.as_mut().unwrap().email = email.to_owned();
    request
}

async fn get(cluster: &Cluster, lead: &str) -> v1::GetLeadResponse {
    cluster
        .claim()
        .await
        .get_lead(authed(
            &admin(),
            v1::GetLeadRequest {
                name: lead.to_owned(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

async fn close(cluster: &Cluster, who: &str, lead: &str, outcome: v1::Outcome, deal: i64) {
    cluster
        .claim()
        .await
        .record_outcome(authed(
            &rep(who),
            v1::RecordOutcomeRequest {
                name: lead.to_owned(),
                outcome: outcome.into(),
                deal_size_minor: deal,
                note: String::new(),
            },
        ))
        .await
        .unwrap();
}

pub async fn claim_lead(cluster: &Cluster, who: &str, lead: &str) -> v1::Lead {
    cluster
        .claim()
        .await
        .claim_lead(authed(
            &rep(who),
            v1::ClaimLeadRequest {
                name: lead.to_owned(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .lead
        .unwrap()
}

#[tokio::test]
async fn a_returning_customer_is_a_new_lead_pointing_at_her_closed_one() {
    let cluster = Cluster::start().await;
    for action in ["reject", "merge"] {
        let policy = format!("{ONE_POOL}duplicates: {{ action: {action} }}\n");
        apply_policy(&mut cluster.routing().await, &policy).await;
        let email = format!("returning-{action}@customer.example");
        let mut intake = cluster.intake().await;
        let first = submit_request(&mut intake, inquiry(&format!("{action}-1"), &email, 60))
            .await
            .lead
            .unwrap();
        claim_lead(&cluster, "alice", &first.name).await;
        close(
            &cluster,
            "alice",
            &first.name,
            v1::Outcome::Customer,
            120_000,
        )
        .await;

        // A year later she asks for a demo again: a new lead, in the pool, not a duplicate.
        cluster.env.clock.advance(Duration::days(365));
        let again = submit_request(&mut intake, inquiry(&format!("{action}-2"), &email, 70)).await;
        assert!(again.created, "{action}: a new lead");
        assert!(again.duplicate_of.is_empty(), "{action}: not a duplicate");
        let lead = again.lead.unwrap();
        assert_eq!(
            (
                lead.state(),
                lead.pool.as_str(),
                lead.previous_lead.as_str()
            ),
            (
                v1::LeadState::Available,
                "pools/inbound",
                first.name.as_str()
            ),
            "{action}"
        );
        let looked_up = get(&cluster, &lead.name).await.lead.unwrap();
        assert_eq!(looked_up.previous_lead, first.name);
        let history = cluster
            .claim()
            .await
            .list_lead_events(authed(
                &admin(),
                v1::ListLeadEventsRequest {
                    parent: lead.name.clone(),
                    page_size: 10,
                    page_token: String::new(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .events;
        assert_eq!(
            history[0].reason,
            format!("returning contact: earlier lead {}", first.name)
        );
    }
    cluster.stop().await;
}

#[tokio::test]
async fn a_higher_scoring_duplicate_raises_the_lead_it_merges_into() {
    let cluster = Cluster::start().await;
    let policy = format!("{ONE_POOL}duplicates: {{ action: merge }}\n");
    apply_policy(&mut cluster.routing().await, &policy).await;
    let mut intake = cluster.intake().await;
    let lead = submit_request(&mut intake, inquiry("m-1", "ada@merge.example", 40))
        .await
        .lead
        .unwrap();
    // A lower score leaves it alone; a higher one raises score and priority by as much.
    submit_request(&mut intake, inquiry("m-2", "ada@merge.example", 30)).await;
    let same = get(&cluster, &lead.name).await.lead.unwrap();
    assert_eq!((same.score, same.priority), (40, 40));
    let raised = submit_request(&mut intake, inquiry("m-3", "ada@merge.example", 85)).await;
    assert_eq!(raised.duplicate_of, lead.name);
    let after = get(&cluster, &lead.name).await;
    let merged = after.lead.unwrap();
    assert_eq!((merged.score, merged.priority), (85, 85));
    let change = after.last_change.unwrap();
    assert_eq!(
        (change.kind.as_str(), change.reason.as_str()),
        (
            "lead.merged",
            "merged duplicate submission m-3 (score 40 → 85)"
        )
    );
    cluster.stop().await;
}

#[tokio::test]
async fn dropping_a_pool_that_holds_leads_is_refused_unless_the_policy_drains_it() {
    let cluster = Cluster::start().await;
    let two_pools = r"
apiVersion: leadpool.dev/v1
kind: Policy
reps:
  - { id: alice, role: sdr }
pools:
  - { id: old, type: open }
  - { id: new, type: open }
routing:
  default: { pool: old }
";
    let mut routing = cluster.routing().await;
    apply_policy(&mut routing, two_pools).await;
    let mut intake = cluster.intake().await;
    let mut leads = Vec::new();
    for i in 0..3 {
        leads.push(
            submit_request(
                &mut intake,
                leadpool_e2e::lead_request(&format!("o-{i}"), 50),
            )
            .await
            .lead
            .unwrap(),
        );
    }
    let held = claim_lead(&cluster, "alice", &leads[0].name).await;
    let without_old = two_pools
        .replace("  - { id: old, type: open }\n", "")
        .replace("default: { pool: old }", "default: { pool: new }");
    let apply = |document: String, validate_only: bool| v1::ApplyPolicyRequest {
        document,
        validate_only,
        expected_version: 0,
    };

    // Refused, naming the pool and what it holds; nothing changes.
    let refused = routing
        .apply_policy(authed(&admin(), apply(without_old.clone(), false)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert!(
        refused
            .message()
            .contains("pools/old still holds 3 leads (2 available, 1 claimed)"),
        "{}",
        refused.message()
    );
    let current = routing
        .get_policy(authed(&admin(), v1::GetPolicyRequest { version: 0 }))
        .await
        .unwrap()
        .into_inner()
        .policy
        .unwrap();
    assert_eq!(current.version, 1, "nothing applied");

    // With retiredPools the dry run says what would move, and the apply moves it.
    let draining = without_old + "retiredPools: [{ id: old, drainTo: new }]\n";
    let preview = routing
        .apply_policy(authed(&admin(), apply(draining.clone(), true)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        preview.drains,
        [v1::PoolDrain {
            pool: "pools/old".into(),
            drain_to: "pools/new".into(),
            leads: 3
        }]
    );
    assert!(!preview.applied);
    assert_eq!(
        get(&cluster, &leads[1].name).await.lead.unwrap().pool,
        "pools/old"
    );
    let applied = routing
        .apply_policy(authed(&admin(), apply(draining, false)))
        .await
        .unwrap()
        .into_inner();
    assert!(applied.applied);
    assert_eq!(applied.drains.len(), 1);
    for lead in &leads {
        let moved = get(&cluster, &lead.name).await;
        let after = moved.lead.unwrap();
        assert_eq!(after.pool, "pools/new", "{}", lead.name);
        let change = moved.last_change.unwrap();
        assert_eq!(
            (change.kind.as_str(), change.reason.as_str()),
            ("lead.drained", "pools/old retired: drained to pools/new")
        );
    }
    // The claimed one stays hers, now in the new pool; the others can be claimed from it.
    let kept = get(&cluster, &held.name).await.lead.unwrap();
    assert_eq!(
        (kept.state(), kept.owner.as_str()),
        (v1::LeadState::Claimed, "reps/alice")
    );
    let next = leadpool_e2e::claim_next(&mut cluster.claim().await, "alice", "new")
        .await
        .unwrap();
    assert_eq!(next.pool, "pools/new");
    cluster.stop().await;
}

const RATED: &str = r"
apiVersion: leadpool.dev/v1
kind: Policy
reps:
  - { id: ann, role: sdr }
  - { id: ben, role: sdr }
  - { id: cid, role: sdr }
  - { id: dee, role: sdr }
  - { id: eve, role: sdr, performance: on-quota }
pools:
  - { id: hot, type: open, access: [{ name: top-performers, performance: [top] }] }
  - { id: cold, type: open }
performance: { measure: opportunity-rate, window: 30d, topPercent: 25, minClaims: 2 }
routing:
  default: { pool: cold }
";

async fn explain_hot(cluster: &Cluster, who: &str) -> v1::ExplainAccessResponse {
    cluster
        .claim()
        .await
        .explain_access(authed(
            &rep(who),
            v1::ExplainAccessRequest {
                rep: String::new(),
                pool: "pools/hot".into(),
                at: None,
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn the_top_quarter_by_opportunity_rate_reaches_the_hot_pool_once_the_scheduler_rates_them() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, RATED).await;
    let mut intake = cluster.intake().await;
    for i in 0..9 {
        leadpool_e2e::submit(&mut intake, &format!("cold-{i}"), 40).await;
    }
    let mut claim = cluster.claim().await;
    // ann turns both her claims into opportunities, eve (labelled on-quota by hand) too, ben one of
    // two; cid and dee none — and dee made a single claim, too few to be rated.
    for (who, claims, converted) in [
        ("ann", 2, 2),
        ("ben", 2, 1),
        ("cid", 2, 0),
        ("dee", 1, 0),
        ("eve", 2, 2),
    ] {
        for n in 0..claims {
            let lead = leadpool_e2e::claim_next(&mut claim, who, "cold")
                .await
                .unwrap();
            if n < converted {
                close(&cluster, who, &lead.name, v1::Outcome::Opportunity, 0).await;
            }
        }
    }
    let before = explain_hot(&cluster, "ann").await;
    assert!(!before.allowed);
    let performance = before.performance.unwrap();
    assert_eq!(
        (performance.tier.as_str(), performance.source.as_str()),
        ("on-quota", "default")
    );
    assert!(performance.rating.is_none());

    let now = leadpool_domain::Clock::now(&cluster.env.clock);
    let run = crate::jobs::run_job(&cluster, "performance-rating", now).await;
    assert_eq!(
        run.affected, 4,
        "ann, ben, cid, eve; dee made too few claims"
    );

    let ann = explain_hot(&cluster, "ann").await;
    assert!(ann.allowed, "{:?}", ann.reasons);
    let performance = ann.performance.unwrap();
    assert_eq!(
        (performance.tier.as_str(), performance.source.as_str()),
        ("top", "computed")
    );
    let rating = performance.rating.unwrap();
    assert_eq!((rating.figure, rating.claims), (1.0, 2));
    assert_eq!(
        rating.basis,
        "opportunity rate 100% (2 of 2 claims in 30d): top 25% of 4 rated reps (from 100%)"
    );
    let ben = explain_hot(&cluster, "ben").await;
    assert!(!ben.allowed);
    let performance = ben.performance.unwrap();
    assert_eq!(performance.tier, "on-quota");
    assert_eq!(performance.rating.unwrap().figure, 0.5);
    // A label set in the policy wins; the rating still shows the figure.
    let eve = explain_hot(&cluster, "eve").await.performance.unwrap();
    assert_eq!(
        (eve.tier.as_str(), eve.source.as_str()),
        ("on-quota", "policy")
    );
    assert_eq!(eve.rating.unwrap().tier, "top");
    let dee = explain_hot(&cluster, "dee").await.performance.unwrap();
    assert_eq!((dee.source.as_str(), dee.rating), ("default", None));
    // GetRep shows the same.
    let rep_view = cluster
        .routing()
        .await
        .get_rep(authed(
            &admin(),
            v1::GetRepRequest {
                name: "reps/ann".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rep_view.rep.unwrap().performance.unwrap().tier, "top");
    cluster.stop().await;
}

const LOW_VOLUME: &str = r"
apiVersion: leadpool.dev/v1
kind: Policy
reps: [{ id: ana, role: sdr }]
pools:
  - { id: west, type: segmented }
  - { id: tiny, type: segmented }
health: { lowVolumePerWeek: 3 }
routing:
  rules: [{ name: north, match: { regions: [north] }, pool: tiny }]
  default: { pool: west }
";

async fn proposal(cluster: &Cluster) -> v1::CleanupProposal {
    cluster
        .scheduler()
        .await
        .get_cleanup_proposal(authed(&admin(), v1::GetCleanupProposalRequest {}))
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn the_weekly_cleanup_proposes_merging_a_low_volume_pool_and_changes_nothing_until_applied() {
    let cluster = Cluster::start().await;
    let version = apply_policy(&mut cluster.routing().await, LOW_VOLUME).await;
    let mut intake = cluster.intake().await;
    for i in 0..4 {
        leadpool_e2e::submit_segmented(&mut intake, &format!("w{i}"), 50, "west", "web").await;
    }
    let northern = leadpool_e2e::submit_segmented(&mut intake, "n0", 50, "north", "web").await;
    assert_eq!(northern.pool, "pools/tiny");
    let none = cluster
        .scheduler()
        .await
        .get_cleanup_proposal(authed(&admin(), v1::GetCleanupProposalRequest {}))
        .await
        .unwrap_err();
    assert_eq!(
        none.code(),
        tonic::Code::NotFound,
        "no proposal before the first cleanup"
    );

    let now = leadpool_domain::Clock::now(&cluster.env.clock);
    crate::jobs::run_job(&cluster, "weekly-cleanup", now).await;
    let proposed = proposal(&cluster).await;
    let merges: Vec<(&str, &str, i64)> = proposed
        .merges
        .iter()
        .map(|m| (m.pool.as_str(), m.into.as_str(), m.new_leads))
        .collect();
    assert_eq!(merges, [("pools/tiny", "pools/west", 1)]);
    assert_eq!((proposed.policy_version, proposed.stale), (version, false));
    let changes: Vec<(v1::policy_change::Kind, &str)> = proposed
        .changes
        .iter()
        .map(|c| (c.kind(), c.path.as_str()))
        .collect();
    assert!(
        changes.contains(&(v1::policy_change::Kind::Removed, "pools/tiny")),
        "{changes:?}"
    );
    assert!(
        changes.contains(&(v1::policy_change::Kind::Changed, "routing.rules/north")),
        "{changes:?}"
    );

    // Nothing changed in force: the pool and its lead are where they were.
    let in_force = cluster
        .routing()
        .await
        .get_policy(authed(&admin(), v1::GetPolicyRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(in_force.policy.unwrap().version, version);
    assert_eq!(
        get(&cluster, &northern.name).await.lead.unwrap().pool,
        "pools/tiny"
    );

    // An ops team applies the document: the pool's lead drains into west, and so do new ones.
    let applied = apply_policy(&mut cluster.routing().await, &proposed.document).await;
    assert_eq!(applied, version + 1);
    let drained = get(&cluster, &northern.name).await;
    assert_eq!(drained.lead.unwrap().pool, "pools/west");
    assert_eq!(drained.last_change.unwrap().kind, "lead.drained");
    let later = leadpool_e2e::submit_segmented(&mut intake, "n1", 50, "north", "web").await;
    assert_eq!(later.pool, "pools/west");
    assert!(
        proposal(&cluster).await.stale,
        "the proposal's version is no longer in force"
    );
    cluster.stop().await;
}

const UNBALANCED: &str = r"
apiVersion: leadpool.dev/v1
kind: Policy
reps: [{ id: ana, role: sdr }]
pools:
  - { id: west, type: segmented }
  - { id: east, type: segmented }
health: { lowVolumePerWeek: 0 }
routing:
  rules:
    - { name: west, match: { regions: [ca, wa, or] }, pool: west }
    - { name: east, match: { regions: [ny] }, pool: east }
";

/// Issue 21.4: an unbalanced segmentation becomes a proposal too — routing values moved from
/// the busy segment's rule to the quiet one's, with the shares of the last weeks' inflow before
/// and after, which add up — and nothing changes until it is applied.
#[tokio::test]
async fn the_weekly_cleanup_proposes_evening_out_unbalanced_segments() {
    let cluster = Cluster::start().await;
    let version = apply_policy(&mut cluster.routing().await, UNBALANCED).await;
    let mut intake = cluster.intake().await;
    for (region, count) in [("ca", 12), ("wa", 9), ("or", 3), ("ny", 2)] {
        for i in 0..count {
            leadpool_e2e::submit_segmented(&mut intake, &format!("{region}{i}"), 50, region, "web")
                .await;
        }
    }
    let now = leadpool_domain::Clock::now(&cluster.env.clock);
    crate::jobs::run_job(&cluster, "weekly-cleanup", now).await;
    let proposed = proposal(&cluster).await;
    assert!(proposed.merges.is_empty());
    assert!(!proposed.moves.is_empty());
    assert!(proposed.moves.iter().all(|m| (
        m.criterion.as_str(),
        m.from_pool.as_str(),
        m.to_pool.as_str()
    ) == ("regions", "pools/west", "pools/east")));
    let total =
        |leads: fn(&v1::SegmentShare) -> i64| proposed.shares.iter().map(leads).sum::<i64>();
    assert_eq!(total(|s| s.leads_before), 26, "every lead counted once");
    assert_eq!(total(|s| s.leads_after), 26);
    let percent: f64 = proposed.shares.iter().map(|s| s.percent_after).sum();
    assert!((percent - 100.0).abs() < 0.2, "{percent}");
    let west = &proposed.shares[0];
    let moved: i64 = proposed.moves.iter().map(|m| m.leads).sum();
    assert_eq!(
        (west.pool.as_str(), west.leads_before - west.leads_after),
        ("pools/west", moved)
    );
    // The document validates and is not in force until someone applies it.
    let dry = cluster
        .routing()
        .await
        .apply_policy(authed(
            &admin(),
            v1::ApplyPolicyRequest {
                document: proposed.document.clone(),
                validate_only: true,
                expected_version: version,
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(
        dry.changes.iter().any(|c| c.path == "routing.rules/east"),
        "{:?}",
        dry.changes
    );
    assert_eq!(dry.policy.unwrap().version, version);
    cluster.stop().await;
}
