//! The gRPC surface of the routing service. Handlers check who is calling, turn the request
//! into domain values, and call the store or the routing logic.

use std::sync::Arc;
use std::time::Duration;

use leadpool_auth::Role;
use leadpool_domain::validation::Violations;
use leadpool_domain::{Clock, Error, FieldViolation, LeadId, PoolId, RepId};
use leadpool_proto::v1::{self, routing_service_server::RoutingService};
use leadpool_server::{caller, convert, paging, require_role, to_status};
use leadpool_store::{RepRecord, Store};
use tonic::{Request, Response, Status};

use crate::routing;

const DEFAULT_CONTACT_SLA: Duration = Duration::from_secs(2 * 3600);
const MAX_CONTACT_SLA: Duration = Duration::from_secs(30 * 24 * 3600);
const MAX_NAME_LEN: usize = 200;

pub struct RoutingApi {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl RoutingApi {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn reply<T>(result: Result<T, Error>) -> Reply<T> {
    result.map(Response::new).map_err(to_status)
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
                require_role(&identity, &[Role::Service, Role::Admin], "route leads")?;
                let id = LeadId::from_name(&request.get_ref().name, "name")?;
                let routed =
                    routing::route_lead(&self.store, self.clock.as_ref(), id, &identity.actor())
                        .await?;
                Ok(v1::RouteLeadResponse {
                    lead: Some(convert::lead(&routed.lead)),
                    routed: routed.newly_routed,
                })
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
                require_role(&identity, &[Role::Admin], "create pools")?;
                let pool = NewPool::parse(request.get_ref())?;
                let record = self
                    .store
                    .create_pool(
                        &pool.id,
                        &pool.display_name,
                        pool.kind,
                        pool.contact_sla_seconds,
                        pool.min_score,
                        self.clock.now(),
                    )
                    .await?;
                tracing::info!(pool = %pool.id, by = %identity.actor(), "pool created");
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
                let record = self.store.get_pool(&id).await?;
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
                let pools = self.store.list_pools(after.as_deref(), limit + 1).await?;
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
                require_role(&identity, &[Role::Admin], "manage reps")?;
                let rep = parse_rep(request.get_ref().rep.as_ref())?;
                let record = self.store.upsert_rep(&rep, self.clock.now()).await?;
                tracing::info!(rep = %record.id, by = %identity.actor(), "rep saved");
                Ok(v1::UpsertRepResponse {
                    rep: Some(convert::rep(&record)),
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
                let reps = self.store.list_reps(after.as_deref(), limit + 1).await?;
                let (page, next) = split_page(reps, limit, |r| r.id.clone());
                Ok(v1::ListRepsResponse {
                    reps: page.iter().map(convert::rep).collect(),
                    next_page_token: next
                        .map(|id| paging::encode("reps", id))
                        .unwrap_or_default(),
                })
            }
            .await,
        )
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

struct NewPool {
    id: PoolId,
    display_name: String,
    kind: &'static str,
    contact_sla_seconds: i32,
    min_score: i32,
}

impl NewPool {
    fn parse(req: &v1::CreatePoolRequest) -> Result<Self, Vec<FieldViolation>> {
        let mut v = Violations::new();
        let id = v.check(PoolId::parse(&req.pool_id, "pool_id"));
        let display_name = req.display_name.trim().to_owned();
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
        let sla = match &req.contact_sla {
            None => Some(DEFAULT_CONTACT_SLA),
            Some(d) if d.nanos != 0 || d.seconds <= 0 => {
                v.add("contact_sla", "must be a positive whole number of seconds");
                None
            }
            Some(d) => Some(Duration::from_secs(d.seconds.unsigned_abs())),
        };
        let contact_sla_seconds = match sla {
            Some(sla) if sla > MAX_CONTACT_SLA => {
                v.add("contact_sla", "must be at most 30 days");
                0
            }
            Some(sla) => i32::try_from(sla.as_secs()).unwrap_or(i32::MAX),
            None => 0,
        };
        if !(0..=100).contains(&req.min_score) {
            v.add("min_score", format!("{} is outside 0..=100", req.min_score));
        }
        let display_name = if display_name.is_empty() {
            req.pool_id.clone()
        } else {
            display_name
        };
        match (id, v.into_vec()) {
            (Some(id), violations) if violations.is_empty() => Ok(Self {
                id,
                display_name,
                kind,
                contact_sla_seconds,
                min_score: req.min_score,
            }),
            (_, violations) => Err(violations),
        }
    }
}

fn parse_rep(rep: Option<&v1::Rep>) -> Result<RepRecord, Vec<FieldViolation>> {
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
    match (id, v.into_vec()) {
        (Some(id), violations) if violations.is_empty() => Ok(RepRecord {
            display_name: if rep.display_name.trim().is_empty() {
                id.to_string()
            } else {
                rep.display_name.trim().to_owned()
            },
            id: id.into(),
            team: rep.team.trim().to_owned(),
            role: role.to_owned(),
            active: rep.active,
            daily_claim_limit: (rep.daily_claim_limit > 0).then_some(rep.daily_claim_limit),
        }),
        (_, violations) => Err(violations),
    }
}
