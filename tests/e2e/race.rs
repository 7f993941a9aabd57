//! Many reps racing for the same leads through two claim-service instances: no lead may ever
//! be given to two reps, every win is in the history exactly once, and the pool adds up.

use std::collections::{HashMap, HashSet};

use futures::future::join_all;
use leadpool_auth::Role;
use leadpool_domain::LeadId;
use leadpool_e2e::{TestEnv, add_rep, channel, create_pool, rep, submit};
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_proto::v1::intake_service_client::IntakeServiceClient;
use leadpool_proto::v1::routing_service_client::RoutingServiceClient;
use leadpool_testing::authed;
use tonic::Code;

const LEADS: usize = 120;
const CLAIMERS: usize = 32;
const ATTEMPTS_PER_CLAIMER: usize = 10;

/// One claimer's successful claims: (lead name, rep).
type Wins = Vec<(String, String)>;

async fn claimer(
    index: usize,
    mut claim: ClaimServiceClient<tonic::transport::Channel>,
    lead_names: Vec<String>,
) -> Wins {
    let me = format!("rep-{index}");
    let token = rep(&me);
    let mut wins = Wins::new();
    for attempt in 0..ATTEMPTS_PER_CLAIMER {
        let outcome = match (index + attempt) % 3 {
            // Everyone aims ClaimLead at the same few leads, to force head-on collisions.
            0 => {
                let name = lead_names[(attempt * 7 + index / 4) % lead_names.len()].clone();
                claim
                    .claim_lead(authed(&token, v1::ClaimLeadRequest { name }))
                    .await
                    .map(|r| r.into_inner().lead.into_iter().collect::<Vec<_>>())
            }
            1 => claim
                .claim_next(authed(
                    &token,
                    v1::ClaimNextRequest {
                        pool: "pools/race".into(),
                    },
                ))
                .await
                .map(|r| r.into_inner().lead.into_iter().collect()),
            _ => claim
                .claim_batch(authed(
                    &token,
                    v1::ClaimBatchRequest {
                        pool: "pools/race".into(),
                        count: 3,
                    },
                ))
                .await
                .map(|r| r.into_inner().leads),
        };
        match outcome {
            Ok(leads) => wins.extend(leads.into_iter().map(|lead| {
                assert_eq!(
                    lead.owner,
                    format!("reps/{me}"),
                    "a claim answers with the claimer as owner"
                );
                (lead.name, me.clone())
            })),
            // Losing a race or finding the pool drained are the only acceptable refusals.
            Err(status) => assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}"),
        }
    }
    wins
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_claimers_on_two_instances_never_win_the_same_lead() {
    let env = TestEnv::new().await;
    let routing = env.start_routing(env.routing_config()).await;
    let intake = env
        .start_intake(env.intake_config(&routing.endpoint()))
        .await;
    let claim_a = env.start_claim(env.claim_config()).await;
    let claim_b = env.start_claim(env.claim_config()).await;

    let mut routing_client = RoutingServiceClient::new(channel(routing.addr).await);
    create_pool(&mut routing_client, "race", 0).await;
    for i in 0..CLAIMERS {
        add_rep(&mut routing_client, &format!("rep-{i}"), 1000).await;
    }
    let mut intake_client = IntakeServiceClient::new(channel(intake.addr).await);
    let mut lead_names = Vec::new();
    for i in 0..LEADS {
        lead_names.push(
            submit(
                &mut intake_client,
                &format!("race-{i}"),
                20 + (i % 80) as i32,
            )
            .await
            .name,
        );
    }
    let channels = [channel(claim_a.addr).await, channel(claim_b.addr).await];

    let claimers = (0..CLAIMERS).map(|i| {
        let client = ClaimServiceClient::new(channels[i % 2].clone());
        // ClaimLead targets come from the first dozen leads, so collisions are frequent.
        tokio::spawn(claimer(i, client, lead_names[..12].to_vec()))
    });
    let wins: Wins = join_all(claimers)
        .await
        .into_iter()
        .flat_map(|joined| joined.expect("claimer did not panic"))
        .collect();

    // No lead went to two reps (nor twice to one).
    let mut winner_of: HashMap<&str, &str> = HashMap::new();
    for (lead, rep) in &wins {
        assert!(
            winner_of.insert(lead, rep).is_none(),
            "{lead} was claimed twice"
        );
    }
    assert!(
        wins.len() >= LEADS / 2,
        "the race claimed too little to prove anything: {}",
        wins.len()
    );

    // Every win is in the history exactly once, by its winner; no other claim was recorded.
    let store = env.db.store();
    let claimed_events: Vec<(uuid::Uuid, Option<String>)> =
        sqlx::query_as("SELECT lead_id, rep_id FROM lead_events WHERE to_state = 'claimed'")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(claimed_events.len(), wins.len());
    let mut recorded = HashSet::new();
    for (lead_id, rep_id) in &claimed_events {
        let name = LeadId(*lead_id).name();
        assert!(recorded.insert(name.clone()), "{name} has two claim events");
        assert_eq!(
            winner_of.get(name.as_str()).copied(),
            rep_id.as_deref(),
            "history names the winner"
        );
    }

    // Every lead is either claimed by its winner or still available: nothing lost.
    let (claimed, available): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state = 'claimed'), count(*) FILTER (WHERE state = 'available') FROM leads",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(claimed as usize, wins.len());
    assert_eq!(claimed + available, LEADS as i64);
    let service = leadpool_testing::token("services/ops", &[Role::Service]);
    let pool = routing_client
        .get_pool(authed(
            &service,
            v1::GetPoolRequest {
                name: "pools/race".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .pool
        .unwrap();
    assert_eq!(pool.available_leads, available);

    for service in [claim_a, claim_b, intake, routing] {
        service.stop().await.unwrap();
    }
}
