//! Running jobs: on demand (RunJob) and on their schedule. A scheduled slot takes effect
//! exactly once however many schedulers run: the slot's run row and the job's effect commit
//! in one transaction, and the row is unique per slot. A replica that dies or freezes inside
//! that transaction loses it (Postgres ends a session idle in a transaction after
//! `database.idle_in_transaction_timeout`), so its slot is taken over and it can never commit
//! late: that is the fencing. Slots missed while no scheduler ran are caught up in order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use leadpool_domain::{Clock, Error};
use leadpool_server::CancellationToken;
use leadpool_store::{JobTx, PolicyCache, Store};
use leadpool_telemetry::metrics;

use crate::config::SchedulerConfig;
use crate::jobs::{Job, JobContext, Outcome};

#[derive(Clone)]
pub struct Runner {
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: SchedulerConfig,
    pub(crate) policy: PolicyCache,
}

/// How a run went, for the metrics.
fn record(job: Job, trigger: &str, started: Instant, result: &Result<Option<Outcome>, Error>) {
    let outcome = match result {
        Ok(Some(outcome)) => {
            metrics::JOB_AFFECTED
                .with_label_values(&[job.id()])
                .inc_by(u64::try_from(outcome.affected()).unwrap_or(0));
            "ok"
        }
        Ok(None) => "skipped",
        Err(_) => "error",
    };
    metrics::JOB_RUNS
        .with_label_values(&[job.id(), trigger, outcome])
        .inc();
    if outcome != "skipped" {
        metrics::JOB_DURATION
            .with_label_values(&[job.id()])
            .observe(started.elapsed().as_secs_f64());
    }
}

impl Runner {
    pub fn new(store: Store, clock: Arc<dyn Clock>, config: SchedulerConfig) -> Self {
        let policy = PolicyCache::new(store.clone(), config.policy_refresh);
        Self {
            store,
            clock,
            config,
            policy,
        }
    }

    /// Runs `job` now, as of `as_of`, outside its schedule.
    pub async fn run_manually(&self, job: Job, as_of: DateTime<Utc>) -> Result<Outcome, Error> {
        let started = Instant::now();
        let result = async {
            let run = self
                .store
                .begin_manual_run(
                    job.id(),
                    as_of,
                    self.clock.now(),
                    self.config.job_statement_timeout,
                )
                .await?;
            self.apply(job, run, as_of).await.map(Some)
        }
        .await;
        record(job, "manual", started, &result);
        let outcome = result?.unwrap_or_default();
        tracing::info!(job = job.id(), %as_of, affected = outcome.affected(), "job ran on request");
        Ok(outcome)
    }

    /// Runs the slot of `job` that contains `at`, as of the slot's start, unless it already
    /// took effect. Returns `None` when another run had the slot.
    pub async fn run_slot(&self, job: Job, at: DateTime<Utc>) -> Result<Option<Outcome>, Error> {
        let slot = slot_start(at, job.interval(&self.config));
        let started = Instant::now();
        let result = async {
            match self
                .store
                .begin_scheduled_run(
                    job.id(),
                    slot,
                    self.clock.now(),
                    self.config.job_statement_timeout,
                )
                .await?
            {
                Some(run) => self.apply(job, run, slot).await.map(Some),
                None => Ok(None),
            }
        }
        .await;
        record(job, "schedule", started, &result);
        if let Ok(Some(outcome)) = &result
            && outcome.affected() > 0
        {
            tracing::info!(job = job.id(), %slot, affected = outcome.affected(), "job slot ran");
        }
        result
    }

    /// Applies `job` as of `as_of` inside its open run, and commits both.
    async fn apply(
        &self,
        job: Job,
        mut run: JobTx,
        as_of: DateTime<Utc>,
    ) -> Result<Outcome, Error> {
        let policy = self.policy.current().await?;
        let ctx = JobContext {
            config: &self.config,
            store: &self.store,
            policy: &policy.policy,
            policy_version: policy.version,
        };
        let outcome = job.run(&mut run, as_of, &ctx).await?;
        run.finish(outcome.affected()).await?;
        Ok(outcome)
    }

    /// Runs, in order, every slot of `job` from the one after the last that took effect up to
    /// the one containing `now` — at most `catch_up_per_tick` of them. Returns the last slot
    /// now known done, or the error that stopped it.
    pub async fn run_due(&self, job: Job, now: DateTime<Utc>) -> Result<DateTime<Utc>, Error> {
        let interval = job.interval(&self.config);
        let step = chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::seconds(1));
        let current = slot_start(now, interval);
        let mut slot = match self.store.last_scheduled_slot(job.id()).await? {
            // A first deployment starts with the current slot, not at the epoch.
            None => current,
            Some(last) => slot_start(last, interval) + step,
        };
        let mut done = slot - step;
        for _ in 0..self.config.catch_up_per_tick {
            if slot > current {
                break;
            }
            self.run_slot(job, slot).await?;
            done = slot;
            slot += step;
        }
        Ok(done)
    }

    /// Runs every job's due slots until `shutdown`.
    pub async fn run_schedule(self, shutdown: CancellationToken) {
        // The latest slot known done per job: saves the database a question per job per tick.
        let mut done: HashMap<Job, DateTime<Utc>> = HashMap::new();
        let mut ticker = tokio::time::interval(self.config.tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let now = self.clock.now();
            for job in Job::ALL {
                let current = slot_start(now, job.interval(&self.config));
                if done.get(&job).is_some_and(|last| *last >= current) {
                    continue;
                }
                match self.run_due(job, now).await {
                    Ok(last) => {
                        done.insert(job, last);
                    }
                    Err(err) => {
                        done.remove(&job);
                        tracing::warn!(job = job.id(), error = %err, "job slot failed; retrying next tick");
                    }
                }
            }
        }
    }
}

/// The start of the slot of length `interval` that contains `now` (slots align to the epoch).
pub fn slot_start(now: DateTime<Utc>, interval: Duration) -> DateTime<Utc> {
    let interval_ms = i64::try_from(interval.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let start_ms = now.timestamp_millis().div_euclid(interval_ms) * interval_ms;
    DateTime::from_timestamp_millis(start_ms).unwrap_or(now)
}

/// When the slot after the one containing `now` starts.
pub fn next_slot(now: DateTime<Utc>, interval: Duration) -> DateTime<Utc> {
    slot_start(now, interval) + chrono::Duration::from_std(interval).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_align_to_their_interval() {
        let now = DateTime::parse_from_rfc3339("2026-03-02T09:07:31.5Z")
            .unwrap()
            .to_utc();
        let minute = Duration::from_secs(60);
        assert_eq!(
            slot_start(now, minute).to_rfc3339(),
            "2026-03-02T09:07:00+00:00"
        );
        assert_eq!(
            next_slot(now, minute).to_rfc3339(),
            "2026-03-02T09:08:00+00:00"
        );
        let at_boundary = DateTime::parse_from_rfc3339("2026-03-02T09:08:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(slot_start(at_boundary, minute), at_boundary);
    }
}
