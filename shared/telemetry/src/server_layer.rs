//! A tower layer for gRPC servers: one span per call, continuing the caller's trace, and one
//! log line per finished call with its status and latency, and its count and latency in the
//! Prometheus metrics.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tower::{Layer, Service};
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::metrics;
use crate::propagation::extract_context;

#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcTraceLayer;

impl<S> Layer<S> for GrpcTraceLayer {
    type Service = GrpcTraceService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        GrpcTraceService { inner }
    }
}

#[derive(Debug, Clone)]
pub struct GrpcTraceService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcTraceService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let (service, method) = split_path(&path);
        let span = tracing::info_span!(
            "grpc",
            otel.name = %path.trim_start_matches('/'),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        // A malformed or absent traceparent simply starts a new trace.
        let _ = span.set_parent(extract_context(request.headers()));
        let started = Instant::now();
        let future = self.inner.call(request);
        Box::pin(
            async move {
                let response = future.await;
                let code = match &response {
                    // Errors are sent trailers-only, so their status is in the headers; a
                    // missing grpc-status header means the call is streaming its OK answer.
                    Ok(response) => response
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<i32>().ok())
                        .unwrap_or(0),
                    Err(_) => 2,
                };
                let span = tracing::Span::current();
                span.record("rpc.grpc.status_code", code);
                let code_name = format!("{:?}", tonic::Code::from_i32(code));
                let elapsed = started.elapsed().as_secs_f64();
                let latency_ms = elapsed * 1000.0;
                if !is_health_probe(&path) {
                    // Paths are caller input: only answered methods get their own label, so
                    // made-up paths cannot grow the metrics without bound.
                    let (service, method) = if code == tonic::Code::Unimplemented as i32 {
                        ("unknown", "unknown")
                    } else {
                        split_path(&path)
                    };
                    metrics::RPC_REQUESTS
                        .with_label_values(&[service, method, &code_name])
                        .inc();
                    metrics::RPC_DURATION
                        .with_label_values(&[service, method])
                        .observe(elapsed);
                }
                // Answered calls are counted and timed by the metrics and traced by the span;
                // a log line each would cost more CPU than a claim's own work. Failures log.
                if is_health_probe(&path) {
                    tracing::trace!(code = %code_name, latency_ms, "rpc finished");
                } else if code == 0 {
                    tracing::debug!(code = %code_name, latency_ms, "rpc finished");
                } else {
                    tracing::info!(code = %code_name, latency_ms, "rpc finished");
                }
                response
            }
            .instrument(span),
        )
    }
}

fn split_path(path: &str) -> (&str, &str) {
    let path = path.trim_start_matches('/');
    path.split_once('/').unwrap_or((path, ""))
}

fn is_health_probe(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_paths_split_into_service_and_method() {
        assert_eq!(
            split_path("/leadpool.v1.ClaimService/ClaimNext"),
            ("leadpool.v1.ClaimService", "ClaimNext")
        );
        assert_eq!(split_path("/odd"), ("odd", ""));
    }
}
