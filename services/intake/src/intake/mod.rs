//! Accepting leads: validate, qualify by the policy in force, store (with duplicate handling)
//! before anything else, then try to route. A stored lead is never lost: if routing fails, the
//! retry loop routes it later.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadpool_domain::new_lead::LeadInput;
use leadpool_domain::{Clock, Error, Lead, LeadId, LeadState, NewLead};
use leadpool_policy::duplicates::{self, Plan, Submission};
use leadpool_policy::{LeadFacts, Policy, Verdict};
use leadpool_proto::v1;
use leadpool_server::convert;
use leadpool_store::{IngestTx, Placed, Placement, PolicyCache, Store, Stored};

use crate::router::Router;

mod import;

/// The intake service's core, and its only door: accepting one lead or an import.
pub struct Intake {
    store: Store,
    router: Router,
    policy: PolicyCache,
}

pub struct Accepted {
    pub lead: v1::Lead,
    pub created: bool,
    pub duplicate_of: Option<LeadId>,
}

/// The domain input for a submitted lead.
pub fn lead_input(req: v1::SubmitLeadRequest) -> LeadInput {
    let contact = req.contact.unwrap_or_default();
    LeadInput {
        idempotency_key: req.idempotency_key,
        email: contact.email,
        contact_name: contact.name,
        company: contact.company,
        company_domain: contact.company_domain,
        country: contact.country,
        phone: contact.phone,
        score: req.score,
        source: req.source,
        region: req.region,
        product: req.product,
        industry: req.industry,
        language: req.language,
        attributes: req.attributes.into_iter().collect::<BTreeMap<_, _>>(),
    }
}

/// Qualifies a parsed lead by the policy; with a rejection, the rule that refused it.
pub fn submission(lead: NewLead, policy: &Policy) -> (Submission, Option<&'static str>) {
    let (rejection, rule) = match policy.qualification.qualify(&lead) {
        Verdict::Qualified => (None, None),
        Verdict::Rejected { rule, reason } => (Some(reason), Some(rule)),
    };
    (
        Submission {
            fingerprint: lead.fingerprint(),
            lead,
            rejection,
        },
        rule,
    )
}

/// Who the history says routed the leads intake places itself: intake, as when it asks the
/// routing service.
const ROUTED_BY: &str = "services/intake";

/// Leads intake places itself, as routed by intake.
fn placed(placements: &[Placement]) -> Placed<'_> {
    Placed {
        placements,
        by: ROUTED_BY,
    }
}

/// Where the policy sends each new qualified lead of `batch`, when it sends it to a pool.
fn pool_placements(batch: &[Submission], plans: &[Plan], policy: &Policy) -> Vec<Placement> {
    batch
        .iter()
        .zip(plans)
        .filter_map(|(sub, plan)| match plan {
            Plan::Create {
                id,
                state: LeadState::Received,
                ..
            } => Some(Placement {
                lead: *id,
                entry: policy.pool_for(&LeadFacts::of_new(id.0, &sub.lead))?,
            }),
            _ => None,
        })
        .collect()
}

impl Intake {
    pub fn new(store: Store, router: Router, policy: PolicyCache) -> Self {
        Self {
            store,
            router,
            policy,
        }
    }

