//! The policy in force, cached in each service: the latest applied version with the latest
//! performance ratings laid over it (A3). A cached copy is trusted for `refresh`; after that
//! one cheap query checks whether a newer version was applied or a newer rating run recorded
//! (by any replica).

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
    /// The compiled version, before ratings are laid over it.
    compiled: Arc<Policy>,
    ratings_run: i64,
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
                compiled: Arc::new(Policy::empty()),
                ratings_run: 0,
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
        let (version, ratings_run) = self.store.policy_generation().await?;
        let new_version = version != state.current.version;
        if new_version {
            let record = self.store.policy(version).await?;
            let policy = leadpool_policy::compile(&parse_stored(&record)?).map_err(|errors| {
                Error::internal(format!(
                    "stored policy version {version} no longer validates: {}",
                    leadpool_policy::PolicyError::join(&errors)
                ))
            })?;
            tracing::info!(version, "policy loaded");
            state.compiled = Arc::new(policy);
        }
        if new_version || ratings_run != state.ratings_run {
            let (run, ratings) = if ratings_run == 0 {
                (0, Vec::new())
            } else {
                self.store.latest_ratings().await?
            };
            let policy = state.compiled.with_ratings(&ratings);
            state.current = Arc::new(CurrentPolicy { version, policy });
            state.ratings_run = run;
        }
        state.checked_at = Some(Instant::now());
        Ok(state.current.clone())
    }

    /// Forgets the check time, so the next read looks for a new version (after an apply).
    pub async fn invalidate(&self) {
        self.state.lock().await.checked_at = None;
    }
}
