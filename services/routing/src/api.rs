//! The gRPC surface of the routing service. Each handler checks who is calling, turns the
//! request into domain values (refusing bad input with every field violation), makes one call
//! on [`Routing`], and turns the answer into the response.

use std::time::Duration;

use chrono::{DateTime, Utc};
use leadpool_auth::Identity;
use leadpool_auth::Role;
use leadpool_domain::validation::Violations;
use leadpool_domain::{AuditAction, AwayStatus, Error, FieldViolation, LeadId, PoolId, RepId};
use leadpool_policy::document::{LimitsDoc, PoolDoc, RepDoc};
use leadpool_policy::{Decision, LeadFacts};
use leadpool_proto::v1::{self, routing_service_server::RoutingService};
use leadpool_server::audit::audit_entry;
use leadpool_server::{caller, convert, paging, require_role, to_status};
use leadpool_store::{Applied, AuditFilter, AuditLog, PolicyRecord};
use tonic::{Request, Response, Status};

use crate::routing::{AvailabilityChange, Explained, RepView, RouteQuestion, Routing};
use leadpool_policy::Oversight;

const MAX_CONTACT_SLA: Duration = Duration::from_secs(30 * 24 * 3600);
const MAX_NAME_LEN: usize = 200;
const MAX_ROUTE_BATCH: usize = 1000;

pub struct RoutingApi {
    routing: Routing,
    audit: AuditLog,
}

