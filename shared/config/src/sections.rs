//! Sections shared by several services. Each has defaults that work on a developer machine.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// A value that must not appear in logs or debug output.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The gRPC listener and how it shuts down.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen_addr: SocketAddr,
    /// After SIGTERM the health service reports NOT_SERVING for this long before the listener
    /// closes, so load balancers stop sending new calls first.
    #[serde(with = "humantime_serde")]
    pub drain_delay: Duration,
    /// The longest in-flight calls may take to finish after the listener closed.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// Calls served at once (health checks aside); one more is refused at once with
    /// UNAVAILABLE and a retry delay, instead of queueing until everyone times out.
    pub max_concurrent_requests: usize,
    /// HTTP/2 streams one connection may have open.
    pub max_concurrent_streams: u32,
    /// The largest request message, in bytes.
    pub max_message_bytes: usize,
    /// Serve TLS (and mutual TLS for the other services' calls). Off: plain HTTP/2, for
    /// development and a mesh that encrypts for you.
    pub tls: Option<ServerTlsConfig>,
    /// Also serve gRPC health, and only health, in plaintext here: for the kubelet's gRPC
    /// probes, which cannot speak TLS.
    pub health_listen_addr: Option<SocketAddr>,
    /// Browser front ends on other origins allowed to call this service with gRPC-web (CORS),
    /// e.g. `https://crm.example.com`. Empty: none — the console and any app served from the
    /// same origin as the API (behind the proxy or Ingress) need no CORS.
    pub cors_allowed_origins: Vec<String>,
}

/// TLS on a service's listener. Files are read again every `reload_interval` when they
/// changed, so renewed certificates (cert-manager) apply without a restart.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTlsConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// Clients may present a certificate signed by this CA (the services do); a call made
    /// with a service token must, when `service_peers` is set.
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    /// The peers whose service-token calls this service accepts: names their client
    /// certificates are valid for (e.g. `intake`). Empty: any service token.
    #[serde(default)]
    pub service_peers: Vec<String>,
    #[serde(default = "default_reload", with = "humantime_serde")]
    pub reload_interval: Duration,
}

/// TLS for calls to another service: the CA its certificate chains to, and this service's
/// own client certificate for mutual TLS. Read again when they change, like the server's.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientTlsConfig {
    pub ca_file: PathBuf,
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// The name the peer's certificate must be valid for; default: the endpoint's host.
    #[serde(default)]
    pub server_name: Option<String>,
    #[serde(default = "default_reload", with = "humantime_serde")]
    pub reload_interval: Duration,
}

fn default_reload() -> Duration {
    Duration::from_secs(30)
}

impl ServerConfig {
    /// The default for a service whose gRPC port is `port`.
    pub fn with_port(port: u16) -> Self {
        Self {
            listen_addr: SocketAddr::from(([0, 0, 0, 0], port)),
            ..Self::default()
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen_addr: SocketAddr::from(([0, 0, 0, 0], 50051)),
            drain_delay: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(25),
            max_concurrent_requests: 256,
            max_concurrent_streams: 200,
            max_message_bytes: 4 << 20,
            tls: None,
            health_listen_addr: None,
            cors_allowed_origins: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: Secret,
    pub max_connections: u32,
    /// How long a call waits for a free connection before failing with UNAVAILABLE.
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    /// Postgres cancels any statement running longer than this.
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// Postgres ends a session that sits idle inside a transaction this long, releasing its
    /// locks. A frozen process thereby loses its open transaction and cannot commit it later.
    #[serde(with = "humantime_serde")]
    pub idle_in_transaction_timeout: Duration,
    /// Apply pending migrations at start-up (takes an advisory lock; safe with many replicas).
    pub migrate_on_start: bool,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: Secret::new("postgres://postgres@127.0.0.1:5432/leadpool"),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(10),
            idle_in_transaction_timeout: Duration::from_secs(30),
            migrate_on_start: true,
        }
    }
}

