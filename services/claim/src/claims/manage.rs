//! What managers (and admins) do around the pool: look leads up, list and search them, assign
//! an escalated or available lead, move a rep's leads to another rep or back to their pools,
//! return one lead. A manager acts on the leads and reps of the teams she oversees (the policy
//! says which); admins on all. Reps read their own leads (and the available leads of pools they
//! may browse) and change nothing here.

use chrono::{DateTime, Utc};
use leadpool_domain::{
    Authority, Error, Lead, LeadEvent, LeadId, LeadState, PoolId, Reason, RepId,
};
use leadpool_policy::{Away, Oversight, Policy};
use leadpool_store::{Handover, LeadFilter, LeadOrder, ListCursor, RepClaim};

use super::{Claims, active_room, hide_identity, require_access};
use crate::rules::ClaimRules;

/// What a listing asks for, before the caller's oversight narrows it.
#[derive(Debug, Clone, Default)]
pub struct LeadQuery {
    pub filter: LeadFilter,
    /// A team id: leads in its pools or held by its reps.
    pub team: Option<String>,
}

/// Where ReassignLeads sends the leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Rep(RepId),
    Pools,
}

/// ReassignLeads, parsed.
#[derive(Debug, Clone)]
pub struct Reassignment {
    pub from: RepId,
    /// Empty: every open lead of `from`.
    pub leads: Vec<LeadId>,
    pub to: Destination,
    pub reason: String,
    pub validate_only: bool,
}

/// What a reassignment did (or, validating, would do).
#[derive(Debug, Default)]
pub struct ReassignReport {
    /// Each lead moved, with where to and (unless validating) the lead afterwards.
    pub moved: Vec<(LeadId, String, Option<Lead>)>,
    pub refused: Vec<Refusal>,
}

/// A lead that does not move, and why.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub lead: LeadId,
    pub reason: Reason,
    pub message: String,
}

/// AssignLead, parsed.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub lead: LeadId,
    pub rep: RepId,
    pub reason: String,
    /// An admin's override of the rep's open-lead caps (the reason says why).
    pub override_caps: bool,
}

impl Claims {
    /// GetLead: one lead and its latest change, if `authority` may see it.
    pub async fn get_lead(
        &self,
        authority: &Authority,
        id: LeadId,
        now: DateTime<Utc>,
    ) -> Result<(Lead, Option<LeadEvent>), Error> {
        let mut lead = self.store.get_lead(id).await?;
        let current = self.policy.current().await?;
        let policy = &current.policy;
        match authority {
            Authority::Rep(rep) if lead.owner.as_ref() == Some(rep) => {}
            Authority::Rep(rep) => {
                let browsable = lead.state == LeadState::Available
                    && lead
                        .pool
                        .as_ref()
                        .is_some_and(|pool| require_access(policy, rep, pool, now).is_ok());
                if !browsable {
                    return Err(Error::PermissionDenied(format!(
                        "{} may see leads she holds and the available leads of pools she may \
                         browse; {} is neither",
                        rep.name(),
                        id.name()
                    )));
                }
                if lead
                    .pool
                    .as_ref()
                    .and_then(|p| policy.pool(p))
                    .is_some_and(|p| p.blind)
                {
                    hide_identity(&mut lead);
                }
            }
            _ => require_oversight(policy, authority, &lead)?,
        }
        let last = self.store.last_event(id).await?;
        Ok((lead, last))
    }