impl RoutingApi {
    pub fn new(routing: Routing, audit: AuditLog) -> Self {
        Self { routing, audit }
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn reply<T>(result: Result<T, Error>) -> Reply<T> {
    result.map(Response::new).map_err(to_status)
}

fn may_route(identity: &Identity) -> Result<(), Error> {
    require_role(identity, &[Role::Service, Role::Admin], "route leads")
}

fn may_configure(identity: &Identity) -> Result<(), Error> {
    require_role(identity, &[Role::Admin], "change the routing policy")
}

fn policy_version(record: &PolicyRecord, with_document: bool) -> v1::PolicyVersion {
    v1::PolicyVersion {
        version: record.version,
        document: if with_document {
            record.document.clone()
        } else {
            String::new()
        },
        display_name: record.name.clone(),
        applied_by: record.applied_by.clone(),
        apply_time: Some(convert::timestamp(record.applied_at)),
    }
}

fn apply_response(applied: Applied) -> v1::ApplyPolicyResponse {
    v1::ApplyPolicyResponse {
        policy: applied.record.as_ref().map(|r| policy_version(r, true)),
        changes: applied.changes.iter().map(convert::policy_change).collect(),
        applied: applied.applied,
        drains: applied
            .drains
            .iter()
            .map(|d| v1::PoolDrain {
                pool: d.from.name(),
                drain_to: d.to.name(),
                leads: d.leads,
            })
            .collect(),
    }
}

#[tonic::async_trait]
impl RoutingService for RoutingApi {
    #[tracing::instrument(skip_all, fields(lead = %request.get_ref().name))]
    async fn route_lead(
        &self,
        request: Request<v1::RouteLeadRequest>,
    ) -> Reply<v1::RouteLeadResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                may_route(&identity)?;
                let id = LeadId::from_name(&request.get_ref().name, "name")?;
                let (lead, routed) = self.routing.route_one(id, &identity.actor()).await?;
                Ok(v1::RouteLeadResponse {
                    lead: Some(convert::lead(&lead)),
                    routed,
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all, fields(count = request.get_ref().names.len()))]
    async fn route_leads(
        &self,
        request: Request<v1::RouteLeadsRequest>,
    ) -> Reply<v1::RouteLeadsResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                may_route(&identity)?;
                let names = &request.get_ref().names;
                if names.is_empty() || names.len() > MAX_ROUTE_BATCH {
                    return Err(Error::invalid(
                        "names",
                        format!(
                            "needs 1 to {MAX_ROUTE_BATCH} lead names, got {}",
                            names.len()
                        ),
                    ));
                }
                let mut v = Violations::new();
                let ids: Vec<LeadId> = names
                    .iter()
                    .enumerate()
                    .filter_map(|(i, name)| {
                        v.check(LeadId::from_name(name, &format!("names[{i}]")))
                    })
                    .collect();
                v.into_result(|| ())?;
                let report = self.routing.route(&ids, &identity.actor()).await?;
                Ok(v1::RouteLeadsResponse {
                    pooled: report.pooled.len() as i64,
                    assigned: report.assigned.len() as i64,
                    already_routed: report.already_routed.len() as i64,
                    unrouted: report
                        .unrouted
                        .into_iter()
                        .map(|u| v1::UnroutedLead {
                            name: u.lead.name(),
                            reason: u.reason,
                        })
                        .collect(),
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all, fields(validate_only = request.get_ref().validate_only))]
    async fn apply_policy(
        &self,
        request: Request<v1::ApplyPolicyRequest>,
    ) -> Reply<v1::ApplyPolicyResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                may_configure(&identity)?;
                let req = request.get_ref();
                if req.expected_version < 0 {
                    return Err(Error::invalid(
                        "expected_version",
                        "must not be negative; 0 means no check",
                    ));
                }
                let expected = (req.expected_version > 0).then_some(req.expected_version);
                let applied = self
                    .routing
                    .apply(
                        &req.document,
                        req.validate_only,
                        expected,
                        &identity.actor(),
                    )
                    .await?;
                if applied.applied && !req.validate_only {
                    let detail = serde_json::json!({
                        "version": applied.record.as_ref().map(|r| r.version),
                        "changes": applied.changes.iter().map(|c| format!("{:?} {}", c.kind, c.path)).collect::<Vec<_>>(),
                        "drains": applied.drains.len(),
                    });
                    let entry = audit_entry(&request, &identity, AuditAction::PolicyApply, "policy", detail);
                    self.audit.record(&entry).await?;
                }
                Ok(apply_response(applied))
            }
            .await,
        )
    }

    async fn get_policy(
        &self,
        request: Request<v1::GetPolicyRequest>,
    ) -> Reply<v1::GetPolicyResponse> {
        reply(
            async {
                caller(&request)?;
                let version = request.get_ref().version;
                if version < 0 {
                    return Err(Error::invalid(
                        "version",
                        "must not be negative; 0 means the current version",
                    ));
                }
                let record = self.routing.policy_version(version).await?;
                Ok(v1::GetPolicyResponse {
                    policy: Some(record.map_or_else(
                        || v1::PolicyVersion {
                            document: leadpool_policy::PolicyDocument::empty().to_yaml(),
                            ..Default::default()
                        },
                        |r| policy_version(&r, true),
                    )),
                })
            }
            .await,
        )
    }

    async fn list_policy_versions(
        &self,
        request: Request<v1::ListPolicyVersionsRequest>,
    ) -> Reply<v1::ListPolicyVersionsResponse> {
        reply(
            async {
                caller(&request)?;
                let req = request.get_ref();
                let limit = paging::page_size(req.page_size, 50, 500)?;
                let before: Option<i64> = paging::decode(&req.page_token, "policies")?;
                let records = self.routing.policy_versions(before, limit + 1).await?;
                let (page, next) = split_page(records, limit, |r| r.version);
                Ok(v1::ListPolicyVersionsResponse {
                    versions: page.iter().map(|r| policy_version(r, false)).collect(),
                    next_page_token: next
                        .map(|v| paging::encode("policies", v))
                        .unwrap_or_default(),
                })
            }
            .await,
        )
    }

    async fn explain_route(
        &self,
        request: Request<v1::ExplainRouteRequest>,
    ) -> Reply<v1::ExplainRouteResponse> {
        reply(
            async {
                caller(&request)?;
                let question = match &request.get_ref().lead {
                    Some(v1::explain_route_request::Lead::Name(name)) => {
                        RouteQuestion::Stored(LeadId::from_name(name, "name")?)
                    }
                    Some(v1::explain_route_request::Lead::Sketch(sketch)) => {
                        RouteQuestion::Sketch(sketch_facts(sketch)?)
                    }
                    None => {
                        return Err(Error::invalid(
                            "lead",
                            "is required: a stored lead's name or a sketch",
                        ));
                    }
                };
                Ok(explanation(self.routing.explain(question).await?))
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all, fields(pool = %request.get_ref().pool_id))]
    async fn create_pool(
        &self,
        request: Request<v1::CreatePoolRequest>,
    ) -> Reply<v1::CreatePoolResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                may_configure(&identity)?;
                let (id, pool) = parse_pool(request.get_ref())?;
                let detail = serde_json::json!({ "kind": pool.kind, "minScore": pool.min_score });
                let record = self
                    .routing
                    .create_pool(id.clone(), pool, &identity.actor())
                    .await?;
                let entry = audit_entry(
                    &request,
                    &identity,
                    AuditAction::PoolCreate,
                    id.name(),
                    detail,
                );
                self.audit.record(&entry).await?;
                Ok(v1::CreatePoolResponse {
                    pool: Some(convert::pool(&record)),
                })
            }
            .await,
        )
    }

    async fn get_pool(&self, request: Request<v1::GetPoolRequest>) -> Reply<v1::GetPoolResponse> {
        reply(
            async {
                caller(&request)?;
                let id = PoolId::from_name(&request.get_ref().name, "name")?;
                let record = self.routing.pool(&id).await?;
                Ok(v1::GetPoolResponse {
                    pool: Some(convert::pool(&record)),
                })
            }
            .await,
        )
    }

    async fn list_pools(
        &self,
        request: Request<v1::ListPoolsRequest>,
    ) -> Reply<v1::ListPoolsResponse> {
        reply(
            async {
                caller(&request)?;
                let req = request.get_ref();
                let limit = paging::page_size(req.page_size, 100, 1000)?;
                let after: Option<String> = paging::decode(&req.page_token, "pools")?;
                let pools = self.routing.pools(after.as_deref(), limit + 1).await?;
                let (page, next) = split_page(pools, limit, |p| p.id.clone());
                Ok(v1::ListPoolsResponse {
                    pools: page.iter().map(convert::pool).collect(),
                    next_page_token: next
                        .map(|id| paging::encode("pools", id))
                        .unwrap_or_default(),
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn upsert_rep(
        &self,
        request: Request<v1::UpsertRepRequest>,
    ) -> Reply<v1::UpsertRepResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                may_configure(&identity)?;
                let (id, rep) = parse_rep(request.get_ref().rep.as_ref())?;
                let detail = serde_json::json!({
                    "team": rep.team, "role": rep.role, "active": rep.active,
                    "dailyLimit": rep.limits.as_ref().and_then(|l| l.per_day),
                });
                let saved = self.routing.save_rep(&id, rep, &identity.actor()).await?;
                let entry = audit_entry(
                    &request,
                    &identity,
                    AuditAction::RepUpsert,
                    id.name(),
                    detail,
                );
                self.audit.record(&entry).await?;
                Ok(v1::UpsertRepResponse {
                    rep: Some(rep_message(&saved)),
                })
            }
            .await,
        )
    }

    async fn list_reps(
        &self,
        request: Request<v1::ListRepsRequest>,
    ) -> Reply<v1::ListRepsResponse> {
        reply(
            async {
                caller(&request)?;
                let req = request.get_ref();
                let limit = paging::page_size(req.page_size, 100, 1000)?;
                let after: Option<String> = paging::decode(&req.page_token, "reps")?;
                let reps = self
                    .routing
                    .reps(
                        after.as_deref(),
                        usize::try_from(limit + 1).unwrap_or(usize::MAX),
                    )
                    .await?;
                let (page, next) = split_page(reps, limit, |r| r.rep.id.to_string());
                Ok(v1::ListRepsResponse {
                    reps: page.iter().map(rep_message).collect(),
                    next_page_token: next
                        .map(|id| paging::encode("reps", id))
                        .unwrap_or_default(),
                })
            }
            .await,
        )
    }

    async fn get_rep(&self, request: Request<v1::GetRepRequest>) -> Reply<v1::GetRepResponse> {
        reply(
            async {
                caller(&request)?;
                let id = RepId::from_name(&request.get_ref().name, "name")?;
                let view = self.routing.rep(&id).await?;
                Ok(v1::GetRepResponse {
                    rep: Some(rep_message(&view)),
                })
            }
            .await,
        )
    }

    async fn get_caller(
        &self,
        request: Request<v1::GetCallerRequest>,
    ) -> Reply<v1::GetCallerResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                let caller = self
                    .routing
                    .caller(identity.rep(), &identity.authority())
                    .await?;
                let (oversees_teams, oversees_everything) = match caller.oversight {
                    Oversight::Everything => (Vec::new(), true),
                    Oversight::Teams { teams, .. } => (teams.into_iter().collect(), false),
                };
                Ok(v1::GetCallerResponse {
                    subject: identity.actor(),
                    roles: identity.roles.iter().map(|r| r.name().to_owned()).collect(),
                    rep: caller.rep.as_ref().map(rep_message),
                    oversees_teams,
                    oversees_everything,
                })
            }
            .await,
        )
    }

    #[tracing::instrument(skip_all, fields(rep = %request.get_ref().rep))]
    async fn set_rep_availability(
        &self,
        request: Request<v1::SetRepAvailabilityRequest>,
    ) -> Reply<v1::SetRepAvailabilityResponse> {
        reply(
            async {
                let identity = caller(&request)?;
                let (rep, change) = parse_availability(request.get_ref(), self.routing.now())?;
                let detail = serde_json::json!({ "availability": format!("{change:?}") });
                let view = self
                    .routing
                    .set_availability(&identity.authority(), &rep, change, &identity.actor())
                    .await?;
                let entry = audit_entry(
                    &request,
                    &identity,
                    AuditAction::RepAvailability,
                    rep.name(),
                    detail,
                );
                self.audit.record(&entry).await?;
                Ok(v1::SetRepAvailabilityResponse {
                    rep: Some(rep_message(&view)),
                })
            }
            .await,
        )
    }

    async fn list_audit_records(
        &self,
        request: Request<v1::ListAuditRecordsRequest>,
    ) -> Reply<v1::ListAuditRecordsResponse> {
        reply(self.audit_page(&request).await)
    }
}

