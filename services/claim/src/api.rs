//! The gRPC surface of the claim service. The acting rep is always the token's subject.

use std::sync::Arc;

use leadpool_auth::{Identity, Role};
use leadpool_domain::{
    Clock, Error, FieldViolation, LeadId, LeadState, Outcome, PoolId, Reason, RepId,
};
use leadpool_proto::v1::{self, claim_service_server::ClaimService};
use leadpool_server::{caller, convert, paging, to_status};
use leadpool_store::{AvailableCursor, LeadOrder, LeadRecord};
use tonic::{Request, Response, Status};

use crate::claims::{Claims, Target, require_access};

const MAX_REASON_LEN: usize = 1000;

pub struct ClaimApi {
    claims: Claims,
    clock: Arc<dyn Clock>,
}

impl ClaimApi {
    pub fn new(claims: Claims, clock: Arc<dyn Clock>) -> Self {
        Self { claims, clock }
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn reply<T>(result: Result<T, Error>) -> Reply<T> {
    result.map(Response::new).map_err(to_status)
}

/// Claims are made by reps, for themselves.
fn acting_rep(identity: &Identity) -> Result<RepId, Error> {
    identity.rep().cloned().ok_or_else(|| {
        Error::PermissionDenied(format!(
            "only reps work leads; {} is not a rep (a rep's token subject is reps/{{id}})",
            identity.actor()
        ))
    })
}

fn lead_order(value: i32) -> Result<LeadOrder, FieldViolation> {
    match v1::LeadOrder::try_from(value) {
        Ok(v1::LeadOrder::Unspecified | v1::LeadOrder::Priority) => Ok(LeadOrder::Priority),
        Ok(v1::LeadOrder::Age) => Ok(LeadOrder::Age),
        Ok(v1::LeadOrder::Score) => Ok(LeadOrder::Score),
        Err(_) => Err(FieldViolation::new(
            "order_by",
            format!("{value} is not a LeadOrder"),
        )),
    }
}

fn required_text(field: &str, value: &str) -> Result<String, FieldViolation> {
    let value = value.trim();
    if value.is_empty() {
        Err(FieldViolation::new(field, "is required"))
    } else if value.len() > MAX_REASON_LEN {
        Err(FieldViolation::new(
            field,
            format!("is longer than {MAX_REASON_LEN} bytes"),
        ))
    } else {
        Ok(value.to_owned())
    }
}

fn leads(records: &[LeadRecord]) -> Vec<v1::Lead> {
    records.iter().map(convert::lead).collect()
}

/// A blind pool shows what a lead is worth (score, region, product, source), not who it is,
/// so reps cannot cherry-pick by name; the claimant sees everything.
fn hide_identity(lead: &mut v1::Lead) {
    if let Some(contact) = lead.contact.as_mut() {
        *contact = v1::Contact {
            country: std::mem::take(&mut contact.country),
            ..v1::Contact::default()
        };
    }
}

/// The rep a question is about: the caller, or anyone for managers, admins and services.
fn subject_rep(identity: &Identity, requested: &str) -> Result<RepId, Error> {
    let rep = if requested.is_empty() {
        acting_rep(identity)?
    } else {
        RepId::from_name(requested, "rep")?
    };
    let is_self = identity.rep() == Some(&rep);
    if !is_self && !identity.has_any_role(&[Role::Manager, Role::Admin, Role::Service]) {
        return Err(Error::PermissionDenied(format!(
            "{} may only ask about herself; managers may ask about anyone",
            identity.actor()
        )));
    }
    Ok(rep)
}

fn outcome(value: i32) -> Result<Outcome, FieldViolation> {
    match v1::Outcome::try_from(value) {
        Ok(v1::Outcome::Opportunity) => Ok(Outcome::Opportunity),
        Ok(v1::Outcome::Customer) => Ok(Outcome::Customer),
        Ok(v1::Outcome::Lost) => Ok(Outcome::Lost),
        _ => Err(FieldViolation::new(
            "outcome",
            "is required: OUTCOME_OPPORTUNITY, OUTCOME_CUSTOMER or OUTCOME_LOST",
        )),
    }
}

/// A lead name and a required reason, with both problems reported at once.
fn lead_and_reason(name: &str, reason: &str) -> Result<(LeadId, String), Error> {
    match (
        LeadId::from_name(name, "name"),
        required_text("reason", reason),
    ) {
        (Ok(id), Ok(reason)) => Ok((id, reason)),
        (id, reason) => Err(Error::InvalidArgument(
            id.err().into_iter().chain(reason.err()).collect(),
        )),
    }
}

#[tonic::async_trait]
impl ClaimService for ClaimApi {
    async fn list_pool_leads(
        &self,
        request: Request<v1::ListPoolLeadsRequest>,
    ) -> Reply<v1::ListPoolLeadsResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                let req = request.get_ref();
                let pool = PoolId::from_name(&req.parent, "parent")?;
                let order = lead_order(req.order_by)?;
                let current = self.claims.policy.current().await?;
                // Managers (and services) see every pool, for oversight; reps what they may claim.
                if !identity.has_any_role(&[Role::Manager, Role::Admin, Role::Service]) {
                    let rep = acting_rep(&identity)?;
                    if current.policy.pool(&pool).is_none() {
                        self.claims.store.get_pool(&pool).await?;
                    }
                    require_access(&current.policy, &rep, &pool, self.clock.now())?;
                }
                let limit = paging::page_size(req.page_size, 50, 500)?;
                let scope = format!("{}:{order:?}", pool.name());
                let cursor: Option<AvailableCursor> = paging::decode(&req.page_token, &scope)?;
                let mut page = self
                    .claims
                    .store
                    .list_available(&pool, order, cursor.as_ref(), limit + 1)
                    .await?;
                if page.is_empty() {
                    // Listing a pool that does not exist is NOT_FOUND, not an empty page.
                    self.claims.store.get_pool(&pool).await?;
                }
                let next = if page.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
                    page.pop();
                    page.last()
                        .and_then(|last| AvailableCursor::after(last, order))
                } else {
                    None
                };
                let mut leads = leads(&page);
                if current.policy.pool(&pool).is_some_and(|p| p.blind) {
                    leads.iter_mut().for_each(hide_identity);
                }
                Ok(v1::ListPoolLeadsResponse {
                    leads,
                    next_page_token: next.map(|c| paging::encode(&scope, c)).unwrap_or_default(),
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all, fields(lead = %request.get_ref().name))]
    async fn claim_lead(
        &self,
        request: Request<v1::ClaimLeadRequest>,
    ) -> Reply<v1::ClaimLeadResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                let rep = acting_rep(&identity)?;
                let id = LeadId::from_name(&request.get_ref().name, "name")?;
                let mut claimed = self
                    .claims
                    .claim(&rep, Target::Lead(id), &identity.actor(), self.clock.now())
                    .await?;
                match claimed.pop() {
                    Some(lead) => Ok(v1::ClaimLeadResponse {
                        lead: Some(convert::lead(&lead)),
                    }),
                    None => Err(self.claims.explain_unavailable(id).await),
                }
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all, fields(pool = %request.get_ref().pool))]
    async fn claim_next(
        &self,
        request: Request<v1::ClaimNextRequest>,
    ) -> Reply<v1::ClaimNextResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                let rep = acting_rep(&identity)?;
                let pool = PoolId::from_name(&request.get_ref().pool, "pool")?;
                let mut claimed = self
                    .claims
                    .claim(
                        &rep,
                        Target::Next {
                            pool: &pool,
                            count: 1,
                        },
                        &identity.actor(),
                        self.clock.now(),
                    )
                    .await?;
                match claimed.pop() {
                    Some(lead) => Ok(v1::ClaimNextResponse {
                        lead: Some(convert::lead(&lead)),
                    }),
                    None => {
                        self.claims.store.get_pool(&pool).await?;
                        Err(Error::precondition(
                            Reason::PoolEmpty,
                            pool.name(),
                            format!("{} has no lead available right now", pool.name()),
                        ))
                    }
                }
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all, fields(pool = %request.get_ref().pool, count = request.get_ref().count))]
    async fn claim_batch(
        &self,
        request: Request<v1::ClaimBatchRequest>,
    ) -> Reply<v1::ClaimBatchResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                let rep = acting_rep(&identity)?;
                let req = request.get_ref();
                let pool = PoolId::from_name(&req.pool, "pool")?;
                let max = self.claims.settings.max_batch;
                let count = u32::try_from(req.count)
                    .ok()
                    .filter(|count| (1..=max).contains(count))
                    .ok_or_else(|| {
                        Error::invalid("count", format!("{} is outside 1..={max}", req.count))
                    })?;
                let claimed = self
                    .claims
                    .claim(
                        &rep,
                        Target::Next { pool: &pool, count },
                        &identity.actor(),
                        self.clock.now(),
                    )
                    .await?;
                if claimed.is_empty() {
                    self.claims.store.get_pool(&pool).await?;
                }
                Ok(v1::ClaimBatchResponse {
                    leads: leads(&claimed),
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all, fields(lead = %request.get_ref().name))]
    async fn release_lead(
        &self,
        request: Request<v1::ReleaseLeadRequest>,
    ) -> Reply<v1::ReleaseLeadResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                let rep = acting_rep(&identity)?;
                let req = request.get_ref();
                let (id, reason) = lead_and_reason(&req.name, &req.reason)?;
                let released = self
                    .claims
                    .store
                    .release_lead(id, &rep, &reason, &identity.actor(), self.clock.now())
                    .await?;
                Ok(v1::ReleaseLeadResponse {
                    lead: Some(
                        self.claims
                            .owned_change(
                                released,
                                id,
                                &rep,
                                &[LeadState::Claimed, LeadState::Contacted],
                            )
                            .await?,
                    ),
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all, fields(lead = %request.get_ref().name))]
    async fn record_contact(
        &self,
        request: Request<v1::RecordContactRequest>,
    ) -> Reply<v1::RecordContactResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                let rep = acting_rep(&identity)?;
                let req = request.get_ref();
                let id = LeadId::from_name(&req.name, "name")?;
                if req.note.len() > MAX_REASON_LEN {
                    return Err(Error::invalid(
                        "note",
                        format!("is longer than {MAX_REASON_LEN} bytes"),
                    ));
                }
                let note = if req.note.trim().is_empty() {
                    "contacted"
                } else {
                    req.note.trim()
                };
                let contacted = self
                    .claims
                    .store
                    .record_contact(id, &rep, note, &identity.actor(), self.clock.now())
                    .await?;
                Ok(v1::RecordContactResponse {
                    lead: Some(
                        self.claims
                            .owned_change(contacted, id, &rep, &[LeadState::Claimed])
                            .await?,
                    ),
                })
            }
            .await,
        )
    }

    async fn list_lead_events(
        &self,
        request: Request<v1::ListLeadEventsRequest>,
    ) -> Reply<v1::ListLeadEventsResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                let req = request.get_ref();
                let id = LeadId::from_name(&req.parent, "parent")?;
                let limit = paging::page_size(req.page_size, 100, 1000)?;
                let scope = format!("{}/events", id.name());
                let after: i64 = paging::decode(&req.page_token, &scope)?.unwrap_or(0);
                let lead = self.claims.store.get_lead(id).await?;
                let overseer = identity.has_any_role(&[Role::Manager, Role::Admin, Role::Service]);
                let owner = identity
                    .rep()
                    .is_some_and(|rep| lead.owner_rep_id.as_deref() == Some(rep.as_str()));
                if !overseer && !owner {
                    return Err(Error::PermissionDenied(format!(
                        "{} may read the history of leads she owns only",
                        identity.actor()
                    )));
                }
                let mut events = self.claims.store.lead_events(id, after, limit + 1).await?;
                let next = if events.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
                    events.pop();
                    events.last().map(|e| e.id)
                } else {
                    None
                };
                Ok(v1::ListLeadEventsResponse {
                    events: events.iter().map(convert::event).collect(),
                    next_page_token: next
                        .map(|id| paging::encode(&scope, id))
                        .unwrap_or_default(),
                })
            }
            .await,
        )
    }

    async fn explain_access(
        &self,
        request: Request<v1::ExplainAccessRequest>,
    ) -> Reply<v1::ExplainAccessResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                let req = request.get_ref();
                let rep = subject_rep(&identity, &req.rep)?;
                let pool = PoolId::from_name(&req.pool, "pool")?;
                let at = match &req.at {
                    Some(at) => convert::from_timestamp(at, "at")?,
                    None => self.clock.now(),
                };
                let (access, version) = self.claims.explain_access(&rep, &pool, at).await?;
                Ok(v1::ExplainAccessResponse {
                    allowed: access.allowed,
                    rule: access.rule.unwrap_or_default(),
                    window: access.window,
                    reasons: access.reasons,
                    policy_version: version,
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all, fields(lead = %request.get_ref().name))]
    async fn record_outcome(
        &self,
        request: Request<v1::RecordOutcomeRequest>,
    ) -> Reply<v1::RecordOutcomeResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                let rep = acting_rep(&identity)?;
                let req = request.get_ref();
                let mut violations = Vec::new();
                let id = LeadId::from_name(&req.name, "name").map_err(|v| violations.push(v));
                let outcome = outcome(req.outcome).map_err(|v| violations.push(v));
                if req.deal_size_minor < 0 {
                    violations.push(FieldViolation::new(
                        "deal_size_minor",
                        "must not be negative",
                    ));
                }
                if req.note.len() > MAX_REASON_LEN {
                    violations.push(FieldViolation::new(
                        "note",
                        format!("is longer than {MAX_REASON_LEN} bytes"),
                    ));
                }
                let (Ok(id), Ok(outcome), true) = (id, outcome, violations.is_empty()) else {
                    return Err(Error::InvalidArgument(violations));
                };
                let note = format!(
                    "outcome {} (deal size {}){}{}",
                    outcome.as_str(),
                    req.deal_size_minor,
                    if req.note.trim().is_empty() { "" } else { ": " },
                    req.note.trim()
                );
                let closed = self
                    .claims
                    .store
                    .record_outcome(
                        id,
                        &rep,
                        outcome,
                        req.deal_size_minor,
                        &note,
                        &identity.actor(),
                        self.clock.now(),
                    )
                    .await?;
                Ok(v1::RecordOutcomeResponse {
                    lead: Some(
                        self.claims
                            .owned_change(
                                closed,
                                id,
                                &rep,
                                &[LeadState::Claimed, LeadState::Contacted, LeadState::Closed],
                            )
                            .await?,
                    ),
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all, fields(lead = %request.get_ref().name))]
    async fn accept_assignment(
        &self,
        request: Request<v1::AcceptAssignmentRequest>,
    ) -> Reply<v1::AcceptAssignmentResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                let rep = acting_rep(&identity)?;
                let id = LeadId::from_name(&request.get_ref().name, "name")?;
                let accepted = self
                    .claims
                    .store
                    .accept_assignment(id, &rep, &identity.actor(), self.clock.now())
                    .await?;
                Ok(v1::AcceptAssignmentResponse {
                    lead: Some(
                        self.claims
                            .owned_change(accepted, id, &rep, &[LeadState::Assigned])
                            .await?,
                    ),
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all, fields(lead = %request.get_ref().name))]
    async fn reject_assignment(
        &self,
        request: Request<v1::RejectAssignmentRequest>,
    ) -> Reply<v1::RejectAssignmentResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                let rep = acting_rep(&identity)?;
                let req = request.get_ref();
                let (id, reason) = lead_and_reason(&req.name, &req.reason)?;
                let rejected = self
                    .claims
                    .store
                    .reject_assignment(
                        id,
                        &rep,
                        &format!("assignment rejected: {reason}"),
                        &identity.actor(),
                        self.clock.now(),
                    )
                    .await?;
                Ok(v1::RejectAssignmentResponse {
                    lead: Some(
                        self.claims
                            .owned_change(rejected, id, &rep, &[LeadState::Assigned])
                            .await?,
                    ),
                })
            }
            .await,
        )
    }

    async fn get_rep_status(
        &self,
        request: Request<v1::GetRepStatusRequest>,
    ) -> Reply<v1::GetRepStatusResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                let req = request.get_ref();
                let rep = subject_rep(&identity, &req.rep)?;
                let at = match &req.at {
                    Some(at) => convert::from_timestamp(at, "at")?,
                    None => self.clock.now(),
                };
                self.claims.rep_status(&rep, at).await
            }
            .await,
        )
    }
}
