//! The one error taxonomy of Leadpool's API. Every service, store and limiter reports failures
//! as an [`Error`]; `leadpool-server` maps it to a gRPC status with `google.rpc` details in one
//! place, so clients can act on errors without parsing messages.

use std::time::Duration;

use crate::reason::Reason;
use crate::validation::FieldViolation;

/// A condition the call needed that did not hold (`google.rpc.PreconditionFailure`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreconditionViolation {
    /// Why, machine-readable: `LEAD_NOT_AVAILABLE`.
    pub kind: Reason,
    /// What it is about, as a resource name: `leads/…`, `pools/…`.
    pub subject: String,
    pub description: String,
}

/// A limit the call would exceed (`google.rpc.QuotaFailure`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaViolation {
    /// Whose limit: `reps/alice`.
    pub subject: String,
    /// Which limit and how far it is used: "daily claim limit: 15 of 15 used".
    pub description: String,
}

/// Clone: a group commit answers many calls with the one error their statement met.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("the request is invalid: {}", describe(.0))]
    InvalidArgument(Vec<FieldViolation>),
    #[error("{resource} `{name}` was not found")]
    NotFound {
        resource: &'static str,
        name: String,
    },
    #[error("{message}")]
    AlreadyExists { name: String, message: String },
    #[error("{message}")]
    FailedPrecondition {
        message: String,
        violations: Vec<PreconditionViolation>,
    },
    #[error("{message}")]
    ResourceExhausted {
        message: String,
        /// Which limit, machine-readable: `DAILY_CLAIM_LIMIT`.
        reason: Reason,
        violations: Vec<QuotaViolation>,
        /// When the caller may try again.
        retry_after: Option<Duration>,
    },
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{dependency} is unavailable: {message}")]
    Unavailable {
        dependency: &'static str,
        message: String,
    },
    /// The connection to the database was lost while a change was being committed: it may or
    /// may not have been made. Counted as made wherever counting matters (claim allowances).
    #[error("the outcome is unknown: {0}")]
    OutcomeUnknown(String),
    /// The caller's deadline passed while the work waited; it was stopped, nothing changed.
    #[error("the deadline passed while {0}")]
    DeadlineExceeded(String),
    /// Anything unexpected. Logged in full; the caller only learns that it happened.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    pub fn not_found(resource: &'static str, name: impl Into<String>) -> Self {
        Self::NotFound {
            resource,
            name: name.into(),
        }
    }

    pub fn precondition(
        kind: Reason,
        subject: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        let description = description.into();
        Self::FailedPrecondition {
            message: description.clone(),
            violations: vec![PreconditionViolation {
                kind,
                subject: subject.into(),
                description,
            }],
        }
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::Internal(err.to_string())
    }
}

impl From<Vec<FieldViolation>> for Error {
    fn from(violations: Vec<FieldViolation>) -> Self {
        Self::InvalidArgument(violations)
    }
}

impl From<FieldViolation> for Error {
    fn from(violation: FieldViolation) -> Self {
        Self::InvalidArgument(vec![violation])
    }
}

fn describe(violations: &[FieldViolation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
