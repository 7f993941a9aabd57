//! The open-lead counters behind every cap (migration 0013) agree with the leads after every
//! kind of change: claims alone and in groups, release, contact, outcome, a manager's
//! assignment, reassignment and return, an SLA expiry.

use std::collections::BTreeMap;

use leadpool_domain::Clock;

use leadpool_e2e::{Cluster, apply_policy, claim_next, rep};
use leadpool_proto::v1;
use leadpool_testing::{authed, token};

use crate::jobs::run_job;
use crate::limits::fill;

const POLICY: &str = "apiVersion: leadpool.dev/v1\nkind: Policy\n\
    teams: [{ id: west, managers: [max] }]\n\
    reps:\n\
    - { id: alice, team: west, role: sdr }\n\
    - { id: bob, team: west, role: sdr }\n\
    - { id: max, team: west, role: manager }\n\
    pools:\n\
    - { id: hot, type: open, contactSla: 1h }\n\
    - { id: cold, type: open }\n\
    routing:\n  rules: [{ name: hot, match: { sources: [hot] }, pool: hot }]\n  default: { pool: cold }\n";

type Counts = BTreeMap<(String, String), i64>;

/// (rep, pool) → open leads: as the counters say, and as the leads are.
async fn counted_and_actual(cluster: &Cluster) -> (Counts, Counts) {
    let pool = cluster.env.db.store().pool().clone();
    let counted: Vec<(String, String, i32)> =
        sqlx::query_as("SELECT rep_id, pool_id, open FROM rep_open_leads WHERE open <> 0")
            .fetch_all(&pool)
            .await
            .unwrap();
    let actual: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT owner_rep_id, coalesce(pool_id, ''), count(*) FROM leads \
         WHERE owner_rep_id IS NOT NULL AND state IN ('claimed', 'assigned', 'contacted') \
         GROUP BY 1, 2",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    (
        counted
            .into_iter()
            .map(|(r, p, n)| ((r, p), i64::from(n)))
            .collect(),
        actual.into_iter().map(|(r, p, n)| ((r, p), n)).collect(),
    )
}

async fn assert_counted(cluster: &Cluster, after: &str) -> Counts {
    let (counted, actual) = counted_and_actual(cluster).await;
    assert_eq!(counted, actual, "after {after}");
    counted
}

fn open(counts: &Counts, rep: &str, pool: &str) -> i64 {
    counts
        .get(&(rep.to_owned(), pool.to_owned()))
        .copied()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_open_lead_counters_agree_with_the_leads_after_every_kind_of_change() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    fill(&cluster, "cold", 8).await;
    fill(&cluster, "hot", 3).await;
    let mut claim = cluster.claim().await;

    let batch = claim
        .claim_batch(authed(
            &rep("alice"),
            v1::ClaimBatchRequest {
                pool: "pools/cold".into(),
                count: 4,
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .leads;
    let mut racing = Vec::new();
    for _ in 0..3 {
        let mut claim = cluster.claim().await;
        racing.push(tokio::spawn(async move {
            claim_next(&mut claim, "bob", "hot").await.unwrap()
        }));
    }
    for claimed in racing {
        claimed.await.unwrap();
    }
    let counts = assert_counted(&cluster, "claims").await;
    assert_eq!(
        (open(&counts, "alice", "cold"), open(&counts, "bob", "hot")),
        (4, 3)
    );

    let alice = |name: &str| (rep("alice"), name.to_owned());
    let (who, name) = alice(&batch[0].name);
    claim
        .release_lead(authed(
            &who,
            v1::ReleaseLeadRequest {
                name,
                reason: "not mine".into(),
            },
        ))
        .await
        .unwrap();
    let (who, name) = alice(&batch[1].name);
    claim
        .record_contact(authed(
            &who,
            v1::RecordContactRequest {
                name: name.clone(),
                note: String::new(),
            },
        ))
        .await
        .unwrap();
    claim
        .record_outcome(authed(
            &who,
            v1::RecordOutcomeRequest {
                name,
                outcome: v1::Outcome::Customer.into(),
                deal_size_minor: 100,
                note: String::new(),
            },
        ))
        .await
        .unwrap();
    let counts = assert_counted(&cluster, "a release and a close").await;
    assert_eq!(open(&counts, "alice", "cold"), 2);

    let max = token("reps/max", &[leadpool_auth::Role::Manager]);
    claim
        .return_lead(authed(
            &max,
            v1::ReturnLeadRequest {
                name: batch[2].name.clone(),
                reason: "back to the pool".into(),
            },
        ))
        .await
        .unwrap();
    claim
        .assign_lead(authed(
            &max,
            v1::AssignLeadRequest {
                name: batch[0].name.clone(),
                rep: "reps/bob".into(),
                reason: "bob knows them".into(),
                override_open_lead_cap: false,
            },
        ))
        .await
        .unwrap();
    claim
        .reassign_leads(authed(
            &max,
            v1::ReassignLeadsRequest {
                from_rep: "reps/alice".into(),
                destination: Some(v1::reassign_leads_request::Destination::ToRep(
                    "reps/bob".into(),
                )),
                reason: "alice is away".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let counts = assert_counted(&cluster, "a manager's return, assignment and reassignment").await;
    assert_eq!(
        (open(&counts, "alice", "cold"), open(&counts, "bob", "cold")),
        (0, 2)
    );

    // Bob's hot claims are not contacted within the hour: back to the pool.
    let later = cluster.env.clock.now() + chrono::Duration::minutes(90);
    assert_eq!(run_job(&cluster, "sla-expiry", later).await.affected, 3);
    let counts = assert_counted(&cluster, "an SLA expiry").await;
    assert_eq!(open(&counts, "bob", "hot"), 0);
    cluster.stop().await;
}
