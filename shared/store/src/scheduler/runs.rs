//! Job runs. A scheduled slot is claimed by inserting its row inside the transaction that also
//! applies the job's effect: a second replica trying the same slot blocks on the unique index
//! until the first commits (then skips) or aborts (then runs it). Exactly one effect per slot.

use std::time::Duration;

use chrono::{DateTime, Utc};
use leadpool_domain::Error;
use sqlx::{Postgres, Transaction};

use crate::Store;
use crate::error::db_error;

#[derive(Debug, Clone)]
pub struct JobRunRecord {
    pub job: String,
    pub slot_start: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub affected: i64,
    pub trigger: String,
}

/// An open job run: apply the effect through its methods (the moves in `moves.rs`), then
/// [`JobTx::finish`]. Dropped unfinished, it rolls back: the slot did not take effect.
pub struct JobTx {
    pub(super) tx: Transaction<'static, Postgres>,
    run_id: i64,
}

impl JobTx {
    /// Records how many leads the run changed and commits the run with its effect.
    pub async fn finish(mut self, affected: i64) -> Result<(), Error> {
        sqlx::query!(
            "UPDATE job_runs SET affected = $2 WHERE id = $1",
            self.run_id,
            affected
        )
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        self.tx.commit().await.map_err(db_error)
    }
}

impl Store {
    /// Opens the run of `job`'s slot starting at `slot_start`, or `None` if that slot already
    /// took effect.
    pub async fn begin_scheduled_run(
        &self,
        job: &str,
        slot_start: DateTime<Utc>,
        now: DateTime<Utc>,
        statement_timeout: Duration,
    ) -> Result<Option<JobTx>, Error> {
        let mut tx = self.begin_job(statement_timeout).await?;
        let run = sqlx::query_scalar!(
            "INSERT INTO job_runs (job, slot_start, started_at, trigger) VALUES ($1, $2, $3, 'schedule') \
             ON CONFLICT (job, slot_start) WHERE trigger = 'schedule' DO NOTHING RETURNING id",
            job,
            slot_start,
            now
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        Ok(run.map(|run_id| JobTx { tx, run_id }))
    }

    /// Opens a manual run of `job` as of `as_of`.
    pub async fn begin_manual_run(
        &self,
        job: &str,
        as_of: DateTime<Utc>,
        now: DateTime<Utc>,
        statement_timeout: Duration,
    ) -> Result<JobTx, Error> {
        let mut tx = self.begin_job(statement_timeout).await?;
        let run_id = sqlx::query_scalar!(
            "INSERT INTO job_runs (job, slot_start, started_at, trigger) VALUES ($1, $2, $3, 'manual') \
             RETURNING id",
            job,
            as_of,
            now
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        Ok(JobTx { tx, run_id })
    }

    /// A job run's transaction: its statements may take `statement_timeout` each, unless the
    /// call it runs for has a shorter deadline.
    async fn begin_job(
        &self,
        statement_timeout: Duration,
    ) -> Result<Transaction<'static, Postgres>, Error> {
        let mut tx = self.begin().await?;
        if leadpool_config::deadline::remaining().is_none() {
            sqlx::query!(
                "SELECT set_config('statement_timeout', $1, true) AS timeout",
                format!("{}ms", statement_timeout.as_millis())
            )
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        Ok(tx)
    }

    /// The latest run of `job`, if any.
    pub async fn last_job_run(&self, job: &str) -> Result<Option<JobRunRecord>, Error> {
        sqlx::query_as!(
            JobRunRecord,
            "SELECT job, slot_start, started_at, affected, trigger FROM job_runs \
             WHERE job = $1 ORDER BY id DESC LIMIT 1",
            job
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)
    }

    /// The latest scheduled slot of `job` that took effect.
    pub async fn last_scheduled_slot(&self, job: &str) -> Result<Option<DateTime<Utc>>, Error> {
        sqlx::query_scalar!(
            "SELECT max(slot_start) FROM job_runs WHERE job = $1 AND trigger = 'schedule'",
            job
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)
    }
}
