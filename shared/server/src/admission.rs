//! Overload protection: each service serves at most `max_concurrent_requests` calls at once.
//! One more is refused at once — UNAVAILABLE with `RetryInfo` and reason `OVERLOADED` — rather
//! than queued until every caller times out; health checks and reflection are always served,
//! so a busy service still reports SERVING. Every admitted call runs under its caller's
//! deadline (`grpc-timeout`), which bounds its database statements and Redis calls.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, FutureExt as _};
use leadpool_domain::{Error, Reason};
use tokio::sync::Semaphore;
use tonic::body::Body;
use tonic_types::{ErrorDetails, StatusExt};
use tower::{Layer, Service};

use crate::error::ERROR_DOMAIN;

/// Calls that are never shed.
const ALWAYS_SERVED: [&str; 2] = ["/grpc.health.v1.Health/", "/grpc.reflection."];
/// What a shed caller is told to wait before trying again.
const RETRY_AFTER: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
pub struct AdmissionLayer {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl AdmissionLayer {
    pub fn new(max_concurrent: usize) -> Self {
        let limit = max_concurrent.max(1);
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }
}

impl<S> Layer<S> for AdmissionLayer {
    type Service = Admission<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Admission {
            inner,
            permits: self.permits.clone(),
            limit: self.limit,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Admission<S> {
    inner: S,
    permits: Arc<Semaphore>,
    limit: usize,
}

impl<S> Service<http::Request<Body>> for Admission<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let path = request.uri().path();
        if ALWAYS_SERVED.iter().any(|prefix| path.starts_with(prefix)) {
            return self.inner.call(request).boxed();
        }
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            tracing::warn!(path, limit = self.limit, "overloaded: call shed");
            let response = overloaded(self.limit).into_http();
            return async move { Ok(response) }.boxed();
        };
        let deadline = grpc_timeout(request.headers()).map(|left| Instant::now() + left);
        let call = self.inner.call(request);
        async move {
            let response = leadpool_config::deadline::within(deadline, call).await;
            drop(permit);
            response
        }
        .boxed()
    }
}

fn overloaded(limit: usize) -> tonic::Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(
        Reason::Overloaded.as_str(),
        ERROR_DOMAIN,
        std::collections::HashMap::new(),
    );
    details.set_retry_info(Some(RETRY_AFTER));
    let message = Error::Unavailable {
        dependency: "this service",
        message: format!("it is serving as many calls as it admits ({limit}); retry shortly"),
    }
    .to_string();
    tonic::Status::with_error_details(tonic::Code::Unavailable, message, details)
}

/// The `grpc-timeout` header: digits and a unit (H, M, S, m, u, n).
fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.checked_mul(3600)?),
        "M" => Duration::from_secs(amount.checked_mul(60)?),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_read_every_unit() {
        let at = |v: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert("grpc-timeout", v.parse().unwrap());
            grpc_timeout(&headers)
        };
        assert_eq!(at("2S"), Some(Duration::from_secs(2)));
        assert_eq!(at("150m"), Some(Duration::from_millis(150)));
        assert_eq!(at("3M"), Some(Duration::from_secs(180)));
        assert_eq!(at("10u"), Some(Duration::from_micros(10)));
        assert_eq!(at("x"), None);
        assert_eq!(at(""), None);
        assert_eq!(at("99999999999999999999H"), None);
    }
}
