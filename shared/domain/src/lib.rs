//! Leadpool's domain model: plain types and rules with no I/O, so they are tested as plain
//! functions. Values that exist here are valid: parsing is where input is checked.

pub mod clock;
pub mod error;
pub mod ids;
pub mod lead;
pub mod reason;
pub mod validation;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, PreconditionViolation, QuotaViolation, Result};
pub use ids::{LeadId, PoolId, RepId};
pub use lead::{LeadState, NewLead, Outcome};
pub use reason::Reason;
pub use validation::FieldViolation;
