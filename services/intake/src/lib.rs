//! The intake service: accepts leads, qualifies them, stores them, and hands them to routing.

mod api;
mod config;
mod intake;
mod router;

use std::net::SocketAddr;
use std::sync::Arc;

use leadpool_auth::{AuthLayer, ServiceCredentials, TokenVerifier};
use leadpool_domain::Clock;
use leadpool_proto::v1::intake_service_server::{IntakeServiceServer, SERVICE_NAME};
use leadpool_server::{CancellationToken, GrpcServer, StartupError, readiness};
use leadpool_store::{AuditLog, PolicyCache, Store};
use tonic::service::Routes;

pub use config::{Config, RoutingClientConfig};

pub struct Application {
    server: GrpcServer,
    auth: AuthLayer,
    api: api::IntakeApi,
    store: Store,
    router: router::Router,
    clock: Arc<dyn Clock>,
    routing: RoutingClientConfig,
}

impl Application {
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        let store = Store::connect(&config.database, "leadpool-intake")?;
        if config.database.migrate_on_start {
            store.migrate().await?;
        }
        let policy = PolicyCache::new(store.clone(), config.policy.refresh_interval);
        let auth = AuthLayer::new(TokenVerifier::from_config(&config.auth)?)
            .with_directory(Arc::new(policy.clone()));
        let credentials = Arc::new(ServiceCredentials::from_config(&config.auth, "intake")?);
        let channel = leadpool_server::connect(
            &config.routing.endpoint,
            config.routing.timeout,
            credentials,
            config.routing.tls.as_ref(),
        )
        .map_err(|e| StartupError::Other(format!("routing.endpoint: {e}")))?;
        let router = router::Router::new(channel);
        let intake = intake::Intake::new(store.clone(), router.clone(), policy);
        let server = GrpcServer::bind(&config.server).await?;
        Ok(Self {
            server,
            auth,
            api: api::IntakeApi::new(
                intake,
                AuditLog::new(store.clone(), clock.clone()),
                clock.clone(),
            ),
            store,
            router,
            clock,
            routing: config.routing,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartupError> {
        let retry = tokio::spawn(router::retry_waiting_leads(
            self.router,
            self.store.clone(),
            self.clock,
            self.routing.retry_interval,
            self.routing.retry_grace,
            self.routing.retry_batch,
            shutdown.clone(),
        ));
        let store = self.store.clone();
        let readiness = readiness(move || {
            let store = store.clone();
            async move { store.is_reachable().await }
        });
        let routes = Routes::new(IntakeServiceServer::new(self.api));
        let served = self
            .server
            .serve(&[SERVICE_NAME], routes, self.auth, readiness, shutdown)
            .await;
        retry.abort();
        served.map_err(Into::into)
    }
}

leadpool_server::service_main!(Application, Config, "intake");
