//! A Redis key prefix per test, its keys deleted when the test ends.

use leadpool_config::{RedisConfig, Secret};

const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

pub struct TestRedis {
    url: String,
    prefix: String,
}

impl TestRedis {
    pub fn new() -> Self {
        Self::at(&std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned()))
    }

    /// A prefix on the Redis server at `url` (e.g. a throwaway server a test started).
    pub fn at(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            prefix: format!("leadpool-test:{}:", uuid::Uuid::new_v4().simple()),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A redis section pointing services at this prefix.
    pub fn config(&self) -> RedisConfig {
        RedisConfig {
            url: Secret::new(self.url.clone()),
            key_prefix: self.prefix.clone(),
            ..RedisConfig::default()
        }
    }
}

impl Default for TestRedis {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return;
        };
        let pattern = format!("{}*", self.prefix);
        crate::run_cleanup(async move {
            let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
                return;
            };
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(&pattern)
                .query_async(&mut conn)
                .await
                .unwrap_or_default();
            if !keys.is_empty() {
                let _: Result<i64, _> = redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
            }
        });
    }
}
