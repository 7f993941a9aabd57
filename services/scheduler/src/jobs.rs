//! The jobs: each a function of (database state, now), applied inside the transaction that
//! records its run.

use std::time::Duration;

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, LeadId};
use sqlx::PgConnection;

use crate::config::SchedulerConfig;

/// How job runs appear in lead history.
pub const ACTOR: &str = "services/scheduler";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Job {
    /// Returns claimed leads not contacted within their pool's SLA to the pool.
    SlaExpiry,
}

impl Job {
    pub const ALL: [Job; 1] = [Job::SlaExpiry];

    pub fn id(self) -> &'static str {
        match self {
            Self::SlaExpiry => "sla-expiry",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|job| job.id() == id)
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::SlaExpiry => "returns claimed leads whose contact deadline passed to their pool",
        }
    }

    pub fn interval(self, config: &SchedulerConfig) -> Duration {
        match self {
            Self::SlaExpiry => config.sla_expiry_interval,
        }
    }

    /// Applies the job as of `now`; returns the leads it changed.
    pub async fn run(
        self,
        conn: &mut PgConnection,
        now: DateTime<Utc>,
        config: &SchedulerConfig,
    ) -> Result<Vec<LeadId>, Error> {
        match self {
            Self::SlaExpiry => {
                leadpool_store::expire_contact_slas(conn, now, ACTOR, config.batch_size).await
            }
        }
    }
}
