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
    pub events: EventsConfig,
}

/// The event stream and webhooks. Every scheduler replica takes part: epochs are closed by one
/// replica at a time, and deliveries are leased, so none is sent by two at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Close epochs and deliver webhooks here. Off on every replica: streams and webhooks
    /// stand still (reads still answer).
    pub enabled: bool,
    /// The CloudEvents `source` of every event.
    pub source: String,
    /// How often an epoch is closed: how soon a committed event can be read.
    #[serde(with = "humantime_serde")]
    pub epoch_interval: Duration,
    /// How often a WatchEvents stream looks for a newly closed epoch.
    #[serde(with = "humantime_serde")]
    pub watch_interval: Duration,
    /// How often events become deliveries and due deliveries are taken.
    #[serde(with = "humantime_serde")]
    pub delivery_interval: Duration,
    /// Deliveries taken per round.
    pub delivery_batch: i64,
    /// Requests in flight at once to one subscription's URL (each lead's events still go one
    /// after the other).
    pub delivery_concurrency: usize,
    /// How long a taken delivery is reserved for the replica that took it: one that dies
    /// mid-batch leaves its deliveries to be sent again after this.
    #[serde(with = "humantime_serde")]
    pub delivery_lease: Duration,
    /// One webhook request's time limit (connect, send, answer).
    #[serde(with = "humantime_serde")]
    pub http_timeout: Duration,
    /// A failing delivery is retried (exponential backoff with jitter) for this long after its
    /// first failure, then it is a dead letter (replayable).
    #[serde(with = "humantime_serde")]
    pub retry_period: Duration,
    /// The delay after the first failure; it doubles with each further one up to
    /// `retry_max_delay`.
    #[serde(with = "humantime_serde")]
    pub retry_base_delay: Duration,
    #[serde(with = "humantime_serde")]
    pub retry_max_delay: Duration,
    /// Delivered deliveries are listed for this long, then forgotten.
    #[serde(with = "humantime_serde")]
    pub delivered_retention: Duration,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            source: "/leadpool".to_owned(),
            epoch_interval: Duration::from_millis(100),
            watch_interval: Duration::from_millis(100),
            delivery_interval: Duration::from_millis(200),
            delivery_batch: 200,
            delivery_concurrency: 8,
            delivery_lease: Duration::from_secs(30),
            http_timeout: Duration::from_secs(5),
            retry_period: Duration::from_secs(24 * 3600),
            retry_base_delay: Duration::from_secs(2),
            retry_max_delay: Duration::from_secs(3600),
            delivered_retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl EventsConfig {
    /// The retry schedule of failing deliveries.
    pub fn retry_schedule(&self) -> leadpool_domain::RetrySchedule {
        let duration = |d: Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
        leadpool_domain::RetrySchedule {
            base_delay: duration(self.retry_base_delay),
            max_delay: duration(self.retry_max_delay),
            period: duration(self.retry_period),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for (key, interval) in [
            ("events.epoch_interval", self.epoch_interval),
            ("events.watch_interval", self.watch_interval),
            ("events.delivery_interval", self.delivery_interval),
            ("events.delivery_lease", self.delivery_lease),
            ("events.http_timeout", self.http_timeout),
            ("events.retry_base_delay", self.retry_base_delay),
        ] {
            if interval < Duration::from_millis(10) {
                return Err(ConfigError::invalid(key, "must be at least 10ms"));
            }
        }
        if self.http_timeout >= self.delivery_lease {
            return Err(ConfigError::invalid(
                "events.delivery_lease",
                "must be longer than events.http_timeout (or a slow answer is sent twice)",
            ));
        }
        if self.retry_max_delay < self.retry_base_delay {
            return Err(ConfigError::invalid(
                "events.retry_max_delay",
                "must be at least events.retry_base_delay",
            ));
        }
        if self.delivery_batch < 1 || self.delivery_concurrency < 1 {
            return Err(ConfigError::invalid(
                "events.delivery_batch",
                "delivery_batch and delivery_concurrency must be at least 1",
            ));
        }
        if self.source.is_empty() {
            return Err(ConfigError::invalid("events.source", "must not be empty"));
        }
        Ok(())
    }
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
            events: EventsConfig::default(),
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
    /// How long one statement of a job run may take (unless a RunJob deadline is shorter):
    /// a job over a million leads outlasts `database.statement_timeout`, meant for calls.
    #[serde(with = "humantime_serde")]
    pub job_statement_timeout: Duration,
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
    #[serde(with = "humantime_serde")]
    pub contact_warning_interval: Duration,
    #[serde(with = "humantime_serde")]
    pub alert_events_interval: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            tick: Duration::from_secs(1),
            batch_size: 5_000,
            job_statement_timeout: Duration::from_secs(300),
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
            contact_warning_interval: Duration::from_secs(60),
            alert_events_interval: Duration::from_secs(60),
        }
    }
}

impl SchedulerConfig {
    /// Every interval with its key, for validation.
    fn intervals(&self) -> [(&'static str, Duration); 15] {
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
            (
                "scheduler.contact_warning_interval",
                self.contact_warning_interval,
            ),
            (
                "scheduler.alert_events_interval",
                self.alert_events_interval,
            ),
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
        self.events.validate()
    }
}
