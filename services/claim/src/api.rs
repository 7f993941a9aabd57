//! The gRPC surface of the claim service. Each handler turns its request into domain values
//! (refusing bad input with every field violation), makes one call on [`Claims`], and turns the
//! answer into the response. The acting rep is always the token's subject.

use std::sync::Arc;

use leadpool_auth::{Identity, Role};
use leadpool_domain::validation::Violations;
use leadpool_domain::{Clock, Error, FieldViolation, LeadId, Outcome, OwnedChange, PoolId, RepId};
use leadpool_proto::v1::{self, claim_service_server::ClaimService};
use leadpool_server::{caller, convert, paging, to_status};
use leadpool_store::{AvailableCursor, LeadOrder};
use tonic::{Request, Response, Status};

use crate::claims::{Claims, Target, Viewer};
use crate::messages;

const MAX_REASON_LEN: usize = 1000;

pub struct ClaimApi {
    claims: Claims,
    clock: Arc<dyn Clock>,
}

impl ClaimApi {
    pub fn new(claims: Claims, clock: Arc<dyn Clock>) -> Self {
        Self { claims, clock }
    }

    /// The one path of every change an owner makes to her lead: who is acting, what she asked
    /// for (already parsed), the change, the lead as it is now.
    async fn work<T>(
        &self,
        request: &Request<T>,
        parsed: Result<(LeadId, OwnedChange), Error>,
    ) -> Result<Option<v1::Lead>, Error> {
        let identity = caller(request)?;
        let rep = acting_rep(&identity)?;
        let (id, change) = parsed?;
        let lead = self
            .claims
            .work(&rep, id, &change, &identity.actor(), self.clock.now())
            .await?;
        Ok(Some(convert::lead(&lead)))
    }

    /// Claims `target` for the acting rep.
    async fn claim<T>(
        &self,
        request: &Request<T>,
        target: impl FnOnce(&T) -> Result<ParsedTarget, Error>,
    ) -> Result<Vec<v1::Lead>, Error> {
        let identity = caller(request)?;
        let rep = acting_rep(&identity)?;
        let parsed = target(request.get_ref())?;
        let target = match &parsed {
            ParsedTarget::Lead(id) => Target::Lead(*id),
            ParsedTarget::Next(pool) => Target::Next(pool),
            ParsedTarget::Batch(pool, count) => Target::Batch {
                pool,
                count: *count,
            },
        };
        let claimed = self
            .claims
            .claim(&rep, target, &identity.actor(), self.clock.now())
            .await?;
        Ok(claimed.iter().map(convert::lead).collect())
    }
}

