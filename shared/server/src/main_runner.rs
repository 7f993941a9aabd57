//! The `main` of every service: parse `--config`, load configuration, start telemetry, build
//! the service, run it until SIGTERM or Ctrl-C. Failures print one clear line and exit non-zero.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use leadpool_config::{ConfigError, MetricsConfig, ServiceConfig, TelemetryConfig};
use tokio_util::sync::CancellationToken;

use crate::metrics_endpoint::MetricsEndpoint;
use crate::serve::{ServeError, shutdown_signal};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Telemetry(#[from] leadpool_telemetry::TelemetryError),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error("{0}")]
    Dependency(#[from] leadpool_domain::Error),
    #[error("auth: {0}")]
    Auth(#[from] leadpool_auth::TokenError),
    #[error("{0}")]
    Other(String),
}

/// A service binary.
pub trait ServiceMain: Sized + Send {
    type Config: ServiceConfig + Send;
    /// The service's name in logs and traces: `intake`.
    const NAME: &'static str;
    fn telemetry(config: &Self::Config) -> &TelemetryConfig;
    fn metrics(config: &Self::Config) -> &MetricsConfig;
    fn build(config: Self::Config) -> impl Future<Output = Result<Self, StartupError>> + Send;
    /// Where the service listens (bound during `build`).
    fn local_addr(&self) -> SocketAddr;
    fn run(
        self,
        shutdown: CancellationToken,
    ) -> impl Future<Output = Result<(), StartupError>> + Send;
}

/// Implements [`ServiceMain`] for a service `Application` with inherent
/// `build(config, clock)`, `local_addr()` and `run(shutdown)`, on the system clock.
#[macro_export]
macro_rules! service_main {
    ($application:ty, $config:ty, $name:literal) => {
        impl $crate::ServiceMain for $application {
            type Config = $config;
            const NAME: &'static str = $name;

            fn telemetry(config: &$config) -> &leadpool_config::TelemetryConfig {
                &config.telemetry
            }

            fn metrics(config: &$config) -> &leadpool_config::MetricsConfig {
                &config.metrics
            }

            async fn build(config: $config) -> Result<Self, $crate::StartupError> {
                Self::build(config, ::std::sync::Arc::new(leadpool_domain::SystemClock)).await
            }

            fn local_addr(&self) -> ::std::net::SocketAddr {
                self.local_addr()
            }

            async fn run(
                self,
                shutdown: $crate::CancellationToken,
            ) -> Result<(), $crate::StartupError> {
                self.run(shutdown).await
            }
        }
    };
}

#[derive(Parser)]
struct Args {
    /// A TOML configuration file; `LEADPOOL_…` environment variables override it.
    #[arg(long, short)]
    config: Option<PathBuf>,
}

pub async fn run_main<S: ServiceMain>() -> ExitCode {
    let args = Args::parse();
    match run::<S>(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Telemetry may not be up yet: stderr always works.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("leadpool-{}: {err}", S::NAME);
            }
            ExitCode::FAILURE
        }
    }
}

async fn run<S: ServiceMain>(args: Args) -> Result<(), StartupError> {
    let config: S::Config = leadpool_config::load(args.config.as_deref())?;
    let _telemetry = leadpool_telemetry::init(S::NAME, S::telemetry(&config))?;
    let metrics = MetricsEndpoint::bind(S::metrics(&config)).await?;
    let service = S::build(config).await.inspect_err(|err| {
        tracing::error!(error = %err, "start-up failed");
    })?;
    let shutdown = CancellationToken::new();
    if let Some(metrics) = metrics {
        tokio::spawn(metrics.serve(shutdown.clone()));
    }
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        on_signal.cancel();
    });
    service.run(shutdown).await
}

/// A service running on a task of the current runtime, for tests and tools.
pub struct RunningService {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), StartupError>>,
}

impl RunningService {
    pub fn start<S: ServiceMain + 'static>(service: S) -> Self {
        let addr = service.local_addr();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(service.run(shutdown.clone()));
        Self {
            addr,
            shutdown,
            task,
        }
    }

    /// `http://127.0.0.1:port`, for clients.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Shuts the service down the way SIGTERM does — signalled at the call, before the future
    /// is first polled — and waits until it has stopped.
    pub fn stop(self) -> impl Future<Output = Result<(), StartupError>> {
        self.shutdown.cancel();
        async move {
            self.task
                .await
                .map_err(|e| StartupError::Other(format!("service task failed: {e}")))?
        }
    }
}
