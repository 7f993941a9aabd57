//! How job runs appear in the lead history: who acted, and ages written the way the policy
//! writes them.

pub use leadpool_policy::span;

/// The actor of every change a job makes.
pub const ACTOR: &str = "services/scheduler";