/// A claim target as parsed from a request (owning what [`Target`] borrows).
enum ParsedTarget {
    Lead(LeadId),
    Next(PoolId),
    Batch(PoolId, u32),
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

/// Managers, admins and services oversee every pool; reps see what the policy lets them.
fn viewer(identity: &Identity) -> Result<Viewer, Error> {
    if identity.has_any_role(&[Role::Manager, Role::Admin, Role::Service]) {
        Ok(Viewer::Overseer)
    } else {
        acting_rep(identity).map(Viewer::Rep)
    }
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

/// Free text of at most [`MAX_REASON_LEN`] bytes, trimmed; `required` refuses it empty.
fn text(field: &str, value: &str, required: bool) -> Result<String, FieldViolation> {
    let value = value.trim();
    if required && value.is_empty() {
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

/// The lead and the change, or every problem found on the way (the lead's name first).
fn owned_change(
    id: Option<LeadId>,
    change: Option<OwnedChange>,
    v: Violations,
) -> Result<(LeadId, OwnedChange), Error> {
    match (id, change) {
        (Some(id), Some(change)) if v.is_empty() => Ok((id, change)),
        _ => Err(Error::InvalidArgument(v.into_vec())),
    }
}

fn release(req: &v1::ReleaseLeadRequest) -> Result<(LeadId, OwnedChange), Error> {
    let mut v = Violations::new();
    let id = v.check(LeadId::from_name(&req.name, "name"));
    let reason = v.check(text("reason", &req.reason, true));
    owned_change(id, reason.map(|reason| OwnedChange::Release { reason }), v)
}

fn contact(req: &v1::RecordContactRequest) -> Result<(LeadId, OwnedChange), Error> {
    let mut v = Violations::new();
    let id = v.check(LeadId::from_name(&req.name, "name"));
    let note = v.check(text("note", &req.note, false));
    owned_change(id, note.map(|note| OwnedChange::Contact { note }), v)
}

fn close(req: &v1::RecordOutcomeRequest) -> Result<(LeadId, OwnedChange), Error> {
    let mut v = Violations::new();
    let id = v.check(LeadId::from_name(&req.name, "name"));
    let outcome = v.check(outcome(req.outcome));
    if req.deal_size_minor < 0 {
        v.add("deal_size_minor", "must not be negative");
    }
    let note = v.check(text("note", &req.note, false));
    let change = outcome.zip(note).map(|(outcome, note)| OwnedChange::Close {
        outcome,
        deal_size_minor: req.deal_size_minor,
        note,
    });
    owned_change(id, change, v)
}

fn accept(req: &v1::AcceptAssignmentRequest) -> Result<(LeadId, OwnedChange), Error> {
    Ok((LeadId::from_name(&req.name, "name")?, OwnedChange::Accept))
}

fn reject(req: &v1::RejectAssignmentRequest) -> Result<(LeadId, OwnedChange), Error> {
    let mut v = Violations::new();
    let id = v.check(LeadId::from_name(&req.name, "name"));
    let reason = v.check(text("reason", &req.reason, true));
    owned_change(id, reason.map(|reason| OwnedChange::Reject { reason }), v)
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
                let limit = paging::page_size(req.page_size, 50, 500)?;
                let scope = format!("{}:{order:?}", pool.name());
                let cursor: Option<AvailableCursor> = paging::decode(&req.page_token, &scope)?;
                let page = self
                    .claims
                    .browse(
                        &viewer(&identity)?,
                        &pool,
                        order,
                        cursor.as_ref(),
                        limit,
                        self.clock.now(),
                    )
                    .await?;
                Ok(v1::ListPoolLeadsResponse {
                    leads: page.leads.iter().map(convert::lead).collect(),
                    next_page_token: page
                        .next
                        .map(|c| paging::encode(&scope, c))
                        .unwrap_or_default(),
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
        let claimed = self
            .claim(&request, |req| {
                Ok(ParsedTarget::Lead(LeadId::from_name(&req.name, "name")?))
            })
            .await;
        reply(claimed.map(|mut leads| v1::ClaimLeadResponse { lead: leads.pop() }))
    }

    #[tracing::instrument(skip_all, fields(pool = %request.get_ref().pool))]
    async fn claim_next(
        &self,
        request: Request<v1::ClaimNextRequest>,
    ) -> Reply<v1::ClaimNextResponse> {
        let claimed = self
            .claim(&request, |req| {
                Ok(ParsedTarget::Next(PoolId::from_name(&req.pool, "pool")?))
            })
            .await;
        reply(claimed.map(|mut leads| v1::ClaimNextResponse { lead: leads.pop() }))
    }

    #[tracing::instrument(skip_all, fields(pool = %request.get_ref().pool, count = request.get_ref().count))]
    async fn claim_batch(
        &self,
        request: Request<v1::ClaimBatchRequest>,
    ) -> Reply<v1::ClaimBatchResponse> {
        let max = self.claims.max_batch();
        let claimed = self
            .claim(&request, |req| {
                let pool = PoolId::from_name(&req.pool, "pool")?;
                let count = u32::try_from(req.count)
                    .ok()
                    .filter(|count| (1..=max).contains(count))
                    .ok_or_else(|| {
                        Error::invalid("count", format!("{} is outside 1..={max}", req.count))
                    })?;
                Ok(ParsedTarget::Batch(pool, count))
            })
            .await;
        reply(claimed.map(|leads| v1::ClaimBatchResponse { leads }))
    }

    #[tracing::instrument(skip_all, fields(lead = %request.get_ref().name))]
    async fn release_lead(
        &self,
        request: Request<v1::ReleaseLeadRequest>,
    ) -> Reply<v1::ReleaseLeadResponse> {
        let lead = self.work(&request, release(request.get_ref())).await;
        reply(lead.map(|lead| v1::ReleaseLeadResponse { lead }))
    }

    #[tracing::instrument(skip_all, fields(lead = %request.get_ref().name))]
    async fn record_contact(
        &self,
        request: Request<v1::RecordContactRequest>,
    ) -> Reply<v1::RecordContactResponse> {
        let lead = self.work(&request, contact(request.get_ref())).await;
        reply(lead.map(|lead| v1::RecordContactResponse { lead }))
    }

    #[tracing::instrument(skip_all, fields(lead = %request.get_ref().name))]
    async fn record_outcome(
        &self,
        request: Request<v1::RecordOutcomeRequest>,
    ) -> Reply<v1::RecordOutcomeResponse> {
        let lead = self.work(&request, close(request.get_ref())).await;
        reply(lead.map(|lead| v1::RecordOutcomeResponse { lead }))
    }

    #[tracing::instrument(skip_all, fields(lead = %request.get_ref().name))]
    async fn accept_assignment(
        &self,
        request: Request<v1::AcceptAssignmentRequest>,
    ) -> Reply<v1::AcceptAssignmentResponse> {
        let lead = self.work(&request, accept(request.get_ref())).await;
        reply(lead.map(|lead| v1::AcceptAssignmentResponse { lead }))
    }

    #[tracing::instrument(skip_all, fields(lead = %request.get_ref().name))]
    async fn reject_assignment(
        &self,
        request: Request<v1::RejectAssignmentRequest>,
    ) -> Reply<v1::RejectAssignmentResponse> {
        let lead = self.work(&request, reject(request.get_ref())).await;
        reply(lead.map(|lead| v1::RejectAssignmentResponse { lead }))
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
                let mut events = self
                    .claims
                    .history(&viewer(&identity)?, id, after, limit + 1)
                    .await?;
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
                let status = self.claims.rep_status(&rep, at).await?;
                Ok(messages::rep_status(status))
            }
            .await,
        )
    }
}
