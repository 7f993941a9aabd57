//! The harness for Leadpool's service-level tests: each test gets its own database, Redis key
//! prefix and manual clock, and starts the services it needs on free ports, in-process, talking
//! real gRPC over real sockets.

#![allow(clippy::missing_panics_doc, clippy::expect_used, clippy::unwrap_used)]

pub mod process;
pub mod receiver;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use leadpool_domain::{Clock, ManualClock};
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_proto::v1::event_service_client::EventServiceClient;
use leadpool_proto::v1::intake_service_client::IntakeServiceClient;
use leadpool_proto::v1::routing_service_client::RoutingServiceClient;
use leadpool_proto::v1::scheduler_service_client::SchedulerServiceClient;
use leadpool_server::RunningService;
use leadpool_testing::{
    ADMIN, TestDatabase, TestRedis, auth_config, authed, server_config, telemetry_config,
    test_epoch, token,
};
use tonic::transport::Channel;
use tonic_types::StatusExt;

pub use leadpool_testing::REP;

/// One test's data and time: a database, a Redis key prefix, a clock that moves when told.
pub struct TestEnv {
    pub db: TestDatabase,
    pub redis: TestRedis,
    pub clock: ManualClock,
}

impl TestEnv {
    pub async fn new() -> Self {
        Self {
            db: TestDatabase::new().await,
            redis: TestRedis::new(),
            clock: ManualClock::new(test_epoch()),
        }
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::new(self.clock.clone())
    }

    pub fn routing_config(&self) -> leadpool_routing::Config {
        leadpool_routing::Config {
            server: server_config(),
            database: self.db.config(),
            auth: auth_config(),
            telemetry: telemetry_config(),
            metrics: leadpool_config::MetricsConfig::disabled(),
            policy: policy_config(),
        }
    }

    pub fn intake_config(&self, routing_endpoint: &str) -> leadpool_intake::Config {
        leadpool_intake::Config {
            server: server_config(),
            database: self.db.config(),
            auth: auth_config(),
            telemetry: telemetry_config(),
            metrics: leadpool_config::MetricsConfig::disabled(),
            routing: leadpool_intake::RoutingClientConfig {
                endpoint: routing_endpoint.to_owned(),
                timeout: Duration::from_secs(2),
                retry_interval: Duration::from_millis(50),
                retry_grace: Duration::ZERO,
                retry_batch: 100,
                tls: None,
            },
            policy: policy_config(),
        }
    }

    pub fn claim_config(&self) -> leadpool_claim::Config {
        leadpool_claim::Config {
            server: server_config(),
            database: self.db.config(),
            redis: self.redis.config(),
            auth: auth_config(),
            telemetry: telemetry_config(),
            metrics: leadpool_config::MetricsConfig::disabled(),
            claims: leadpool_claim::ClaimsConfig::default(),
            policy: policy_config(),
        }
    }

    pub fn scheduler_config(&self) -> leadpool_scheduler::Config {
        leadpool_scheduler::Config {
            server: server_config(),
            database: self.db.config(),
            auth: auth_config(),
            telemetry: telemetry_config(),
            metrics: leadpool_config::MetricsConfig::disabled(),
            scheduler: leadpool_scheduler::SchedulerConfig {
                // Tests run jobs through RunJob with the manual clock.
                enabled: false,
                ..leadpool_scheduler::SchedulerConfig::default()
            },
            events: leadpool_scheduler::EventsConfig {
                epoch_interval: Duration::from_millis(50),
                delivery_interval: Duration::from_millis(50),
                watch_interval: Duration::from_millis(50),
                ..leadpool_scheduler::EventsConfig::default()
            },
        }
    }

    pub async fn start_routing(&self, config: leadpool_routing::Config) -> RunningService {
        RunningService::start(
            leadpool_routing::Application::build(config, self.clock())
                .await
                .expect("routing starts"),
        )
    }

    pub async fn start_intake(&self, config: leadpool_intake::Config) -> RunningService {
        RunningService::start(
            leadpool_intake::Application::build(config, self.clock())
                .await
                .expect("intake starts"),
        )
    }

    pub async fn start_claim(&self, config: leadpool_claim::Config) -> RunningService {
        RunningService::start(
            leadpool_claim::Application::build(config, self.clock())
                .await
                .expect("claim starts"),
        )
    }

