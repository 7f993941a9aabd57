//! The scheduler: runs everything that happens on a clock, on schedule and on request.

mod api;
mod config;
mod jobs;
mod runner;

use std::net::SocketAddr;
use std::sync::Arc;

use leadpool_auth::{AuthLayer, TokenVerifier};
use leadpool_domain::Clock;
use leadpool_proto::v1::scheduler_service_server::{SERVICE_NAME, SchedulerServiceServer};
use leadpool_server::{CancellationToken, GrpcServer, StartupError, readiness};
use tonic::service::Routes;

pub use config::{Config, SchedulerConfig};
pub use jobs::Job;
pub use runner::{Runner, slot_start};

pub struct Application {
    server: GrpcServer,
    auth: AuthLayer,
    runner: runner::Runner,
}

impl Application {
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        let store = leadpool_store::Store::connect(&config.database)?;
        if config.database.migrate_on_start {
            store.migrate().await?;
        }
        let auth = AuthLayer::new(TokenVerifier::from_config(&config.auth)?);
        let server = GrpcServer::bind(&config.server).await?;
        Ok(Self {
            server,
            auth,
            runner: runner::Runner {
                store,
                clock,
                config: config.scheduler,
            },
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartupError> {
        let schedule = self
            .runner
            .config
            .enabled
            .then(|| tokio::spawn(self.runner.clone().run_schedule(shutdown.clone())));
        let store = self.runner.store.clone();
        let readiness = readiness(move || {
            let store = store.clone();
            async move { store.is_reachable().await }
        });
        let routes = Routes::new(SchedulerServiceServer::new(api::SchedulerApi::new(
            self.runner,
        )));
        let served = self
            .server
            .serve(SERVICE_NAME, routes, self.auth, readiness, shutdown)
            .await;
        if let Some(schedule) = schedule {
            // The loop stops at its next tick; a run in progress finishes or rolls back whole.
            let _ = schedule.await;
        }
        served.map_err(Into::into)
    }
}

leadpool_server::service_main!(Application, Config, "scheduler");