impl RoutingApi {
    /// ListAuditRecords (admins): newest first, keyset-paged by id.
    async fn audit_page(
        &self,
        request: &Request<v1::ListAuditRecordsRequest>,
    ) -> Result<v1::ListAuditRecordsResponse, Error> {
        let identity = caller(request)?;
        require_role(&identity, &[Role::Admin], "read the audit log")?;
        let req = request.get_ref();
        let mut v = Violations::new();
        let limit = v.check(paging::page_size(req.page_size, 100, 1000));
        let scope = paging::filtered_scope(
            "audit",
            format!(
                "{}|{}|{}|{:?}|{:?}",
                req.actor, req.action, req.target, req.since_time, req.until_time
            )
            .as_bytes(),
        );
        let before_id = v
            .check(paging::decode::<i64>(&req.page_token, &scope))
            .flatten();
        let action = if req.action.is_empty() {
            None
        } else {
            let action = AuditAction::parse(&req.action);
            if action.is_none() {
                let known: Vec<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
                v.add("action", format!("is not one of: {}", known.join(", ")));
            }
            action
        };
        let since = req
            .since_time
            .as_ref()
            .and_then(|t| v.check(convert::from_timestamp(t, "since_time")));
        let until = req
            .until_time
            .as_ref()
            .and_then(|t| v.check(convert::from_timestamp(t, "until_time")));
        let (Some(limit), true) = (limit, v.is_empty()) else {
            return Err(Error::InvalidArgument(v.into_vec()));
        };
        let filter = AuditFilter {
            actor: (!req.actor.is_empty()).then(|| req.actor.clone()),
            action,
            target: (!req.target.is_empty()).then(|| req.target.clone()),
            since,
            until,
            before_id,
        };
        let mut records = self.audit.list(&filter, limit + 1).await?;
        let next = (records.len() as i64 > limit).then(|| {
            records.truncate(usize::try_from(limit).unwrap_or(0));
            records
                .last()
                .map(|r| paging::encode(&scope, r.id))
                .unwrap_or_default()
        });
        Ok(v1::ListAuditRecordsResponse {
            records: records
                .iter()
                .map(|r| v1::AuditRecord {
                    id: r.id,
                    time: Some(convert::timestamp(r.at)),
                    actor: r.entry.actor.clone(),
                    roles: r.entry.roles.clone(),
                    origin: r.entry.origin.clone(),
                    action: r.entry.action.as_str().to_owned(),
                    target: r.entry.target.clone(),
                    detail: r.entry.detail.to_string(),
                })
                .collect(),
            next_page_token: next.unwrap_or_default(),
        })
    }
}

