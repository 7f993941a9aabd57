//! Many reps racing for the same leads through two claim-service instances: no lead may ever
//! be given to two reps, every win is in the history exactly once, and the pool adds up. And
//! reps claiming while the weekly cleanup rejects duplicates: a lead won is never rejected.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use futures::future::join_all;
use leadpool_auth::Role;
use leadpool_domain::Clock;
use leadpool_domain::LeadId;
use leadpool_e2e::{
    Cluster, TestEnv, add_rep, apply_policy, channel, create_pool, import_rows, lead_request, rep,
    submit,
};
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_proto::v1::intake_service_client::IntakeServiceClient;
use leadpool_proto::v1::routing_service_client::RoutingServiceClient;
use leadpool_testing::authed;
use tonic::Code;

use crate::jobs::run_job;

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

const PAIRS: usize = 300;
const CLEANUP_CLAIMERS: usize = 16;
/// Leads in a pool nobody claims from here: the cleanup reads them too, which gives the
/// claims time to commit while it decides.
const BACKLOG: usize = 20_000;
/// How long the claimers may take to get going.
const WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// A pool to claim from and one that holds the backlog; leads are duplicates when they match
/// on `match_on`; reps whose limits let each claim every lead of the race.
fn cleanup_race_policy(match_on: &str) -> String {
    let reps: String = (0..CLEANUP_CLAIMERS)
        .map(|i| {
            format!(
                "  - {{ id: rep-{i}, role: sdr, limits: {{ perDay: 1000, perHour: 1000, activeLeads: 1000 }} }}\n"
            )
        })
        .collect();
    format!(
        "apiVersion: leadpool.dev/v1\nkind: Policy\nreps:\n{reps}\
         pools: [{{ id: inbound, type: open }}, {{ id: backlog, type: open }}]\n\
         routing: {{ rules: [{{ name: backlog, match: {{ regions: [backlog] }}, pool: backlog }}], \
         default: {{ pool: inbound }} }}\n\
         duplicates: {{ matchOn: [{match_on}] }}\n"
    )
}

/// Claims from the pool until it is empty once the cleanup is `done` (while it runs, the leads
/// it holds are not offered): what this rep won. Counts every win in `won`.
async fn claim_until_empty(
    mut claim: ClaimServiceClient<tonic::transport::Channel>,
    me: String,
    won: Arc<AtomicUsize>,
    done: Arc<AtomicBool>,
) -> Wins {
    let token = rep(&me);
    let mut wins = Wins::new();
    loop {
        let finished = done.load(Ordering::SeqCst);
        let next = claim
            .claim_next(authed(
                &token,
                v1::ClaimNextRequest {
                    pool: "pools/inbound".into(),
                },
            ))
            .await;
        match next {
            Ok(answer) => {
                wins.push((answer.into_inner().lead.unwrap().name, me.clone()));
                won.fetch_add(1, Ordering::SeqCst);
            }
            Err(status) if status.code() == Code::FailedPrecondition && finished => return wins,
            Err(status) if status.code() == Code::FailedPrecondition => {
                tokio::task::yield_now().await;
            }
            Err(status) => panic!("{status:?}"),
        }
    }
}

/// The weekly cleanup rejects unowned duplicates while reps claim from the same pool: a lead a
/// rep won while the cleanup ran stays hers. (The cleanup decides what is a duplicate from a
/// snapshot; a lead claimed after it must not be rejected when the cleanup locks it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_weekly_cleanup_rejects_no_lead_a_rep_claimed_while_it_ran() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    // Leads that share an email come in while only companies count as duplicates ...
    apply_policy(&mut routing, &cleanup_race_policy("company")).await;
    let rows: Vec<v1::ImportRow> = (0..PAIRS * 2 + BACKLOG)
        .map(|i| {
            let mut lead = lead_request(&format!("cleanup-{i}"), 50);
            lead.idempotency_key = String::new();
            // Pairs side by side: ids follow arrival, so the second of each pair is the
            // duplicate, and the claims (by id among equal leads) reach duplicates at once.
            if i < PAIRS * 2 {
                lead.contact.as_mut().unwrap().email = format!("person-{}@example.com", i / 2);
            } else {
                lead.region = "backlog".into();
            }
            v1::ImportRow {
                row_number: i as i64,
                lead: Some(lead),
            }
        })
        .collect();
    let imported = import_rows(&mut cluster.intake().await, "before-email-checks", rows).await;
    assert_eq!(
        imported.accepted as usize,
        PAIRS * 2 + BACKLOG,
        "{imported:?}"
    );
    // ... and then emails count too: the weekly cleanup rejects one lead of each pair.
    apply_policy(&mut routing, &cleanup_race_policy("email")).await;

    let (won, done) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let claimers: Vec<_> = (0..CLEANUP_CLAIMERS)
        .map(|i| {
            let (claim, won, done) = (cluster.claim.addr, won.clone(), done.clone());
            tokio::spawn(async move {
                let client = ClaimServiceClient::new(channel(claim).await);
                claim_until_empty(client, format!("rep-{i}"), won, done).await
            })
        })
        .collect();
    // The cleanup starts while the reps are claiming at full speed.
    leadpool_e2e::eventually(WAIT, "the reps are claiming", || async {
        won.load(Ordering::SeqCst) >= CLEANUP_CLAIMERS
    })
    .await;
    let cleanup = run_job(&cluster, "weekly-cleanup", cluster.env.clock.now()).await;
    done.store(true, Ordering::SeqCst);
    let wins: Wins = join_all(claimers)
        .await
        .into_iter()
        .flat_map(|joined| joined.expect("claimer did not panic"))
        .collect();

    let store = cluster.env.db.store();
    let rejected: HashSet<String> = cleanup.leads.iter().cloned().collect();
    for (lead, rep) in &wins {
        assert!(
            !rejected.contains(lead),
            "{lead}, claimed by {rep}, was rejected"
        );
        let now = store
            .get_lead(LeadId::from_name(lead, "name").unwrap())
            .await
            .unwrap();
        assert_eq!(
            (now.state, now.owner.map(|o| o.as_str().to_owned())),
            (leadpool_domain::LeadState::Claimed, Some(rep.clone())),
            "{lead} stays with the rep who won it"
        );
    }
    // Every lead was won or rejected, never both; each rejection is of an unowned lead.
    assert_eq!(wins.len() + rejected.len(), PAIRS * 2);
    let rejections: Vec<(String,)> =
        sqlx::query_as("SELECT from_state FROM lead_events WHERE to_state = 'rejected'")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(rejections.len(), rejected.len());
    assert!(
        rejections.iter().all(|(from,)| from == "available"),
        "{rejections:?}"
    );
    cluster.stop().await;
}
