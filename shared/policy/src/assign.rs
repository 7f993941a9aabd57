//! Auto-assignment (H4): who may receive a pushed lead, and whose turn it is. The turn order is
//! decided from per-rule assignment counts kept in the database, so it is shared by every
//! routing replica and survives restarts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadpool_domain::{PoolId, RepId};

use crate::availability::Away;
use crate::model::{Assign, Policy, Rep, Strategy};
use crate::route::LeadFacts;
use crate::skills::SkillMatch;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub rep: RepId,
    pub weight: u32,
    /// Her open-lead caps, which whoever pushes a lead to her checks under her claim lock.
    pub caps: OpenCaps,
}

/// How many open leads (claimed, assigned, contacted) a rep may hold: in total, and from the
/// pool a lead is pushed into. `None`: no cap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenCaps {
    pub total: Option<u32>,
    pub in_pool: Option<u32>,
}

impl OpenCaps {
    /// Why a rep holding `total` open leads, `in_pool` of them from the pool, can take no
    /// more; `None` when she has room.
    pub fn full(&self, total: i64, in_pool: i64) -> Option<String> {
        let at = |cap: Option<u32>, held: i64| cap.filter(|&cap| held >= i64::from(cap));
        if let Some(cap) = at(self.total, total) {
            Some(format!("holds {total} open leads, her cap is {cap}"))
        } else {
            at(self.in_pool, in_pool)
                .map(|cap| format!("holds {in_pool} open leads from the pool, its cap is {cap}"))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Candidates {
    /// In policy order, which breaks ties.
    pub eligible: Vec<Candidate>,
    /// Who was passed over and why: "reps/bob is on vacation until …".
    pub skipped: Vec<String>,
}

impl Candidates {
    /// Why nobody was eligible, for a history row or an error: the first few reps passed over.
    pub fn why_none(&self) -> String {
        const SHOWN: usize = 5;
        if self.skipped.is_empty() {
            return "no rep is a candidate".to_owned();
        }
        let mut why = self.skipped[..self.skipped.len().min(SHOWN)].join("; ");
        if self.skipped.len() > SHOWN {
            why.push_str(&format!("; and {} more", self.skipped.len() - SHOWN));
        }
        why
    }
}

impl Policy {
    /// The reps who may receive `lead` under `assign` at `now`: active, not `away`, on duty by
    /// their team's calendar (A4: business hours, on-call and weekend rotations), for the
    /// territory strategy covering the lead's region, and covering the lead's skills where
    /// `skills` asks (the caller leaves it out once the lead's wait relaxed it) — each with
    /// her caps for `pool`.
    pub fn assignment_candidates(
        &self,
        assign: &Assign,
        lead: &LeadFacts,
        skills: Option<&SkillMatch>,
        away: &Away,
        now: DateTime<Utc>,
        pool: Option<&PoolId>,
    ) -> Candidates {
        let reps: Vec<&Rep> = if assign.reps.is_empty() && assign.teams.is_empty() {
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
        for rep in reps {
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
            } else if let Err((_, off_duty)) = self.claim_window(rep, now) {
                candidates
                    .skipped
                    .push(format!("{} is off duty: {off_duty}", rep.id.name()));
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
            } else if let Some(lacking) = skills
                .map(|skills| skills.lacking(rep, lead))
                .filter(|lacking| !lacking.is_empty())
            {
                candidates
                    .skipped
                    .push(format!("{} {}", rep.id.name(), lacking.join(", ")));
            } else {
                candidates.eligible.push(self.candidate(rep, pool));
            }
        }
        candidates
    }

    /// `rep` as a candidate for a lead pushed into `pool`.
    pub fn candidate(&self, rep: &Rep, pool: Option<&PoolId>) -> Candidate {
        Candidate {
            rep: rep.id.clone(),
            weight: rep.weight,
            caps: OpenCaps {
                total: self.limits_for(rep).active_leads,
                in_pool: pool
                    .and_then(|id| self.pool(id))
                    .and_then(|pool| pool.limits.active_leads),
            },
        }
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
            caps: OpenCaps::default(),
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
