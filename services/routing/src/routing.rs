//! Routing leads as the policy in force says: into pools (in bulk) or to the rep whose turn it
//! is. A lead that cannot be routed now stays `received` with the reason reported; it is
//! offered again later. Routing a lead twice changes nothing the second time.

use std::sync::Arc;

use leadpool_domain::{Clock, Error, LeadId, LeadState, Reason};
use leadpool_policy::{DEFAULT_CONTACT_SLA, Decision, Policy};
use leadpool_store::{AssignmentRequest, LeadRecord, Placement, PolicyCache, Store};

pub struct Router {
    pub store: Store,
    pub policy: PolicyCache,
    pub clock: Arc<dyn Clock>,
}

/// What one routing call did.
#[derive(Debug, Default)]
pub struct RouteReport {
    /// Leads this call placed in a pool.
    pub pooled: Vec<LeadRecord>,
    /// Leads this call assigned to a rep.
    pub assigned: Vec<LeadRecord>,
    /// Leads routed before this call (unchanged).
    pub already_routed: Vec<LeadRecord>,
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
    lead: LeadRecord,
    assign: leadpool_policy::Assign,
    key: String,
    reason: String,
}

impl Router {
    pub async fn route(&self, ids: &[LeadId], actor: &str) -> Result<RouteReport, Error> {
        let current = self.policy.current().await?;
        let policy = &current.policy;
        let now = self.clock.now();
        let mut report = RouteReport::default();
        let leads = self.store.get_leads(ids).await?;
        for id in ids {
            if !leads.iter().any(|lead| lead.id == id.0) {
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
                        lead: lead.lead_id(),
                        kind: Reason::LeadRejected,
                        reason: format!(
                            "{} was rejected ({}); rejected leads are not routed",
                            lead.lead_id().name(),
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
            let explained = policy.route(&lead.facts());
            let by = explained.rule.as_deref().map_or_else(
                || "default route".to_owned(),
                |rule| format!("rule `{rule}`"),
            );
            let reason = format!("{by}: {}", explained.detail);
            match explained.decision {
                Decision::Pool(pool) => placements.push(Placement {
                    lead: lead.lead_id(),
                    pool,
                    reason,
                }),
                Decision::Assign { assign, key } => assignments.push(PendingAssignment {
                    lead,
                    assign,
                    key,
                    reason,
                }),
                Decision::Unroutable => report.unrouted.push(Unrouted {
                    lead: lead.lead_id(),
                    kind: Reason::NoMatchingRule,
                    reason,
                }),
            }
        }
        for assignment in assignments {
            self.assign(policy, assignment, actor, &mut placements, &mut report)
                .await?;
        }
        let placed = self.store.place_leads(&placements, actor, now).await?;
        for placement in &placements {
            if !placed.iter().any(|lead| lead.id == placement.lead.0) {
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

    async fn assign(
        &self,
        policy: &Policy,
        pending: PendingAssignment,
        actor: &str,
        placements: &mut Vec<Placement>,
        report: &mut RouteReport,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        let candidates = policy.assignment_candidates(&pending.assign, &pending.lead.facts(), now);
        let fallback = pending.assign.fallback_pool.clone();
        if candidates.eligible.is_empty() {
            let skipped = if candidates.skipped.is_empty() {
                "the rule names no reps".to_owned()
            } else {
                candidates.skipped.join("; ")
            };
            match fallback {
                Some(pool) => placements.push(Placement {
                    lead: pending.lead.lead_id(),
                    reason: format!(
                        "{}; nobody available to assign ({skipped}), so to fallback {}",
                        pending.reason,
                        pool.name()
                    ),
                    pool,
                }),
                None => report.unrouted.push(Unrouted {
                    lead: pending.lead.lead_id(),
                    kind: Reason::NoRepAvailable,
                    reason: format!("{}, but nobody is available: {skipped}", pending.reason),
                }),
            }
            return Ok(());
        }
        let contact_sla = fallback
            .as_ref()
            .and_then(|pool| policy.pool(pool))
            .map_or(DEFAULT_CONTACT_SLA, |pool| pool.contact_sla);
        let request = AssignmentRequest {
            lead: pending.lead.lead_id(),
            rule_key: &pending.key,
            strategy: pending.assign.strategy,
            candidates: &candidates.eligible,
            pool: fallback.as_ref(),
            contact_sla,
            reason: &pending.reason,
        };
        match self.store.assign_lead(&request, actor, now).await? {
            Some((lead, rep)) => {
                tracing::info!(lead = %lead.id, rep = %rep, rule = pending.key, "lead auto-assigned");
                report.assigned.push(lead);
            }
            None => report
                .already_routed
                .extend(self.store.get_leads(&[pending.lead.lead_id()]).await?),
        }
        Ok(())
    }
}