    /// ListLeads: a page of the leads `query` selects that `authority` may see.
    pub async fn list_leads(
        &self,
        authority: &Authority,
        query: LeadQuery,
        order: LeadOrder,
        after: Option<&ListCursor>,
        limit: i64,
    ) -> Result<Vec<Lead>, Error> {
        let current = self.policy.current().await?;
        let policy = &current.policy;
        let mut filter = query.filter;
        if let Some(pool) = filter.pool.as_ref().filter(|p| policy.pool(p).is_none()) {
            // A pool the policy retired still lists its leads; one that never existed is unknown.
            self.store.get_pool(pool).await?;
        }
        if let Some(owner) = filter.owner.as_ref().filter(|r| policy.rep(r).is_none()) {
            return Err(Error::not_found("rep", owner.name()));
        }
        let oversight = match authority {
            Authority::Rep(rep) => {
                // A rep lists her own leads.
                if query.team.is_some() || filter.owner.as_ref().is_some_and(|owner| owner != rep) {
                    return Err(Error::PermissionDenied(format!(
                        "{} may list her own leads only",
                        rep.name()
                    )));
                }
                filter.owner = Some(rep.clone());
                Oversight::Everything
            }
            other => policy.oversight(other),
        };
        let scope = match &query.team {
            Some(team) if !policy.teams.contains_key(team) => {
                return Err(Error::not_found("team", team.clone()));
            }
            Some(team) if !oversight.covers_team(team) => {
                return Err(Error::PermissionDenied(format!(
                    "team {team} is not one of the teams the caller oversees"
                )));
            }
            Some(team) => policy.oversight_of_teams([team.clone()].into()),
            None => oversight,
        };
        filter.scope = match scope {
            Oversight::Everything => None,
            Oversight::Teams { pools, reps, .. } => {
                Some((pools.into_iter().collect(), reps.into_iter().collect()))
            }
        };
        self.store.list_leads(&filter, order, after, limit).await
    }

