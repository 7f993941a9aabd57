//! Running jobs: on demand (RunJob) and on their schedule. A scheduled slot takes effect
//! exactly once however many schedulers run: the slot's run row and the job's effect commit
//! in one transaction, and the row is unique per slot.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use leadpool_domain::{Clock, Error, LeadId};
use leadpool_server::CancellationToken;
use leadpool_store::Store;

use crate::config::SchedulerConfig;
use crate::jobs::Job;

#[derive(Clone)]
pub struct Runner {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub config: SchedulerConfig,
}

impl Runner {
    /// Runs `job` now, as of `as_of`, outside its schedule.
    pub async fn run_manually(&self, job: Job, as_of: DateTime<Utc>) -> Result<Vec<LeadId>, Error> {
        let mut run = self
            .store
            .begin_manual_run(job.id(), as_of, self.clock.now())
            .await?;
        let changed = job.run(run.conn(), as_of, &self.config).await?;
        run.finish(changed.len() as i64).await?;
        tracing::info!(job = job.id(), %as_of, affected = changed.len(), "job ran on request");
        Ok(changed)
    }

    /// Runs the slot of `job` containing `now`, unless it already took effect.
    /// Returns the leads changed, or `None` when another run had the slot.
    pub async fn run_slot(
        &self,
        job: Job,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<LeadId>>, Error> {
        let slot = slot_start(now, job.interval(&self.config));
        let Some(mut run) = self.store.begin_scheduled_run(job.id(), slot, now).await? else {
            return Ok(None);
        };
        let changed = job.run(run.conn(), now, &self.config).await?;
        run.finish(changed.len() as i64).await?;
        if !changed.is_empty() {
            tracing::info!(job = job.id(), %slot, affected = changed.len(), "job slot ran");
        }
        Ok(Some(changed))
    }

    /// Runs every job's due slots until `shutdown`.
    pub async fn run_schedule(self, shutdown: CancellationToken) {
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
                let slot = slot_start(now, job.interval(&self.config));
                if done.get(&job).is_some_and(|last| *last >= slot) {
                    continue;
                }
                match self.run_slot(job, now).await {
                    Ok(_) => {
                        done.insert(job, slot);
                    }
                    Err(err) => {
                        tracing::warn!(job = job.id(), error = %err, "job slot failed; retrying next tick")
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
