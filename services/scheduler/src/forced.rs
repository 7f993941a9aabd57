//! S4 forced assignment (and H3 overflow): leads unclaimed too long go to the rep whose turn it
//! is, with no choice. Turns are counted per pool in `assignment_counts`, shared with routing's
//! auto-assignment machinery, so the order is fair across runs and replicas.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, LeadId, RepId};
use leadpool_policy::{Away, Candidate, LeadFacts, Policy, Pool, Role, Strategy, next_assignee};
use leadpool_store::{ForcedAssignment, JobTx};

use crate::history::{ACTOR, span};

/// Who may receive a forced assignment from `pool` at `now`: the pool's `aging.assign`
/// candidates, or else every rep who is not a manager and may claim from the pool right now.
pub fn candidates(
    policy: &Policy,
    pool: &Pool,
    lead: &LeadFacts,
    away: &Away,
    now: DateTime<Utc>,
) -> (Strategy, Vec<Candidate>) {
    match &pool.schedule.aging.assign {
        Some(assign) => (
            assign.strategy,
            policy.assignment_candidates(assign, lead, away).eligible,
        ),
        None => (
            Strategy::RoundRobin,
            policy
                .reps
                .values()
                .filter(|rep| {
                    rep.role != Role::Manager
                        && !away.is_away(&rep.id)
                        && policy.explain_access(&rep.id, &pool.id, now).allowed
                })
                .map(|rep| Candidate {
                    rep: rep.id.clone(),
                    weight: rep.weight,
                })
                .collect(),
        ),
    }
}

/// Assigns every overdue lead of every pool that has an `assignAfter` age, batch by batch.
/// A lead nobody can take now stays where it is and is tried again on the next run.
pub async fn assign_overdue(
    run: &mut JobTx,
    policy: &Policy,
    now: DateTime<Utc>,
    batch: i64,
) -> Result<Vec<LeadId>, Error> {
    let mut assigned = Vec::new();
    let away = policy.away_at(now, &run.availability_settings().await?);
    for pool in &policy.pools {
        let Some(after) = pool.schedule.aging.assign_after else {
            continue;
        };
        let rule_key = format!("forced:{}", pool.id.as_str());
        run.lock_assignment_rule(&rule_key).await?;
        let mut counts: HashMap<RepId, i64> = run.assignment_counts(&rule_key).await?;
        let mut cursor = None;
        loop {
            let due = run
                .due_for_assignment(&pool.id, now - after, cursor, batch)
                .await?;
            let Some(last) = due.last() else { break };
            cursor = last.pooled_at.map(|at| (at, last.id));
            let mut picks = Vec::new();
            for lead in &due {
                let (strategy, eligible) =
                    candidates(policy, pool, &LeadFacts::from(lead), &away, now);
                let Some(chosen) = next_assignee(strategy, &eligible, &counts) else {
                    continue;
                };
                let turn = counts.entry(chosen.rep.clone()).or_insert(0);
                *turn += 1;
                picks.push(ForcedAssignment {
                    lead: lead.id,
                    rep: chosen.rep.clone(),
                    reason: format!(
                        "forced assignment: unclaimed {} ({} was {}; turn {} for {})",
                        span(after),
                        pool.id.name(),
                        lead.state.as_str(),
                        turn,
                        chosen.rep.name()
                    ),
                });
            }
            assigned.extend(run.assign_forced(&rule_key, &picks, now, ACTOR).await?);
            if (due.len() as i64) < batch {
                break;
            }
        }
    }
    Ok(assigned)
}
