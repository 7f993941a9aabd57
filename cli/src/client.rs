//! Where the services are and who we are to them.

use std::time::Duration;

use anyhow::Context;
use leadpool_auth::{Role, TokenIssuer};
use leadpool_config::{AuthConfig, Secret};
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_proto::v1::event_service_client::EventServiceClient;
use leadpool_proto::v1::intake_service_client::IntakeServiceClient;
use leadpool_proto::v1::routing_service_client::RoutingServiceClient;
use leadpool_proto::v1::scheduler_service_client::SchedulerServiceClient;
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

#[derive(clap::Args)]
pub struct ConnectionArgs {
    #[arg(
        long,
        env = "LEADPOOL_INTAKE",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    intake: String,
    #[arg(
        long,
        env = "LEADPOOL_ROUTING",
        default_value = "http://127.0.0.1:50052",
        global = true
    )]
    routing: String,
    #[arg(
        long,
        env = "LEADPOOL_CLAIM",
        default_value = "http://127.0.0.1:50053",
        global = true
    )]
    claim: String,
    #[arg(
        long,
        env = "LEADPOOL_SCHEDULER",
        default_value = "http://127.0.0.1:50054",
        global = true
    )]
    scheduler: String,
    /// A bearer token to act with. Without one, tokens are minted from --secret.
    #[arg(long, env = "LEADPOOL_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    /// The deployment's HS256 secret, for minting development tokens.
    #[arg(
        long,
        env = "LEADPOOL_AUTH__HS256_SECRET",
        global = true,
        hide_env_values = true
    )]
    secret: Option<String>,
    /// Who to act as when minting a token: reps/alice acts as a rep; anything else as an admin.
    #[arg(long = "as", default_value = "users/leadpoolctl", global = true)]
    acting_as: String,
    /// The roles of a minted token, instead of the default for --as: e.g. `manager` with
    /// `--as reps/max` acts as max the manager.
    #[arg(long = "role", value_delimiter = ',', global = true)]
    roles: Vec<String>,
}

pub struct Connection {
    args: ConnectionArgs,
}

impl Connection {
    pub fn new(args: ConnectionArgs) -> Self {
        Self { args }
    }

    pub fn issuer(&self) -> anyhow::Result<TokenIssuer> {
        let secret = self.args.secret.clone().context(
            "no secret to mint tokens with: set LEADPOOL_AUTH__HS256_SECRET (make up prints it) or pass --token",
        )?;
        TokenIssuer::from_config(&AuthConfig {
            hs256_secret: Some(Secret::new(secret)),
            ..AuthConfig::default()
        })
        .context("cannot mint tokens")
    }

    /// A token for whoever --as names, with --role (or the given --token).
    pub fn token(&self) -> anyhow::Result<String> {
        let roles = if !self.args.roles.is_empty() {
            crate::parse_roles(&self.args.roles)?
        } else if self.args.acting_as.starts_with("reps/") {
            vec![Role::Rep]
        } else {
            vec![Role::Admin]
        };
        self.token_for(&self.args.acting_as, &roles)
    }

    /// A token for `subject`: the given --token, or one minted for the subject.
    pub fn token_for(&self, subject: &str, roles: &[Role]) -> anyhow::Result<String> {
        match &self.args.token {
            Some(token) => Ok(token.clone()),
            None => Ok(self
                .issuer()?
                .mint(subject, roles, Duration::from_secs(3600))?),
        }
    }

