//! The scheduler service's core, and its API's only door: jobs on demand and as scheduled,
//! and the health of pools (figures and alerts) as of any time.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, PoolId};
use leadpool_policy::Pool;
use leadpool_store::{JobRunRecord, ProposalRecord};

use crate::health::{Alert, Health, TypeVelocity};
use crate::jobs::{Job, Outcome};
use crate::monitor::{self, HealthQuery};
use crate::runner::{Runner, next_slot};

#[derive(Clone)]
pub struct Scheduler {
    runner: Runner,
}

/// The weekly cleanup's proposal as GetCleanupProposal answers it.
pub struct CleanupProposal {
    pub record: ProposalRecord,
    /// A newer policy version is in force than the one the proposal edits.
    pub stale: bool,
    pub changes: Vec<leadpool_policy::Change>,
}

/// A job, its latest run and, when the schedule runs here, its next slot.
pub struct JobInfo {
    pub job: Job,
    pub interval: std::time::Duration,
    pub last: Option<JobRunRecord>,
    pub next: Option<DateTime<Utc>>,
}

impl Scheduler {
    pub fn new(runner: Runner) -> Self {
        Self { runner }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.runner.clock.now()
    }

    pub(crate) fn store(&self) -> &leadpool_store::Store {
        &self.runner.store
    }

    /// The policy in force now, with its version.
    pub(crate) async fn current_policy(
        &self,
    ) -> Result<std::sync::Arc<leadpool_store::CurrentPolicy>, Error> {
        self.runner.policy.current().await
    }

    /// How often a watcher's alerts are evaluated.
    pub fn alert_interval(&self) -> std::time::Duration {
        self.runner.config.alert_interval
    }

    pub async fn job(&self, job: Job) -> Result<JobInfo, Error> {
        let interval = job.interval(&self.runner.config);
        Ok(JobInfo {
            job,
            interval,
            last: self.runner.store.last_job_run(job.id()).await?,
            next: self
                .runner
                .config
                .enabled
                .then(|| next_slot(self.now(), interval)),
        })
    }

    /// S5: the weekly cleanup's latest proposal, whether a newer policy is in force now, and
    /// what applying it would change to the version it edits.
    pub async fn cleanup_proposal(&self) -> Result<CleanupProposal, Error> {
        let store = &self.runner.store;
        let record = store
            .latest_proposal()
            .await?
            .ok_or_else(|| Error::not_found("cleanup proposal", "latest"))?;
        // The version in force right now, not as cached here.
        let (in_force, _) = store.policy_generation().await?;
        let unreadable = |what: &str, errors: Vec<leadpool_policy::PolicyError>| {
            Error::internal(format!(
                "{what} no longer parses: {}",
                leadpool_policy::PolicyError::join(&errors)
            ))
        };
        let proposed = leadpool_policy::parse(&record.document)
            .map_err(|e| unreadable("the stored proposal", e))?;
        let base = store.policy(record.policy_version).await?;
        let base = leadpool_policy::parse(&base.document)
            .map_err(|e| unreadable("the policy version it edits", e))?;
        Ok(CleanupProposal {
            stale: in_force != record.policy_version,
            changes: leadpool_policy::diff(Some(&base), &proposed),
            record,
        })
    }

    /// RunJob: applies `job` as of `as_of` now, recorded as a manual run.
    pub async fn run_job(&self, job: Job, as_of: DateTime<Utc>) -> Result<Outcome, Error> {
        self.runner.run_manually(job, as_of).await
    }

    /// The health of one pool of the policy in force, as `query` asks.
    pub async fn pool_health(
        &self,
        id: &PoolId,
        query: HealthQuery,
    ) -> Result<(Pool, Health), Error> {
        let current = self.runner.policy.current().await?;
        let pool = current
            .policy
            .pool(id)
            .ok_or_else(|| Error::not_found("pool", id.name()))?;
        let store = &self.runner.store;
        let shares = monitor::segment_shares(store, &current.policy, query.as_of).await?;
        let health = monitor::pool_health(store, &current.policy, pool, &shares, query).await?;
        Ok((pool.clone(), health))
    }

    /// The health of up to `size` pools in id order after `after`; and whether more follow.
    pub async fn pool_health_page(
        &self,
        after: Option<&str>,
        size: usize,
        as_of: DateTime<Utc>,
    ) -> Result<(Vec<(Pool, Health)>, bool), Error> {
        let current = self.runner.policy.current().await?;
        let mut pools: Vec<&Pool> = current
            .policy
            .pools
            .iter()
            .filter(|p| after.is_none_or(|a| p.id.as_str() > a))
            .collect();
        pools.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        let more = pools.len() > size;
        pools.truncate(size);
        let store = &self.runner.store;
        let shares = monitor::segment_shares(store, &current.policy, as_of).await?;
        let mut page = Vec::new();
        for pool in pools {
            let health = monitor::pool_health(
                store,
                &current.policy,
                pool,
                &shares,
                HealthQuery::at(as_of),
            )
            .await?;
            page.push((pool.clone(), health));
        }
        Ok((page, more))
    }

    /// M3 per pool type as of `as_of`.
    pub async fn type_velocity(&self, as_of: DateTime<Utc>) -> Result<Vec<TypeVelocity>, Error> {
        let current = self.runner.policy.current().await?;
        monitor::type_velocity(&self.runner.store, &current.policy, as_of).await
    }

    /// NOT_FOUND unless `id` is a pool of the policy in force.
    pub async fn require_pool(&self, id: &PoolId) -> Result<(), Error> {
        let current = self.runner.policy.current().await?;
        match current.policy.pool(id) {
            Some(_) => Ok(()),
            None => Err(Error::not_found("pool", id.name())),
        }
    }

    /// Every alert firing at `now`, by name.
    pub async fn alerts(&self, now: DateTime<Utc>) -> Result<BTreeMap<String, Alert>, Error> {
        let current = self.runner.policy.current().await?;
        monitor::all_alerts(&self.runner.store, &current.policy, now).await
    }
}
