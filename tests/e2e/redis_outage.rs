//! Redis unreachable mid-test (a throwaway redis-server of the test's own is killed, then
//! restarted empty): claiming pauses with UNAVAILABLE because limits cannot be checked;
//! browsing, releasing, contacts and the rep's status (from the lead history) keep working;
//! no lead is lost or double-claimed; when Redis is back, claiming resumes and the limits
//! still count the claims made before (the claim logs are rebuilt from the lead history).

use leadpool_config::Secret;
use leadpool_e2e::{TestEnv, apply_policy, channel, rep};
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_proto::v1::routing_service_client::RoutingServiceClient;
use leadpool_testing::{ThrowawayRedis, authed};
use tonic::Code;
use tonic_types::StatusExt;

use leadpool_e2e::claim_next;

use crate::limits::reason;

const POLICY: &str = "apiVersion: leadpool.dev/v1\nkind: Policy\n\
    reps: [{ id: alice, role: sdr, limits: { perDay: 3 } }]\n\
    pools: [{ id: inbound, type: open }]\nrouting: { default: { pool: inbound } }\n";

#[tokio::test]
async fn claims_pause_while_redis_is_down_and_resume_with_their_counts_when_it_is_back() {
    let mut redis = ThrowawayRedis::start();
    let env = TestEnv::new().await;
    let routing = env.start_routing(env.routing_config()).await;
    let intake = env
        .start_intake(env.intake_config(&routing.endpoint()))
        .await;
    let mut config = env.claim_config();
    config.redis.url = Secret::new(redis.url());
    let claim_service = env.start_claim(config).await;
    apply_policy(
        &mut RoutingServiceClient::new(channel(routing.addr).await),
        POLICY,
    )
    .await;
    let mut intake_client =
        v1::intake_service_client::IntakeServiceClient::new(channel(intake.addr).await);
    for i in 0..5 {
        leadpool_e2e::submit(&mut intake_client, &format!("lead-{i}"), 50).await;
    }
    let mut claim = ClaimServiceClient::new(channel(claim_service.addr).await);
    let first = claim_next(&mut claim, "alice", "inbound").await.unwrap();

    redis.stop();
    for _ in 0..3 {
        let refused = claim_next(&mut claim, "alice", "inbound")
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
        assert_eq!(
            refused.get_details_error_info().unwrap().metadata["dependency"],
            "redis"
        );
        assert!(
            refused.message().contains("claiming is paused"),
            "{refused:?}"
        );
    }
    // The rep still sees where she stands, from the lead history.
    let standing = claim
        .get_rep_status(authed(&rep("alice"), v1::GetRepStatusRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(standing.limits_from_history);
    let daily = &standing.limits[0];
    assert_eq!(
        (daily.limit.as_str(), daily.used, daily.remaining),
        ("DAILY_CLAIM_LIMIT", 1, 2)
    );
    assert_eq!(standing.open_leads.len(), 1);
    // Everything that needs no limit keeps working.
    let browsed = claim
        .list_pool_leads(authed(
            &rep("alice"),
            v1::ListPoolLeadsRequest {
                parent: "pools/inbound".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .leads;
    assert_eq!(browsed.len(), 4, "the refused claims took nothing");
    claim
        .release_lead(authed(
            &rep("alice"),
            v1::ReleaseLeadRequest {
                name: first.name.clone(),
                reason: "wrong contact".into(),
            },
        ))
        .await
        .unwrap();

    // Back, but empty: the claim before the outage still counts against the daily 3.
    redis.restart();
    claim_next(&mut claim, "alice", "inbound").await.unwrap();
    claim_next(&mut claim, "alice", "inbound").await.unwrap();
    let refused = claim_next(&mut claim, "alice", "inbound")
        .await
        .unwrap_err();
    assert_eq!(reason(&refused), "DAILY_CLAIM_LIMIT", "{refused:?}");

    // Nothing lost, nothing claimed twice: 5 leads, 2 held by alice, 3 available, and the
    // history holds exactly the 3 successful claims.
    let store = env.db.store();
    let states: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, count(*) FROM leads GROUP BY state ORDER BY state")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(
        states,
        [("available".to_owned(), 3), ("claimed".to_owned(), 2)]
    );
    let (claims,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM lead_events WHERE to_state = 'claimed'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(claims, 3);
    for service in [claim_service, intake, routing] {
        service.stop().await.unwrap();
    }
}
