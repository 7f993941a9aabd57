//! The routing service's SQL: placing received leads into pools, assigning a lead to the rep
//! whose turn it is, and the turn counts behind it. (Policy versions live in `policies`: every
//! service reads them.)

mod placement;

pub use placement::{Assignment, AssignmentRequest, Placement};
pub(crate) use placement::{assignment_counts, count_turns, lock_assignment_rule};
