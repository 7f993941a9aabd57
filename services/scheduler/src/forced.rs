//! S4 forced assignment (and H3 overflow), P3 overflow to juniors: leads unclaimed too long go to
//! the rep whose turn it is — with no choice, or (overflow) as an assignment she may reject. Turns are counted per pool in `assignment_counts`, shared with routing's
//! auto-assignment machinery, so the order is fair across runs and replicas.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, LeadId, PoolId, RepId};
use leadpool_policy::{Away, Candidate, LeadFacts, Policy, Pool, Strategy, next_assignee};
use leadpool_store::{ForcedAssignment, JobTx, Push};

use crate::history::{ACTOR, span};

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

/// S4 forced assignment and P3 overflow: each pool's leads unclaimed for the step's age (on
/// the pool's lifecycle clock) go to the rep whose turn it is among those on duty, available
/// and under their caps — forced: no choice, to reps who may claim from the pool; overflow:
/// rejectable, to reps of lower seniority. A lead nobody can take now stays where it is, its
/// history says why (`lead.waiting`), and the next run tries again. Each step is taken once
/// per stay in a pool.
pub async fn assign_overdue(
    run: &mut JobTx,
    policy: &Policy,
    now: DateTime<Utc>,
    batch: i64,
) -> Result<Vec<LeadId>, Error> {
    let mut pushing = Pushing {
        policy,
        away: policy.away_at(now, &run.availability_settings().await?),
        room: Room::default(),
        now,
        batch,
    };
    let mut assigned = Vec::new();
    for pool in &policy.pools {
        let aging = &pool.schedule.aging;
        for (push, after) in [
            (Push::Overflow, aging.overflow_after),
            (Push::Forced, aging.assign_after),
        ] {
            if let Some(after) = after {
                assigned.extend(pushing.push_overdue(run, pool, push, after).await?);
            }
        }
    }
    Ok(assigned)
}

/// What one run of the job shares across its pools and steps.
struct Pushing<'a> {
    policy: &'a Policy,
    away: Away,
    room: Room,
    now: DateTime<Utc>,
    batch: i64,
}

impl Pushing<'_> {
    /// One step (`push` at age `after`) over one pool.
    async fn push_overdue(
        &mut self,
        run: &mut JobTx,
        pool: &Pool,
        push: Push,
        after: chrono::Duration,
    ) -> Result<Vec<LeadId>, Error> {
        let (policy, now) = (self.policy, self.now);
        let rule_key = match push {
            Push::Forced => format!("forced:{}", pool.id.as_str()),
            Push::Overflow => format!("overflow:{}", pool.id.as_str()),
        };
        run.lock_assignment_rule(&rule_key).await?;
        let mut counts: HashMap<RepId, i64> = run.assignment_counts(&rule_key).await?;
        // `after` on the pool's lifecycle clock; accepted (or not) on its acceptance clock.
        let entered_before = pool.clocks.lifecycle.before(now, after);
        let accept_by = policy.acceptance_due(&pool.id, now);
        let mut assigned = Vec::new();
        let mut cursor = None;
        loop {
            let due = run
                .due_for_assignment(&pool.id, push, entered_before, cursor, self.batch)
                .await?;
            let Some(last) = due.last() else { break };
            cursor = last.pooled_at.map(|at| (at, last.id));
            let mut picks = Vec::new();
            let mut waits = Vec::new();
            for lead in &due {
                let facts = LeadFacts::from(lead);
                let (strategy, mut candidates) = match push {
                    Push::Forced => {
                        policy.forced_candidates(pool, &facts, lead.pooled_at, &self.away, now)
                    }
                    Push::Overflow => (
                        Strategy::RoundRobin,
                        policy.overflow_candidates(pool, &facts, lead.pooled_at, &self.away, now),
                    ),
                };
                let chosen = loop {
                    let Some(next) =
                        next_assignee(strategy, &candidates.eligible, &counts).cloned()
                    else {
                        break None;
                    };
                    match self.room.refusal(run, &next, &pool.id).await? {
                        None => break Some(next),
                        Some(why) => {
                            candidates.skipped.push(why);
                            candidates.eligible.retain(|c| c.rep != next.rep);
                        }
                    }
                };
                let what = match push {
                    Push::Forced => "forced assignment",
                    Push::Overflow => "overflow",
                };
                let Some(chosen) = chosen else {
                    waits.push((
                        lead.id,
                        format!(
                            "{what} waits: unclaimed {}, nobody can take it now ({})",
                            span(after),
                            candidates.why_none()
                        ),
                    ));
                    continue;
                };
                self.room.took(&chosen.rep, &pool.id);
                let turn = counts.entry(chosen.rep.clone()).or_insert(0);
                *turn += 1;
                picks.push(ForcedAssignment {
                    lead: lead.id,
                    rep: chosen.rep.clone(),
                    reason: format!(
                        "{what}: unclaimed {} ({} was {}; turn {} for {})",
                        span(after),
                        pool.id.name(),
                        lead.state.as_str(),
                        turn,
                        chosen.rep.name()
                    ),
                    due: accept_by,
                });
            }
            assigned.extend(
                run.push_assigned(push, &rule_key, &picks, now, ACTOR)
                    .await?,
            );
            run.record_waiting(&waits, ACTOR, now).await?;
            if (due.len() as i64) < self.batch {
                break;
            }
        }
        Ok(assigned)
    }
}
