//! Test utilities. Tests talk to the real Postgres and Redis: each gets its own database
//! (cloned from a migrated template) and its own Redis key prefix, so tests run in parallel,
//! and both are removed when the test ends.
//!
//! `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) names the server
//! and a database to administer it from; `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`).

#![allow(clippy::missing_panics_doc, clippy::expect_used, clippy::unwrap_used)]

mod binary;
mod database;
mod redis_prefix;
mod throwaway_redis;

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use leadpool_auth::{Role, TokenIssuer};
use leadpool_config::{AuthConfig, LogFormat, Secret, ServerConfig, TelemetryConfig};

pub use binary::{ListenAddrs, connect_when_listening};
pub use database::TestDatabase;
pub use redis_prefix::TestRedis;
pub use throwaway_redis::ThrowawayRedis;

/// Runs `cleanup` to completion from a `Drop`. Drop may run on a runtime it blocks, so the
/// cleanup gets a thread and runtime of its own; it must not touch resources of the test's
/// runtime (their I/O is driven by the runtime being blocked).
pub(crate) fn run_cleanup<F>(cleanup: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let thread = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("cleanup runtime")
            .block_on(cleanup);
    });
    let _ = thread.join();
}

/// The shared secret tests sign tokens with.
pub const TEST_SECRET: &str = "leadpool-test-secret-0123456789abcdef";

pub fn auth_config() -> AuthConfig {
    AuthConfig {
        hs256_secret: Some(Secret::new(TEST_SECRET)),
        ..AuthConfig::default()
    }
}

/// A server section for tests: an OS-chosen port on localhost, no drain delay.
pub fn server_config() -> ServerConfig {
    ServerConfig {
        listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        drain_delay: Duration::ZERO,
        shutdown_timeout: Duration::from_secs(5),
        ..ServerConfig::default()
    }
}

pub fn telemetry_config() -> TelemetryConfig {
    TelemetryConfig {
        log_format: LogFormat::Pretty,
        log_filter: "warn".to_owned(),
    }
}

/// A bearer token for `subject` (`reps/alice`, `services/intake`, `users/ops`) with `roles`.
pub fn token(subject: &str, roles: &[Role]) -> String {
    TokenIssuer::from_config(&auth_config())
        .expect("test auth config has a secret")
        .mint(subject, roles, Duration::from_secs(3600))
        .expect("signing a test token")
}

/// Wraps `message` in a request that carries `token`.
pub fn authed<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}")
            .parse()
            .expect("token is valid metadata"),
    );
    request
}

/// A fixed, readable start time for tests with a manual clock.
pub fn test_epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0)
        .single()
        .expect("valid date")
}

/// An address on localhost with a port the OS reports free right now.
pub fn free_local_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener.local_addr().expect("local addr")
}

/// `addr` as a URL a tonic client connects to.
pub fn endpoint(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// The roles of an ordinary rep.
pub const REP: &[Role] = &[Role::Rep];
/// The roles of an administrator.
pub const ADMIN: &[Role] = &[Role::Admin];
