//! What every Leadpool gRPC server shares: binding, health and reflection, the tower layers
//! (tracing, authentication), graceful shutdown, the one mapping from errors to gRPC statuses,
//! conversions to the API's messages, paging, and authenticated clients for other services.

mod admission;
pub mod audit;
mod browser;
mod client;
pub mod convert;
mod error;
pub mod input;
mod main_runner;
mod metrics_endpoint;
pub mod paging;
mod serve;
pub mod tls;

pub use client::{AuthenticatedChannel, ClientInterceptor, channel, connect};
pub use error::{ERROR_DOMAIN, caller, require_role, to_status};
pub use main_runner::{RunningService, ServiceMain, StartupError, run_main};
pub use metrics_endpoint::MetricsEndpoint;
pub use serve::{GrpcServer, ReadinessCheck, ServeError, readiness, shutdown_signal};
pub use tokio_util::sync::CancellationToken;