    /// AssignLead: a manager's assignment of an escalated or available lead to a rep.
    pub async fn assign_lead(
        &self,
        authority: &Authority,
        assignment: &Assignment,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Lead, Error> {
        let lead = self.store.get_lead(assignment.lead).await?;
        let current = self.policy.current().await?;
        let policy = &current.policy;
        require_oversight(policy, authority, &lead)?;
        let rep = &assignment.rep;
        require_rep_overseen(policy, authority, rep)?;
        let Some(pool) = lead
            .pool
            .clone()
            .filter(|_| matches!(lead.state, LeadState::Escalated | LeadState::Available))
        else {
            return Err(Error::precondition(
                Reason::LeadNotAvailable,
                lead.id.name(),
                format!(
                    "{} is {}; a manager assigns escalated or available leads",
                    lead.id.name(),
                    lead.state
                ),
            ));
        };
        let away = self.away(policy, now).await?;
        require_assignable(policy, &away, rep, &pool).map_err(|r| r.into_error())?;
        let mut tx = self.store.begin_claim(rep).await?;
        if !assignment.override_caps {
            require_cap_room(policy, &mut tx, &pool, self.settings.daily_limit).await?;
        }
        let why = if assignment.reason.is_empty() {
            "assigned by a manager"
        } else {
            assignment.reason.as_str()
        };
        let assigned = tx
            .assign(
                lead.id,
                &Handover::of(
                    policy,
                    Some(&pool),
                    now,
                    policy.manual_assignment_rejectable,
                ),
                why,
                actor,
                now,
            )
            .await?;
        tx.commit().await?;
        match assigned {
            Some(lead) => {
                tracing::info!(lead = %lead.id, rep = %rep, by = actor, "lead assigned by a manager");
                Ok(lead)
            }
            None => Err(Error::precondition(
                Reason::LeadNotAvailable,
                lead.id.name(),
                format!(
                    "{} was claimed or moved meanwhile; it is no longer available",
                    lead.id.name()
                ),
            )),
        }
    }

    /// ReturnLead: a manager takes one lead from its rep back to its pool.
    pub async fn return_lead(
        &self,
        authority: &Authority,
        id: LeadId,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Lead, Error> {
        let lead = self.store.get_lead(id).await?;
        let current = self.policy.current().await?;
        require_oversight(&current.policy, authority, &lead)?;
        let Some(owner) = lead.owner.clone().filter(|_| lead.state.is_held()) else {
            return Err(not_held(&lead));
        };
        let mut tx = self.store.begin_claim(&owner).await?;
        let returned = tx.return_lead(id, reason, actor, now).await?;
        tx.commit().await?;
        returned.ok_or_else(|| {
            Error::precondition(
                Reason::LeadNotHeld,
                id.name(),
                format!("{} changed hands meanwhile; look it up again", id.name()),
            )
        })
    }

    /// ReassignLeads: moves `from`'s open leads (all, or the ones listed) to another rep or back
    /// to their pools, each on its own; validating, changes nothing and says what would happen.
    pub async fn reassign_leads(
        &self,
        authority: &Authority,
        request: &Reassignment,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<ReassignReport, Error> {
        let current = self.policy.current().await?;
        let policy = &current.policy;
        require_rep_overseen(policy, authority, &request.from)?;
        let mut report = ReassignReport::default();
        let leads = if request.leads.is_empty() {
            self.store.open_leads_of(&request.from).await?
        } else {
            let found = self.store.get_leads(&request.leads).await?;
            for id in &request.leads {
                if !found.iter().any(|lead| lead.id == *id) {
                    report.refused.push(Refusal {
                        lead: *id,
                        reason: Reason::LeadNotFound,
                        message: format!("{} does not exist", id.name()),
                    });
                }
            }
            found
        };
        let mut movable = Vec::new();
        for lead in leads {
            if lead.owner.as_ref() != Some(&request.from) || !lead.state.is_held() {
                report.refused.push(Refusal {
                    lead: lead.id,
                    reason: Reason::LeadNotOwned,
                    message: format!(
                        "{} is not an open lead of {} (it is {})",
                        lead.id.name(),
                        request.from.name(),
                        lead.state
                    ),
                });
            } else {
                movable.push(lead);
            }
        }
        match &request.to {
            Destination::Pools => {
                let mut tx = self.store.begin_claim(&request.from).await?;
                for lead in movable {
                    let to = lead.pool.as_ref().map(PoolId::name).unwrap_or_default();
                    match tx.return_lead(lead.id, &request.reason, actor, now).await? {
                        Some(after) => report.moved.push((lead.id, to, Some(after))),
                        None => report.refused.push(changed_meanwhile(lead.id)),
                    }
                }
                finish(tx, request.validate_only).await?;
            }
            Destination::Rep(to) => {
                require_rep_overseen(policy, authority, to)?;
                if to == &request.from {
                    return Err(Error::invalid(
                        "to_rep",
                        "is the rep the leads are moving from",
                    ));
                }
                let away = self.away(policy, now).await?;
                if let Some(away) = away.of(to) {
                    return Err(Error::precondition(
                        Reason::RepUnavailable,
                        to.name(),
                        format!("{} is away {}", to.name(), away.describe()),
                    ));
                }
                let mut tx = self.store.begin_claim(to).await?;
                for lead in movable {
                    let refusal = match &lead.pool {
                        Some(pool) => match require_assignable(policy, &away, to, pool) {
                            Err(refusal) => Some(refusal.about(lead.id)),
                            Ok(()) => {
                                require_cap_room(policy, &mut tx, pool, self.settings.daily_limit)
                                    .await
                                    .err()
                                    .map(|err| Refusal::of(lead.id, err))
                            }
                        },
                        None => None,
                    };
                    if let Some(refusal) = refusal {
                        report.refused.push(refusal);
                        continue;
                    }
                    let moved = tx
                        .take_over(
                            lead.id,
                            &request.from,
                            &Handover::of(
                                policy,
                                lead.pool.as_ref(),
                                now,
                                policy.manual_assignment_rejectable,
                            ),
                            &format!("from {}: {}", request.from.name(), request.reason),
                            actor,
                            now,
                        )
                        .await?;
                    match moved {
                        Some(after) => report.moved.push((lead.id, to.name(), Some(after))),
                        None => report.refused.push(changed_meanwhile(lead.id)),
                    }
                }
                finish(tx, request.validate_only).await?;
            }
        }
        if request.validate_only {
            for moved in &mut report.moved {
                moved.2 = None;
            }
        } else {
            tracing::info!(from = %request.from, moved = report.moved.len(), refused = report.refused.len(), by = actor, "leads reassigned");
        }
        Ok(report)
    }

    /// Who is away at `now`: the policy's absences and what SetRepAvailability set.
    pub(super) async fn away(&self, policy: &Policy, now: DateTime<Utc>) -> Result<Away, Error> {
        Ok(policy.away_at(now, &self.store.availability_settings().await?))
    }
}

/// Commits, or — validating — rolls back, so the answer says exactly what would happen.
async fn finish(tx: RepClaim, validate_only: bool) -> Result<(), Error> {
    if validate_only {
        drop(tx);
        Ok(())
    } else {
        tx.commit().await
    }
}

/// PERMISSION_DENIED unless `authority` oversees `lead`.
fn require_oversight(policy: &Policy, authority: &Authority, lead: &Lead) -> Result<(), Error> {
    if policy
        .oversight(authority)
        .covers_lead(lead.pool.as_ref(), lead.owner.as_ref())
    {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!(
            "{} is not a lead of the teams the caller oversees",
            lead.id.name()
        )))
    }
}

/// NOT_FOUND for a rep the policy does not know; PERMISSION_DENIED unless `authority`
/// oversees her.
fn require_rep_overseen(policy: &Policy, authority: &Authority, rep: &RepId) -> Result<(), Error> {
    if policy.rep(rep).is_none() {
        return Err(Error::not_found("rep", rep.name()));
    }
    if policy.oversight(authority).covers_rep(rep) {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!(
            "{} is not a rep of the teams the caller oversees",
            rep.name()
        )))
    }
}

