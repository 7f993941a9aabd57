//! The claim service: reps browse pools and claim, release and work leads, within their limits.

mod api;
mod claims;
mod config;
mod messages;
mod rules;

use std::net::SocketAddr;
use std::sync::Arc;

use leadpool_auth::{AuthLayer, TokenVerifier};
use leadpool_domain::Clock;
use leadpool_limits::ClaimLimiter;
use leadpool_proto::v1::claim_service_server::{ClaimServiceServer, SERVICE_NAME};
use leadpool_server::{CancellationToken, GrpcServer, StartupError, readiness};
use leadpool_store::{AuditLog, PolicyCache, Store};
use tonic::service::Routes;

pub use config::{ClaimsConfig, Config};

pub struct Application {
    server: GrpcServer,
    auth: AuthLayer,
    api: api::ClaimApi,
    store: Store,
}

impl Application {
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        let store = Store::connect(&config.database, "leadpool-claim")?;
        if config.database.migrate_on_start {
            store.migrate().await?;
        }
        let limiter = ClaimLimiter::new(&config.redis)?;
        let policy = PolicyCache::new(store.clone(), config.policy.refresh_interval);
        let auth = AuthLayer::new(TokenVerifier::from_config(&config.auth)?)
            .with_directory(Arc::new(policy.clone()));
        let server = GrpcServer::bind(&config.server).await?;
        let claims = claims::Claims::new(store.clone(), limiter, policy, config.claims);
        Ok(Self {
            server,
            auth,
            api: api::ClaimApi::new(claims, AuditLog::new(store.clone(), clock.clone()), clock),
            store,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartupError> {
        // Ready while Postgres answers. Without Redis only claiming pauses (limits cannot be
        // checked); browsing, releasing and recording contacts and outcomes keep working, so
        // the pods stay in rotation.
        let store = self.store.clone();
        let readiness = readiness(move || {
            let store = store.clone();
            async move { store.is_reachable().await }
        });
        let routes = Routes::new(ClaimServiceServer::new(self.api));
        self.server
            .serve(&[SERVICE_NAME], routes, self.auth, readiness, shutdown)
            .await?;
        Ok(())
    }
}

leadpool_server::service_main!(Application, Config, "claim");
