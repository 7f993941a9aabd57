//! TLS for the services' listeners and for their calls to each other (rustls): certificates
//! and keys from PEM files, read again when they change (a renewed certificate applies to the
//! next handshake, no restart), optional client certificates checked against a CA (mutual TLS
//! between services), and the check that a service-token call comes from a peer allowed to
//! make it.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use futures_util::future::{BoxFuture, FutureExt as _};
use leadpool_auth::{Identity, Role};
use leadpool_config::{ClientTlsConfig, ServerTlsConfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tower::{Layer, Service};

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{0}")]
    Config(String),
}

fn file_error(path: &Path, message: impl ToString) -> TlsError {
    TlsError::File {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, e))?;
    if certs.is_empty() {
        return Err(file_error(path, "holds no PEM certificate"));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| file_error(path, e))
}

fn roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(path)? {
        roots.add(cert).map_err(|e| file_error(path, e))?;
    }
    Ok(roots)
}

/// When each file was last modified: a change means read them again.
fn stamps(paths: &[&Path]) -> Vec<Option<SystemTime>> {
    paths
        .iter()
        .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .collect()
}

/// A configuration rebuilt from its files when they change.
struct Reloading<C> {
    current: RwLock<(Arc<C>, Vec<Option<SystemTime>>)>,
    files: Vec<PathBuf>,
    build: Box<dyn Fn() -> Result<C, TlsError> + Send + Sync>,
}

impl<C: Send + Sync + 'static> Reloading<C> {
    fn new(
        files: Vec<PathBuf>,
        build: impl Fn() -> Result<C, TlsError> + Send + Sync + 'static,
        every: Duration,
    ) -> Result<Arc<Self>, TlsError> {
        let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        let stamped = stamps(&paths);
        let reloading = Arc::new(Self {
            current: RwLock::new((Arc::new(build()?), stamped)),
            files,
            build: Box::new(build),
        });
        let weak = Arc::downgrade(&reloading);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            loop {
                ticker.tick().await;
                let Some(reloading) = weak.upgrade() else {
                    return;
                };
                reloading.reload_if_changed();
            }
        });
        Ok(reloading)
    }

    fn get(&self) -> Arc<C> {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
            .clone()
    }

    fn reload_if_changed(&self) {
        let paths: Vec<&Path> = self.files.iter().map(PathBuf::as_path).collect();
        let now = stamps(&paths);
        let unchanged = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1
            == now;
        if unchanged {
            return;
        }
        match (self.build)() {
            Ok(config) => {
                *self
                    .current
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = (Arc::new(config), now);
                tracing::info!(files = ?self.files, "TLS certificates reloaded");
            }
            // A half-written renewal is read again on the next tick; the old one stays.
            Err(err) => {
                tracing::warn!(error = %err, "TLS certificates not reloaded; keeping the current ones")
            }
        }
    }
}

/// The server side: a rustls configuration kept current with its files.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<Reloading<ServerConfig>>,
}

impl ServerTls {
    pub fn new(tls: &ServerTlsConfig) -> Result<Self, TlsError> {
        let settings = tls.clone();
        let mut files = vec![tls.cert_file.clone(), tls.key_file.clone()];
        files.extend(tls.client_ca_file.clone());
        let config = Reloading::new(files, move || server_config(&settings), tls.reload_interval)?;
        Ok(Self { config })
    }

    /// Accepts TCP connections on `listener` and completes their TLS handshakes off the
    /// accept loop; a failed or slow handshake drops that connection only.
    pub fn incoming(
        &self,
        listener: TcpListener,
    ) -> tokio_stream::wrappers::ReceiverStream<Result<TlsStream<TcpStream>, std::io::Error>> {
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let tls = self.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let acceptor = tokio_rustls::TlsAcceptor::from(tls.config.get());
                let handed = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            let _ = handed.send(Ok(stream)).await;
                        }
                        Ok(Err(err)) => {
                            tracing::debug!(%peer, error = %err, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
                if tx.is_closed() {
                    return;
                }
            }
        });
        tokio_stream::wrappers::ReceiverStream::new(rx)
    }
}

