//! The routing service's core, and its only door. Routing leads as the policy in force says:
//! into pools (in bulk) or to the rep whose turn it is. A lead that cannot be routed now stays
//! `received` with the reason reported; it is offered again later. Routing a lead twice changes
//! nothing the second time. The policy itself (applies, edits, versions) is in [`policy_ops`].

mod policy_ops;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use leadpool_domain::{
    Authority, AvailabilitySetting, AwayNow, AwayStatus, Clock, Error, Lead, LeadId, LeadState,
    PoolId, PoolSummary, Reason, RepId,
};
use leadpool_policy::{
    Away, DEFAULT_CONTACT_SLA, Decision, LeadFacts, Oversight, Policy, RouteExplanation,
    next_assignee,
};
use leadpool_store::{Assignment, AssignmentRequest, Placement, PolicyCache, Store};

pub struct Routing {
    store: Store,
    policy: PolicyCache,
    clock: Arc<dyn Clock>,
}

/// Where a lead would go, and why.
pub struct Explained {
    pub route: RouteExplanation,
    pub policy_version: i64,
    /// For an assigning rule: whose turn it is now, if anyone's.
    pub next_assignee: Option<RepId>,
    /// For an assigning rule: the candidates skipped, with why.
    pub skipped: Vec<String>,
    /// For an assigning rule with nobody available: where the lead goes instead.
    pub fallback: Option<PoolId>,
}

/// A lead to explain the route of: stored, or sketched.
pub enum RouteQuestion {
    Stored(LeadId),
    Sketch(LeadFacts),
}

/// What one routing call did.
#[derive(Debug, Default)]
pub struct RouteReport {
    /// Leads this call placed in a pool.
    pub pooled: Vec<Lead>,
    /// Leads this call assigned to a rep.
    pub assigned: Vec<Lead>,
    /// Leads routed before this call (unchanged).
    pub already_routed: Vec<Lead>,
    /// Leads left waiting, with why.
    pub unrouted: Vec<Unrouted>,
}

#[derive(Debug)]
pub struct Unrouted {
    pub lead: LeadId,
    /// LeadNotFound, LeadRejected, NoMatchingRule or NoRepAvailable.
    pub kind: Reason,
    pub reason: String,
}

struct PendingAssignment {
    lead: Lead,
    assign: leadpool_policy::Assign,
    key: String,
    reason: String,
}

