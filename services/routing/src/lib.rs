//! The routing service: owns the routing policy (pools, reps, teams, rules) and places received
//! leads into pools or assigns them to reps.

mod api;
mod config;
mod dev_sign_in;
mod routing;

use std::net::SocketAddr;
use std::sync::Arc;

use leadpool_auth::{AuthLayer, TokenIssuer, TokenVerifier};
use leadpool_domain::Clock;
use leadpool_proto::dev::v1::dev_sign_in_service_server::{
    DevSignInServiceServer, SERVICE_NAME as DEV_SIGN_IN,
};
use leadpool_proto::v1::routing_service_server::{RoutingServiceServer, SERVICE_NAME};
use leadpool_server::{CancellationToken, GrpcServer, StartupError, readiness};
use leadpool_store::{AuditLog, PolicyCache, Store};
use tonic::service::Routes;

pub use config::Config;

pub struct Application {
    server: GrpcServer,
    auth: AuthLayer,
    api: api::RoutingApi,
    /// Only with `auth.dev_sign_in`.
    dev_sign_in: Option<dev_sign_in::DevSignIn>,
    store: Store,
}

impl Application {
    /// Connects, migrates (if configured) and binds; serving starts with [`Application::run`].
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        let store = Store::connect(&config.database, "leadpool-routing")?;
        if config.database.migrate_on_start {
            store.migrate().await?;
        }
        let policy = PolicyCache::new(store.clone(), config.policy.refresh_interval);
        let auth = AuthLayer::new(TokenVerifier::from_config(&config.auth)?)
            .with_directory(Arc::new(policy.clone()));
        let server = GrpcServer::bind(&config.server).await?;
        let dev_sign_in = match TokenIssuer::from_config(&config.auth) {
            Some(issuer) if config.auth.dev_sign_in => {
                tracing::warn!("development sign-in is on: anyone may sign in as anyone");
                Some(dev_sign_in::DevSignIn::new(policy.clone(), issuer))
            }
            _ => None,
        };
        let routing = routing::Routing::new(store.clone(), policy, clock.clone());
        Ok(Self {
            server,
            auth,
            api: api::RoutingApi::new(routing, AuditLog::new(store.clone(), clock)),
            dev_sign_in,
            store,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartupError> {
        let store = self.store.clone();
        let readiness = readiness(move || {
            let store = store.clone();
            async move { store.is_reachable().await }
        });
        let mut routes = Routes::new(RoutingServiceServer::new(self.api));
        let services: &'static [&'static str] = match self.dev_sign_in {
            Some(dev_sign_in) => {
                routes = routes.add_service(DevSignInServiceServer::new(dev_sign_in));
                &[SERVICE_NAME, DEV_SIGN_IN]
            }
            None => &[SERVICE_NAME],
        };
        self.server
            .serve(services, routes, self.auth, readiness, shutdown)
            .await?;
        Ok(())
    }
}

leadpool_server::service_main!(Application, Config, "routing");
