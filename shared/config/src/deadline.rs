//! The deadline of the call being served (the client's `grpc-timeout`), for whatever that call
//! waits on: its database statements and Redis calls stop when the caller has stopped
//! waiting, instead of holding connections and locks for an answer nobody reads.

use std::future::Future;
use std::time::{Duration, Instant};

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `work` under `deadline` (none: no bound beyond the services' own timeouts).
pub async fn within<F: Future>(deadline: Option<Instant>, work: F) -> F::Output {
    match deadline {
        Some(deadline) => DEADLINE.scope(deadline, work).await,
        None => work.await,
    }
}

/// How long the current call has left, if its caller set a deadline (zero once passed).
pub fn remaining() -> Option<Duration> {
    DEADLINE
        .try_with(|deadline| deadline.saturating_duration_since(Instant::now()))
        .ok()
}

/// `budget`, shortened to what the current call has left.
pub fn bounded(budget: Duration) -> Duration {
    remaining().map_or(budget, |left| left.min(budget))
}
