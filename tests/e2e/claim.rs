//! Claiming: browsing, claiming, limits, releasing, and who may do it.

use std::time::Duration;

use chrono::Duration as Span;
use leadpool_domain::{LeadId, LeadState};
use leadpool_e2e::{Cluster, TestEnv, add_rep, claim_next, code_of, create_pool, rep, submit};
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_testing::{authed, free_local_addr, token};
use tonic::Code;
use tonic_types::StatusExt;

use crate::jobs::browse;

#[tokio::test]
async fn browsing_pages_through_a_pool_in_each_order_without_gaps_or_repeats() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    create_pool(&mut routing, "inbound", 0).await;
    add_rep(&mut routing, "alice", 0).await;
    let mut intake = cluster.intake().await;
    // Submitted a minute apart: age order is submission order.
    let scores = [40, 90, 65, 90, 25, 70, 55];
    let mut submitted = Vec::new();
    for (i, score) in scores.iter().enumerate() {
        submitted.push((
            submit(&mut intake, &format!("lead-{i}"), *score).await.name,
            *score,
        ));
        cluster.env.clock.advance(Span::minutes(1));
    }
    let by_age: Vec<String> = submitted.iter().map(|(n, _)| n.clone()).collect();
    let mut by_score = submitted.clone();
    // Highest score first; equal scores oldest first. Priority starts equal to the score.
    by_score.sort_by_key(|(_, score)| std::cmp::Reverse(*score));
    let by_score: Vec<String> = by_score.into_iter().map(|(n, _)| n).collect();

    // Every page size up to 3: pages that end inside a run of equal scores (the two 90s) and
    // pages that end between runs.
    for page_size in 1..=3 {
        for (order, expected) in [
            (v1::LeadOrder::Priority, &by_score),
            (v1::LeadOrder::Score, &by_score),
            (v1::LeadOrder::Age, &by_age),
        ] {
            let seen = browse(&cluster, "inbound", order, page_size).await;
            assert_eq!(&seen, expected, "order {order:?}, pages of {page_size}");
        }
    }
    cluster.stop().await;
}