    pub async fn start_scheduler(&self, config: leadpool_scheduler::Config) -> RunningService {
        RunningService::start(
            leadpool_scheduler::Application::build(config, self.clock())
                .await
                .expect("scheduler starts"),
        )
    }
}

/// Every read checks for a newer policy version, so an apply is seen at once.
fn policy_config() -> leadpool_config::PolicyConfig {
    leadpool_config::PolicyConfig {
        refresh_interval: Duration::ZERO,
    }
}

/// All four services on one test environment.
pub struct Cluster {
    pub env: TestEnv,
    pub intake: RunningService,
    pub routing: RunningService,
    pub claim: RunningService,
    pub scheduler: RunningService,
}

impl Cluster {
    pub async fn start() -> Self {
        let env = TestEnv::new().await;
        let routing = env.start_routing(env.routing_config()).await;
        let intake = env
            .start_intake(env.intake_config(&routing.endpoint()))
            .await;
        let claim = env.start_claim(env.claim_config()).await;
        let scheduler = env.start_scheduler(env.scheduler_config()).await;
        Self {
            env,
            intake,
            routing,
            claim,
            scheduler,
        }
    }

    pub async fn intake(&self) -> IntakeServiceClient<Channel> {
        IntakeServiceClient::new(channel(self.intake.addr).await)
    }

    pub async fn routing(&self) -> RoutingServiceClient<Channel> {
        RoutingServiceClient::new(channel(self.routing.addr).await)
    }

    pub async fn claim(&self) -> ClaimServiceClient<Channel> {
        ClaimServiceClient::new(channel(self.claim.addr).await)
    }

    pub async fn scheduler(&self) -> SchedulerServiceClient<Channel> {
        SchedulerServiceClient::new(channel(self.scheduler.addr).await)
    }

    pub async fn events(&self) -> EventServiceClient<Channel> {
        EventServiceClient::new(channel(self.scheduler.addr).await)
    }

    pub async fn stop(self) {
        for service in [self.intake, self.routing, self.claim, self.scheduler] {
            service.stop().await.expect("service stops cleanly");
        }
    }
}

pub async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect to service")
}

pub fn admin() -> String {
    token("users/ops", ADMIN)
}

pub fn rep(id: &str) -> String {
    token(&format!("reps/{id}"), REP)
}

