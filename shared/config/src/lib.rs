//! Configuration in layers: built-in defaults, then an optional TOML file (`--config` or
//! `LEADPOOL_CONFIG`), then environment variables `LEADPOOL_<SECTION>__<KEY>`. The result is
//! validated once at start-up; every error names the key to fix.

pub mod deadline;
mod sections;

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use sections::{
    AuthConfig, ClaimMappingConfig, ClientTlsConfig, DatabaseConfig, LogFormat, MetricsConfig,
    PolicyConfig, ROLE_NAMES, RedisConfig, Secret, ServerConfig, ServerTlsConfig, SubjectMatch,
    TelemetryConfig,
};

/// The environment variable prefix for every Leadpool setting.
pub const ENV_PREFIX: &str = "LEADPOOL_";
/// Names a TOML file to load between the defaults and the environment.
pub const CONFIG_FILE_ENV: &str = "LEADPOOL_CONFIG";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value could not be read: wrong type, unknown key, unreadable file. figment's message
    /// names the key and where the value came from.
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    /// A value was read but is not acceptable.
    #[error("configuration: `{key}` {message}")]
    Invalid { key: String, message: String },
}

impl ConfigError {
    pub fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A service's whole configuration.
pub trait ServiceConfig: Serialize + DeserializeOwned + Default {
    /// Checks what types alone cannot. Called after loading.
    fn validate(&self) -> Result<(), ConfigError>;
}

/// Loads defaults → `file` (or the file named by `LEADPOOL_CONFIG`) → `LEADPOOL_…` environment.
pub fn load<T: ServiceConfig>(file: Option<&Path>) -> Result<T, ConfigError> {
    let file = file
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os(CONFIG_FILE_ENV).map(PathBuf::from));
    let mut figment = Figment::from(Serialized::defaults(T::default()));
    if let Some(file) = file {
        if !file.exists() {
            return Err(ConfigError::invalid(
                CONFIG_FILE_ENV,
                format!("names {}, which does not exist", file.display()),
            ));
        }
        figment = figment.merge(Toml::file(file));
    }
    extract(figment.merge(env_provider()))
}

/// The environment layer: `LEADPOOL_DATABASE__MAX_CONNECTIONS=20` sets `database.max_connections`.
fn env_provider() -> Env {
    Env::prefixed(ENV_PREFIX).split("__").ignore(&["config"])
}

fn extract<T: ServiceConfig>(figment: Figment) -> Result<T, ConfigError> {
    let config: T = figment.extract().map_err(Box::new)?;
    config.validate()?;
    Ok(config)
}

#[cfg(test)]
// figment's Jail closures must return figment's (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, Default)]
    #[serde(deny_unknown_fields, default)]
    struct TestConfig {
        server: ServerConfig,
        database: DatabaseConfig,
        auth: AuthConfig,
    }

    impl ServiceConfig for TestConfig {
        fn validate(&self) -> Result<(), ConfigError> {
            self.database.validate("database")
        }
    }

    #[test]
    fn defaults_file_and_environment_layer_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "leadpool.toml",
                "[database]\nmax_connections = 7\nurl = \"postgres://file\"\n",
            )?;
            jail.set_env("LEADPOOL_DATABASE__URL", "postgres://env");
            let config: TestConfig = load(Some(Path::new("leadpool.toml"))).unwrap();
            assert_eq!(config.database.max_connections, 7);
            assert_eq!(config.database.url.expose(), "postgres://env");
            assert_eq!(
                config.server.listen_addr.port(),
                ServerConfig::default().listen_addr.port()
            );
            Ok(())
        });
    }

    #[test]
    fn a_wrongly_typed_value_names_its_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("LEADPOOL_DATABASE__MAX_CONNECTIONS", "many");
            let err = load::<TestConfig>(None).unwrap_err().to_string();
            assert!(
                err.to_lowercase().contains("database.max_connections"),
                "{err}"
            );
            assert!(err.contains("many"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("LEADPOOL_DATABSE__URL", "postgres://typo");
            let err = load::<TestConfig>(None).unwrap_err().to_string();
            assert!(err.contains("databse"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn an_invalid_value_names_its_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("LEADPOOL_DATABASE__MAX_CONNECTIONS", "0");
            let err = load::<TestConfig>(None).unwrap_err().to_string();
            assert!(err.contains("`database.max_connections`"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn an_identity_providers_claim_mapping_reads_from_a_file_or_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "leadpool.toml",
                "[auth.claims]\nsubject = \"email\"\nmatch = \"email\"\nroles = \"groups\"\n\
                 [auth.claims.role_map]\n\"Sales-Managers\" = \"manager\"\n",
            )?;
            let config: TestConfig = load(Some(Path::new("leadpool.toml"))).unwrap();
            assert_eq!(config.auth.claims.matching, SubjectMatch::Email);
            assert_eq!(config.auth.claims.role_map["Sales-Managers"], "manager");
            jail.set_env(
                "LEADPOOL_AUTH__CLAIMS__ROLE_MAP",
                r#"{sales="rep", "sales-managers"="manager"}"#,
            );
            jail.set_env("LEADPOOL_AUTH__CLAIMS__MATCH", "login");
            let config: TestConfig = load(None).unwrap();
            assert_eq!(config.auth.claims.matching, SubjectMatch::Login);
            assert_eq!(config.auth.claims.role_map["sales-managers"], "manager");
            assert_eq!(config.auth.claims.role_map["sales"], "rep");
            Ok(())
        });
    }

    #[test]
    fn secrets_are_not_printed() {
        let config = DatabaseConfig {
            url: Secret::new("postgres://user:hunter2@db/leadpool"),
            ..DatabaseConfig::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
