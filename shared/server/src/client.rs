//! Clients for calling other Leadpool services: every call carries this service's bearer token
//! and the current trace context.

use std::sync::Arc;
use std::time::Duration;

use leadpool_auth::ServiceCredentials;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

#[derive(Clone)]
pub struct ClientInterceptor {
    credentials: Arc<ServiceCredentials>,
}

impl ClientInterceptor {
    pub fn new(credentials: Arc<ServiceCredentials>) -> Self {
        Self { credentials }
    }
}

impl Interceptor for ClientInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let token = self.credentials.token().map_err(|err| {
            tracing::error!(error = %err, "cannot obtain this service's token");
            Status::unauthenticated("this service has no usable credentials")
        })?;
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| Status::internal("service token is not valid metadata"))?;
        request.metadata_mut().insert("authorization", value);
        leadpool_telemetry::inject_current_context(request.metadata_mut());
        Ok(request)
    }
}

pub type AuthenticatedChannel = InterceptedService<Channel, ClientInterceptor>;

/// A lazily connecting channel: creating it never fails because the peer is down; calls do,
/// with UNAVAILABLE, until the peer is back.
pub fn connect(
    endpoint: &str,
    timeout: Duration,
    credentials: Arc<ServiceCredentials>,
) -> Result<AuthenticatedChannel, tonic::transport::Error> {
    let channel = Endpoint::from_shared(endpoint.to_owned())?
        .connect_timeout(timeout)
        .timeout(timeout)
        .tcp_nodelay(true)
        .connect_lazy();
    Ok(InterceptedService::new(
        channel,
        ClientInterceptor::new(credentials),
    ))
}
