//! The gRPC surface of the claim service. Each handler turns its request into domain values
//! (refusing bad input with every field violation), makes one call on [`Claims`], and turns the
//! answer into the response. The acting rep is always the token's subject.

use std::sync::Arc;

use leadpool_auth::{Identity, Role};
use leadpool_domain::validation::Violations;
use leadpool_domain::{
    AuditAction, Clock, Error, FieldViolation, LeadId, LeadState, Outcome, OwnedChange, PoolId,
    RepId,
};
use leadpool_proto::v1::{self, claim_service_server::ClaimService};
use leadpool_server::audit::audit_entry;
use leadpool_server::{caller, convert, paging, require_role, to_status};
use leadpool_store::{AuditLog, AvailableCursor, LeadFilter, LeadOrder, ListCursor};
use prost::Message;
use tonic::{Request, Response, Status};

use crate::claims::{Assignment, Claims, Destination, LeadQuery, Reassignment, Target, Viewer};
use crate::messages;

const MAX_REASON_LEN: usize = 1000;

pub struct ClaimApi {
    claims: Claims,
    audit: AuditLog,
    clock: Arc<dyn Clock>,
}

impl ClaimApi {
    pub fn new(claims: Claims, audit: AuditLog, clock: Arc<dyn Clock>) -> Self {
        Self {
            claims,
            audit,
            clock,
        }
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

/// Free text of at most [`MAX_REASON_LEN`] bytes, trimmed, without control characters (line
/// breaks and tabs aside); `required` refuses it empty.
fn text(field: &str, value: &str, required: bool) -> Result<String, FieldViolation> {
    let value = value.trim();
    if required && value.is_empty() {
        Err(FieldViolation::new(field, "is required"))
    } else if value.len() > MAX_REASON_LEN {
        Err(FieldViolation::new(
            field,
            format!("is longer than {MAX_REASON_LEN} bytes"),
        ))
    } else if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        Err(FieldViolation::new(field, "contains control characters"))
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
                let (access, performance, version) =
                    self.claims.explain_access(&rep, &pool, at).await?;
                Ok(v1::ExplainAccessResponse {
                    allowed: access.allowed,
                    rule: access.rule.unwrap_or_default(),
                    window: access.window,
                    reasons: access.reasons,
                    policy_version: version,
                    performance: performance.as_ref().map(convert::performance),
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

    async fn get_lead(&self, request: Request<v1::GetLeadRequest>) -> Reply<v1::GetLeadResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                let id = LeadId::from_name(&request.get_ref().name, "name")?;
                let (lead, last) = self
                    .claims
                    .get_lead(&identity.authority(), id, self.clock.now())
                    .await?;
                Ok(v1::GetLeadResponse {
                    lead: Some(convert::lead(&lead)),
                    last_change: last.as_ref().map(convert::event),
                })
            }
            .await,
        )
    }

    async fn list_leads(
        &self,
        request: Request<v1::ListLeadsRequest>,
    ) -> Reply<v1::ListLeadsResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                let req = request.get_ref();
                let (query, order, limit) = lead_query(req)?;
                let mut filters = req.clone();
                filters.page_token.clear();
                filters.page_size = 0;
                let scope = paging::filtered_scope("leads", &filters.encode_to_vec());
                let cursor: Option<ListCursor> = paging::decode(&req.page_token, &scope)?;
                let mut leads = self
                    .claims
                    .list_leads(
                        &identity.authority(),
                        query,
                        order,
                        cursor.as_ref(),
                        limit + 1,
                    )
                    .await?;
                let next = if leads.len() > usize::try_from(limit).unwrap_or(usize::MAX) {
                    leads.pop();
                    leads.last().map(|last| ListCursor::after(last, order))
                } else {
                    None
                };
                Ok(v1::ListLeadsResponse {
                    leads: leads.iter().map(convert::lead).collect(),
                    next_page_token: next.map(|c| paging::encode(&scope, c)).unwrap_or_default(),
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all, fields(lead = %request.get_ref().name, rep = %request.get_ref().rep))]
    async fn assign_lead(
        &self,
        request: Request<v1::AssignLeadRequest>,
    ) -> Reply<v1::AssignLeadResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                require_role(&identity, &[Role::Manager, Role::Admin], "assign leads")?;
                let assignment = assignment(request.get_ref())?;
                if assignment.override_caps && !identity.has_role(Role::Admin) {
                    return Err(Error::PermissionDenied(format!(
                        "{} may not override open-lead caps: that needs the admin role",
                        identity.actor()
                    )));
                }
                let lead = self
                    .claims
                    .assign_lead(
                        &identity.authority(),
                        &assignment,
                        &identity.actor(),
                        self.clock.now(),
                    )
                    .await?;
                let detail = serde_json::json!({
                    "rep": assignment.rep.name(),
                    "reason": assignment.reason,
                    "overrideCaps": assignment.override_caps,
                });
                let target = assignment.lead.name();
                let entry =
                    audit_entry(&request, &identity, AuditAction::LeadAssign, target, detail);
                self.audit.record(&entry).await?;
                Ok(v1::AssignLeadResponse {
                    lead: Some(convert::lead(&lead)),
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all, fields(from = %request.get_ref().from_rep))]
    async fn reassign_leads(
        &self,
        request: Request<v1::ReassignLeadsRequest>,
    ) -> Reply<v1::ReassignLeadsResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                require_role(&identity, &[Role::Manager, Role::Admin], "reassign leads")?;
                let reassignment = reassignment(request.get_ref())?;
                let report = self
                    .claims
                    .reassign_leads(
                        &identity.authority(),
                        &reassignment,
                        &identity.actor(),
                        self.clock.now(),
                    )
                    .await?;
                if !reassignment.validate_only {
                    let detail = serde_json::json!({
                        "moved": report.moved.iter().map(|(lead, to, _)| (lead.name(), to.clone())).collect::<Vec<_>>(),
                        "refused": report.refused.len(),
                        "reason": reassignment.reason,
                    });
                    let target = reassignment.from.name();
                    let entry = audit_entry(&request, &identity, AuditAction::LeadsReassign, target, detail);
                    self.audit.record(&entry).await?;
                }
                Ok(v1::ReassignLeadsResponse {
                    moved: report
                        .moved
                        .iter()
                        .map(|(lead, to, after)| v1::LeadMove {
                            lead: lead.name(),
                            to: to.clone(),
                            result: after.as_ref().map(convert::lead),
                        })
                        .collect(),
                    refused: report
                        .refused
                        .iter()
                        .map(|r| v1::LeadRefusal {
                            lead: r.lead.name(),
                            reason: r.reason.as_str().to_owned(),
                            message: r.message.clone(),
                        })
                        .collect(),
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all, fields(lead = %request.get_ref().name))]
    async fn return_lead(
        &self,
        request: Request<v1::ReturnLeadRequest>,
    ) -> Reply<v1::ReturnLeadResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                require_role(&identity, &[Role::Manager, Role::Admin], "return leads")?;
                let req = request.get_ref();
                let mut v = Violations::new();
                let id = v.check(LeadId::from_name(&req.name, "name"));
                let reason = v.check(text("reason", &req.reason, true));
                let (Some(id), Some(reason), true) = (id, reason, v.is_empty()) else {
                    return Err(Error::InvalidArgument(v.into_vec()));
                };
                let lead = self
                    .claims
                    .return_lead(
                        &identity.authority(),
                        id,
                        &reason,
                        &identity.actor(),
                        self.clock.now(),
                    )
                    .await?;
                let detail = serde_json::json!({ "reason": reason });
                let entry = audit_entry(
                    &request,
                    &identity,
                    AuditAction::LeadReturn,
                    id.name(),
                    detail,
                );
                self.audit.record(&entry).await?;
                Ok(v1::ReturnLeadResponse {
                    lead: Some(convert::lead(&lead)),
                })
            }
            .await,
        )
    }
}

