//! A model-based test: random sequences of claim, release, contact and SLA expiry run against
//! the real services and stores, and after every step the services' answers and the stored
//! leads must match a few lines of in-memory model.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration as Span, Utc};
use leadpool_domain::Clock;
use leadpool_e2e::{Cluster, admin, apply_policy, rep, submit};
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_server::convert::timestamp;
use leadpool_testing::authed;
use proptest::prelude::*;
use tonic::Code;
use tonic::transport::Channel;

const REPS: [&str; 3] = ["alice", "bob", "carol"];
const SCORES: [i32; 6] = [90, 80, 70, 60, 50, 40];
const POLICY: &str = "apiVersion: leadpool.dev/v1\nkind: Policy\n\
    reps: [{ id: alice, role: sdr }, { id: bob, role: sdr }, { id: carol, role: sdr }]\n\
    limits: { perDay: 1000 }\n\
    pools: [{ id: inbound, type: open, contactSla: 1h }]\nrouting: { default: { pool: inbound } }\n";

#[derive(Debug, Clone)]
enum Op {
    ClaimNext {
        rep: usize,
    },
    ClaimLead {
        rep: usize,
        lead: usize,
    },
    Release {
        rep: usize,
        lead: usize,
    },
    Contact {
        rep: usize,
        lead: usize,
    },
    /// Move the clock on and run the SLA job.
    Expire {
        minutes: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let rep = 0..REPS.len();
    let lead = 0..SCORES.len();
    prop_oneof![
        rep.clone().prop_map(|rep| Op::ClaimNext { rep }),
        (rep.clone(), lead.clone()).prop_map(|(rep, lead)| Op::ClaimLead { rep, lead }),
        (rep.clone(), lead.clone()).prop_map(|(rep, lead)| Op::Release { rep, lead }),
        (rep, lead).prop_map(|(rep, lead)| Op::Contact { rep, lead }),
        (10..90i64).prop_map(|minutes| Op::Expire { minutes }),
    ]
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Available,
    Claimed { rep: usize, due: DateTime<Utc> },
    Contacted { rep: usize },
}

/// The model: each lead's state; leads are indexed by descending priority.
struct Model {
    leads: Vec<State>,
    now: DateTime<Utc>,
}

impl Model {
    fn owner(&self, lead: usize) -> Option<usize> {
        match self.leads[lead] {
            State::Claimed { rep, .. } | State::Contacted { rep } => Some(rep),
            State::Available => None,
        }
    }

    /// What the service must answer: the changed lead, or the refusal's code.
    fn apply(&mut self, op: &Op) -> Result<Option<usize>, Code> {
        let claimed = |now: DateTime<Utc>, rep| State::Claimed {
            rep,
            due: now + Span::hours(1),
        };
        match *op {
            Op::ClaimNext { rep } => {
                let lead = self
                    .leads
                    .iter()
                    .position(|s| *s == State::Available)
                    .ok_or(Code::FailedPrecondition)?;
                self.leads[lead] = claimed(self.now, rep);
                Ok(Some(lead))
            }
            Op::ClaimLead { rep, lead } => {
                if self.leads[lead] != State::Available {
                    return Err(Code::FailedPrecondition);
                }
                self.leads[lead] = claimed(self.now, rep);
                Ok(Some(lead))
            }
            Op::Release { rep, lead } | Op::Contact { rep, lead } => {
                match self.owner(lead) {
                    Some(owner) if owner != rep => return Err(Code::PermissionDenied),
                    None => return Err(Code::FailedPrecondition),
                    Some(_) => {}
                }
                self.leads[lead] = match (op, &self.leads[lead]) {
                    (Op::Release { .. }, _) => State::Available,
                    (_, State::Claimed { .. }) => State::Contacted { rep },
                    _ => return Err(Code::FailedPrecondition),
                };
                Ok(Some(lead))
            }
            Op::Expire { minutes } => {
                self.now += Span::minutes(minutes);
                for state in &mut self.leads {
                    if matches!(state, State::Claimed { due, .. } if *due <= self.now) {
                        *state = State::Available;
                    }
                }
                Ok(None)
            }
        }
    }
}

/// id, state, owner, contact deadline.
type StoredLead = (uuid::Uuid, String, Option<String>, Option<DateTime<Utc>>);

struct Harness {
    cluster: Cluster,
    claim: ClaimServiceClient<Channel>,
    /// Lead names, by descending priority.
    leads: Vec<String>,
}

impl Harness {
    async fn start() -> Self {
        let cluster = Cluster::start().await;
        apply_policy(&mut cluster.routing().await, POLICY).await;
        let mut intake = cluster.intake().await;
        let mut leads = Vec::new();
        for (i, score) in SCORES.iter().enumerate() {
            leads.push(submit(&mut intake, &format!("lead-{i}"), *score).await.name);
        }
        let claim = cluster.claim().await;
        Self {
            cluster,
            claim,
            leads,
        }
    }