fn server_config(tls: &ServerTlsConfig) -> Result<ServerConfig, TlsError> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match &tls.client_ca_file {
        // Client certificates are optional at the handshake (people's apps have none); what
        // a call may do without one is decided per call (`PeerCheck`).
        Some(ca) => builder.with_client_cert_verifier(
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca)?), provider())
                .allow_unauthenticated()
                .build()
                .map_err(|e| file_error(ca, e))?,
        ),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(certificates(&tls.cert_file)?, private_key(&tls.key_file)?)
        .map_err(|e| file_error(&tls.cert_file, e))?;
    // HTTP/1.1 too: browsers' gRPC-web, and proxies that speak it to their upstreams.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The client side: a rustls configuration for calling another service, kept current.
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<Reloading<ClientConfig>>,
    server_name: ServerName<'static>,
}

impl ClientTls {
    /// `host` is the endpoint's host, the default name the peer's certificate must carry.
    pub fn new(tls: &ClientTlsConfig, host: &str) -> Result<Self, TlsError> {
        let settings = tls.clone();
        let mut files = vec![tls.ca_file.clone()];
        files.extend(tls.cert_file.clone());
        files.extend(tls.key_file.clone());
        let config = Reloading::new(files, move || client_config(&settings), tls.reload_interval)?;
        let name = tls.server_name.clone().unwrap_or_else(|| host.to_owned());
        let server_name = ServerName::try_from(name.clone())
            .map_err(|_| TlsError::Config(format!("`{name}` is not a server name")))?;
        Ok(Self {
            config,
            server_name,
        })
    }

    /// Connects to `addr` and completes the handshake with the current configuration.
    pub async fn connect(
        &self,
        addr: &str,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        tokio_rustls::TlsConnector::from(self.config.get())
            .connect(self.server_name.clone(), stream)
            .await
    }
}

fn client_config(tls: &ClientTlsConfig) -> Result<ClientConfig, TlsError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots(&tls.ca_file)?);
    let mut config = match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(certificates(cert)?, private_key(key)?)
            .map_err(|e| file_error(cert, e))?,
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(TlsError::Config(
                "a client certificate needs both cert_file and key_file".into(),
            ));
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// Refuses a call made with a service token unless it came over mutual TLS from one of the
/// `peers` (a client certificate valid for that name): only intake may route leads as a
/// service, whatever token another process got hold of.
#[derive(Debug, Clone)]
pub struct PeerCheckLayer {
    peers: Arc<Vec<String>>,
}

impl PeerCheckLayer {
    pub fn new(peers: Vec<String>) -> Self {
        Self {
            peers: Arc::new(peers),
        }
    }
}

impl<S> Layer<S> for PeerCheckLayer {
    type Service = PeerCheck<S>;
    fn layer(&self, inner: S) -> Self::Service {
        PeerCheck {
            inner,
            peers: self.peers.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct PeerCheck<S> {
    inner: S,
    peers: Arc<Vec<String>>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for PeerCheck<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let is_service = request
            .extensions()
            .get::<Identity>()
            .is_some_and(|identity| identity.has_role(Role::Service));
        if self.peers.is_empty() || !is_service {
            return self.inner.call(request).boxed();
        }
        let certs = request
            .extensions()
            .get::<TlsConnectInfo<TcpConnectInfo>>()
            .and_then(TlsConnectInfo::peer_certs);
        let peer = certs
            .as_ref()
            .and_then(|certs| certs.first())
            .and_then(|cert| self.peers.iter().find(|name| valid_for(cert, name)));
        if peer.is_some() {
            return self.inner.call(request).boxed();
        }
        let status = tonic::Status::permission_denied(format!(
            "calls with a service token are accepted only over mutual TLS from {}",
            self.peers.join(", ")
        ));
        let response = status.into_http::<ResBody>();
        async move { Ok(response) }.boxed()
    }
}

fn valid_for(cert: &CertificateDer<'_>, name: &str) -> bool {
    let (Ok(cert), Ok(name)) = (
        webpki::EndEntityCert::try_from(cert),
        ServerName::try_from(name),
    ) else {
        return false;
    };
    cert.verify_is_valid_for_subject_name(&name).is_ok()
}

/// A TLS stream as hyper's client reads it.
pub type ClientIo = hyper_util::rt::TokioIo<tokio_rustls::client::TlsStream<TcpStream>>;

/// Boxed futures the channel's connector returns.
pub type Connecting = Pin<Box<dyn std::future::Future<Output = std::io::Result<ClientIo>> + Send>>;