fn explanation(explained: Explained) -> v1::ExplainRouteResponse {
    let route = explained.route;
    let mut response = v1::ExplainRouteResponse {
        rules: route
            .checks
            .iter()
            .map(|check| v1::RuleEvaluation {
                rule: check.rule.clone(),
                matched: check.matched,
                reasons: check.reasons.clone(),
            })
            .collect(),
        matched_rule: route.rule.clone().unwrap_or_default(),
        detail: route.detail.clone(),
        policy_version: explained.policy_version,
        next_assignee: explained
            .next_assignee
            .as_ref()
            .map(RepId::name)
            .unwrap_or_default(),
        skipped_assignees: explained.skipped,
        ..Default::default()
    };
    match &route.decision {
        Decision::Pool(pool) => response.pool = pool.name(),
        Decision::Assign { assign, .. } => {
            response.assign_strategy = assign.strategy.to_string();
            if let Some(pool) = &explained.fallback {
                response.pool = pool.name();
            }
        }
        Decision::Unroutable => {}
    }
    response
}

/// Splits `limit + 1` fetched rows into the page and the key to continue after, if any.
fn split_page<T, K>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> K) -> (Vec<T>, Option<K>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(key);
        (rows, next)
    } else {
        (rows, None)
    }
}

fn sketch_facts(sketch: &v1::LeadSketch) -> Result<LeadFacts, Error> {
    if !(0..=100).contains(&sketch.score) {
        return Err(Error::invalid(
            "sketch.score",
            format!("{} is outside 0..=100", sketch.score),
        ));
    }
    Ok(LeadFacts {
        // A new lead's split bucket is as random as its id.
        id: uuid::Uuid::now_v7(),
        score: sketch.score,
        region: sketch.region.trim().to_ascii_lowercase(),
        country: sketch.country.trim().to_ascii_uppercase(),
        product: sketch.product.trim().to_ascii_lowercase(),
        industry: sketch.industry.trim().to_ascii_lowercase(),
        language: sketch.language.trim().to_ascii_lowercase(),
        source: sketch.source.trim().to_ascii_lowercase(),
    })
}

