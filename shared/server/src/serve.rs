//! Binding, serving and shutting down a gRPC server the same way in every service.
//!
//! Shutdown order on SIGTERM: report NOT_SERVING, keep serving for `drain_delay` so load
//! balancers notice, stop accepting, let in-flight calls finish (at most `shutdown_timeout`).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use leadpool_auth::AuthLayer;
use leadpool_config::ServerConfig;
use leadpool_telemetry::GrpcTraceLayer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tonic_web::GrpcWebLayer;
use tower_http::cors::CorsLayer;

use crate::admission::AdmissionLayer;
use crate::input::InputCheckLayer;
use crate::tls::{PeerCheckLayer, ServerTls, TlsError};

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("server.tls: {0}")]
    Tls(#[from] TlsError),
    #[error("server.cors_allowed_origins: {0}")]
    Cors(String),
}

/// Tells whether the service's dependencies are reachable, for readiness.
pub type ReadinessCheck = Box<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// Wraps an async check as a [`ReadinessCheck`].
pub fn readiness<F, Fut>(check: F) -> ReadinessCheck
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    Box::new(move || Box::pin(check()))
}

/// Binds `addr` now, so a taken port fails start-up with a message naming it.
pub(crate) async fn bind_listener(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
}

/// How often readiness is re-evaluated.
const READINESS_INTERVAL: Duration = Duration::from_secs(5);

pub struct GrpcServer {
    listener: TcpListener,
    config: ServerConfig,
    cors: Option<CorsLayer>,
}