impl Routing {
    pub fn new(store: Store, policy: PolicyCache, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            policy,
            clock,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Routes one lead: the lead as it is afterwards, and whether this call routed it. A lead
    /// routing cannot place is a refusal with the reason.
    pub async fn route_one(&self, id: LeadId, actor: &str) -> Result<(Lead, bool), Error> {
        let mut report = self.route(&[id], actor).await?;
        if let Some(unrouted) = report.unrouted.pop() {
            return Err(match unrouted.kind {
                Reason::LeadNotFound => Error::not_found("lead", id.name()),
                kind => Error::precondition(kind, id.name(), unrouted.reason),
            });
        }
        let routed = !report.pooled.is_empty() || !report.assigned.is_empty();
        let lead = report
            .pooled
            .into_iter()
            .chain(report.assigned)
            .chain(report.already_routed)
            .next()
            .ok_or_else(|| Error::internal("routing reported nothing for the lead"))?;
        Ok((lead, routed))
    }

    pub async fn route(&self, ids: &[LeadId], actor: &str) -> Result<RouteReport, Error> {
        let current = self.policy.current().await?;
        let policy = &current.policy;
        let now = self.clock.now();
        let mut report = RouteReport::default();
        let leads = self.store.get_leads(ids).await?;
        for id in ids {
            if !leads.iter().any(|lead| lead.id == *id) {
                report.unrouted.push(Unrouted {
                    lead: *id,
                    kind: Reason::LeadNotFound,
                    reason: format!("{} does not exist", id.name()),
                });
            }
        }
        let mut placements = Vec::new();
        let mut assignments = Vec::new();
        for lead in leads {
            match lead.state {
                LeadState::Received => {}
                LeadState::Rejected => {
                    report.unrouted.push(Unrouted {
                        lead: lead.id,
                        kind: Reason::LeadRejected,
                        reason: format!(
                            "{} was rejected ({}); rejected leads are not routed",
                            lead.id.name(),
                            lead.rejection_reason
                                .as_deref()
                                .unwrap_or("no reason recorded")
                        ),
                    });
                    continue;
                }
                _ => {
                    report.already_routed.push(lead);
                    continue;
                }
            }
            let explained = policy.route(&LeadFacts::from(&lead));
            let reason = explained.reason();
            match explained.decision {
                Decision::Pool(pool) => placements.push(Placement {
                    lead: lead.id,
                    entry: policy.pool_entry(pool, lead.score, reason),
                }),
                Decision::Assign { assign, key } => assignments.push(PendingAssignment {
                    lead,
                    assign,
                    key,
                    reason,
                }),
                Decision::Unroutable => report.unrouted.push(Unrouted {
                    lead: lead.id,
                    kind: Reason::NoMatchingRule,
                    reason,
                }),
            }
        }
        if !assignments.is_empty() {
            let away = self.away(policy, now).await?;
            for assignment in assignments {
                self.assign(
                    policy,
                    &away,
                    assignment,
                    actor,
                    &mut placements,
                    &mut report,
                )
                .await?;
            }
        }
        let placed = self.store.place_leads(&placements, actor, now).await?;
        for placement in &placements {
            if !placed.iter().any(|lead| lead.id == placement.lead) {
                // Routed by a concurrent call between our read and our write.
                report
                    .already_routed
                    .extend(self.store.get_leads(&[placement.lead]).await?);
            }
        }
        tracing::info!(
            pooled = placed.len(),
            assigned = report.assigned.len(),
            unrouted = report.unrouted.len(),
            "leads routed"
        );
        report.pooled = placed;
        Ok(report)
    }

    /// Who is away at `now`: the policy's absences and what SetRepAvailability set.
    async fn away(&self, policy: &Policy, now: DateTime<Utc>) -> Result<Away, Error> {
        Ok(policy.away_at(now, &self.store.availability_settings().await?))
    }

    async fn assign(
        &self,
        policy: &Policy,
        away: &Away,
        pending: PendingAssignment,
        actor: &str,
        placements: &mut Vec<Placement>,
        report: &mut RouteReport,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        let fallback = pending.assign.fallback_pool.clone();
        // Skills are matched until the lead waited `relaxAfter` since it arrived.
        let skills = pending.assign.skills.as_ref().and_then(|skills| {
            skills.asked(
                pending.lead.received_at,
                now,
                &leadpool_policy::PoolClock::Wall,
            )
        });
        let mut candidates = policy.assignment_candidates(
            &pending.assign,
            &LeadFacts::from(&pending.lead),
            skills,
            away,
            now,
            fallback.as_ref(),
        );
        if !candidates.eligible.is_empty() {
            // To be accepted within the pool's SLA, on its acceptance clock.
            let due = fallback.as_ref().map_or(now + DEFAULT_CONTACT_SLA, |pool| {
                policy.acceptance_due(pool, now)
            });
            let request = AssignmentRequest {
                lead: pending.lead.id,
                rule_key: &pending.key,
                strategy: pending.assign.strategy,
                candidates: &candidates.eligible,
                pool: fallback.as_ref(),
                due,
                reason: &pending.reason,
            };
            match self.store.assign_lead(&request, actor, now).await? {
                Assignment::Assigned(lead, rep) => {
                    tracing::info!(lead = %lead.id, rep = %rep, rule = pending.key, "lead auto-assigned");
                    report.assigned.push(*lead);
                    return Ok(());
                }
                Assignment::AlreadyRouted => {
                    let lead = self.store.get_leads(&[pending.lead.id]).await?;
                    report.already_routed.extend(lead);
                    return Ok(());
                }
                Assignment::NobodyHasRoom(full) => candidates.skipped.extend(full),
            }
        }
        // Nobody on duty, available and under her caps: the rule's fallback pool, or wait.
        let why = candidates.why_none();
        match fallback {
            Some(pool) => {
                let reason = format!(
                    "{}; nobody available to assign ({why}), so to fallback {}",
                    pending.reason,
                    pool.name()
                );
                placements.push(Placement {
                    lead: pending.lead.id,
                    entry: policy.pool_entry(pool, pending.lead.score, reason),
                });
            }
            None => {
                let reason = format!("{}, but nobody is available: {why}", pending.reason);
                let wait = [(pending.lead.id, format!("auto-assignment waits: {reason}"))];
                self.store.record_waiting(&wait, actor, now).await?;
                report.unrouted.push(Unrouted {
                    lead: pending.lead.id,
                    kind: Reason::NoRepAvailable,
                    reason,
                });
            }
        }
        Ok(())
    }
}

impl Routing {
    /// Which rule routes a lead (stored or sketched) and why each earlier rule did not; for an
    /// assigning rule, whose turn it is.
    pub async fn explain(&self, question: RouteQuestion) -> Result<Explained, Error> {
        let lead = match question {
            RouteQuestion::Stored(id) => LeadFacts::from(&self.store.get_lead(id).await?),
            RouteQuestion::Sketch(facts) => facts,
        };
        let current = self.policy.current().await?;
        let policy = &current.policy;
        let route = policy.route(&lead);
        let mut explained = Explained {
            route,
            policy_version: current.version,
            next_assignee: None,
            skipped: Vec::new(),
            fallback: None,
        };
        if let Decision::Assign { assign, key } = &explained.route.decision {
            let now = self.clock.now();
            let away = self.away(policy, now).await?;
            // A lead explained as it arrives now: its skills are asked in full.
            let candidates = policy.assignment_candidates(
                assign,
                &lead,
                assign.skills.as_ref(),
                &away,
                now,
                assign.fallback_pool.as_ref(),
            );
            let reps: Vec<RepId> = candidates.eligible.iter().map(|c| c.rep.clone()).collect();
            let counts = self.store.assignment_counts(key, &reps).await?;
            explained.next_assignee = next_assignee(assign.strategy, &candidates.eligible, &counts)
                .map(|c| c.rep.clone());
            explained.skipped = candidates.skipped;
            if explained.next_assignee.is_none() {
                explained.fallback = assign.fallback_pool.clone();
            }
        }
        Ok(explained)
    }

