//! S4 forced assignment and P3 overflow: who may receive a lead unclaimed too long. The
//! scheduler's job and the simulation (X8) both ask these.

use chrono::{DateTime, Utc};

use crate::assign::Candidates;
use crate::availability::Away;
use crate::model::{Policy, Pool, Rep, Role, Strategy};
use crate::route::LeadFacts;
use crate::skills::SkillMatch;

impl Policy {
    /// Who may receive a forced assignment of `lead` (in `pool` since `pooled_at`) at `now`,
    /// and who was passed over, why: the step's `assign` candidates, or else every rep who is
    /// not a manager, is not away and may claim from the pool right now — which includes being
    /// on duty by her team's calendar (A4).
    pub fn forced_candidates(
        &self,
        pool: &Pool,
        lead: &LeadFacts,
        pooled_at: Option<DateTime<Utc>>,
        away: &Away,
        now: DateTime<Utc>,
    ) -> (Strategy, Candidates) {
        // The step's own skill match, else the pool's, each until the lead's wait relaxed it.
        let skills = match pool
            .schedule
            .aging
            .assign
            .as_ref()
            .and_then(|a| a.skills.as_ref())
        {
            Some(skills) => pooled_at.and_then(|at| skills.asked(at, now, &pool.clocks.lifecycle)),
            None => pool.skills_asked(pooled_at, now),
        };
        if let Some(assign) = &pool.schedule.aging.assign {
            let candidates =
                self.assignment_candidates(assign, lead, skills, away, now, Some(&pool.id));
            return (assign.strategy, candidates);
        }
        let mut candidates = Candidates::default();
        for rep in self.reps.values().filter(|rep| rep.role != Role::Manager) {
            if let Some(skipped) = unavailable_or_lacking(rep, away, skills, lead) {
                candidates.skipped.push(skipped);
                continue;
            }
            let access = self.explain_access(&rep.id, &pool.id, now);
            if access.allowed {
                candidates
                    .eligible
                    .push(self.candidate(rep, Some(&pool.id)));
            } else {
                candidates.skipped.push(access.reasons.join("; "));
            }
        }
        (Strategy::RoundRobin, candidates)
    }

    /// P3: who may receive an overflow lead of `pool` at `now`: the active reps (not managers)
    /// of the step's seniority, not away, on duty by their team's calendar, covering the lead's
    /// skills where the pool asks — whether or not they may claim from the pool: that is what
    /// overflow is for.
    pub fn overflow_candidates(
        &self,
        pool: &Pool,
        lead: &LeadFacts,
        pooled_at: Option<DateTime<Utc>>,
        away: &Away,
        now: DateTime<Utc>,
    ) -> Candidates {
        let skills = pool.skills_asked(pooled_at, now);
        let mut candidates = Candidates::default();
        for rep in self.reps.values().filter(|rep| {
            rep.active
                && rep.role != Role::Manager
                && pool.schedule.aging.overflow_to.contains(&rep.seniority)
        }) {
            if let Some(skipped) = unavailable_or_lacking(rep, away, skills, lead) {
                candidates.skipped.push(skipped);
            } else if let Err((_, off_duty)) = self.claim_window(rep, now) {
                candidates
                    .skipped
                    .push(format!("{} is off duty: {off_duty}", rep.id.name()));
            } else {
                candidates
                    .eligible
                    .push(self.candidate(rep, Some(&pool.id)));
            }
        }
        candidates
    }
}

/// Why `rep` is passed over before anything else is asked: she is away, or lacks the lead's
/// skills.
fn unavailable_or_lacking(
    rep: &Rep,
    away: &Away,
    skills: Option<&SkillMatch>,
    lead: &LeadFacts,
) -> Option<String> {
    if let Some(away) = away.of(&rep.id) {
        return Some(format!(
            "{} is unavailable {}",
            rep.id.name(),
            away.describe()
        ));
    }
    let lacking = skills.map(|s| s.lacking(rep, lead)).unwrap_or_default();
    (!lacking.is_empty()).then(|| format!("{} {}", rep.id.name(), lacking.join(", ")))
}
