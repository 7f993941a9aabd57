//! The gRPC surface of the routing service. Handlers check who is calling, turn the request
//! into domain values, and call the routing logic or the policy operations.

use std::time::Duration;

use leadpool_auth::{Identity, Role};
use leadpool_domain::validation::Violations;
use leadpool_domain::{Clock, Error, FieldViolation, LeadId, PoolId, Reason, RepId};
use leadpool_policy::document::{LimitsDoc, PoolDoc, RepDoc, TeamDoc};
use leadpool_policy::{ChangeKind, Decision, LeadFacts, next_assignee};
use leadpool_proto::v1::{self, routing_service_server::RoutingService};
use leadpool_server::{caller, convert, paging, require_role, to_status};
use leadpool_store::{Applied, PolicyRecord};
use tonic::{Request, Response, Status};

use crate::policy_ops::PolicyOps;
use crate::routing::Router;

const MAX_CONTACT_SLA: Duration = Duration::from_secs(30 * 24 * 3600);
const MAX_NAME_LEN: usize = 200;
const MAX_ROUTE_BATCH: usize = 1000;

pub struct RoutingApi {
    router: Router,
}

impl RoutingApi {
    pub fn new(router: Router) -> Self {
        Self { router }
    }

    fn ops(&self) -> PolicyOps<'_> {
        PolicyOps {
            store: &self.router.store,
            cache: &self.router.policy,
            clock: self.router.clock.as_ref(),
        }
    }

    fn clock(&self) -> &dyn Clock {
        self.router.clock.as_ref()
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
        changes: applied
            .changes
            .iter()
            .map(|c| v1::PolicyChange {
                kind: match c.kind {
                    ChangeKind::Added => v1::policy_change::Kind::Added,
                    ChangeKind::Removed => v1::policy_change::Kind::Removed,
                    ChangeKind::Changed => v1::policy_change::Kind::Changed,
                }
                .into(),
                path: c.path.clone(),
            })
            .collect(),
        applied: applied.applied,
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
                let mut report = self.router.route(&[id], &identity.actor()).await?;
                if let Some(unrouted) = report.unrouted.pop() {
                    return Err(match unrouted.kind {
                        Reason::LeadNotFound => Error::not_found("lead", id.name()),
                        kind => Error::precondition(kind, id.name(), unrouted.reason),
                    });
                }
                let routed = !report.pooled.is_empty() || !report.assigned.is_empty();
                let lead = report
                    .pooled
                    .into_iter()
                    .chain(report.assigned)
                    .chain(report.already_routed)
                    .next()
                    .ok_or_else(|| Error::internal("routing reported nothing for the lead"))?;
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
                let report = self.router.route(&ids, &identity.actor()).await?;
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
                    .ops()
                    .apply(
                        &req.document,
                        req.validate_only,
                        expected,
                        &identity.actor(),
                    )
                    .await?;
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
                let record = match version {
                    v if v < 0 => {
                        return Err(Error::invalid(
                            "version",
                            "must not be negative; 0 means the current version",
                        ));
                    }
                    0 => self.router.store.current_policy().await?,
                    v => Some(self.router.store.policy(v).await?),
                };
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
                let records = self.router.store.list_policies(before, limit + 1).await?;
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
                let lead = match &request.get_ref().lead {
                    Some(v1::explain_route_request::Lead::Name(name)) => self
                        .router
                        .store
                        .get_lead(LeadId::from_name(name, "name")?)
                        .await?
                        .facts(),
                    Some(v1::explain_route_request::Lead::Sketch(sketch)) => sketch_facts(sketch)?,
                    None => {
                        return Err(Error::invalid(
                            "lead",
                            "is required: a stored lead's name or a sketch",
                        ));
                    }
                };
                self.explain(&lead).await
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
                let pool = parse_pool(request.get_ref())?;
                let id = PoolId::parse(&pool.id, "pool_id")?;
                self.ops()
                    .edit(&identity.actor(), |document| {
                        if document.pools.iter().any(|p| p.id == pool.id) {
                            return Err(Error::AlreadyExists {
                                name: id.name(),
                                message: format!("pool {} already exists", id.name()),
                            });
                        }
                        document.pools.push(pool.clone());
                        Ok(())
                    })
                    .await?;
                let record = self.router.store.get_pool(&id).await?;
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
                let record = self.router.store.get_pool(&id).await?;
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
                let pools = self
                    .router
                    .store
                    .list_pools(after.as_deref(), limit + 1)
                    .await?;
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
                let (rep, id) = parse_rep(request.get_ref().rep.as_ref())?;
                self.ops()
                    .edit(&identity.actor(), |document| {
                        if let Some(team) = &rep.team
                            && !document.teams.iter().any(|t| &t.id == team)
                        {
                            document.teams.push(TeamDoc {
                                id: team.clone(),
                                name: None,
                                time_zone: None,
                                business_hours: None,
                                after_hours: None,
                                weekends: None,
                                limits: None,
                            });
                        }
                        match document.reps.iter_mut().find(|r| r.id == rep.id) {
                            Some(existing) => {
                                // Keep what this call does not speak about.
                                let mut updated = rep.clone();
                                updated.seniority = existing.seniority.clone();
                                updated.performance = existing.performance.clone();
                                updated.regions = existing.regions.clone();
                                updated.products = existing.products.clone();
                                updated.industries = existing.industries.clone();
                                updated.weight = existing.weight;
                                updated.unavailable = existing.unavailable.clone();
                                let mut limits = existing.limits.clone().unwrap_or_default();
                                limits.per_day = rep.limits.as_ref().and_then(|l| l.per_day);
                                updated.limits = (limits != LimitsDoc::default()).then_some(limits);
                                *existing = updated;
                            }
                            None => document.reps.push(rep.clone()),
                        }
                        Ok(())
                    })
                    .await?;
                let current = self.router.policy.current().await?;
                let saved = current
                    .policy
                    .rep(&id)
                    .ok_or_else(|| Error::internal("the saved rep is not in the policy"))?;
                Ok(v1::UpsertRepResponse {
                    rep: Some(rep_message(&current.policy, saved)),
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
                let current = self.router.policy.current().await?;
                let reps: Vec<&leadpool_policy::Rep> = current
                    .policy
                    .reps
                    .values()
                    .filter(|rep| after.as_deref().is_none_or(|after| rep.id.as_str() > after))
                    .take(usize::try_from(limit + 1).unwrap_or(usize::MAX))
                    .collect();
                let (page, next) = split_page(reps, limit, |r| r.id.to_string());
                Ok(v1::ListRepsResponse {
                    reps: page
                        .iter()
                        .map(|rep| rep_message(&current.policy, rep))
                        .collect(),
                    next_page_token: next
                        .map(|id| paging::encode("reps", id))
                        .unwrap_or_default(),
                })
            }
            .await,
        )
    }
}

