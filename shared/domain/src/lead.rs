//! A lead as stored — its state, who holds it, where it is — and its history.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::event_kind::EventKind;
use crate::ids::{LeadId, PoolId, RepId};

/// Where a lead is in its life. Stored as text; see `docs/architecture.md` for the transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeadState {
    Received,
    Rejected,
    Scheduled,
    Available,
    Claimed,
    Assigned,
    Contacted,
    Closed,
    Escalated,
    Nurture,
    Archived,
}

impl LeadState {
    pub const ALL: [LeadState; 11] = [
        Self::Received,
        Self::Rejected,
        Self::Scheduled,
        Self::Available,
        Self::Claimed,
        Self::Assigned,
        Self::Contacted,
        Self::Closed,
        Self::Escalated,
        Self::Nurture,
        Self::Archived,
    ];

    /// The states in which a rep holds the lead (her open leads).
    pub const HELD: [LeadState; 3] = [Self::Claimed, Self::Assigned, Self::Contacted];

    /// Whether a rep holds the lead in this state.
    pub fn is_held(self) -> bool {
        Self::HELD.contains(&self)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Rejected => "rejected",
            Self::Scheduled => "scheduled",
            Self::Available => "available",
            Self::Claimed => "claimed",
            Self::Assigned => "assigned",
            Self::Contacted => "contacted",
            Self::Closed => "closed",
            Self::Escalated => "escalated",
            Self::Nurture => "nurture",
            Self::Archived => "archived",
        }
    }
}

impl fmt::Display for LeadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown lead state `{0}`")]
pub struct UnknownLeadState(String);

impl FromStr for LeadState {
    type Err = UnknownLeadState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownLeadState(s.to_owned()))
    }
}

impl TryFrom<String> for LeadState {
    type Error = UnknownLeadState;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// What became of a contacted lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Opportunity,
    Customer,
    Lost,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opportunity => "opportunity",
            Self::Customer => "customer",
            Self::Lost => "lost",
        }
    }
}

impl FromStr for Outcome {
    type Err = UnknownLeadState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Opportunity, Self::Customer, Self::Lost]
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| UnknownLeadState(s.to_owned()))
    }
}

/// What the rep holding a lead does with it, once she has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedChange {
    /// Back to its pool (or to routing, without one), with why.
    Release { reason: String },
    /// She reached the contact: stops the contact SLA.
    Contact { note: String },
    /// How it ended. An opportunity may later become a customer or be lost.
    Close {
        outcome: Outcome,
        deal_size_minor: i64,
        note: String,
    },
    /// She takes an assigned lead: it becomes claimed, the contact SLA starts.
    Accept,
    /// She turns an assigned lead down: back to its pool, with why.
    Reject { reason: String },
}

impl OwnedChange {
    /// The states the lead must be in for this change (closed: only as an opportunity).
    pub fn from_states(&self) -> &'static [LeadState] {
        match self {
            Self::Release { .. } => &[LeadState::Claimed, LeadState::Contacted],
            Self::Contact { .. } => &[LeadState::Claimed],
            Self::Close { .. } => &[LeadState::Claimed, LeadState::Contacted, LeadState::Closed],
            Self::Accept => &[LeadState::Assigned],
            // A lead a manager moved to her claimed or contacted is an assignment too.
            Self::Reject { .. } => &LeadState::HELD,
        }
    }

    /// What the change is, in the lead's history.
    pub fn event_kind(&self) -> EventKind {
        match self {
            Self::Release { .. } => EventKind::Released,
            Self::Contact { .. } => EventKind::Contacted,
            Self::Close { outcome, .. } => match outcome {
                Outcome::Opportunity => EventKind::Opportunity,
                Outcome::Customer => EventKind::Won,
                Outcome::Lost => EventKind::Lost,
            },
            Self::Accept => EventKind::AssignmentAccepted,
            Self::Reject { .. } => EventKind::AssignmentRejected,
        }
    }

    /// What the lead's history says of it.
    pub fn history_reason(&self) -> String {
        match self {
            Self::Release { reason } => reason.clone(),
            Self::Contact { note } if note.is_empty() => "contacted".to_owned(),
            Self::Contact { note } => note.clone(),
            Self::Close {
                outcome,
                deal_size_minor,
                note,
            } => format!(
                "outcome {} (deal size {deal_size_minor}){}{note}",
                outcome.as_str(),
                if note.is_empty() { "" } else { ": " },
            ),
            Self::Accept => "assignment accepted".to_owned(),
            Self::Reject { reason } => format!("assignment rejected: {reason}"),
        }
    }
}