    pub fn request<T>(&self, token: &str, message: T) -> anyhow::Result<tonic::Request<T>> {
        let mut request = tonic::Request::new(message);
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse()?);
        Ok(request)
    }

    async fn channel(endpoint: &str) -> anyhow::Result<Channel> {
        Channel::from_shared(endpoint.to_owned())?
            .connect_timeout(Duration::from_secs(3))
            .connect()
            .await
            .with_context(|| format!("cannot reach {endpoint}; is Leadpool running (make up)?"))
    }

    pub async fn intake(&self) -> anyhow::Result<IntakeServiceClient<Channel>> {
        Ok(IntakeServiceClient::new(
            Self::channel(&self.args.intake).await?,
        ))
    }

    pub async fn routing(&self) -> anyhow::Result<RoutingServiceClient<Channel>> {
        Ok(RoutingServiceClient::new(
            Self::channel(&self.args.routing).await?,
        ))
    }

    pub async fn claim(&self) -> anyhow::Result<ClaimServiceClient<Channel>> {
        Ok(ClaimServiceClient::new(
            Self::channel(&self.args.claim).await?,
        ))
    }

    pub async fn scheduler(&self) -> anyhow::Result<SchedulerServiceClient<Channel>> {
        Ok(SchedulerServiceClient::new(
            Self::channel(&self.args.scheduler).await?,
        ))
    }

    /// The event stream and webhooks, served by the scheduler.
    pub async fn events(&self) -> anyhow::Result<EventServiceClient<Channel>> {
        Ok(EventServiceClient::new(
            Self::channel(&self.args.scheduler).await?,
        ))
    }

    /// Waits until every service's readiness check reports SERVING.
    pub async fn wait_ready(&self, timeout: Duration) -> anyhow::Result<()> {
        let services = [
            (&self.args.intake, "leadpool.v1.IntakeService"),
            (&self.args.routing, "leadpool.v1.RoutingService"),
            (&self.args.claim, "leadpool.v1.ClaimService"),
            (&self.args.scheduler, "leadpool.v1.SchedulerService"),
        ];
        let deadline = tokio::time::Instant::now() + timeout;
        for (endpoint, service) in services {
            loop {
                if is_serving(endpoint, service).await {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    anyhow::bail!(
                        "{service} at {endpoint} is not serving after {timeout:?}; see its log"
                    );
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Ok(())
    }

    /// The health of every pool in force, from the scheduler.
    pub async fn list_pool_health(&self) -> anyhow::Result<Vec<v1::PoolHealth>> {
        let token = self.token()?;
        let mut scheduler = self.scheduler().await?;
        let mut pools = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = scheduler
                .list_pool_health(self.request(
                    &token,
                    v1::ListPoolHealthRequest {
                        as_of: None,
                        page_size: 200,
                        page_token,
                    },
                )?)
                .await?
                .into_inner();
            pools.extend(page.pools);
            if page.next_page_token.is_empty() {
                return Ok(pools);
            }
            page_token = page.next_page_token;
        }
    }
}

impl Connection {
    /// M3 per pool type, from the scheduler.
    pub async fn type_velocity(&self) -> anyhow::Result<Vec<v1::PoolTypeVelocity>> {
        let token = self.token()?;
        Ok(self
            .scheduler()
            .await?
            .list_pool_type_velocity(
                self.request(&token, v1::ListPoolTypeVelocityRequest { as_of: None })?,
            )
            .await?
            .into_inner()
            .types)
    }

    pub async fn cleanup_proposal(&self) -> anyhow::Result<v1::CleanupProposal> {
        let token = self.token()?;
        Ok(self
            .scheduler()
            .await?
            .get_cleanup_proposal(self.request(&token, v1::GetCleanupProposalRequest {})?)
            .await?
            .into_inner())
    }

    pub async fn list_jobs(&self) -> anyhow::Result<Vec<v1::Job>> {
        let token = self.token()?;
        let jobs = self
            .scheduler()
            .await?
            .list_jobs(self.request(&token, v1::ListJobsRequest::default())?)
            .await?
            .into_inner()
            .jobs;
        Ok(jobs)
    }
}

async fn is_serving(endpoint: &str, service: &str) -> bool {
    let Ok(channel) = Connection::channel(endpoint).await else {
        return false;
    };
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .is_ok_and(|response| response.into_inner().status() == ServingStatus::Serving)
}
