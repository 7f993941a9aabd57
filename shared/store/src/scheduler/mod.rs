//! The scheduler's SQL: job runs (exactly once per slot), the lead moves each job makes inside
//! its run's transaction, and the raw figures behind pool health.

mod cleanup;
mod events;
mod health;
mod moves;
mod performance;
mod replay;
mod runs;

pub use cleanup::{KeptRecord, MergeRecord, MoveRecord, ProposalRecord};
pub use events::{AlertState, WarnBy};
pub use health::{ClaimTiming, Flow, Outcomes, PoolCounts, QuotaShortfall};
pub use moves::{
    AgeFrom, AgeOut, AgeStep, AgingPlaces, DuplicateKey, ForcedAssignment, Push, Release,
};
pub use runs::{JobRunRecord, JobTx};
