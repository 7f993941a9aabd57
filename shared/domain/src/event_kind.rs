//! What a change in a lead's history was: the stable type of each `lead_events` row, which
//! platforms see as the event type (`lead.claimed`, …). Several kinds share a pair of states
//! (a rep's release, an SLA expiry and a manager's return all take a lead from claimed back to
//! available), so the kind, not the states, says what happened.

use std::fmt;
use std::str::FromStr;

macro_rules! event_kinds {
    ($($(#[$doc:meta])* $variant:ident = $code:literal,)*) => {
        /// The type of one change of a lead.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventKind {
            $($(#[$doc])* $variant,)*
        }

        impl EventKind {
            pub const ALL: &'static [EventKind] = &[$(EventKind::$variant,)*];

            /// As stored and as platforms see it, e.g. `lead.claimed`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventKind::$variant => $code,)*
                }
            }
        }
    };
}

event_kinds! {
    /// A new lead, qualified: waiting for routing.
    Received = "lead.received",
    /// Refused: by qualification, as a duplicate at intake, or by the weekly duplicate cleanup.
    Rejected = "lead.rejected",
    /// A duplicate submission was folded into it.
    Merged = "lead.merged",
    /// Placed into a pool (available, or waiting in a timed pool).
    Routed = "lead.routed",
    /// Pushed to a rep by an auto-assignment rule.
    AutoAssigned = "lead.auto_assigned",
    /// A timed pool released it (on schedule, or at once as a flash lead).
    PoolReleased = "lead.pool_released",
    Claimed = "lead.claimed",
    /// Its owner gave it back to the pool.
    Released = "lead.released",
    Contacted = "lead.contacted",
    /// It became an opportunity (it may still be won or lost).
    Opportunity = "lead.opportunity",
    /// It became a customer.
    Won = "lead.won",
    Lost = "lead.lost",
    AssignmentAccepted = "lead.assignment_accepted",
    AssignmentRejected = "lead.assignment_rejected",
    /// An assignment was not accepted in time: back to the pool.
    AssignmentExpired = "lead.assignment_expired",
    /// Claimed but not contacted in time: back to the pool.
    SlaExpired = "lead.sla_expired",
    /// Aging raised its priority.
    Prioritized = "lead.prioritized",
    /// Unclaimed too long: escalated to a manager.
    Escalated = "lead.escalated",
    /// Unclaimed longer still: assigned to a rep, no choice.
    ForceAssigned = "lead.force_assigned",
    /// Unclaimed for the pool's overflow age: assigned to a rep of lower seniority (P3), who
    /// may accept or reject it.
    Overflowed = "lead.overflowed",
    /// The refresh cycle moved it to another pool.
    Moved = "lead.moved",
    Nurtured = "lead.nurtured",
    Archived = "lead.archived",
    /// Backpressure held it back (its source is paused).
    Held = "lead.held",
    /// Backpressure lifted: it entered its pool.
    Resumed = "lead.resumed",
    /// A manager assigned it to a rep.
    Assigned = "lead.assigned",
    /// A manager moved it from one rep to another.
    Reassigned = "lead.reassigned",
    /// A manager took it back from its rep, into its pool.
    Returned = "lead.returned",
    /// Its personal data was erased; the skeleton stays.
    Erased = "lead.erased",
    /// Its pool was retired: it moved to the pool the policy drains it to.
    Drained = "lead.drained",
    /// A push (auto- or forced assignment) found nobody who may take it now; it waits where it
    /// is, and the reason says who was passed over and why. Its state does not change.
    Waiting = "lead.waiting",
    /// Its owner's contact deadline is near (the pool's `contactWarning` before it); the state
    /// does not change.
    ContactDueSoon = "lead.contact_due_soon",
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown event kind `{0}`")]
pub struct UnknownEventKind(String);

impl FromStr for EventKind {
    type Err = UnknownEventKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownEventKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_text() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>().unwrap(), *kind);
        }
        assert!("lead.teleported".parse::<EventKind>().is_err());
    }
}