    pub async fn pool(&self, id: &PoolId) -> Result<PoolSummary, Error> {
        self.store.get_pool(id).await
    }

    /// Pools in force, in id order, after `after`.
    pub async fn pools(&self, after: Option<&str>, limit: i64) -> Result<Vec<PoolSummary>, Error> {
        self.store.list_pools(after, limit).await
    }

    /// The policy's reps in id order, after `after`.
    pub async fn reps(&self, after: Option<&str>, limit: usize) -> Result<Vec<RepView>, Error> {
        let current = self.policy.current().await?;
        let settings = self.store.availability_settings().await?;
        let now = self.clock.now();
        Ok(current
            .policy
            .reps
            .values()
            .filter(|rep| after.is_none_or(|after| rep.id.as_str() > after))
            .take(limit)
            .map(|rep| RepView::of(&current.policy, rep, &settings, now))
            .collect())
    }

    /// One rep of the policy.
    pub async fn rep(&self, id: &RepId) -> Result<RepView, Error> {
        let current = self.policy.current().await?;
        let rep = current
            .policy
            .rep(id)
            .ok_or_else(|| Error::not_found("rep", id.name()))?;
        let settings = self.store.availability_settings().await?;
        Ok(RepView::of(
            &current.policy,
            rep,
            &settings,
            self.clock.now(),
        ))
    }

