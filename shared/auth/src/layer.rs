//! The tower layer that authenticates every call before it reaches a handler.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::{BoxFuture, FutureExt};
use tonic::Status;
use tower::{Layer, Service};

use crate::identity::Subject;
use crate::mapping::RepDirectory;
use crate::token::{TokenError, TokenVerifier};

/// Calls that need no token: health checks (probes carry none), reflection (it reveals only
/// the published API) and the development sign-in, which hands out tokens (served only where
/// `auth.dev_sign_in` is on; elsewhere its calls are UNIMPLEMENTED).
const PUBLIC_PREFIXES: [&str; 3] = [
    "/grpc.health.v1.Health/",
    "/grpc.reflection.",
    "/leadpool.dev.v1.DevSignInService/",
];

#[derive(Clone)]
pub struct AuthLayer {
    verifier: Arc<TokenVerifier>,
    /// Finds the rep a provider's token names by email or login.
    directory: Option<Arc<dyn RepDirectory>>,
}

impl std::fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthLayer")
            .field("verifier", &self.verifier)
            .finish_non_exhaustive()
    }
}

impl AuthLayer {
    /// Inside the runtime: starts reading the identity provider's keys on their schedule.
    pub fn new(verifier: TokenVerifier) -> Self {
        verifier.start_key_refresh();
        Self {
            verifier: Arc::new(verifier),
            directory: None,
        }
    }

    /// People named by email or login (`auth.claims.match`) are found among these reps.
    #[must_use]
    pub fn with_directory(mut self, directory: Arc<dyn RepDirectory>) -> Self {
        self.directory = Some(directory);
        self
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            verifier: self.verifier.clone(),
            directory: self.directory.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    verifier: Arc<TokenVerifier>,
    directory: Option<Arc<dyn RepDirectory>>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for AuthService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let path = request.uri().path();
        if PUBLIC_PREFIXES
            .iter()
            .any(|prefix| path.starts_with(prefix))
        {
            return self.inner.call(request).boxed();
        }
        let verifier = self.verifier.clone();
        let directory = self.directory.clone();
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        async move {
            match authenticate(&verifier, directory.as_deref(), request.headers()).await {
                Ok(identity) => {
                    tracing::Span::current().record("enduser.id", identity.actor());
                    request.extensions_mut().insert(identity);
                    inner.call(request).await
                }
                Err(status) => {
                    tracing::info!(
                        path = request.uri().path(),
                        reason = status.message(),
                        "unauthenticated call refused"
                    );
                    Ok(status.into_http::<ResBody>())
                }
            }
        }
        .boxed()
    }
}

async fn authenticate(
    verifier: &TokenVerifier,
    directory: Option<&dyn RepDirectory>,
    headers: &http::HeaderMap,
) -> Result<crate::Identity, Status> {
    let header = headers.get(http::header::AUTHORIZATION).ok_or_else(|| {
        Status::unauthenticated("missing `authorization: Bearer <token>` metadata")
    })?;
    let token = header
        .to_str()
        .ok()
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            Status::unauthenticated("the authorization metadata must be `Bearer <token>`")
        })?;
    let mut verified = verifier.verify_mapped(token);
    // A key the identity provider's set lacks may have just been rotated in: read the set
    // again (rate-limited) and try once more.
    if let (Err(TokenError::UnknownKey(_)), Some(jwks)) = (&verified, verifier.jwks()) {
        jwks.refresh_if_due().await;
        verified = verifier.verify_mapped(token);
    }
    let (mut identity, lookup) = verified.map_err(|err| match err {
        TokenError::Key(_) => Status::internal("token verification is misconfigured"),
        other => Status::unauthenticated(format!("invalid bearer token: {other}")),
    })?;
    // Named by email or login: she is the rep the policy gives that name, if any.
    if let (Some(lookup), Some(directory)) = (lookup, directory)
        && let Some(rep) = directory.find(&lookup).await
    {
        identity.subject = Subject::Rep(rep);
    }
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::time::Duration;

    use leadpool_config::{AuthConfig, Secret};
    use tower::ServiceExt;

    use super::*;
    use crate::{Identity, Role, TokenIssuer};

    fn config() -> AuthConfig {
        AuthConfig {
            hs256_secret: Some(Secret::new("0123456789abcdef0123456789abcdef")),
            ..AuthConfig::default()
        }
    }

    /// An inner service that answers with the authenticated subject in a header.
    fn echo_identity() -> impl Service<
        http::Request<()>,
        Response = http::Response<String>,
        Error = Infallible,
        Future = impl Send + 'static,
    > + Clone {
        tower::service_fn(|request: http::Request<()>| async move {
            let who = request
                .extensions()
                .get::<Identity>()
                .map(Identity::actor)
                .unwrap_or_default();
            Ok::<_, Infallible>(http::Response::new(who))
        })
    }

    async fn call(path: &str, authorization: Option<&str>) -> http::Response<String> {
        let service =
            AuthLayer::new(TokenVerifier::from_config(&config()).unwrap()).layer(echo_identity());
        let mut request = http::Request::builder().uri(path);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        service.oneshot(request.body(()).unwrap()).await.unwrap()
    }

    fn grpc_status(response: &http::Response<String>) -> Option<&str> {
        response
            .headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn a_valid_token_reaches_the_handler_with_its_identity() {
        let token = TokenIssuer::from_config(&config())
            .unwrap()
            .mint("reps/alice", &[Role::Rep], Duration::from_secs(60))
            .unwrap();
        let response = call(
            "/leadpool.v1.ClaimService/ClaimNext",
            Some(&format!("Bearer {token}")),
        )
        .await;
        assert_eq!(grpc_status(&response), None);
        assert_eq!(response.body(), "reps/alice");
    }

    #[tokio::test]
    async fn missing_or_bad_tokens_get_unauthenticated() {
        let unauthenticated = (tonic::Code::Unauthenticated as i32).to_string();
        for header in [
            None,
            Some("Basic abc"),
            Some("Bearer "),
            Some("Bearer not.a.jwt"),
        ] {
            let response = call("/leadpool.v1.ClaimService/ClaimNext", header).await;
            assert_eq!(
                grpc_status(&response),
                Some(unauthenticated.as_str()),
                "{header:?}"
            );
            assert_eq!(response.body(), "", "the handler must not run");
        }
    }

    #[tokio::test]
    async fn health_checks_need_no_token() {
        let response = call("/grpc.health.v1.Health/Check", None).await;
        assert_eq!(grpc_status(&response), None);
    }
}
