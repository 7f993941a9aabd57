use std::time::Duration;

use leadpool_config::{
    AuthConfig, ConfigError, DatabaseConfig, ServerConfig, ServiceConfig, TelemetryConfig,
};
use serde::{Deserialize, Serialize};

/// The scheduler's configuration. Every key can be set as `LEADPOOL_<SECTION>__<KEY>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub telemetry: TelemetryConfig,
    pub scheduler: SchedulerConfig,
}

/// The scheduler's gRPC port.
pub const DEFAULT_PORT: u16 = 50054;

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerConfig::with_port(DEFAULT_PORT),
            database: DatabaseConfig::default(),
            auth: AuthConfig::default(),
            telemetry: TelemetryConfig::default(),
            scheduler: SchedulerConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchedulerConfig {
    /// Run jobs on their schedule. Off, jobs run only through RunJob.
    pub enabled: bool,
    /// How often the scheduler looks for due job slots.
    #[serde(with = "humantime_serde")]
    pub tick: Duration,
    /// Leads changed per statement; large runs are applied in batches of this size.
    pub batch_size: i64,
    /// How often the SLA-expiry job runs.
    #[serde(with = "humantime_serde")]
    pub sla_expiry_interval: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            tick: Duration::from_secs(1),
            batch_size: 500,
            sla_expiry_interval: Duration::from_secs(60),
        }
    }
}

impl ServiceConfig for Config {
    fn validate(&self) -> Result<(), ConfigError> {
        self.database.validate("database")?;
        self.auth.validate("auth")?;
        if self.scheduler.tick.is_zero() {
            return Err(ConfigError::invalid(
                "scheduler.tick",
                "must be greater than zero",
            ));
        }
        if self.scheduler.batch_size < 1 {
            return Err(ConfigError::invalid(
                "scheduler.batch_size",
                "must be at least 1",
            ));
        }
        if self.scheduler.sla_expiry_interval < Duration::from_secs(1) {
            return Err(ConfigError::invalid(
                "scheduler.sla_expiry_interval",
                "must be at least 1s",
            ));
        }
        Ok(())
    }
}
