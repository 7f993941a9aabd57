//! `GET /metrics` over plain HTTP on its own port, so Prometheus scrapes it without speaking
//! gRPC and without a token (the NetworkPolicies admit only Prometheus to that port).

use std::net::SocketAddr;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use leadpool_config::MetricsConfig;
use leadpool_telemetry::metrics;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::serve::{ServeError, bind_listener};

/// A bound metrics listener; [`MetricsEndpoint::serve`] answers scrapes until shutdown.
pub struct MetricsEndpoint {
    listener: TcpListener,
}

impl MetricsEndpoint {
    /// Binds now, so a taken port fails start-up with a clear message. `None` when disabled.
    pub async fn bind(config: &MetricsConfig) -> Result<Option<Self>, ServeError> {
        if !config.enabled {
            return Ok(None);
        }
        let listener = bind_listener(config.listen_addr).await?;
        Ok(Some(Self { listener }))
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    pub async fn serve(self, shutdown: CancellationToken) {
        let app = Router::new().route(
            "/metrics",
            get(|| async { ([(CONTENT_TYPE, metrics::CONTENT_TYPE)], metrics::render()) }),
        );
        let addr = self.local_addr();
        tracing::info!(?addr, "serving metrics");
        if let Err(err) = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
        {
            tracing::warn!(error = %err, "metrics endpoint stopped");
        }
    }
}