const MAX_SEARCH_LEN: usize = 100;
const MAX_REASSIGN: usize = 500;

/// ListLeads' filters, order and page size, every problem reported.
fn lead_query(req: &v1::ListLeadsRequest) -> Result<(LeadQuery, LeadOrder, i64), Error> {
    let mut v = Violations::new();
    let mut filter = LeadFilter::default();
    for (i, state) in req.states.iter().enumerate() {
        match v1::LeadState::try_from(*state).ok().and_then(domain_state) {
            Some(state) => filter.states.push(state),
            None => v.add(
                format!("states[{i}]"),
                format!("{state} is not a lead state"),
            ),
        }
    }
    if !req.pool.is_empty() {
        filter.pool = v.check(PoolId::from_name(&req.pool, "pool"));
    }
    if !req.owner.is_empty() {
        filter.owner = v.check(RepId::from_name(&req.owner, "owner"));
    }
    let team = (!req.team.is_empty())
        .then(|| {
            v.check(PoolId::parse(&req.team, "team").map_err(|_| {
                FieldViolation::new(
                    "team",
                    "is not a team id: lowercase letters, digits and '-', starting with a letter",
                )
            }))
            .map(|_| req.team.clone())
        })
        .flatten();
    filter.received_after = req
        .received_after
        .as_ref()
        .and_then(|at| v.check(convert::from_timestamp(at, "received_after")));
    filter.received_before = req
        .received_before
        .as_ref()
        .and_then(|at| v.check(convert::from_timestamp(at, "received_before")));
    let search = req.search.trim();
    if !search.is_empty() {
        let length = search.chars().count();
        if !(2..=MAX_SEARCH_LEN).contains(&length) {
            v.add(
                "search",
                format!("needs 2 to {MAX_SEARCH_LEN} characters, has {length}"),
            );
        } else if search.chars().any(char::is_control) {
            v.add("search", "contains control characters");
        } else {
            filter.search = Some(search.to_lowercase());
        }
    } else if !req.search.is_empty() {
        v.add("search", "is only white space");
    }
    let order = v.check(lead_order(req.order_by));
    let limit = v.check(paging::page_size(req.page_size, 50, 500));
    match (order, limit) {
        (Some(order), Some(limit)) if v.is_empty() => {
            Ok((LeadQuery { filter, team }, order, limit))
        }
        _ => Err(Error::InvalidArgument(v.into_vec())),
    }
}

