//! The policy in force, cached in each service. A cached copy is trusted for `refresh`; after
//! that one cheap query checks whether a newer version was applied (by any replica).

use std::sync::Arc;
use std::time::{Duration, Instant};

use leadpool_domain::Error;
use leadpool_policy::Policy;
use tokio::sync::Mutex;

use crate::Store;
use crate::policies::parse_stored;

#[derive(Debug)]
pub struct CurrentPolicy {
    /// 0 before any policy was applied.
    pub version: i64,
    pub policy: Policy,
}

#[derive(Clone)]
pub struct PolicyCache {
    store: Store,
    refresh: Duration,
    state: Arc<Mutex<Cached>>,
}

struct Cached {
    current: Arc<CurrentPolicy>,
    checked_at: Option<Instant>,
}

impl PolicyCache {
    pub fn new(store: Store, refresh: Duration) -> Self {
        Self {
            store,
            refresh,
            state: Arc::new(Mutex::new(Cached {
                current: Arc::new(CurrentPolicy {
                    version: 0,
                    policy: Policy::empty(),
                }),
                checked_at: None,
            })),
        }
    }

    /// The policy in force, at most `refresh` old.
    pub async fn current(&self) -> Result<Arc<CurrentPolicy>, Error> {
        let mut state = self.state.lock().await;
        if state
            .checked_at
            .is_some_and(|at| at.elapsed() < self.refresh)
        {
            return Ok(state.current.clone());
        }
        let version = self.store.policy_version().await?;
        if version != state.current.version {
            let record = self.store.policy(version).await?;
            let policy = leadpool_policy::compile(&parse_stored(&record)?).map_err(|errors| {
                Error::internal(format!(
                    "stored policy version {version} no longer validates: {}",
                    errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ))
            })?;
            tracing::info!(version, "policy loaded");
            state.current = Arc::new(CurrentPolicy { version, policy });
        }
        state.checked_at = Some(Instant::now());
        Ok(state.current.clone())
    }

    /// Forgets the check time, so the next read looks for a new version (after an apply).
    pub async fn invalidate(&self) {
        self.state.lock().await.checked_at = None;
    }
}
