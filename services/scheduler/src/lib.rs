//! The scheduler: runs everything that happens on a clock, on schedule and on request — timed
//! releases, SLA expiry, aging and escalation, forced assignment, the refresh and cleanup
//! cycles, backpressure and claim quotas — and reports pool health and alerts.

mod api;
mod backpressure;
mod config;
mod core;
mod events;
mod forced;
mod health;
mod history;
mod jobs;
mod monitor;
mod runner;
mod simulation;

use std::net::SocketAddr;
use std::sync::Arc;

use leadpool_auth::{AuthLayer, TokenVerifier};
use leadpool_domain::Clock;
use leadpool_proto::v1::event_service_server::{self, EventServiceServer};
use leadpool_proto::v1::scheduler_service_server::{self, SchedulerServiceServer};
use leadpool_server::{CancellationToken, GrpcServer, StartupError, readiness};
use leadpool_store::AuditLog;
use leadpool_store::PolicyCache;
use tonic::service::Routes;

pub use config::{Config, EventsConfig, SchedulerConfig};
pub use jobs::{Job, Outcome};
pub use runner::{Runner, slot_start};

pub struct Application {
    server: GrpcServer,
    auth: AuthLayer,
    runner: runner::Runner,
    events: EventsConfig,
    /// Keep the pool gauges of the metrics current (only where metrics are served).
    gauges: bool,
}

impl Application {
    pub async fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartupError> {
        let store = leadpool_store::Store::connect(&config.database, "leadpool-scheduler")?;
        if config.database.migrate_on_start {
            store.migrate().await?;
        }
        // People named by email or login are found among the reps of the policy in force.
        let directory = PolicyCache::new(store.clone(), config.scheduler.policy_refresh);
        let auth = AuthLayer::new(TokenVerifier::from_config(&config.auth)?)
            .with_directory(Arc::new(directory));
        let server = GrpcServer::bind(&config.server).await?;
        Ok(Self {
            server,
            auth,
            runner: runner::Runner::new(store, clock, config.scheduler),
            events: config.events,
            gauges: config.metrics.enabled,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    pub async fn run(self, shutdown: CancellationToken) -> Result<(), StartupError> {
        // The loops working beside the server: each ends at its next tick after `shutdown`.
        let mut background = Vec::new();
        if self.runner.config.enabled {
            background.push(tokio::spawn(
                self.runner.clone().run_schedule(shutdown.clone()),
            ));
        }
        if self.gauges {
            background.push(tokio::spawn(refresh_gauges(
                self.runner.clone(),
                shutdown.clone(),
            )));
        }
        let store = self.runner.store.clone();
        let readiness = readiness(move || {
            let store = store.clone();
            async move { store.is_reachable().await }
        });
        let events = self.start_events(&shutdown, &mut background);
        let audit = AuditLog::new(self.runner.store.clone(), self.runner.clock.clone());
        let routes = Routes::new(SchedulerServiceServer::new(api::SchedulerApi::new(
            core::Scheduler::new(self.runner),
            audit.clone(),
            shutdown.clone(),
        )))
        .add_service(EventServiceServer::new(events::api::EventApi::new(
            events,
            audit.clone(),
            shutdown.clone(),
        )));
        const SERVICES: &[&str] = &[
            scheduler_service_server::SERVICE_NAME,
            event_service_server::SERVICE_NAME,
        ];
        let served = self
            .server
            .serve(SERVICES, routes, self.auth, readiness, shutdown)
            .await;
        // Stopped means nothing of this process still works on the database: a job run in
        // progress finishes or rolls back whole; webhook batches record what they sent and
        // hand back the rest.
        for task in background {
            let _ = task.await;
        }
        served.map_err(Into::into)
    }
}

impl Application {
    /// The event stream's background work (where enabled, added to `background`) and its
    /// core: closing epochs, delivering webhooks, and waking live streams when an epoch closes.
    fn start_events(
        &self,
        shutdown: &CancellationToken,
        background: &mut Vec<tokio::task::JoinHandle<()>>,
    ) -> events::Events {
        let (store, clock, config) = (
            self.runner.store.clone(),
            self.runner.clock.clone(),
            self.events.clone(),
        );
        if config.enabled {
            background.push(tokio::spawn(events::close_epochs(
                store.clone(),
                config.epoch_interval,
                shutdown.clone(),
            )));
            background.push(tokio::spawn(events::webhooks::run(
                store.clone(),
                clock.clone(),
                config.clone(),
                shutdown.clone(),
            )));
        }
        let (head, watching) = tokio::sync::watch::channel(0);
        background.push(tokio::spawn(events::watch_head(
            store.clone(),
            head,
            config.watch_interval,
            shutdown.clone(),
        )));
        let reader = events::EventReader::new(store.clone(), watching);
        events::Events::new(store, self.runner.policy.clone(), clock, reader, config)
    }
}

/// Re-reads pool depth, ages, thresholds and alerts into the gauges every `alert_interval`.
async fn refresh_gauges(runner: runner::Runner, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(runner.config.alert_interval);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let result = match runner.policy.current().await {
            Ok(policy) => {
                monitor::refresh_gauges(&runner.store, &policy.policy, runner.clock.now()).await
            }
            Err(err) => Err(err),
        };
        if let Err(err) = result {
            tracing::warn!(error = %err, "pool gauges not refreshed");
        }
    }
}

leadpool_server::service_main!(Application, Config, "scheduler");