fn rep_message(view: &RepView) -> v1::Rep {
    let rep = &view.rep;
    v1::Rep {
        name: rep.id.name(),
        display_name: rep.name.clone(),
        team: rep.team.clone().unwrap_or_default(),
        role: match rep.role {
            leadpool_policy::Role::Sdr => v1::RepRole::Sdr,
            leadpool_policy::Role::Ae => v1::RepRole::Ae,
            leadpool_policy::Role::Manager => v1::RepRole::Manager,
        }
        .into(),
        active: rep.active,
        daily_claim_limit: view
            .daily_limit
            .and_then(|limit| i32::try_from(limit).ok())
            .unwrap_or(0),
        availability: Some(convert::availability(
            view.away.as_ref(),
            view.setting.as_ref(),
        )),
        performance: Some(convert::performance(&rep.performance_view())),
    }
}

fn parse_pool(req: &v1::CreatePoolRequest) -> Result<(PoolId, PoolDoc), Vec<FieldViolation>> {
    let mut v = Violations::new();
    let id = v.check(PoolId::parse(&req.pool_id, "pool_id"));
    let display_name = req.display_name.trim();
    if display_name.len() > MAX_NAME_LEN {
        v.add(
            "display_name",
            format!("is longer than {MAX_NAME_LEN} bytes"),
        );
    }
    let kind = match v1::PoolKind::try_from(req.kind) {
        Ok(v1::PoolKind::Unspecified | v1::PoolKind::Open) => "open",
        Ok(v1::PoolKind::Segmented) => "segmented",
        Ok(v1::PoolKind::Tiered) => "tiered",
        Ok(v1::PoolKind::Timed) => "timed",
        Err(_) => {
            v.add("kind", format!("{} is not a PoolKind", req.kind));
            "open"
        }
    };
    let contact_sla = match &req.contact_sla {
        None => None,
        Some(d) if d.nanos != 0 || d.seconds <= 0 => {
            v.add("contact_sla", "must be a positive whole number of seconds");
            None
        }
        Some(d) if d.seconds.unsigned_abs() > MAX_CONTACT_SLA.as_secs() => {
            v.add("contact_sla", "must be at most 30 days");
            None
        }
        Some(d) => Some(format!("{}s", d.seconds)),
    };
    if !(0..=100).contains(&req.min_score) {
        v.add("min_score", format!("{} is outside 0..=100", req.min_score));
    }
    let doc = PoolDoc {
        id: req.pool_id.clone(),
        name: (!display_name.is_empty()).then(|| display_name.to_owned()),
        kind: kind.to_owned(),
        tier: None,
        min_score: Some(req.min_score),
        segment: None,
        contact_sla,
        contact_warning: None,
        access: Vec::new(),
        limits: None,
        requires: None,
        opens_when_empty: Vec::new(),
        rotation: None,
        blind: None,
        release: None,
        lifecycle: None,
        aging: None,
        refresh: None,
        health: None,
        working_time: None,
        skills: None,
    };
    match (id, v.into_vec()) {
        (Some(id), violations) if violations.is_empty() => Ok((id, doc)),
        (_, violations) => Err(violations),
    }
}