/// Applies a policy document through the routing API and returns the new version.
pub async fn apply_policy(routing: &mut RoutingServiceClient<Channel>, yaml: &str) -> i64 {
    routing
        .apply_policy(authed(
            &admin(),
            v1::ApplyPolicyRequest {
                document: yaml.to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("apply policy")
        .into_inner()
        .policy
        .expect("policy version")
        .version
}

/// Creates a pool through the routing API.
pub async fn create_pool(
    routing: &mut RoutingServiceClient<Channel>,
    id: &str,
    min_score: i32,
) -> v1::Pool {
    routing
        .create_pool(authed(
            &admin(),
            v1::CreatePoolRequest {
                pool_id: id.to_owned(),
                display_name: String::new(),
                kind: v1::PoolKind::Open.into(),
                contact_sla: None,
                min_score,
            },
        ))
        .await
        .expect("create pool")
        .into_inner()
        .pool
        .expect("pool")
}

/// Registers an active SDR through the routing API; `daily_limit` 0 means the default.
pub async fn add_rep(routing: &mut RoutingServiceClient<Channel>, id: &str, daily_limit: i32) {
    routing
        .upsert_rep(authed(
            &admin(),
            v1::UpsertRepRequest {
                rep: Some(v1::Rep {
                    name: format!("reps/{id}"),
                    display_name: String::new(),
                    team: "team-a".to_owned(),
                    role: v1::RepRole::Sdr.into(),
                    active: true,
                    daily_claim_limit: daily_limit,
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("upsert rep");
}

/// A valid lead submission with `key` and `score`.
pub fn lead_request(key: &str, score: i32) -> v1::SubmitLeadRequest {
    v1::SubmitLeadRequest {
        idempotency_key: key.to_owned(),
        contact: Some(v1::Contact {
            email: format!("{key}@example.com"),
            name: "Ada Lovelace".to_owned(),
            // Distinct per key: leads of one company are duplicates of each other.
            company: format!("Company {key}"),
            ..v1::Contact::default()
        }),
        score,
        source: "demo-request".to_owned(),
        ..v1::SubmitLeadRequest::default()
    }
}

/// Submits a lead through intake with a service token and returns it.
pub async fn submit(intake: &mut IntakeServiceClient<Channel>, key: &str, score: i32) -> v1::Lead {
    intake
        .submit_lead(authed(
            &token("services/web-forms", &[leadpool_auth::Role::Service]),
            lead_request(key, score),
        ))
        .await
        .expect("submit lead")
        .into_inner()
        .lead
        .expect("lead")
}

/// Imports `rows` through ImportLeads as an admin, in messages of 1,000 rows; the summary.
pub async fn import_rows(
    intake: &mut IntakeServiceClient<Channel>,
    import_id: &str,
    rows: Vec<v1::ImportRow>,
) -> v1::ImportLeadsResponse {
    let messages: Vec<v1::ImportLeadsRequest> = rows
        .chunks(1_000)
        .map(|chunk| v1::ImportLeadsRequest {
            import_id: import_id.to_owned(),
            rows: chunk.to_vec(),
        })
        .collect();
    intake
        .import_leads(authed(&admin(), tokio_stream::iter(messages)))
        .await
        .expect("import leads")
        .into_inner()
}

/// Every item of a paged listing, in order: `page(token)` fetches one page — its items and the
/// next page's token, empty after the last — starting from no token.
pub async fn all_pages<T, F, Fut>(mut page: F) -> Vec<T>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = (Vec<T>, String)>,
{
    let (mut items, mut token) = (Vec::new(), String::new());
    loop {
        let (more, next) = page(token).await;
        items.extend(more);
        if next.is_empty() {
            return items;
        }
        token = next;
    }
}

/// The names of `leads`, in their order.
pub fn names_of(leads: Vec<v1::Lead>) -> Vec<String> {
    leads.into_iter().map(|l| l.name).collect()
}

/// Waits until `condition` holds, checking every 20 ms, failing after `timeout`. For effects of
/// background work (a retry loop) that a test cannot trigger directly.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !condition().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The gRPC code of a call's result (`Ok` for success).
pub fn code_of<T>(result: &Result<T, tonic::Status>) -> tonic::Code {
    result
        .as_ref()
        .map_or_else(tonic::Status::code, |_| tonic::Code::Ok)
}

/// The text of `examples/{name}.yaml`.
pub fn example(name: &str) -> String {
    let path = format!("{}/../examples/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// Submits `request` with a service token and returns the whole answer.
pub async fn submit_request(
    intake: &mut IntakeServiceClient<Channel>,
    request: v1::SubmitLeadRequest,
) -> v1::SubmitLeadResponse {
    intake
        .submit_lead(authed(
            &token("services/web-forms", &[leadpool_auth::Role::Service]),
            request,
        ))
        .await
        .expect("submit lead")
        .into_inner()
}

/// A lead with a region and a source, submitted; returns it.
pub async fn submit_segmented(
    intake: &mut IntakeServiceClient<Channel>,
    key: &str,
    score: i32,
    region: &str,
    source: &str,
) -> v1::Lead {
    let mut request = lead_request(key, score);
    request.region = region.to_owned();
    request.source = source.to_owned();
    submit_request(intake, request).await.lead.expect("lead")
}

/// Asserts INVALID_ARGUMENT whose BadRequest names exactly `fields`.
pub fn assert_invalid<T: std::fmt::Debug>(
    result: Result<tonic::Response<T>, tonic::Status>,
    fields: &[&str],
) {
    let status = result.expect_err("bad input must be refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let named: Vec<String> = status
        .get_details_bad_request()
        .expect("field violations attached")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(named, fields, "{}", status.message());
}

/// `who` claims the next lead of `pool`.
pub async fn claim_next(
    claim: &mut ClaimServiceClient<Channel>,
    who: &str,
    pool: &str,
) -> Result<v1::Lead, tonic::Status> {
    claim
        .claim_next(authed(
            &rep(who),
            v1::ClaimNextRequest {
                pool: format!("pools/{pool}"),
            },
        ))
        .await
        .map(|r| r.into_inner().lead.expect("a claimed lead"))
}

/// Whether `rep` may claim from `pool` now, by ExplainAccess.
pub async fn may_claim(claim: &mut ClaimServiceClient<Channel>, rep_id: &str, pool: &str) -> bool {
    claim
        .explain_access(authed(
            &rep(rep_id),
            v1::ExplainAccessRequest {
                rep: String::new(),
                pool: format!("pools/{pool}"),
                at: None,
            },
        ))
        .await
        .expect("explain access")
        .into_inner()
        .allowed
}