    /// Runs `op` on the services: the lead it changed, or the refusal's code.
    async fn apply(&mut self, op: &Op) -> Result<Option<usize>, Code> {
        let who = |r: usize| rep(REPS[r]);
        let answer = match *op {
            Op::ClaimNext { rep } => self
                .claim
                .claim_next(authed(
                    &who(rep),
                    v1::ClaimNextRequest {
                        pool: "pools/inbound".into(),
                    },
                ))
                .await
                .map(|r| r.into_inner().lead),
            Op::ClaimLead { rep, lead } => self
                .claim
                .claim_lead(authed(
                    &who(rep),
                    v1::ClaimLeadRequest {
                        name: self.leads[lead].clone(),
                    },
                ))
                .await
                .map(|r| r.into_inner().lead),
            Op::Release { rep, lead } => self
                .claim
                .release_lead(authed(
                    &who(rep),
                    v1::ReleaseLeadRequest {
                        name: self.leads[lead].clone(),
                        reason: "model".into(),
                    },
                ))
                .await
                .map(|r| r.into_inner().lead),
            Op::Contact { rep, lead } => self
                .claim
                .record_contact(authed(
                    &who(rep),
                    v1::RecordContactRequest {
                        name: self.leads[lead].clone(),
                        note: String::new(),
                    },
                ))
                .await
                .map(|r| r.into_inner().lead),
            Op::Expire { minutes } => {
                let clock = &self.cluster.env.clock;
                clock.advance(Span::minutes(minutes));
                self.cluster
                    .scheduler()
                    .await
                    .run_job(authed(
                        &admin(),
                        v1::RunJobRequest {
                            name: "jobs/sla-expiry".into(),
                            as_of: Some(timestamp(clock.now())),
                        },
                    ))
                    .await
                    .map(|_| None)
            }
        };
        answer
            .map(|lead| lead.map(|l| self.index_of(&l.name)))
            .map_err(|status| status.code())
    }

    fn index_of(&self, name: &str) -> usize {
        self.leads
            .iter()
            .position(|l| l == name)
            .expect("a known lead")
    }

    /// Every lead's stored state, in the model's terms.
    async fn stored(&self) -> Vec<State> {
        let rows: Vec<StoredLead> =
            sqlx::query_as("SELECT id, state, owner_rep_id, contact_due_at FROM leads")
                .fetch_all(self.cluster.env.db.store().pool())
                .await
                .unwrap();
        let by_name: BTreeMap<String, State> = rows
            .into_iter()
            .map(|(id, state, owner, due)| {
                let rep = owner.map(|o| REPS.iter().position(|r| *r == o).unwrap());
                let state = match state.as_str() {
                    "available" => State::Available,
                    "claimed" => State::Claimed {
                        rep: rep.unwrap(),
                        due: due.unwrap(),
                    },
                    "contacted" => State::Contacted { rep: rep.unwrap() },
                    other => panic!("a lead in state {other}"),
                };
                (format!("leads/{id}"), state)
            })
            .collect();
        self.leads
            .iter()
            .map(|name| by_name[name].clone())
            .collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 12,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn claims_releases_contacts_and_expiry_match_a_simple_model(ops in prop::collection::vec(op(), 1..30)) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let mut harness = Harness::start().await;
            let mut model = Model {
                leads: vec![State::Available; SCORES.len()],
                now: harness.cluster.env.clock.now(),
            };
            for (step, op) in ops.iter().enumerate() {
                let expected = model.apply(op);
                let actual = harness.apply(op).await;
                assert_eq!(actual, expected, "step {step}: {op:?}");
                assert_eq!(harness.stored().await, model.leads, "after step {step}: {op:?}");
            }
            harness.cluster.stop().await;
        });
    }
}