#[tokio::test]
async fn a_claimed_lead_cannot_be_claimed_again() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    create_pool(&mut routing, "inbound", 0).await;
    add_rep(&mut routing, "alice", 0).await;
    add_rep(&mut routing, "bob", 0).await;
    let lead = submit(&mut cluster.intake().await, "form-1", 60).await;
    let mut claim = cluster.claim().await;
    let first = claim
        .claim_lead(authed(
            &rep("alice"),
            v1::ClaimLeadRequest {
                name: lead.name.clone(),
            },
        ))
        .await;
    assert_eq!(
        first.unwrap().into_inner().lead.unwrap().owner,
        "reps/alice"
    );

    let second = claim
        .claim_lead(authed(
            &rep("bob"),
            v1::ClaimLeadRequest {
                name: lead.name.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(second.code(), Code::FailedPrecondition);
    let violation = &second
        .get_details_precondition_failure()
        .unwrap()
        .violations[0];
    assert_eq!(violation.r#type, "LEAD_NOT_AVAILABLE");
    assert_eq!(violation.subject, lead.name);
    cluster.stop().await;
}

#[tokio::test]
async fn the_daily_limit_is_a_rolling_24_hour_window_with_a_retry_time() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    create_pool(&mut routing, "inbound", 0).await;
    add_rep(&mut routing, "carol", 2).await;
    let mut intake = cluster.intake().await;
    for i in 0..4 {
        submit(&mut intake, &format!("lead-{i}"), 60).await;
    }
    let mut claim = cluster.claim().await;
    claim_next(&mut claim, "carol", "inbound").await.unwrap();
    cluster.env.clock.advance(Span::hours(1));
    claim_next(&mut claim, "carol", "inbound").await.unwrap();
    cluster.env.clock.advance(Span::hours(1));

    let refused = claim_next(&mut claim, "carol", "inbound")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    // The first claim leaves the window 24h after it was made: 22h from now.
    assert_eq!(
        refused.get_details_retry_info().unwrap().retry_delay,
        Some(Duration::from_secs(22 * 3600))
    );
    let quota = refused.get_details_quota_failure().unwrap();
    assert_eq!(quota.violations[0].subject, "reps/carol");
    assert_eq!(
        refused.get_details_error_info().unwrap().reason,
        "DAILY_CLAIM_LIMIT"
    );

    // Not a midnight reset: one minute early is still refused, on time it is allowed.
    cluster
        .env
        .clock
        .advance(Span::hours(22) - Span::minutes(1));
    assert_eq!(
        claim_next(&mut claim, "carol", "inbound")
            .await
            .unwrap_err()
            .code(),
        Code::ResourceExhausted
    );
    cluster.env.clock.advance(Span::minutes(1));
    claim_next(&mut claim, "carol", "inbound").await.unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn releasing_a_lead_does_not_give_the_claim_back() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    create_pool(&mut routing, "inbound", 0).await;
    add_rep(&mut routing, "dave", 1).await;
    submit(&mut cluster.intake().await, "form-1", 60).await;
    let mut claim = cluster.claim().await;
    let lead = claim_next(&mut claim, "dave", "inbound").await.unwrap();
    claim
        .release_lead(authed(
            &rep("dave"),
            v1::ReleaseLeadRequest {
                name: lead.name.clone(),
                reason: "wrong territory".into(),
            },
        ))
        .await
        .unwrap();
    let again = claim_next(&mut claim, "dave", "inbound").await;
    assert_eq!(code_of(&again), Code::ResourceExhausted);
    cluster.stop().await;
}

#[tokio::test]
async fn a_released_lead_returns_to_its_pool_with_the_reason_in_its_history() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    create_pool(&mut routing, "inbound", 0).await;
    add_rep(&mut routing, "alice", 0).await;
    add_rep(&mut routing, "bob", 0).await;
    submit(&mut cluster.intake().await, "form-1", 60).await;
    let mut claim = cluster.claim().await;
    let lead = claim_next(&mut claim, "alice", "inbound").await.unwrap();

    let by_bob = claim
        .release_lead(authed(
            &rep("bob"),
            v1::ReleaseLeadRequest {
                name: lead.name.clone(),
                reason: "mine now".into(),
            },
        ))
        .await;
    assert_eq!(
        code_of(&by_bob),
        Code::PermissionDenied,
        "only the owner releases"
    );
    let no_reason = claim
        .release_lead(authed(
            &rep("alice"),
            v1::ReleaseLeadRequest {
                name: lead.name.clone(),
                reason: " ".into(),
            },
        ))
        .await;
    assert_eq!(code_of(&no_reason), Code::InvalidArgument);

    let released = claim
        .release_lead(authed(
            &rep("alice"),
            v1::ReleaseLeadRequest {
                name: lead.name.clone(),
                reason: "not my segment".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .lead
        .unwrap();
    assert_eq!(released.state(), v1::LeadState::Available);
    assert_eq!(released.owner, "");
    assert_eq!(
        claim_next(&mut claim, "bob", "inbound").await.unwrap().name,
        lead.name
    );

    let id = LeadId::from_name(&lead.name, "name").unwrap();
    let history = cluster
        .env
        .db
        .store()
        .lead_events(id, 0, 100)
        .await
        .unwrap();
    let release = history
        .iter()
        .find(|e| e.reason == "not my segment")
        .expect("release recorded");
    assert_eq!(
        (release.from.map(|s| s.as_str()), release.to.as_str()),
        (Some("claimed"), "available")
    );
    assert_eq!(release.rep.as_ref().map(|r| r.as_str()), Some("alice"));
    cluster.stop().await;
}

#[tokio::test]
async fn a_batch_claim_takes_the_top_leads_and_is_capped() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    create_pool(&mut routing, "inbound", 0).await;
    add_rep(&mut routing, "erin", 0).await;
    let mut intake = cluster.intake().await;
    for (i, score) in [30, 90, 60, 75].iter().enumerate() {
        submit(&mut intake, &format!("lead-{i}"), *score).await;
    }
    let mut claim = cluster.claim().await;
    let too_many = claim
        .claim_batch(authed(
            &rep("erin"),
            v1::ClaimBatchRequest {
                pool: "pools/inbound".into(),
                count: 11,
            },
        ))
        .await;
    assert_eq!(
        code_of(&too_many),
        Code::InvalidArgument,
        "the default cap is 10"
    );

    let batch = claim
        .claim_batch(authed(
            &rep("erin"),
            v1::ClaimBatchRequest {
                pool: "pools/inbound".into(),
                count: 3,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .leads;
    let scores: Vec<i32> = batch.iter().map(|l| l.score).collect();
    assert_eq!(scores, [90, 75, 60]);
    let rest = claim
        .claim_batch(authed(
            &rep("erin"),
            v1::ClaimBatchRequest {
                pool: "pools/inbound".into(),
                count: 5,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .leads;
    assert_eq!(rest.len(), 1, "fewer than asked when the pool has fewer");
    let empty = claim_next(&mut claim, "erin", "inbound").await.unwrap_err();
    assert_eq!(empty.code(), Code::FailedPrecondition);
    assert_eq!(
        empty.get_details_precondition_failure().unwrap().violations[0].r#type,
        "POOL_EMPTY"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn only_reps_claim_and_only_for_themselves() {
    let cluster = Cluster::start().await;
    create_pool(&mut cluster.routing().await, "inbound", 0).await;
    submit(&mut cluster.intake().await, "form-1", 60).await;
    let service = token("services/crm", &[leadpool_auth::Role::Service]);
    let result = cluster
        .claim()
        .await
        .claim_next(authed(
            &service,
            v1::ClaimNextRequest {
                pool: "pools/inbound".into(),
            },
        ))
        .await;
    assert_eq!(code_of(&result), Code::PermissionDenied);
    // A rep nobody registered cannot claim either.
    let unknown = claim_next(&mut cluster.claim().await, "mallory", "inbound")
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::FailedPrecondition);
    assert_eq!(
        unknown
            .get_details_precondition_failure()
            .unwrap()
            .violations[0]
            .r#type,
        "REP_NOT_REGISTERED"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn with_redis_unreachable_claims_fail_unavailable_and_the_lead_stays_in_its_pool() {
    let env = TestEnv::new().await;
    let routing = env.start_routing(env.routing_config()).await;
    let intake = env
        .start_intake(env.intake_config(&routing.endpoint()))
        .await;
    let mut config = env.claim_config();
    // Nothing listens here.
    config.redis.url = leadpool_config::Secret::new(format!("redis://{}", free_local_addr()));
    let claim_service = env.start_claim(config).await;
    let mut admin_routing = leadpool_proto::v1::routing_service_client::RoutingServiceClient::new(
        leadpool_e2e::channel(routing.addr).await,
    );
    create_pool(&mut admin_routing, "inbound", 0).await;
    add_rep(&mut admin_routing, "alice", 0).await;
    let lead = submit(
        &mut leadpool_proto::v1::intake_service_client::IntakeServiceClient::new(
            leadpool_e2e::channel(intake.addr).await,
        ),
        "form-1",
        60,
    )
    .await;

    let mut claim = ClaimServiceClient::new(leadpool_e2e::channel(claim_service.addr).await);
    let refused = claim_next(&mut claim, "alice", "inbound")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable);
    assert_eq!(
        refused.get_details_error_info().unwrap().metadata["dependency"],
        "redis"
    );
    let stored = env
        .db
        .store()
        .get_lead(LeadId::from_name(&lead.name, "name").unwrap())
        .await
        .unwrap();
    assert_eq!(stored.state, LeadState::Available);
    for service in [claim_service, intake, routing] {
        service.stop().await.unwrap();
    }
}
