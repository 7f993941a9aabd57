//! The claim service's SQL: claiming under the rep's lock, what an owner does with her lead,
//! browsing a pool, and the history reads behind limits, acceptance and status.

#[macro_use]
mod pool_order;
mod batch;
mod browse;
mod claiming;
mod history;
mod listing;
mod manage;
mod work;

pub use batch::{BatchClaim, Slot};
pub use browse::{AvailableCursor, LeadOrder};
pub use claiming::{NextClaim, RepClaim, SkillFilter};
pub(crate) use claiming::{lock_rep, open_lead_counts, try_lock_rep};
pub use history::{AssignmentDecisions, RatioProgress};
pub use leadpool_domain::OwnedChange;
pub use listing::{LeadFilter, ListCursor};
pub use manage::Handover;
