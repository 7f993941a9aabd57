use std::time::Duration;

use leadpool_config::{
    AuthConfig, ConfigError, DatabaseConfig, ServerConfig, ServiceConfig, TelemetryConfig,
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
    pub routing: RoutingClientConfig,
    pub qualification: QualificationConfig,
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
            routing: RoutingClientConfig::default(),
            qualification: QualificationConfig::default(),
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
    /// Leads retried per round.
    pub retry_batch: i64,
}

impl Default for RoutingClientConfig {
    fn default() -> Self {
        Self {
            endpoint: "http://127.0.0.1:50052".to_owned(),
            timeout: Duration::from_secs(2),
            retry_interval: Duration::from_secs(5),
            retry_grace: Duration::from_secs(2),
            retry_batch: 200,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QualificationConfig {
    /// Leads scoring below this are rejected (and kept, with the reason).
    pub min_score: i32,
}

impl Default for QualificationConfig {
    fn default() -> Self {
        Self { min_score: 20 }
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
        if self.routing.retry_batch < 1 {
            return Err(ConfigError::invalid(
                "routing.retry_batch",
                "must be at least 1",
            ));
        }
        if !(0..=100).contains(&self.qualification.min_score) {
            return Err(ConfigError::invalid(
                "qualification.min_score",
                "must be within 0..=100",
            ));
        }
        Ok(())
    }
}