impl GrpcServer {
    /// Binds the listener now, so the port is known (and taken) before serving starts.
    pub async fn bind(config: &ServerConfig) -> Result<Self, ServeError> {
        let cors = crate::browser::cors(&config.cors_allowed_origins).map_err(ServeError::Cors)?;
        let listener = bind_listener(config.listen_addr).await?;
        Ok(Self {
            listener,
            config: config.clone(),
            cors,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.config.listen_addr)
    }

    /// Serves `routes` (the gRPC services named `services`) until `shutdown` is cancelled, then
    /// drains. The empty service name "" is liveness: SERVING while the process runs. Each of
    /// `services` is readiness: SERVING while `readiness` says the dependencies answer.
    pub async fn serve(
        self,
        services: &'static [&'static str],
        routes: Routes,
        auth: AuthLayer,
        readiness: ReadinessCheck,
        shutdown: CancellationToken,
    ) -> Result<(), ServeError> {
        let (health, health_service) = tonic_health::server::health_reporter();
        health.set_service_status("", ServingStatus::Serving).await;
        set_status(&health, services, ServingStatus::Serving).await;
        // Reflection lists what this port serves — its services and health — in both versions
        // clients speak (grpcurl and grpc_cli before 2023, Python's grpcio-reflection: v1alpha).
        let reflection = || {
            services.iter().fold(
                tonic_reflection::server::Builder::configure()
                    .register_encoded_file_descriptor_set(leadpool_proto::FILE_DESCRIPTOR_SET)
                    .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                    .with_service_name("grpc.health.v1.Health"),
                |builder, service| builder.with_service_name(*service),
            )
        };
        let health_probes = health_service.clone();
        let routes = routes
            .add_service(health_service)
            .add_service(reflection().build_v1()?)
            .add_service(reflection().build_v1alpha()?);

        let readiness_task = tokio::spawn(track_readiness(
            health.clone(),
            services,
            readiness,
            shutdown.clone(),
        ));

        let stop_accepting = CancellationToken::new();
        let drain = tokio::spawn(drain_on_shutdown(
            health,
            services,
            self.config.drain_delay,
            shutdown.clone(),
            stop_accepting.clone(),
        ));

        // The kubelet's probes cannot speak TLS: health alone, in plaintext, on its own port.
        let plain_health = match self.config.health_listen_addr {
            Some(addr) => {
                let listener = bind_listener(addr).await?;
                let probes = Server::builder()
                    .add_service(health_probes)
                    .serve_with_incoming_shutdown(
                        TcpIncoming::from(listener).with_nodelay(Some(true)),
                        stop_accepting.clone().cancelled_owned(),
                    );
                Some(tokio::spawn(probes))
            }
            None => None,
        };
        let addr = self.local_addr();
        let tls = self.config.tls.as_ref().map(ServerTls::new).transpose()?;
        tracing::info!(%addr, ?services, tls = tls.is_some(), "serving");
        let peers = self
            .config
            .tls
            .as_ref()
            .map(|tls| tls.service_peers.clone())
            .unwrap_or_default();
        // Browsers speak gRPC-web over HTTP/1.1 (or HTTP/2): translated to gRPC before anything
        // else looks at the call, so every layer and handler serves both alike.
        let router = Server::builder()
            .accept_http1(true)
            .max_concurrent_streams(self.config.max_concurrent_streams)
            .layer(tower::util::option_layer(self.cors))
            .layer(GrpcWebLayer::new())
            .layer(GrpcTraceLayer)
            .layer(AdmissionLayer::new(self.config.max_concurrent_requests))
            .layer(auth)
            .layer(PeerCheckLayer::new(peers))
            .layer(InputCheckLayer::new(self.config.max_message_bytes))
            .add_routes(routes);
        let stopped = stop_accepting.clone().cancelled_owned();
        let server: Pin<Box<dyn Future<Output = Result<(), tonic::transport::Error>> + Send>> =
            match tls {
                Some(tls) => Box::pin(
                    router.serve_with_incoming_shutdown(tls.incoming(self.listener), stopped),
                ),
                // Without TCP_NODELAY a response written in several segments waits for the
                // client's delayed ACK (~40 ms) before its last segment leaves.
                None => Box::pin(router.serve_with_incoming_shutdown(
                    TcpIncoming::from(self.listener).with_nodelay(Some(true)),
                    stopped,
                )),
            };
        tokio::pin!(server);
        let result = tokio::select! {
            result = &mut server => result,
            () = stop_accepting.cancelled() => {
                match tokio::time::timeout(self.config.shutdown_timeout, &mut server).await {
                    Ok(result) => result,
                    Err(_) => {
                        tracing::warn!(timeout = ?self.config.shutdown_timeout, "in-flight calls did not finish in time; stopping anyway");
                        Ok(())
                    }
                }
            }
        };
        readiness_task.abort();
        drain.abort();
        if let Some(plain_health) = plain_health {
            plain_health.abort();
        }
        tracing::info!(?services, "stopped");
        Ok(result?)
    }
}

async fn drain_on_shutdown(
    health: HealthReporter,
    services: &'static [&'static str],
    drain_delay: Duration,
    shutdown: CancellationToken,
    stop_accepting: CancellationToken,
) {
    shutdown.cancelled().await;
    tracing::info!(
        ?drain_delay,
        "shutting down: reporting NOT_SERVING, then draining"
    );
    health
        .set_service_status("", ServingStatus::NotServing)
        .await;
    set_status(&health, services, ServingStatus::NotServing).await;
    if !drain_delay.is_zero() {
        tokio::time::sleep(drain_delay).await;
    }
    stop_accepting.cancel();
}

async fn track_readiness(
    health: HealthReporter,
    services: &'static [&'static str],
    readiness: ReadinessCheck,
    shutdown: CancellationToken,
) {
    let mut ready = true;
    let mut interval = tokio::time::interval(READINESS_INTERVAL);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        let now_ready = readiness().await;
        if now_ready != ready && !shutdown.is_cancelled() {
            ready = now_ready;
            let status = if ready {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            tracing::warn!(?services, ready, "readiness changed");
            set_status(&health, services, status).await;
        }
    }
}

async fn set_status(health: &HealthReporter, services: &[&str], status: ServingStatus) {
    for service in services {
        health.set_service_status(*service, status).await;
    }
}

/// Resolves on SIGTERM (Kubernetes) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("received Ctrl-C"),
        () = terminate => tracing::info!("received SIGTERM"),
    }
}
