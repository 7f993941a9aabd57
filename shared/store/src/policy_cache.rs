//! The policy in force, cached in each service: the latest applied version with the latest
//! performance ratings laid over it (A3). A cached copy is trusted for `refresh`; after that
//! one cheap query checks whether a newer version was applied or a newer rating run recorded
//! (by any replica).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use leadpool_auth::{RepDirectory, RepField, RepLookup};
use leadpool_domain::{Error, RepId};
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
    /// What every call reads: the policy and when it was last checked. Read without waiting.
    fresh: Arc<std::sync::RwLock<(Arc<CurrentPolicy>, Option<Instant>)>>,
    /// Held while one caller checks for a newer version; the others wait for its answer.
    state: Arc<Mutex<Cached>>,
}

/// What a check builds the policy in force from.
struct Cached {
    /// The compiled version, before ratings are laid over it.
    compiled: Arc<Policy>,
    ratings_run: i64,
}

impl PolicyCache {
    pub fn new(store: Store, refresh: Duration) -> Self {
        let empty = Arc::new(CurrentPolicy {
            version: 0,
            policy: Policy::empty(),
        });
        Self {
            store,
            refresh,
            fresh: Arc::new(std::sync::RwLock::new((empty, None))),
            state: Arc::new(Mutex::new(Cached {
                compiled: Arc::new(Policy::empty()),
                ratings_run: 0,
            })),
        }
    }

    /// The policy in force, at most `refresh` old.
    pub async fn current(&self) -> Result<Arc<CurrentPolicy>, Error> {
        if let Some(current) = self.fresh_enough() {
            return Ok(current);
        }
        let mut state = self.state.lock().await;
        // Another caller may have checked while this one waited.
        if let Some(current) = self.fresh_enough() {
            return Ok(current);
        }
        let mut current = self.read_fresh().0.clone();
        let (version, ratings_run) = self.store.policy_generation().await?;
        let new_version = version != current.version;
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
            current = Arc::new(CurrentPolicy { version, policy });
            state.ratings_run = run;
        }
        *self.write_fresh() = (current.clone(), Some(Instant::now()));
        Ok(current)
    }

    /// The cached policy, if it was checked less than `refresh` ago.
    fn fresh_enough(&self) -> Option<Arc<CurrentPolicy>> {
        let fresh = self.read_fresh();
        let (current, checked_at) = &*fresh;
        checked_at
            .is_some_and(|at| at.elapsed() < self.refresh)
            .then(|| current.clone())
    }

    fn read_fresh(&self) -> std::sync::RwLockReadGuard<'_, (Arc<CurrentPolicy>, Option<Instant>)> {
        self.fresh
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write_fresh(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, (Arc<CurrentPolicy>, Option<Instant>)> {
        self.fresh
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forgets the check time, so the next read looks for a new version (after an apply).
    pub async fn invalidate(&self) {
        // After any check in progress, so it cannot mark its older answer fresh again.
        let _checking = self.state.lock().await;
        self.write_fresh().1 = None;
    }
}

/// Tokens from the identity provider that name a person by email or login are hers if a rep
/// of the policy in force has that email or login.
impl RepDirectory for PolicyCache {
    fn find<'a>(&'a self, lookup: &'a RepLookup) -> BoxFuture<'a, Option<RepId>> {
        Box::pin(async move {
            let current = self.current().await.ok()?;
            let rep = match lookup.field {
                RepField::Email => current.policy.rep_with_email(&lookup.value),
                RepField::Login => current.policy.rep_with_login(&lookup.value),
            }?;
            Some(rep.id.clone())
        })
    }
}