impl RoutingApi {
    async fn explain(&self, lead: &LeadFacts) -> Result<v1::ExplainRouteResponse, Error> {
        let current = self.router.policy.current().await?;
        let policy = &current.policy;
        let explained = policy.route(lead);
        let mut response = v1::ExplainRouteResponse {
            rules: explained
                .checks
                .iter()
                .map(|check| v1::RuleEvaluation {
                    rule: check.rule.clone(),
                    matched: check.matched,
                    reasons: check.reasons.clone(),
                })
                .collect(),
            matched_rule: explained.rule.clone().unwrap_or_default(),
            detail: explained.detail.clone(),
            policy_version: current.version,
            ..Default::default()
        };
        match &explained.decision {
            Decision::Pool(pool) => response.pool = pool.name(),
            Decision::Assign { assign, key } => {
                response.assign_strategy = assign.strategy.to_string();
                let candidates = policy.assignment_candidates(assign, lead, self.clock().now());
                let reps: Vec<RepId> = candidates.eligible.iter().map(|c| c.rep.clone()).collect();
                let counts = self.router.store.assignment_counts(key, &reps).await?;
                response.next_assignee =
                    next_assignee(assign.strategy, &candidates.eligible, &counts)
                        .map(|c| c.rep.name())
                        .unwrap_or_default();
                response.skipped_assignees = candidates.skipped;
                if response.next_assignee.is_empty()
                    && let Some(pool) = &assign.fallback_pool
                {
                    response.pool = pool.name();
                }
            }
            Decision::Unroutable => {}
        }
        Ok(response)
    }
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
        source: sketch.source.trim().to_ascii_lowercase(),
    })
}

fn rep_message(policy: &leadpool_policy::Policy, rep: &leadpool_policy::Rep) -> v1::Rep {
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
        daily_claim_limit: policy
            .limits_for(rep)
            .per_day
            .and_then(|limit| i32::try_from(limit).ok())
            .unwrap_or(0),
    }
}

fn parse_pool(req: &v1::CreatePoolRequest) -> Result<PoolDoc, Vec<FieldViolation>> {
    let mut v = Violations::new();
    v.check(PoolId::parse(&req.pool_id, "pool_id"));
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
    v.into_result(|| PoolDoc {
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
        aging: None,
        refresh: None,
        health: None,
    })
}

fn parse_rep(rep: Option<&v1::Rep>) -> Result<(RepDoc, RepId), Vec<FieldViolation>> {
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
            RepDoc {
                id: id.to_string(),
                name: (!rep.display_name.trim().is_empty())
                    .then(|| rep.display_name.trim().to_owned()),
                team: (!team.is_empty()).then(|| team.to_owned()),
                role: role.to_owned(),
                seniority: None,
                performance: None,
                regions: Vec::new(),
                products: Vec::new(),
                industries: Vec::new(),
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
            id,
        )),
        (_, violations) => Err(violations),
    }
}