impl DatabaseConfig {
    pub fn validate(&self, section: &str) -> Result<(), ConfigError> {
        if !self.url.expose().starts_with("postgres://")
            && !self.url.expose().starts_with("postgresql://")
        {
            return Err(ConfigError::invalid(
                format!("{section}.url"),
                "must be a postgres:// URL",
            ));
        }
        if self.max_connections == 0 {
            return Err(ConfigError::invalid(
                format!("{section}.max_connections"),
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RedisConfig {
    pub url: Secret,
    /// Prepended to every key, so several deployments (or tests) can share one Redis.
    pub key_prefix: String,
    /// A Redis call slower than this fails, and the limit's documented fallback applies.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: Secret::new("redis://127.0.0.1:6379"),
            key_prefix: "leadpool:".to_owned(),
            timeout: Duration::from_millis(500),
        }
    }
}

impl RedisConfig {
    pub fn validate(&self, section: &str) -> Result<(), ConfigError> {
        if !self.url.expose().starts_with("redis://") && !self.url.expose().starts_with("rediss://")
        {
            return Err(ConfigError::invalid(
                format!("{section}.url"),
                "must be a redis:// or rediss:// URL",
            ));
        }
        if self.key_prefix.is_empty() {
            return Err(ConfigError::invalid(
                format!("{section}.key_prefix"),
                "must not be empty: it keeps Leadpool's keys apart from others",
            ));
        }
        Ok(())
    }
}

/// How bearer tokens are verified, and how this service proves who it is to others.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Tokens must carry exactly this `iss`.
    pub issuer: String,
    /// Tokens must list this in `aud`.
    pub audience: String,
    /// The signing algorithms accepted; anything else (including `none`) is refused.
    pub algorithms: Vec<String>,
    /// Shared secret for HS256/384/512; at least 32 bytes.
    pub hs256_secret: Option<Secret>,
    /// PEM public key for RS*/ES*/PS*/EdDSA tokens.
    pub public_key_file: Option<PathBuf>,
    /// The identity provider's JWKS document (Keycloak, Okta, Entra ID, Auth0): keys chosen by
    /// the token's `kid`. https, or http on localhost for development.
    pub jwks_url: Option<String>,
    /// The same, from a file (e.g. a mounted ConfigMap); read again like the URL.
    pub jwks_file: Option<PathBuf>,
    /// How often the key set is read again, so rotated keys arrive without a restart.
    #[serde(with = "humantime_serde")]
    pub jwks_refresh: Duration,
    /// A token naming a key the set lacks makes the set be read again at once — at most this
    /// often, so unknown `kid`s cannot flood the identity provider.
    #[serde(with = "humantime_serde")]
    pub jwks_refetch_after: Duration,
    /// Clock skew tolerated on `exp` and `nbf`.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
    /// A file holding this service's own token for calls to other services. Read on every
    /// refresh, so a rotated secret is picked up. When unset, the service mints its own
    /// short-lived token with `hs256_secret`.
    pub service_token_file: Option<PathBuf>,
    /// Find the identity provider's keys by OpenID Connect discovery: `jwks_uri` of
    /// `{issuer}/.well-known/openid-configuration` (instead of `jwks_url`).
    pub discovery: bool,
    /// How the identity provider's tokens name the person and her roles (tokens signed with
    /// `hs256_secret` — Leadpool's own — always carry Leadpool's claims).
    pub claims: ClaimMappingConfig,
    /// Development only: the routing service serves `leadpool.dev.v1.DevSignInService`, which
    /// hands anyone a token for any person of the policy (minted with `hs256_secret`). For
    /// `make up`'s console; the production overlay refuses it.
    pub dev_sign_in: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: "leadpool".to_owned(),
            audience: "leadpool".to_owned(),
            algorithms: vec!["HS256".to_owned()],
            hs256_secret: None,
            public_key_file: None,
            jwks_url: None,
            jwks_file: None,
            jwks_refresh: Duration::from_secs(600),
            jwks_refetch_after: Duration::from_secs(30),
            leeway: Duration::from_secs(30),
            service_token_file: None,
            discovery: false,
            claims: ClaimMappingConfig::default(),
            dev_sign_in: false,
        }
    }
}

/// Which claims of an identity provider's token say who the person is and what she may do.
/// Real providers put neither `reps/{id}` in `sub` nor Leadpool's roles in `roles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimMappingConfig {
    /// The claim naming the person, e.g. `email` or `preferred_username`.
    pub subject: String,
    /// What its value is: Leadpool's subject itself, a rep's id, or a rep's `email` or `login`
    /// in the policy. Someone who is no rep becomes `users/{value}`.
    #[serde(rename = "match")]
    pub matching: SubjectMatch,
    /// The claim carrying roles or groups; a dotted path reaches into an object
    /// (`realm_access.roles`). Its value is an array of strings, or one string.
    pub roles: String,
    /// The provider's values → Leadpool's roles (`rep`, `manager`, `admin`, `service`),
    /// compared case-insensitively. Empty: the claim carries Leadpool's role names.
    pub role_map: std::collections::BTreeMap<String, String>,
    /// The claim naming her team, if any.
    pub team: String,
}

