//! S4 forced assignment (and H3 overflow): leads unclaimed too long go to the rep whose turn it
//! is, with no choice. Turns are counted per pool in `assignment_counts`, shared with routing's
//! auto-assignment machinery, so the order is fair across runs and replicas.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, Lead, LeadId, PoolId, RepId};
use leadpool_policy::{
    Away, Candidate, Candidates, LeadFacts, Policy, Pool, Role, Strategy, next_assignee,
};
use leadpool_store::{ForcedAssignment, JobTx};

use crate::history::{ACTOR, span};

/// Who may receive a forced assignment from `pool` at `now` (and who was passed over, why):
/// the step's `assign` candidates, or else every rep who is not a manager, is not away and may
/// claim from the pool right now — which includes being on duty by her team's calendar (A4).
pub fn candidates(
    policy: &Policy,
    pool: &Pool,
    lead: &Lead,
    away: &Away,
    now: DateTime<Utc>,
) -> (Strategy, Candidates) {
    let facts = LeadFacts::from(lead);
    // The step's own skill match, else the pool's, each until the lead's wait relaxed it.
    let skills = match pool
        .schedule
        .aging
        .assign
        .as_ref()
        .and_then(|a| a.skills.as_ref())
    {
        Some(skills) => lead
            .pooled_at
            .and_then(|at| skills.asked(at, now, &pool.clocks.lifecycle)),
        None => pool.skills_asked(lead.pooled_at, now),
    };
    if let Some(assign) = &pool.schedule.aging.assign {
        let candidates =
            policy.assignment_candidates(assign, &facts, skills, away, now, Some(&pool.id));
        return (assign.strategy, candidates);
    }
    let mut candidates = Candidates::default();
    for rep in policy.reps.values().filter(|rep| rep.role != Role::Manager) {
        if let Some(away) = away.of(&rep.id) {
            let why = format!("{} is unavailable {}", rep.id.name(), away.describe());
            candidates.skipped.push(why);
            continue;
        }
        let lacking = skills.map(|s| s.lacking(rep, &facts)).unwrap_or_default();
        if !lacking.is_empty() {
            candidates
                .skipped
                .push(format!("{} {}", rep.id.name(), lacking.join(", ")));
            continue;
        }
        let access = policy.explain_access(&rep.id, &pool.id, now);
        if access.allowed {
            candidates
                .eligible
                .push(policy.candidate(rep, Some(&pool.id)));
        } else {
            candidates.skipped.push(access.reasons.join("; "));
        }
    }
    (Strategy::RoundRobin, candidates)
}

/// The open leads of the reps this run has locked, kept current with the run's own picks, so
/// every pick respects the rep's caps exactly.
#[derive(Default)]
struct Room {
    total: HashMap<RepId, i64>,
    in_pool: HashMap<(RepId, PoolId), i64>,
    /// Reps whose lock someone else held: tried again on the next run.
    busy: HashSet<RepId>,
}

impl Room {
    /// Why `candidate` cannot take one more lead from `pool` now; `None` when she can.
    async fn refusal(
        &mut self,
        run: &mut JobTx,
        candidate: &Candidate,
        pool: &PoolId,
    ) -> Result<Option<String>, Error> {
        let rep = &candidate.rep;
        if self.busy.contains(rep) {
            return Ok(Some(format!("{} is busy claiming", rep.name())));
        }
        if !self.total.contains_key(rep) && !run.try_lock_rep(rep).await? {
            self.busy.insert(rep.clone());
            return Ok(Some(format!("{} is busy claiming", rep.name())));
        }
        let key = (rep.clone(), pool.clone());
        if !self.in_pool.contains_key(&key) {
            let (total, in_pool) = run.open_lead_counts(rep, pool).await?;
            self.total.entry(rep.clone()).or_insert(total);
            self.in_pool.insert(key.clone(), in_pool);
        }
        let (total, in_pool) = (self.total[rep], self.in_pool[&key]);
        Ok(candidate
            .caps
            .full(total, in_pool)
            .map(|why| format!("{} {why}", rep.name())))
    }

    fn took(&mut self, rep: &RepId, pool: &PoolId) {
        *self.total.entry(rep.clone()).or_insert(0) += 1;
        *self.in_pool.entry((rep.clone(), pool.clone())).or_insert(0) += 1;
    }
}

/// Assigns every overdue lead of every pool that has a `force-assign` age, batch by batch, to
/// the rep whose turn it is among those on duty, available and under their caps. A lead nobody
/// can take now stays where it is, its history says why (`lead.waiting`), and the next run
/// tries again.
pub async fn assign_overdue(
    run: &mut JobTx,
    policy: &Policy,
    now: DateTime<Utc>,
    batch: i64,
) -> Result<Vec<LeadId>, Error> {
    let mut assigned = Vec::new();
    let away = policy.away_at(now, &run.availability_settings().await?);
    let mut room = Room::default();
    for pool in &policy.pools {
        let Some(after) = pool.schedule.aging.assign_after else {
            continue;
        };
        let rule_key = format!("forced:{}", pool.id.as_str());
        run.lock_assignment_rule(&rule_key).await?;
        let mut counts: HashMap<RepId, i64> = run.assignment_counts(&rule_key).await?;
        // `after` on the pool's lifecycle clock; accepted (or not) on its acceptance clock.
        let entered_before = pool.clocks.lifecycle.before(now, after);
        let accept_by = policy.acceptance_due(&pool.id, now);
        let mut cursor = None;
        loop {
            let due = run
                .due_for_assignment(&pool.id, entered_before, cursor, batch)
                .await?;
            let Some(last) = due.last() else { break };
            cursor = last.pooled_at.map(|at| (at, last.id));
            let mut picks = Vec::new();
            let mut waits = Vec::new();
            for lead in &due {
                let (strategy, mut candidates) = candidates(policy, pool, lead, &away, now);
                let chosen = loop {
                    let Some(next) =
                        next_assignee(strategy, &candidates.eligible, &counts).cloned()
                    else {
                        break None;
                    };
                    match room.refusal(run, &next, &pool.id).await? {
                        None => break Some(next),
                        Some(why) => {
                            candidates.skipped.push(why);
                            candidates.eligible.retain(|c| c.rep != next.rep);
                        }
                    }
                };
                let Some(chosen) = chosen else {
                    waits.push((
                        lead.id,
                        format!(
                            "forced assignment waits: unclaimed {}, nobody can take it now ({})",
                            span(after),
                            candidates.why_none()
                        ),
                    ));
                    continue;
                };
                room.took(&chosen.rep, &pool.id);
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
                    due: accept_by,
                });
            }
            assigned.extend(run.assign_forced(&rule_key, &picks, now, ACTOR).await?);
            run.record_waiting(&waits, ACTOR, now).await?;
            if (due.len() as i64) < batch {
                break;
            }
        }
    }
    Ok(assigned)
}