    /// GetCaller: the caller's rep record (when `rep` is a rep of the policy in force) and
    /// what her `authority` oversees.
    pub async fn caller(
        &self,
        rep: Option<&RepId>,
        authority: &Authority,
    ) -> Result<Caller, Error> {
        let current = self.policy.current().await?;
        let rep = match rep {
            Some(id) if current.policy.rep(id).is_some() => Some(self.rep(id).await?),
            _ => None,
        };
        Ok(Caller {
            rep,
            oversight: current.policy.oversight(authority),
        })
    }

    /// SetRepAvailability: `rep` away as `change` says, or available again. Managers set it for
    /// reps of their teams; admins and services for anyone; a rep for herself, as the policy's
    /// `selfAvailability` allows.
    pub async fn set_availability(
        &self,
        authority: &Authority,
        rep: &RepId,
        change: AvailabilityChange,
        actor: &str,
    ) -> Result<RepView, Error> {
        let current = self.policy.current().await?;
        let policy = &current.policy;
        if policy.rep(rep).is_none() {
            return Err(Error::not_found("rep", rep.name()));
        }
        let now = self.clock.now();
        let herself = matches!(authority, Authority::Rep(me) if me == rep);
        if herself {
            if let AvailabilityChange::Away {
                status,
                from,
                until,
                note,
            } = &change
            {
                if note.trim().is_empty() {
                    let field = match status {
                        AwayStatus::OutOfOffice => "out_of_office.note",
                        AwayStatus::Busy => "busy.note",
                    };
                    return Err(Error::invalid(
                        field,
                        "say why you are away (e.g. \"dentist\", \"sick\"): your manager sees it",
                    ));
                }
                policy
                    .may_set_own_absence(rep, from.unwrap_or(now), *until, now)
                    .map_err(|why| {
                        Error::precondition(Reason::AvailabilityNotAllowed, rep.name(), why)
                    })?;
            }
        } else if !policy.oversight(authority).covers_rep(rep) {
            return Err(Error::PermissionDenied(format!(
                "{actor} may not set the availability of {}: managers set it for the reps of \
                 their teams, admins for anyone, a rep for herself",
                rep.name()
            )));
        }
        match change {
            AvailabilityChange::Away {
                status,
                from,
                until,
                note,
            } => {
                self.store
                    .set_availability(&AvailabilitySetting {
                        rep: rep.clone(),
                        status,
                        from: from.unwrap_or(now),
                        until: Some(until),
                        note,
                        set_by: actor.to_owned(),
                        set_at: now,
                    })
                    .await?;
            }
            AvailabilityChange::Available => self.store.clear_availability(rep).await?,
        }
        tracing::info!(rep = %rep, by = actor, "availability set");
        self.rep(rep).await
    }
}

/// What SetRepAvailability asks for.
#[derive(Debug)]
pub enum AvailabilityChange {
    /// Away (out of office or busy) from `from` (default: now) until `until`.
    Away {
        status: AwayStatus,
        from: Option<DateTime<Utc>>,
        until: DateTime<Utc>,
        note: String,
    },
    Available,
}

/// Who a caller is to the policy in force.
pub struct Caller {
    pub rep: Option<RepView>,
    pub oversight: Oversight,
}

/// A rep of the policy, with the daily limit that applies to her and her availability now.
pub struct RepView {
    pub rep: leadpool_policy::Rep,
    pub daily_limit: Option<u32>,
    /// Why she is away now, if she is.
    pub away: Option<AwayNow>,
    /// What SetRepAvailability set for her, if anything.
    pub setting: Option<AvailabilitySetting>,
}

impl RepView {
    fn of(
        policy: &leadpool_policy::Policy,
        rep: &leadpool_policy::Rep,
        settings: &[AvailabilitySetting],
        now: DateTime<Utc>,
    ) -> Self {
        let setting = settings.iter().find(|s| s.rep == rep.id).cloned();
        Self {
            rep: rep.clone(),
            daily_limit: policy.limits_for(rep).per_day,
            away: policy.away_at(now, setting.as_slice()).of(&rep.id).cloned(),
            setting,
        }
    }
}