    /// Stores one submission and answers with the lead it made or names (see
    /// [`Intake::plan_submissions`]).
    async fn store_submission(
        &self,
        sub: &Submission,
        policy: &Policy,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Stored, Error> {
        let batch = std::slice::from_ref(sub);
        let tx = self.lock_submissions(batch, policy).await?;
        let (tx, plans, placements) = self.plan_submissions(tx, batch, policy).await?;
        tx.carry_out(batch, &plans, placed(&placements), actor, now)
            .await?
            .pop()
            .ok_or_else(|| Error::internal("storing answered nothing"))
    }

    /// Opens the transaction that stores a batch of submissions, holding the locks of their
    /// keys (idempotency key, email, company): a batch sharing one waits until this one is
    /// stored.
    pub(crate) async fn lock_submissions(
        &self,
        batch: &[Submission],
        policy: &Policy,
    ) -> Result<IngestTx, Error> {
        let keys = duplicates::lock_keys(batch, &policy.duplicates);
        self.store.begin_ingest(&keys).await
    }

    /// Plans a batch of submissions under its locks: reads what the duplicate and idempotency
    /// plan needs, plans (a pure function of what was read) and places each new lead the
    /// policy sends to a pool, which is then written there at once (routed in the same write);
    /// one it pushes to a rep waits for routing. The transaction carries the plan out.
    pub(crate) async fn plan_submissions(
        &self,
        mut tx: IngestTx,
        batch: &[Submission],
        policy: &Policy,
    ) -> Result<(IngestTx, Vec<Plan>, Vec<Placement>), Error> {
        let rules = &policy.duplicates;
        let keys: Vec<&str> = batch
            .iter()
            .map(|s| s.lead.idempotency_key.as_str())
            .collect();
        let earlier = tx.earlier_submissions(&keys).await?;
        let emails: Vec<String> = batch
            .iter()
            .filter_map(|s| duplicates::email_key(&s.lead, rules))
            .collect();
        let companies: Vec<(String, String)> = batch
            .iter()
            .filter_map(|s| duplicates::company_key(&s.lead, rules))
            .collect();
        let known = tx.known_leads(&emails, &companies).await?;
        let plans = duplicates::plan(batch, earlier, &known, rules, LeadId::new);
        let placements = pool_placements(batch, &plans, policy);
        Ok((tx, plans, placements))
    }

    pub async fn accept(
        &self,
        input: LeadInput,
        actor: &str,
        clock: &dyn Clock,
    ) -> Result<Accepted, Error> {
        let lead = NewLead::parse(input)?;
        let current = self.policy.current().await?;
        let key = lead.idempotency_key.clone();
        let (sub, _) = submission(lead, &current.policy);
        let outcome = self
            .store_submission(&sub, &current.policy, actor, clock.now())
            .await?;
        let (stored, created, duplicate_of) = match outcome {
            Stored::Created(lead) => (lead, true, None),
            Stored::Repeated { lead, merged } => {
                let original = merged.then_some(lead.id);
                (lead, false, original)
            }
            Stored::Merged(lead) => {
                let original = lead.id;
                (lead, false, Some(original))
            }
            Stored::DuplicateRejected { lead, original } => (lead, true, Some(original)),
            Stored::KeyReused { existing } => {
                return Err(Error::AlreadyExists {
                    name: existing.name(),
                    message: format!(
                        "idempotency key `{key}` was already used for a different lead ({}); use a new key for a new lead",
                        existing.name()
                    ),
                });
            }
        };
        if created {
            tracing::info!(lead = %stored.id, state = %stored.state, score = stored.score, "lead accepted");
        }
        Ok(Accepted {
            lead: self.route_if_waiting(&stored).await,
            created,
            duplicate_of,
        })
    }

    /// EraseLead: the lead's personal data erased everywhere, its skeleton kept; `false` when
    /// it had been erased before.
    pub async fn erase(
        &self,
        id: LeadId,
        actor: &str,
        clock: &dyn Clock,
    ) -> Result<(v1::Lead, bool), Error> {
        let (lead, erased) = self.store.erase_lead(id, actor, clock.now()).await?;
        if erased {
            tracing::info!(lead = %lead.id, by = actor, "lead erased");
        }
        Ok((convert::lead(&lead), erased))
    }

    /// A lead still waiting for routing (new, or a retry of one that waits) is offered to
    /// routing now; the answer shows where it went.
    async fn route_if_waiting(&self, lead: &Lead) -> v1::Lead {
        if lead.state == LeadState::Received
            && let Some(routed) = self.router.route(lead.id).await
        {
            return routed;
        }
        convert::lead(lead)
    }
}