/// Why `rep` cannot receive a lead of `pool`: she may not work it, or she is away.
struct Unassignable {
    reason: Reason,
    subject: String,
    message: String,
}

impl Unassignable {
    fn into_error(self) -> Error {
        Error::precondition(self.reason, self.subject, self.message)
    }

    fn about(self, lead: LeadId) -> Refusal {
        Refusal {
            lead,
            reason: self.reason,
            message: self.message,
        }
    }
}

fn require_assignable(
    policy: &Policy,
    away: &Away,
    rep: &RepId,
    pool: &PoolId,
) -> Result<(), Unassignable> {
    if let Err(why) = policy.may_work(rep, pool) {
        return Err(Unassignable {
            reason: Reason::RepNotEligible,
            subject: rep.name(),
            message: format!("{} may not work {}: {why}", rep.name(), pool.name()),
        });
    }
    if let Some(away) = away.of(rep) {
        return Err(Unassignable {
            reason: Reason::RepUnavailable,
            subject: rep.name(),
            message: format!("{} is away {}", rep.name(), away.describe()),
        });
    }
    Ok(())
}

/// RESOURCE_EXHAUSTED unless the rep of `tx` has room for one more open lead, in total and in
/// `pool`, under her caps. In her transaction, so leads moved to her just before count.
async fn require_cap_room(
    policy: &Policy,
    tx: &mut RepClaim,
    pool: &PoolId,
    default_daily: u32,
) -> Result<(), Error> {
    let rep = tx.rep().clone();
    let Some(record) = policy.rep(&rep) else {
        return Err(Error::not_found("rep", rep.name()));
    };
    let rules = ClaimRules::new(policy, record, policy.pool(pool), default_daily);
    if let Some(max) = rules.active_leads {
        active_room(&rep, max, tx.open_leads(None).await?, None)?;
    }
    if let Some(max) = rules.pool_active_leads {
        active_room(&rep, max, tx.open_leads(Some(pool)).await?, Some(pool))?;
    }
    Ok(())
}

impl Refusal {
    fn of(lead: LeadId, err: Error) -> Self {
        let (reason, message) = match &err {
            Error::ResourceExhausted {
                reason, message, ..
            } => (*reason, message.clone()),
            Error::FailedPrecondition {
                violations,
                message,
            } => (
                violations
                    .first()
                    .map_or(Reason::LeadNotAvailable, |v| v.kind),
                message.clone(),
            ),
            other => (Reason::LeadNotAvailable, other.to_string()),
        };
        Self {
            lead,
            reason,
            message,
        }
    }
}

fn changed_meanwhile(lead: LeadId) -> Refusal {
    Refusal {
        lead,
        reason: Reason::LeadNotOwned,
        message: format!("{} changed hands meanwhile", lead.name()),
    }
}

fn not_held(lead: &Lead) -> Error {
    Error::precondition(
        Reason::LeadNotHeld,
        lead.id.name(),
        format!(
            "{} is {}; only a lead a rep holds (claimed, assigned or contacted) can be returned",
            lead.id.name(),
            lead.state
        ),
    )
}
