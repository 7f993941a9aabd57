//! A rep's performance tier as shown to callers (A3): the tier in force, where it comes from,
//! and the latest computed rating behind it.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct PerformanceView {
    /// `top`, `on-quota` or `below-quota`.
    pub tier: String,
    pub source: PerformanceSource,
    pub rating: Option<RatingView>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerformanceSource {
    /// Set on the rep in the policy document; it wins over a computed rating.
    Policy,
    /// Computed from her results by the scheduler.
    Computed,
    /// Neither: the default tier.
    Default,
}

impl PerformanceSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Policy => "policy",
            Self::Computed => "computed",
            Self::Default => "default",
        }
    }
}

/// The scheduler's latest rating of a rep.
#[derive(Debug, Clone, PartialEq)]
pub struct RatingView {
    pub tier: String,
    pub figure: f64,
    pub claims: i64,
    pub basis: String,
    pub computed_at: DateTime<Utc>,
}