/// A lead as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub id: LeadId,
    pub state: LeadState,
    pub email: String,
    pub contact_name: String,
    pub company: String,
    pub company_domain: String,
    pub country: String,
    pub phone: String,
    pub score: i32,
    pub priority: i32,
    pub source: String,
    pub region: String,
    pub product: String,
    pub industry: String,
    /// Lowercase language tag; empty when unknown.
    pub language: String,
    pub attributes: BTreeMap<String, String>,
    /// The pool it is in (or, while assigned, belongs to).
    pub pool: Option<PoolId>,
    /// The rep working it: claimed, assigned or contacted (closed leads keep their owner).
    pub owner: Option<RepId>,
    pub rejection_reason: Option<String>,
    pub received_at: DateTime<Utc>,
    /// When it entered its current pool; aging counts from here.
    pub pooled_at: Option<DateTime<Utc>>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub contact_due_at: Option<DateTime<Utc>>,
    pub contacted_at: Option<DateTime<Utc>>,
    pub outcome: Option<Outcome>,
    pub deal_size_minor: i64,
    /// For a duplicate kept as rejected: the lead it duplicates.
    pub duplicate_of: Option<LeadId>,
    /// For a returning contact: her latest earlier lead, no longer in play.
    pub previous_lead: Option<LeadId>,
    /// How its current (or last) assignment came about.
    pub assigned_by: Option<AssignedBy>,
    /// Whether the rep it is assigned to may turn it down.
    pub rejectable: bool,
    /// When its personal data was erased; it keeps its skeleton.
    pub erased_at: Option<DateTime<Utc>>,
}

/// How a lead came to be assigned to a rep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignedBy {
    /// An auto-assignment rule pushed it (H1, H4): the rep may reject it.
    Auto,
    /// Unclaimed too long (S4): no choice.
    Forced,
    /// A manager assigned it: the policy says whether the rep may reject it.
    Manual,
    /// Overflow (P3): unclaimed too long, pushed to a rep of lower seniority, who may reject it.
    Overflow,
}

impl AssignedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Forced => "forced",
            Self::Manual => "manual",
            Self::Overflow => "overflow",
        }
    }
}

impl FromStr for AssignedBy {
    type Err = UnknownLeadState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Auto, Self::Forced, Self::Manual, Self::Overflow]
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownLeadState(s.to_owned()))
    }
}

/// One change in a lead's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadEvent {
    /// Increases with every event written.
    pub id: i64,
    pub lead: LeadId,
    /// What happened.
    pub kind: EventKind,
    /// `None` for the lead's creation.
    pub from: Option<LeadState>,
    pub to: LeadState,
    /// Who acted: `reps/{id}`, `services/{name}`, `users/{id}`.
    pub actor: String,
    pub reason: String,
    /// The lead's pool after the change.
    pub pool: Option<PoolId>,
    /// The rep the change concerns: who claimed, released, contacted, or lost it.
    pub rep: Option<RepId>,
    pub at: DateTime<Utc>,
}

/// A pool as stored: the projection of the policy's pool, with its depth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSummary {
    pub id: PoolId,
    pub display_name: String,
    /// `open`, `segmented`, `tiered` or `timed`.
    pub kind: String,
    pub contact_sla_seconds: i32,
    pub min_score: Option<i32>,
    /// Removed from the policy; its leads stay.
    pub retired: bool,
    pub created_at: DateTime<Utc>,
    /// Leads available right now.
    pub available_leads: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_states_round_trip_through_text() {
        for state in LeadState::ALL {
            assert_eq!(state.as_str().parse::<LeadState>().unwrap(), state);
        }
        assert!("lost-in-space".parse::<LeadState>().is_err());
    }
}