fn domain_state(state: v1::LeadState) -> Option<LeadState> {
    LeadState::ALL
        .into_iter()
        .find(|s| convert::lead_state(*s) == state)
}

fn assignment(req: &v1::AssignLeadRequest) -> Result<Assignment, Error> {
    let mut v = Violations::new();
    let lead = v.check(LeadId::from_name(&req.name, "name"));
    let rep = v.check(RepId::from_name(&req.rep, "rep"));
    let reason = v.check(text("reason", &req.reason, req.override_open_lead_cap));
    match (lead, rep, reason) {
        (Some(lead), Some(rep), Some(reason)) if v.is_empty() => Ok(Assignment {
            lead,
            rep,
            reason,
            override_caps: req.override_open_lead_cap,
        }),
        _ => Err(Error::InvalidArgument(v.into_vec())),
    }
}

fn reassignment(req: &v1::ReassignLeadsRequest) -> Result<Reassignment, Error> {
    use v1::reassign_leads_request::Destination as To;
    let mut v = Violations::new();
    let from = v.check(RepId::from_name(&req.from_rep, "from_rep"));
    if req.leads.len() > MAX_REASSIGN {
        v.add(
            "leads",
            format!("lists {}; at most {MAX_REASSIGN} at once", req.leads.len()),
        );
    }
    let leads: Vec<LeadId> = req
        .leads
        .iter()
        .take(MAX_REASSIGN)
        .enumerate()
        .filter_map(|(i, name)| v.check(LeadId::from_name(name, &format!("leads[{i}]"))))
        .collect();
    let to = match &req.destination {
        Some(To::ToRep(rep)) => v
            .check(RepId::from_name(rep, "to_rep"))
            .map(Destination::Rep),
        Some(To::ToPools(true)) => Some(Destination::Pools),
        Some(To::ToPools(false)) | None => {
            v.add("destination", "is required: to_rep, or to_pools = true");
            None
        }
    };
    let reason = v.check(text("reason", &req.reason, true));
    match (from, to, reason) {
        (Some(from), Some(to), Some(reason)) if v.is_empty() => Ok(Reassignment {
            from,
            leads,
            to,
            reason,
            validate_only: req.validate_only,
        }),
        _ => Err(Error::InvalidArgument(v.into_vec())),
    }
}
