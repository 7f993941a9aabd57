//! Clients for calling other Leadpool services: every call carries this service's bearer token
//! and the current trace context.

use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use leadpool_auth::ServiceCredentials;
use leadpool_config::ClientTlsConfig;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};

use crate::tls::ClientTls;

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

/// A lazily connecting channel to `endpoint`, over TLS with the current certificates when
/// `tls` is given (tonic speaks plain HTTP/2 over what the connector hands it; TLS is ours, so
/// renewed certificates apply to the next connection).
pub fn channel(
    endpoint: &str,
    timeout: Duration,
    tls: Option<&ClientTlsConfig>,
) -> Result<Channel, String> {
    let uri: http::Uri = endpoint.parse().map_err(|e| format!("`{endpoint}`: {e}"))?;
    let host = uri
        .host()
        .ok_or_else(|| format!("`{endpoint}` names no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(443);
    let builder = Endpoint::from_shared(format!(
        "http://{}",
        uri.authority().map_or("", |a| a.as_str())
    ))
    .map_err(|e| e.to_string())?
    .connect_timeout(timeout)
    .timeout(timeout)
    .tcp_nodelay(true);
    Ok(match tls {
        None => builder.connect_lazy(),
        Some(tls) => {
            let tls = ClientTls::new(tls, &host).map_err(|e| e.to_string())?;
            let addr = format!("{host}:{port}");
            builder.connect_with_connector_lazy(tower::service_fn(move |_: http::Uri| {
                let (tls, addr) = (tls.clone(), addr.clone());
                async move { Ok::<_, std::io::Error>(TokioIo::new(tls.connect(&addr).await?)) }
            }))
        }
    })
}

/// A lazily connecting channel: creating it never fails because the peer is down; calls do,
/// with UNAVAILABLE, until the peer is back. With `tls`, each connection is TLS with the
/// current certificates (mutual TLS when this service has a client certificate).
pub fn connect(
    endpoint: &str,
    timeout: Duration,
    credentials: Arc<ServiceCredentials>,
    tls: Option<&ClientTlsConfig>,
) -> Result<AuthenticatedChannel, String> {
    let channel = channel(endpoint, timeout, tls)?;
    Ok(InterceptedService::new(
        channel,
        ClientInterceptor::new(credentials),
    ))
}
