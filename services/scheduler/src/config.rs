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
    pub metrics: leadpool_config::MetricsConfig,
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
            metrics: leadpool_config::MetricsConfig::with_port(9094),
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
    /// Missed slots one job catches up per tick (the rest follow on the next ticks; none is
    /// skipped).
    pub catch_up_per_tick: u32,
    /// How often the policy is re-read (a cheap version check).
    #[serde(with = "humantime_serde")]
    pub policy_refresh: Duration,
    /// How long job runs are kept (the weekly cleanup forgets older ones).
    #[serde(with = "humantime_serde")]
    pub job_history: Duration,
    /// How often WatchAlerts re-evaluates the alerts and the pool gauges are refreshed.
    #[serde(with = "humantime_serde")]
    pub alert_interval: Duration,
    /// How often each job runs. Slots align to the Unix epoch (a day is 00:00 UTC to 00:00 UTC,
    /// a week starts on Thursday, as the epoch did); release times themselves are local.
    #[serde(with = "humantime_serde")]
    pub sla_expiry_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub release_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub aging_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub forced_assignment_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub refresh_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub cleanup_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub backpressure_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub quota_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub snapshot_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub performance_interval: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            tick: Duration::from_secs(1),
            batch_size: 500,
            catch_up_per_tick: 100,
            policy_refresh: Duration::from_secs(5),
            alert_interval: Duration::from_secs(15),
            job_history: Duration::from_secs(30 * 86_400),
            sla_expiry_interval: Duration::from_secs(60),
            release_interval: Duration::from_secs(30),
            aging_interval: Duration::from_secs(300),
            forced_assignment_interval: Duration::from_secs(300),
            refresh_interval: Duration::from_secs(86_400),
            cleanup_interval: Duration::from_secs(7 * 86_400),
            backpressure_interval: Duration::from_secs(60),
            quota_interval: Duration::from_secs(86_400),
            snapshot_interval: Duration::from_secs(3_600),
            performance_interval: Duration::from_secs(86_400),
        }
    }
}

impl SchedulerConfig {
    /// Every interval with its key, for validation.
    fn intervals(&self) -> [(&'static str, Duration); 13] {
        [
            ("scheduler.job_history", self.job_history),
            ("scheduler.policy_refresh", self.policy_refresh),
            ("scheduler.alert_interval", self.alert_interval),
            ("scheduler.sla_expiry_interval", self.sla_expiry_interval),
            ("scheduler.release_interval", self.release_interval),
            ("scheduler.aging_interval", self.aging_interval),
            (
                "scheduler.forced_assignment_interval",
                self.forced_assignment_interval,
            ),
            ("scheduler.refresh_interval", self.refresh_interval),
            ("scheduler.cleanup_interval", self.cleanup_interval),
            (
                "scheduler.backpressure_interval",
                self.backpressure_interval,
            ),
            ("scheduler.quota_interval", self.quota_interval),
            ("scheduler.snapshot_interval", self.snapshot_interval),
            ("scheduler.performance_interval", self.performance_interval),
        ]
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
        if self.scheduler.catch_up_per_tick < 1 {
            return Err(ConfigError::invalid(
                "scheduler.catch_up_per_tick",
                "must be at least 1",
            ));
        }
        for (key, interval) in self.scheduler.intervals() {
            if interval < Duration::from_secs(1) {
                return Err(ConfigError::invalid(key, "must be at least 1s"));
            }
        }
        Ok(())
    }
}
