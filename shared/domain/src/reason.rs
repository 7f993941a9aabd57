//! Every reason Leadpool gives for refusing a call, as one list. Clients read it from
//! `google.rpc.ErrorInfo.reason` (and `PreconditionFailure` violation types), so the text of
//! each is part of the API: never rename one, only add.

use std::fmt;

macro_rules! reasons {
    ($($(#[$doc:meta])* $variant:ident = $code:literal,)*) => {
        /// A stable, machine-readable refusal reason.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Reason {
            $($(#[$doc])* $variant,)*
        }

        impl Reason {
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            /// The code clients see, e.g. `LEAD_NOT_AVAILABLE`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $code,)*
                }
            }
        }
    };
}

reasons! {
    // Claiming (FAILED_PRECONDITION).
    /// The lead is no longer available to claim.
    LeadNotAvailable = "LEAD_NOT_AVAILABLE",
    /// The pool has no lead available right now.
    PoolEmpty = "POOL_EMPTY",
    /// A claim from this pool needs claims from others first (C6).
    ClaimRatio = "CLAIM_RATIO",
    /// This pool opens only once the pools gating it are empty (C6).
    TierGated = "TIER_GATED",
    /// Another rep's exclusive window on new leads (C7).
    RotationWindow = "ROTATION_WINDOW",
    /// The rep gave this lead up too recently to claim it again (C4).
    ReclaimEmbargo = "RECLAIM_EMBARGO",
    /// The rep accepted too few of her assignments to claim from pools (C6).
    AcceptanceTooLow = "ACCEPTANCE_TOO_LOW",
    /// The rep is not in the routing policy.
    RepNotRegistered = "REP_NOT_REGISTERED",
    /// The rep is in the policy but inactive.
    RepInactive = "REP_INACTIVE",
    /// The change needs a lead the rep owns, in another state.
    LeadNotOwned = "LEAD_NOT_OWNED",
    // Policy (FAILED_PRECONDITION).
    /// Another apply landed since the version the caller expected.
    PolicyVersionChanged = "POLICY_VERSION_CHANGED",
    // Routing (FAILED_PRECONDITION, and `UnroutedLead` in bulk answers).
    /// The lead does not exist.
    LeadNotFound = "LEAD_NOT_FOUND",
    /// Qualification rejected the lead; rejected leads are not routed.
    LeadRejected = "LEAD_REJECTED",
    /// No routing rule matches and there is no default.
    NoMatchingRule = "NO_MATCHING_RULE",
    /// The matching rule assigns, but nobody is available and it has no fallback pool.
    NoRepAvailable = "NO_REP_AVAILABLE",
    // Claim limits (RESOURCE_EXHAUSTED).
    DailyClaimLimit = "DAILY_CLAIM_LIMIT",
    HourlyClaimLimit = "HOURLY_CLAIM_LIMIT",
    PoolDailyClaimLimit = "POOL_DAILY_CLAIM_LIMIT",
    PoolHourlyClaimLimit = "POOL_HOURLY_CLAIM_LIMIT",
    ClaimCooldown = "CLAIM_COOLDOWN",
    ActiveLeadLimit = "ACTIVE_LEAD_LIMIT",
    PoolActiveLeadLimit = "POOL_ACTIVE_LEAD_LIMIT",
    // Dependencies (UNAVAILABLE).
    /// Postgres or Redis cannot be reached; `ErrorInfo.metadata.dependency` says which.
    DependencyUnavailable = "DEPENDENCY_UNAVAILABLE",
    // Managers and assignments (FAILED_PRECONDITION).
    /// The assignment leaves the rep no choice: forced, or a manager's under the policy.
    AssignmentNotRejectable = "ASSIGNMENT_NOT_REJECTABLE",
    /// The rep is away: out of office or busy.
    RepUnavailable = "REP_UNAVAILABLE",
    /// The rep may not work the lead's pool, or is inactive.
    RepNotEligible = "REP_NOT_ELIGIBLE",
    /// The action needs a lead a rep holds (claimed, assigned or contacted).
    LeadNotHeld = "LEAD_NOT_HELD",
    /// A policy apply drops a pool that still holds leads in play, and says not where they go.
    PoolHoldsLeads = "POOL_HOLDS_LEADS",
    /// The service is serving as many calls as it admits; retry after the delay given.
    Overloaded = "OVERLOADED",
    /// The caller's deadline passed before the work was done; nothing was changed.
    DeadlineExceeded = "DEADLINE_EXCEEDED",
    /// The pool gives this lead only to reps covering its skills, and the rep does not (yet).
    SkillMismatch = "SKILL_MISMATCH",
    /// The policy does not let a rep set this absence of her own.
    AvailabilityNotAllowed = "AVAILABILITY_NOT_ALLOWED",
    /// No lead arrived in the window a simulation was asked to replay (X8).
    NothingToReplay = "NOTHING_TO_REPLAY",
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_unique_and_shouting_snake_case() {
        let codes: HashSet<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(codes.len(), Reason::ALL.len());
        for code in codes {
            assert!(
                code.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "{code}"
            );
        }
    }
}
