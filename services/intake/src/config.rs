use std::time::Duration;

use leadpool_config::{
    AuthConfig, ConfigError, DatabaseConfig, PolicyConfig, ServerConfig, ServiceConfig,
    TelemetryConfig,
};
use serde::{Deserialize, Serialize};

/// The intake service's configuration. Every key can be set as `LEADPOOL_<SECTION>__<KEY>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub telemetry: TelemetryConfig,
    pub metrics: leadpool_config::MetricsConfig,
    pub routing: RoutingClientConfig,
    pub policy: PolicyConfig,
}

/// The intake service's gRPC port.
pub const DEFAULT_PORT: u16 = 50051;

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerConfig::with_port(DEFAULT_PORT),
            database: DatabaseConfig::default(),
            auth: AuthConfig::default(),
            telemetry: TelemetryConfig::default(),
            metrics: leadpool_config::MetricsConfig::with_port(9091),
            routing: RoutingClientConfig::default(),
            policy: PolicyConfig::default(),
        }
    }
}

/// How intake reaches the routing service, and how it retries leads routing missed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingClientConfig {
    pub endpoint: String,
    /// A RouteLead call slower than this counts as failed; the lead is retried later.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// How often leads still waiting for routing are retried.
    #[serde(with = "humantime_serde")]
    pub retry_interval: Duration,
    /// Leads younger than this are left to the submission that is routing them right now.
    #[serde(with = "humantime_serde")]
    pub retry_grace: Duration,
    /// Leads retried per round (at most 1000, routing's batch limit).
    pub retry_batch: i64,
    /// TLS to routing (mutual, with this service's certificate).
    pub tls: Option<leadpool_config::ClientTlsConfig>,
}

impl Default for RoutingClientConfig {
    fn default() -> Self {
        Self {
            endpoint: "http://127.0.0.1:50052".to_owned(),
            timeout: Duration::from_secs(2),
            retry_interval: Duration::from_secs(5),
            retry_grace: Duration::from_secs(2),
            retry_batch: 200,
            tls: None,
        }
    }
}

impl ServiceConfig for Config {
    fn validate(&self) -> Result<(), ConfigError> {
        self.database.validate("database")?;
        self.auth.validate("auth")?;
        if !self.routing.endpoint.starts_with("http://")
            && !self.routing.endpoint.starts_with("https://")
        {
            return Err(ConfigError::invalid(
                "routing.endpoint",
                "must be an http:// or https:// URL",
            ));
        }
        if self.routing.retry_interval.is_zero() {
            return Err(ConfigError::invalid(
                "routing.retry_interval",
                "must be greater than zero",
            ));
        }
        if !(1..=1000).contains(&self.routing.retry_batch) {
            return Err(ConfigError::invalid(
                "routing.retry_batch",
                "must be within 1..=1000",
            ));
        }
        Ok(())
    }
}
