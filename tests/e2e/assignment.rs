//! H4 push strategies: fair round-robin shared by routing replicas and kept across restarts,
//! weighted, territory; unavailable and inactive reps skipped; "nobody available" said so.

use std::collections::HashMap;

use leadpool_auth::Role;
use leadpool_e2e::{TestEnv, apply_policy, channel, lead_request};
use leadpool_proto::v1;
use leadpool_proto::v1::intake_service_client::IntakeServiceClient;
use leadpool_proto::v1::routing_service_client::RoutingServiceClient;
use leadpool_testing::{authed, free_local_addr, token};
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

fn policy(strategy: &str, reps: &str) -> String {
    format!(
        "apiVersion: leadpool.dev/v1\nkind: Policy\nreps:\n{reps}pools: [{{ id: overflow, type: open }}]\n\
         routing:\n  rules: [{{ name: push, assign: {{ strategy: {strategy} }} }}]\n"
    )
}

const THREE_REPS: &str = "  - { id: ann, role: sdr, regions: [west], performance: top }\n  - { id: ben, role: sdr, regions: [east] }\n  - { id: cid, role: sdr, regions: [west], performance: below-quota }\n";

/// Stores `count` leads without routing them: intake points at a routing address where nothing
/// listens, so the leads wait as `received`.
async fn waiting_leads(env: &TestEnv, count: usize, region: &str) -> Vec<String> {
    let intake = env
        .start_intake(env.intake_config(&format!("http://{}", free_local_addr())))
        .await;
    let mut client = IntakeServiceClient::new(channel(intake.addr).await);
    let service = token("services/web-forms", &[Role::Service]);
    let mut names = Vec::new();
    for i in 0..count {
        let mut request = lead_request(&format!("{region}-{i}"), 50);
        request.region = region.to_owned();
        names.push(
            client
                .submit_lead(authed(&service, request))
                .await
                .unwrap()
                .into_inner()
                .lead
                .unwrap()
                .name,
        );
    }
    intake.stop().await.unwrap();
    names
}

async fn route(
    routing: &mut RoutingServiceClient<Channel>,
    name: &str,
) -> Result<v1::Lead, tonic::Status> {
    routing
        .route_lead(authed(
            &token("services/intake", &[Role::Service]),
            v1::RouteLeadRequest {
                name: name.to_owned(),
            },
        ))
        .await
        .map(|r| r.into_inner().lead.unwrap())
}

fn tally(leads: &[v1::Lead]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for lead in leads {
        assert_eq!(lead.state(), v1::LeadState::Assigned);
        *counts.entry(lead.owner.clone()).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn round_robin_stays_fair_across_two_routing_replicas_and_a_restart() {
    let env = TestEnv::new().await;
    let first = env.start_routing(env.routing_config()).await;
    let second = env.start_routing(env.routing_config()).await;
    let mut a = RoutingServiceClient::new(channel(first.addr).await);
    let b = RoutingServiceClient::new(channel(second.addr).await);
    apply_policy(&mut a, &policy("round-robin", THREE_REPS)).await;
    let names = waiting_leads(&env, 61, "west").await;

    // The first 40 leads race through both replicas at once.
    let racing: Vec<_> = names[..40]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut client = if i % 2 == 0 { a.clone() } else { b.clone() };
            let name = name.clone();
            tokio::spawn(async move { route(&mut client, &name).await.unwrap() })
        })
        .collect();
    let mut routed = Vec::new();
    for handle in racing {
        routed.push(handle.await.unwrap());
    }
    // Both replicas stop; a fresh one continues where they left off.
    first.stop().await.unwrap();
    second.stop().await.unwrap();
    let restarted = env.start_routing(env.routing_config()).await;
    let mut c = RoutingServiceClient::new(channel(restarted.addr).await);
    for name in &names[40..] {
        routed.push(route(&mut c, name).await.unwrap());
    }
    let counts = tally(&routed);
    assert_eq!(counts.len(), 3, "{counts:?}");
    let (min, max) = (
        counts.values().min().unwrap(),
        counts.values().max().unwrap(),
    );
    assert!(max - min <= 1, "counts differ by at most one: {counts:?}");
    assert_eq!(counts.values().sum::<usize>(), 61);
    restarted.stop().await.unwrap();
}

#[tokio::test]
async fn weighted_assignment_favours_top_performers_in_proportion() {
    let env = TestEnv::new().await;
    let routing = env.start_routing(env.routing_config()).await;
    let mut client = RoutingServiceClient::new(channel(routing.addr).await);
    // Default weights by performance: top 3, on-quota 2, below-quota 1.
    apply_policy(&mut client, &policy("weighted", THREE_REPS)).await;
    let mut routed = Vec::new();
    for name in waiting_leads(&env, 60, "west").await {
        routed.push(route(&mut client, &name).await.unwrap());
    }
    let counts = tally(&routed);
    assert_eq!(
        (counts["reps/ann"], counts["reps/ben"], counts["reps/cid"]),
        (30, 20, 10)
    );
    routing.stop().await.unwrap();
}

#[tokio::test]
async fn territory_assignment_goes_only_to_reps_covering_the_region_and_says_when_nobody_does() {
    let env = TestEnv::new().await;
    let routing = env.start_routing(env.routing_config()).await;
    let mut client = RoutingServiceClient::new(channel(routing.addr).await);
    apply_policy(&mut client, &policy("territory", THREE_REPS)).await;
    let mut routed = Vec::new();
    for name in waiting_leads(&env, 10, "west").await {
        routed.push(route(&mut client, &name).await.unwrap());
    }
    let counts = tally(&routed);
    assert_eq!(
        (counts["reps/ann"], counts["reps/cid"]),
        (5, 5),
        "only west reps, in turn"
    );

    let apac = waiting_leads(&env, 1, "apac").await;
    let refused = route(&mut client, &apac[0]).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(
        refused
            .get_details_precondition_failure()
            .unwrap()
            .violations[0]
            .r#type,
        "NO_REP_AVAILABLE"
    );
    assert!(
        refused
            .message()
            .contains("reps/ben does not cover region apac"),
        "{}",
        refused.message()
    );
    routing.stop().await.unwrap();
}

#[tokio::test]
async fn unavailable_and_inactive_reps_are_skipped_and_the_fallback_pool_catches_the_rest() {
    let env = TestEnv::new().await;
    let routing = env.start_routing(env.routing_config()).await;
    let mut client = RoutingServiceClient::new(channel(routing.addr).await);
    let reps = "  - { id: ann, role: sdr, unavailable: [{ from: 2026-03-01, to: 2026-03-03, reason: out of office }] }\n  - { id: ben, role: sdr, active: false }\n";
    let yaml = policy("round-robin", reps).replace(
        "assign: { strategy: round-robin }",
        "assign: { strategy: round-robin, fallbackPool: overflow }",
    );
    apply_policy(&mut client, &yaml).await;
    let names = waiting_leads(&env, 1, "west").await;
    let lead = route(&mut client, &names[0]).await.unwrap();
    assert_eq!(
        (lead.state(), lead.pool.as_str()),
        (v1::LeadState::Available, "pools/overflow")
    );
    // Once ann is back (the clock passes her absence) she receives leads again.
    env.clock.advance(chrono::Duration::days(2));
    let names = waiting_leads(&env, 1, "east").await;
    assert_eq!(
        route(&mut client, &names[0]).await.unwrap().owner,
        "reps/ann"
    );
    routing.stop().await.unwrap();
}
