//! Postgres storage for Leadpool: the migrations and every query, checked against the schema at
//! compile time (`sqlx::query!`, offline data in `.sqlx/`).
//!
//! The modules mirror the services: `claim`, `intake`, `routing` and `scheduler` hold the SQL
//! only that service runs; `leads`, `pools` and `policies` what several read. Every lead state
//! change goes through one helper ([`rows`]'s `transition!`) that appends the lead's history row
//! in the same statement, so the history can never disagree with the lead.

#[macro_use]
mod rows;

mod audit;
mod availability;
mod claim;
mod error;
mod events;
mod intake;
mod leads;
mod policies;
mod policy_cache;
mod pools;
mod routing;
mod scheduler;

use std::str::FromStr;

use leadpool_config::DatabaseConfig;
use leadpool_domain::Error;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

pub use audit::{AuditFilter, AuditLog};
pub use claim::{
    AssignmentDecisions, AvailableCursor, BatchClaim, Handover, LeadFilter, LeadOrder, ListCursor,
    NextClaim, OwnedChange, RatioProgress, RepClaim, SkillFilter, Slot,
};
pub use error::db_error;
pub use events::{
    Delivery, DeliveryOutcome, DeliveryRecord, EventFilter, EventScope, NewSubscription,
    StreamEvent, Subscription,
};
pub use intake::{ERASED, IngestTx, Placed, RejectedRow, Stored};
pub use policies::{Applied, ChangeRecord, PolicyRecord};
pub use policy_cache::{CurrentPolicy, PolicyCache};
pub use routing::{Assignment, AssignmentRequest, Placement};
pub use scheduler::{
    AgeFrom, AgeOut, AgeStep, AgingPlaces, AlertState, ClaimTiming, DuplicateKey, Flow,
    ForcedAssignment, JobRunRecord, JobTx, KeptRecord, MergeRecord, MoveRecord, Outcomes,
    PoolCounts, ProposalRecord, Push, QuotaShortfall, Release, WarnBy,
};

/// The migrations in `migrations/`, compiled into every binary that uses the store.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Access to Leadpool's tables. Cheap to clone: it shares one connection pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Connects lazily: the service starts (and reports not ready) while Postgres is down.
    /// `program` names the connections in `pg_stat_activity` (`leadpool-claim`, …), so an
    /// operator can tell which service holds a lock, waits, or sits in a transaction.
    pub fn connect(config: &DatabaseConfig, program: &str) -> Result<Self, Error> {
        let options = PgConnectOptions::from_str(config.url.expose())
            .map_err(|e| Error::internal(format!("database.url: {e}")))?
            .application_name(program)
            .options([
                (
                    "statement_timeout",
                    format!("{}ms", config.statement_timeout.as_millis()),
                ),
                (
                    "idle_in_transaction_session_timeout",
                    format!("{}ms", config.idle_in_transaction_timeout.as_millis()),
                ),
            ]);
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(config.acquire_timeout)
            .connect_lazy_with(options);
        Ok(Self { pool })
    }

    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The same database through a pool of its own (at most `connections`) whose commits do not
    /// wait for the WAL to reach disk: for bookkeeping that is worked out again from durable
    /// rows if a crash loses its last moments (webhook deliveries, re-sent — at least once),
    /// so it does not queue behind, or slow down, the commits that must be durable.
    pub fn relaxed(&self, connections: u32) -> Self {
        let options = (*self.pool.connect_options())
            .clone()
            .options([("synchronous_commit", "off")]);
        let pool = PgPoolOptions::new()
            .max_connections(connections)
            .acquire_timeout(self.pool.options().get_acquire_timeout())
            .connect_lazy_with(options);
        Self { pool }
    }

    /// A transaction whose statements stop when the call being served reaches its deadline
    /// (the client's `grpc-timeout`): a caller who stopped waiting holds no locks.
    pub(crate) async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, Error> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // History rows written in this transaction carry the call's trace (a column default).
        let traceparent = leadpool_telemetry::current_traceparent();
        let timeout = match leadpool_config::deadline::remaining() {
            Some(left) if left.is_zero() => {
                return Err(Error::DeadlineExceeded(
                    "waiting for a connection".to_owned(),
                ));
            }
            Some(left) => Some(left.as_millis().max(1).to_string()),
            None => None,
        };
        if traceparent.is_some() || timeout.is_some() {
            // One round trip for both; an empty setting is none.
            sqlx::query!(
                "SELECT set_config('leadpool.traceparent', coalesce($1, ''), true) AS trace, \
                   set_config('statement_timeout', \
                     coalesce($2, current_setting('statement_timeout')), true) AS timeout",
                traceparent,
                timeout
            )
            .fetch_one(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        Ok(tx)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies pending migrations. Safe to run from many replicas at once: sqlx serialises
    /// them with an advisory lock.
    pub async fn migrate(&self) -> Result<(), Error> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| Error::Unavailable {
                dependency: "postgres",
                message: format!("migrations failed: {e}"),
            })
    }

    /// True when Postgres answers a trivial query.
    pub async fn is_reachable(&self) -> bool {
        sqlx::query!("SELECT 1 AS one")
            .fetch_one(&self.pool)
            .await
            .is_ok()
    }
}
