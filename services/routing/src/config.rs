use leadpool_config::{
    AuthConfig, ConfigError, DatabaseConfig, PolicyConfig, ServerConfig, ServiceConfig,
    TelemetryConfig,
};
use serde::{Deserialize, Serialize};

/// The routing service's configuration. Every key can be set as `LEADPOOL_<SECTION>__<KEY>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub telemetry: TelemetryConfig,
    pub metrics: leadpool_config::MetricsConfig,
    pub policy: PolicyConfig,
}

/// The routing service's gRPC port.
pub const DEFAULT_PORT: u16 = 50052;

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerConfig::with_port(DEFAULT_PORT),
            database: DatabaseConfig::default(),
            auth: AuthConfig::default(),
            telemetry: TelemetryConfig::default(),
            metrics: leadpool_config::MetricsConfig::with_port(9092),
            policy: PolicyConfig::default(),
        }
    }
}

impl ServiceConfig for Config {
    fn validate(&self) -> Result<(), ConfigError> {
        self.database.validate("database")?;
        self.auth.validate("auth")
    }
}
