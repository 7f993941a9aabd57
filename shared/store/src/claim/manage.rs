//! Managers' actions on leads: assigning an escalated or available lead to a rep, moving a
//! rep's leads to another rep or back to their pools. Each runs in a transaction holding the
//! receiving (or giving) rep's lock, like her claims, so her open-lead caps stay exact; who
//! gets a lead is still decided by one conditional statement.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, EventKind, Lead, LeadEvent, LeadId, LeadState, PoolId, RepId};

use super::RepClaim;
use super::work::{GiveBack, give_back};
use leadpool_policy::Policy;

use crate::Store;
use crate::error::db_error;
use crate::rows::{self, EventRow};

/// The terms on which a lead of `pool` (or of none) changes hands now: to be contacted by
/// `claimed` once held as a claim, to be accepted by `assigned` once pushed to a rep (each on
/// the pool's clock for it), and whether its new holder may turn it down. The statement checks
/// the lead is still in `pool`.
#[derive(Debug, Clone, Copy)]
pub struct Handover<'a> {
    pub pool: Option<&'a PoolId>,
    pub claimed: DateTime<Utc>,
    pub assigned: DateTime<Utc>,
    pub rejectable: bool,
}

impl<'a> Handover<'a> {
    /// The terms `policy` sets for a lead of `pool` changing hands at `now`.
    pub fn of(
        policy: &Policy,
        pool: Option<&'a PoolId>,
        now: DateTime<Utc>,
        rejectable: bool,
    ) -> Self {
        let default = now + leadpool_policy::DEFAULT_CONTACT_SLA;
        Self {
            pool,
            claimed: pool.map_or(default, |pool| policy.contact_due(pool, now)),
            assigned: pool.map_or(default, |pool| policy.acceptance_due(pool, now)),
            rejectable,
        }
    }

    fn pool_id(&self) -> Option<&str> {
        self.pool.map(PoolId::as_str)
    }
}

impl RepClaim {
    /// Assigns an escalated or available lead to this transaction's rep: a manager's
    /// assignment, rejectable as the policy says. `None` when the lead is no longer escalated
    /// or available.
    pub async fn assign(
        &mut self,
        id: LeadId,
        terms: &Handover<'_>,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Lead>, Error> {
        let row = transition!(
            "WITH target AS (SELECT id, state AS old_state FROM leads \
               WHERE id = $1 AND state IN ('escalated', 'available') AND pool_id IS NOT DISTINCT FROM $7 \
               FOR UPDATE) \
             UPDATE leads l SET state = 'assigned', owner_rep_id = $2, \
               claimed_at = $3::timestamptz, updated_at = $3::timestamptz, \
               contact_due_at = $8, assigned_by = 'manual', rejectable = $6 \
             FROM target WHERE l.id = target.id \
             RETURNING l.*, target.old_state",
            "'lead.assigned', $4, $5, pool_id, owner_rep_id, $3, false",
            id.0,
            self.rep().as_str(),
            now,
            actor,
            reason,
            terms.rejectable,
            terms.pool_id(),
            terms.assigned
        )
        .fetch_optional(self.conn())
        .await
        .map_err(db_error)?;
        rows::lead(row)
    }

    /// Moves `id` from `from` to this transaction's rep, in its state (claimed, assigned or
    /// contacted). A claimed or assigned lead's contact deadline starts again: the new owner
    /// gets the pool's whole SLA. She did not claim it: it is a manager's assignment, which
    /// she may turn down as `rejectable` says. `None` when `from` no longer holds it.
    pub async fn take_over(
        &mut self,
        id: LeadId,
        from: &RepId,
        terms: &Handover<'_>,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Lead>, Error> {
        let row = transition!(
            "WITH target AS (SELECT id, state AS old_state FROM leads WHERE id = $1 \
               AND pool_id IS NOT DISTINCT FROM $8 \
               AND owner_rep_id = $2 AND state IN ('claimed', 'assigned', 'contacted') FOR UPDATE) \
             UPDATE leads l SET owner_rep_id = $3, updated_at = $4::timestamptz, \
               claimed_at = CASE WHEN l.state = 'contacted' THEN l.claimed_at ELSE $4::timestamptz END, \
               contact_due_at = CASE l.state WHEN 'contacted' THEN l.contact_due_at \
                 WHEN 'assigned' THEN $10::timestamptz ELSE $9::timestamptz END, \
               assigned_by = 'manual', rejectable = $7 \
             FROM target WHERE l.id = target.id RETURNING l.*, target.old_state",
            "'lead.reassigned', $5, $6, pool_id, owner_rep_id, $4, false",
            id.0,
            from.as_str(),
            self.rep().as_str(),
            now,
            actor,
            reason,
            terms.rejectable,
            terms.pool_id(),
            terms.claimed,
            terms.assigned
        )
        .fetch_optional(self.conn())
        .await
        .map_err(db_error)?;
        rows::lead(row)
    }

    /// Takes `id` from this transaction's rep back to its pool (a manager's return). `None`
    /// when she no longer holds it.
    pub async fn return_lead(
        &mut self,
        id: LeadId,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Lead>, Error> {
        let owner = self.rep().clone();
        give_back(
            self.conn(),
            &GiveBack {
                id,
                owner: &owner,
                from: &[
                    LeadState::Claimed,
                    LeadState::Assigned,
                    LeadState::Contacted,
                ],
                kind: EventKind::Returned,
                reason,
                only_rejectable: false,
            },
            actor,
            now,
        )
        .await
    }
}

impl Store {
    /// The latest change of a lead: why it is where it is.
    pub async fn last_event(&self, lead: LeadId) -> Result<Option<LeadEvent>, Error> {
        sqlx::query_as!(
            EventRow,
            "SELECT id, lead_id, kind, from_state, to_state, actor, reason, pool_id, rep_id, \
               occurred_at FROM lead_events WHERE lead_id = $1 ORDER BY id DESC LIMIT 1",
            lead.0
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?
        .map(TryInto::try_into)
        .transpose()
    }
}