fn parse_rep(rep: Option<&v1::Rep>) -> Result<(RepId, RepDoc), Vec<FieldViolation>> {
    let Some(rep) = rep else {
        return Err(vec![FieldViolation::new("rep", "is required")]);
    };
    let mut v = Violations::new();
    let id = v.check(RepId::from_name(&rep.name, "rep.name"));
    let role = match v1::RepRole::try_from(rep.role) {
        Ok(v1::RepRole::Sdr) => "sdr",
        Ok(v1::RepRole::Ae) => "ae",
        Ok(v1::RepRole::Manager) => "manager",
        _ => {
            v.add(
                "rep.role",
                "is required: REP_ROLE_SDR, REP_ROLE_AE or REP_ROLE_MANAGER",
            );
            ""
        }
    };
    if rep.daily_claim_limit < 0 {
        v.add(
            "rep.daily_claim_limit",
            "must not be negative; 0 means the default",
        );
    }
    for (field, value) in [
        ("rep.display_name", &rep.display_name),
        ("rep.team", &rep.team),
    ] {
        if value.len() > MAX_NAME_LEN {
            v.add(field, format!("is longer than {MAX_NAME_LEN} bytes"));
        }
    }
    let team = rep.team.trim();
    if !team.is_empty() {
        v.check(
            PoolId::parse(team, "rep.team").map_err(|e| {
                FieldViolation::new("rep.team", e.description.replace("pool", "team"))
            }),
        );
    }
    match (id, v.into_vec()) {
        (Some(id), violations) if violations.is_empty() => Ok((
            id.clone(),
            RepDoc {
                id: id.to_string(),
                name: (!rep.display_name.trim().is_empty())
                    .then(|| rep.display_name.trim().to_owned()),
                team: (!team.is_empty()).then(|| team.to_owned()),
                role: role.to_owned(),
                // Set in the policy document (a rep saved here keeps hers).
                email: None,
                login: None,
                seniority: None,
                performance: None,
                regions: Vec::new(),
                products: Vec::new(),
                industries: Vec::new(),
                languages: Vec::new(),
                active: Some(rep.active),
                weight: None,
                unavailable: Vec::new(),
                limits: u32::try_from(rep.daily_claim_limit)
                    .ok()
                    .filter(|limit| *limit > 0)
                    .map(|per_day| LimitsDoc {
                        per_day: Some(per_day),
                        ..LimitsDoc::default()
                    }),
            },
        )),
        (_, violations) => Err(violations),
    }
}