impl Default for ClaimMappingConfig {
    fn default() -> Self {
        Self {
            subject: "sub".to_owned(),
            matching: SubjectMatch::Subject,
            roles: "roles".to_owned(),
            role_map: std::collections::BTreeMap::new(),
            team: "team".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectMatch {
    /// `reps/{id}`, `users/{name}`, `services/{name}` as they are.
    #[default]
    Subject,
    /// A rep's id (`reps/` may be left out).
    RepId,
    /// A rep's `email` in the policy.
    Email,
    /// A rep's `login` in the policy.
    Login,
}

/// The roles a token may grant, by name.
pub const ROLE_NAMES: [&str; 4] = ["rep", "manager", "admin", "service"];

pub const MIN_SECRET_LEN: usize = 32;

impl AuthConfig {
    pub fn validate(&self, section: &str) -> Result<(), ConfigError> {
        if self.algorithms.is_empty() {
            return Err(ConfigError::invalid(
                format!("{section}.algorithms"),
                "must name at least one algorithm, e.g. [\"HS256\"]",
            ));
        }
        let uses_hmac = self.algorithms.iter().any(|a| a.starts_with("HS"));
        let uses_public_key = self.algorithms.iter().any(|a| !a.starts_with("HS"));
        match &self.hs256_secret {
            None if uses_hmac => {
                return Err(ConfigError::invalid(
                    format!("{section}.hs256_secret"),
                    "must be set when an HS* algorithm is allowed (e.g. LEADPOOL_AUTH__HS256_SECRET)",
                ));
            }
            Some(secret) if secret.expose().len() < MIN_SECRET_LEN => {
                return Err(ConfigError::invalid(
                    format!("{section}.hs256_secret"),
                    format!("must be at least {MIN_SECRET_LEN} bytes"),
                ));
            }
            _ => {}
        }
        if self.dev_sign_in && self.hs256_secret.is_none() {
            return Err(ConfigError::invalid(
                format!("{section}.dev_sign_in"),
                "needs the development secret (hs256_secret): its tokens are minted with it",
            ));
        }
        let key_sources = [
            self.public_key_file.is_some(),
            self.jwks_url.is_some(),
            self.jwks_file.is_some(),
            self.discovery,
        ];
        if uses_public_key && !key_sources.contains(&true) {
            return Err(ConfigError::invalid(
                format!("{section}.jwks_url"),
                "a public-key algorithm is allowed, so set discovery, jwks_url, jwks_file or public_key_file",
            ));
        }
        if key_sources[1..].iter().filter(|set| **set).count() > 1 {
            return Err(ConfigError::invalid(
                format!("{section}.jwks_file"),
                "set one of discovery, jwks_url and jwks_file",
            ));
        }
        if let Some(url) = &self.jwks_url
            && !is_https_or_local(url)
        {
            return Err(ConfigError::invalid(
                format!("{section}.jwks_url"),
                "must be https (http only on localhost, for development)",
            ));
        }
        if self.discovery && !is_https_or_local(&self.issuer) {
            return Err(ConfigError::invalid(
                format!("{section}.issuer"),
                "with discovery, the issuer is the provider's https URL (http only on localhost)",
            ));
        }
        self.claims.validate(&format!("{section}.claims"))?;
        if self.jwks_refresh.is_zero() || self.jwks_refetch_after.is_zero() {
            return Err(ConfigError::invalid(
                format!("{section}.jwks_refresh"),
                "jwks_refresh and jwks_refetch_after must be longer than zero",
            ));
        }
        Ok(())
    }
}

fn is_https_or_local(url: &str) -> bool {
    url.starts_with("https://")
        || ["http://localhost", "http://127.0.0.1", "http://[::1]"]
            .iter()
            .any(|prefix| url.starts_with(prefix))
}

impl ClaimMappingConfig {
    pub fn validate(&self, section: &str) -> Result<(), ConfigError> {
        for (key, value) in [("subject", &self.subject), ("roles", &self.roles)] {
            if value.trim().is_empty() {
                return Err(ConfigError::invalid(
                    format!("{section}.{key}"),
                    "must name a claim",
                ));
            }
        }
        for (from, role) in &self.role_map {
            if !ROLE_NAMES.contains(&role.as_str()) {
                return Err(ConfigError::invalid(
                    format!("{section}.role_map.{from}"),
                    format!("`{role}` is not one of: {}", ROLE_NAMES.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    #[default]
    Json,
    /// Human-readable, for a terminal.
    Pretty,
}

/// Logs and traces. Traces are exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    pub log_format: LogFormat,
    /// An `EnvFilter` directive such as `info,leadpool_claim=debug`. `RUST_LOG` overrides it.
    pub log_filter: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_format: LogFormat::Json,
            log_filter: "info".to_owned(),
        }
    }
}

/// How a service follows the routing policy applied through the routing service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// How long a cached policy is used before checking for a newer version. A change applied
    /// on one replica reaches the others within this time.
    #[serde(with = "humantime_serde")]
    pub refresh_interval: Duration,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            refresh_interval: Duration::from_secs(1),
        }
    }
}

/// The Prometheus metrics endpoint (`GET /metrics`, plain HTTP), served beside the gRPC port.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve metrics at all. Off in tests that run several services in one process.
    pub enabled: bool,
    pub listen_addr: SocketAddr,
}

impl MetricsConfig {
    /// The default for a service whose metrics port is `port`.
    pub fn with_port(port: u16) -> Self {
        Self {
            enabled: true,
            listen_addr: SocketAddr::from(([0, 0, 0, 0], port)),
        }
    }

    /// No endpoint.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self::with_port(9090)
    }
}
