//! Auto-assignment (H4): who may receive a pushed lead, and whose turn it is. The turn order is
//! decided from per-rule assignment counts kept in the database, so it is shared by every
//! routing replica and survives restarts.

use std::collections::HashMap;

use leadpool_domain::RepId;

use crate::availability::Away;
use crate::model::{Assign, Policy, Strategy};
use crate::route::LeadFacts;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub rep: RepId,
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Candidates {
    /// In policy order, which breaks ties.
    pub eligible: Vec<Candidate>,
    /// Who was passed over and why: "reps/bob is on vacation until …".
    pub skipped: Vec<String>,
}

impl Policy {
    /// The reps who may receive `lead` under `assign`: active, not `away`, and for the
    /// territory strategy covering the lead's region.
    pub fn assignment_candidates(
        &self,
        assign: &Assign,
        lead: &LeadFacts,
        away: &Away,
    ) -> Candidates {
        let pool: Vec<&crate::model::Rep> = if assign.reps.is_empty() && assign.teams.is_empty() {
            self.reps.values().collect()
        } else {
            self.reps
                .values()
                .filter(|rep| {
                    assign.reps.contains(&rep.id)
                        || rep
                            .team
                            .as_ref()
                            .is_some_and(|team| assign.teams.contains(team))
                })
                .collect()
        };
        let mut candidates = Candidates::default();
        for rep in pool {
            if !rep.active {
                candidates
                    .skipped
                    .push(format!("{} is inactive", rep.id.name()));
            } else if let Some(away) = away.of(&rep.id) {
                candidates.skipped.push(format!(
                    "{} is unavailable {}",
                    rep.id.name(),
                    away.describe()
                ));
            } else if assign.strategy == Strategy::Territory && !rep.regions.contains(&lead.region)
            {
                candidates.skipped.push(format!(
                    "{} does not cover region {}",
                    rep.id.name(),
                    if lead.region.is_empty() {
                        "(none)"
                    } else {
                        &lead.region
                    }
                ));
            } else {
                candidates.eligible.push(Candidate {
                    rep: rep.id.clone(),
                    weight: rep.weight,
                });
            }
        }
        candidates
    }
}

/// Whose turn it is, given how many leads each candidate already received from this rule.
/// Round-robin and territory: the fewest so far. Weighted: the lowest count relative to weight,
/// so a weight-3 rep receives three leads for every one a weight-1 rep does.
pub fn next_assignee<'a>(
    strategy: Strategy,
    eligible: &'a [Candidate],
    counts: &HashMap<RepId, i64>,
) -> Option<&'a Candidate> {
    let count = |c: &Candidate| counts.get(&c.rep).copied().unwrap_or(0);
    let mut best: Option<&Candidate> = None;
    for candidate in eligible {
        let better = match best {
            None => true,
            Some(current) => match strategy {
                Strategy::RoundRobin | Strategy::Territory => count(candidate) < count(current),
                // (count+1)/weight, compared without division.
                Strategy::Weighted => {
                    (count(candidate) + 1) * i64::from(current.weight)
                        < (count(current) + 1) * i64::from(candidate.weight)
                }
            },
        };
        if better {
            best = Some(candidate);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(id: &str, weight: u32) -> Candidate {
        Candidate {
            rep: RepId::parse(id, "rep").unwrap(),
            weight,
        }
    }

    fn simulate(strategy: Strategy, eligible: &[Candidate], leads: usize) -> HashMap<RepId, i64> {
        let mut counts = HashMap::new();
        for _ in 0..leads {
            let next = next_assignee(strategy, eligible, &counts)
                .unwrap()
                .rep
                .clone();
            *counts.entry(next).or_insert(0) += 1;
        }
        counts
    }

    #[test]
    fn round_robin_takes_turns_in_order() {
        let eligible = [candidate("a", 1), candidate("b", 1), candidate("c", 1)];
        let mut counts = HashMap::new();
        let mut order = Vec::new();
        for _ in 0..6 {
            let next = next_assignee(Strategy::RoundRobin, &eligible, &counts)
                .unwrap()
                .rep
                .clone();
            order.push(next.to_string());
            *counts.entry(next).or_insert(0) += 1;
        }
        assert_eq!(order, ["a", "b", "c", "a", "b", "c"]);
    }

    #[test]
    fn weighted_assignment_follows_the_weights() {
        let eligible = [
            candidate("top", 3),
            candidate("steady", 2),
            candidate("new", 1),
        ];
        let counts = simulate(Strategy::Weighted, &eligible, 60);
        let get = |id: &str| counts[&RepId::parse(id, "rep").unwrap()];
        assert_eq!((get("top"), get("steady"), get("new")), (30, 20, 10));
    }

    #[test]
    fn nobody_eligible_means_no_assignee() {
        assert!(next_assignee(Strategy::RoundRobin, &[], &HashMap::new()).is_none());
    }
}
