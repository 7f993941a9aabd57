//! Leadpool's domain model: plain types and rules with no I/O, so they are tested as plain
//! functions. Values that exist here are valid: parsing is where input is checked.

pub mod audit;
pub mod authority;
pub mod availability;
pub mod clock;
pub mod error;
pub mod event_kind;
pub mod events;
pub mod ids;
pub mod lead;
pub mod new_lead;
pub mod performance;
pub mod reason;
pub mod validation;

pub use audit::{AuditAction, AuditEntry, AuditRecord};
pub use authority::Authority;
pub use availability::{AvailabilitySetting, AwayNow, AwayStatus};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, PreconditionViolation, QuotaViolation, Result};
pub use event_kind::EventKind;
pub use events::{EventCursor, RetrySchedule};
pub use ids::{LeadId, PoolId, RepId};
pub use lead::{AssignedBy, Lead, LeadEvent, LeadState, Outcome, OwnedChange, PoolSummary};
pub use new_lead::NewLead;
pub use performance::{PerformanceSource, PerformanceView, RatingView};
pub use reason::Reason;
pub use validation::FieldViolation;