/// The rep and what to set, with every problem of the request reported.
fn parse_availability(
    req: &v1::SetRepAvailabilityRequest,
    now: DateTime<Utc>,
) -> Result<(RepId, AvailabilityChange), Vec<FieldViolation>> {
    use v1::set_rep_availability_request::Availability;
    let mut v = Violations::new();
    let rep = v.check(RepId::from_name(&req.rep, "rep"));
    let mut time = |ts: Option<&leadpool_proto::Timestamp>, field: &str| {
        ts.and_then(|ts| v.check(convert::from_timestamp(ts, field)))
    };
    let change = match &req.availability {
        None => {
            v.add(
                "availability",
                "is required: out_of_office, busy or available",
            );
            None
        }
        Some(Availability::Available(_)) => Some(AvailabilityChange::Available),
        Some(Availability::OutOfOffice(ooo)) => {
            let from = time(ooo.from_time.as_ref(), "out_of_office.from_time");
            let until = time(ooo.until_time.as_ref(), "out_of_office.until_time");
            let note = v.check(note("out_of_office.note", &ooo.note));
            match until {
                None if ooo.until_time.is_none() => {
                    v.add("out_of_office.until_time", "is required");
                    None
                }
                Some(until) if until <= from.unwrap_or(now) => {
                    v.add(
                        "out_of_office.until_time",
                        "must be later than from_time (or now, without one)",
                    );
                    None
                }
                until => until
                    .zip(note)
                    .map(|(until, note)| AvailabilityChange::Away {
                        status: AwayStatus::OutOfOffice,
                        from,
                        until,
                        note,
                    }),
            }
        }
        Some(Availability::Busy(busy)) => {
            let until = time(busy.until_time.as_ref(), "busy.until_time");
            let note = v.check(note("busy.note", &busy.note));
            match until {
                None if busy.until_time.is_none() => {
                    v.add("busy.until_time", "is required");
                    None
                }
                Some(until) if until <= now => {
                    v.add("busy.until_time", "must be in the future");
                    None
                }
                until => until
                    .zip(note)
                    .map(|(until, note)| AvailabilityChange::Away {
                        status: AwayStatus::Busy,
                        from: None,
                        until,
                        note,
                    }),
            }
        }
    };
    match (rep, change) {
        (Some(rep), Some(change)) if v.is_empty() => Ok((rep, change)),
        _ => Err(v.into_vec()),
    }
}

/// A short note: at most [`MAX_NAME_LEN`] bytes, no control characters.
fn note(field: &str, value: &str) -> Result<String, FieldViolation> {
    let value = value.trim();
    if value.len() > MAX_NAME_LEN {
        Err(FieldViolation::new(
            field,
            format!("is longer than {MAX_NAME_LEN} bytes"),
        ))
    } else if value.chars().any(char::is_control) {
        Err(FieldViolation::new(field, "contains control characters"))
    } else {
        Ok(value.to_owned())
    }
}
