//! A Redis connection that is opened on first use and re-opened after failures, so a service
//! starts (and reports itself not ready) while Redis is down, and recovers when it is back.

use std::sync::Arc;
use std::time::Duration;

use leadpool_config::RedisConfig;
use leadpool_domain::Error;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, ScriptInvocation};
use tokio::sync::Mutex;

#[derive(Clone)]
pub struct RedisHandle {
    client: redis::Client,
    timeout: Duration,
    connection: Arc<Mutex<Option<ConnectionManager>>>,
}

impl RedisHandle {
    pub fn new(config: &RedisConfig) -> Result<Self, Error> {
        let client = redis::Client::open(config.url.expose())
            .map_err(|e| Error::internal(format!("redis.url: {e}")))?;
        Ok(Self {
            client,
            timeout: config.timeout,
            connection: Arc::new(Mutex::new(None)),
        })
    }

    async fn connection(&self) -> Result<ConnectionManager, Error> {
        let mut slot = self.connection.lock().await;
        if let Some(connection) = slot.as_ref() {
            return Ok(connection.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1);
        let connection = tokio::time::timeout(
            self.timeout,
            self.client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| unavailable("connecting timed out"))?
        .map_err(|e| unavailable(&e.to_string()))?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    pub async fn invoke<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, Error> {
        let mut connection = self.connection().await?;
        // The caller's deadline, when it is the shorter budget, ends the wait without
        // blaming Redis.
        let budget = leadpool_config::deadline::bounded(self.timeout);
        let result = tokio::time::timeout(budget, invocation.invoke_async(&mut connection)).await;
        if result.is_err() && budget < self.timeout {
            return Err(Error::DeadlineExceeded("waiting for Redis".to_owned()));
        }
        self.settle(result).await
    }

    async fn settle<T>(
        &self,
        result: Result<redis::RedisResult<T>, tokio::time::error::Elapsed>,
    ) -> Result<T, Error> {
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) if !is_connection_problem(&err) => {
                Err(Error::internal(format!("redis: {err}")))
            }
            Ok(Err(err)) => {
                self.forget().await;
                Err(unavailable(&err.to_string()))
            }
            Err(_) => {
                self.forget().await;
                Err(unavailable("the call timed out"))
            }
        }
    }

    /// Drops the connection so the next call dials again.
    async fn forget(&self) {
        *self.connection.lock().await = None;
    }
}

fn is_connection_problem(err: &redis::RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
        || err.is_unrecoverable_error()
}

fn unavailable(message: &str) -> Error {
    Error::Unavailable {
        dependency: "redis",
        message: message.to_owned(),
    }
}
