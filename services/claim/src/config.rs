use leadpool_config::{
    AuthConfig, ConfigError, DatabaseConfig, PolicyConfig, RedisConfig, ServerConfig,
    ServiceConfig, TelemetryConfig,
};
use serde::{Deserialize, Serialize};

/// The claim service's configuration. Every key can be set as `LEADPOOL_<SECTION>__<KEY>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub redis: RedisConfig,
    pub auth: AuthConfig,
    pub telemetry: TelemetryConfig,
    pub metrics: leadpool_config::MetricsConfig,
    pub claims: ClaimsConfig,
    pub policy: PolicyConfig,
}

/// The claim service's gRPC port.
pub const DEFAULT_PORT: u16 = 50053;

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerConfig::with_port(DEFAULT_PORT),
            database: DatabaseConfig::default(),
            redis: RedisConfig::default(),
            auth: AuthConfig::default(),
            telemetry: TelemetryConfig::default(),
            metrics: leadpool_config::MetricsConfig::with_port(9093),
            claims: ClaimsConfig::default(),
            policy: PolicyConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimsConfig {
    /// Claims a rep may make in any rolling 24 hours, unless the policy says otherwise.
    pub daily_limit: u32,
    /// The most leads one ClaimBatch may ask for.
    pub max_batch: u32,
    /// Make the ClaimNext and ClaimBatch calls waiting for one pool together: one Redis call
    /// and one statement for all of them (docs/claim-rules.md, "Group commit").
    pub group_commit: bool,
    /// The most calls one group makes.
    pub group_size: usize,
    /// Groups of one pool in the database at once (per claim replica). Default: as many as the
    /// machine has cores (2 to 16) — each group is one transaction, and Postgres runs as many
    /// at once as it has cores; concurrent groups pass over each other's leads (`SKIP LOCKED`).
    pub groups_in_flight: usize,
}

impl Default for ClaimsConfig {
    fn default() -> Self {
        Self {
            daily_limit: 15,
            max_batch: 10,
            group_commit: true,
            group_size: 64,
            groups_in_flight: std::thread::available_parallelism()
                .map_or(2, std::num::NonZeroUsize::get)
                .clamp(2, 16),
        }
    }
}

impl ServiceConfig for Config {
    fn validate(&self) -> Result<(), ConfigError> {
        self.database.validate("database")?;
        self.redis.validate("redis")?;
        self.auth.validate("auth")?;
        if self.claims.daily_limit == 0 {
            return Err(ConfigError::invalid(
                "claims.daily_limit",
                "must be at least 1",
            ));
        }
        if !(1..=1000).contains(&self.claims.group_size)
            || !(1..=16).contains(&self.claims.groups_in_flight)
        {
            return Err(ConfigError::invalid(
                "claims.group_size",
                "group_size must be within 1..=1000 and groups_in_flight within 1..=16",
            ));
        }
        if !(1..=100).contains(&self.claims.max_batch) {
            return Err(ConfigError::invalid(
                "claims.max_batch",
                "must be within 1..=100",
            ));
        }
        Ok(())
    }
}
