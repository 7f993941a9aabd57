//! What the rep holding a lead does with it: release, contact, close, accept or reject an
//! assignment. Like every lead change, each is one statement that writes the history row with
//! the change, and only if the lead is still hers and in a state the change allows.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, EventKind, Lead, LeadId, LeadState, OwnedChange, PoolId, RepId};

use crate::Store;
use crate::error::db_error;
use crate::rows;

impl Store {
    /// Applies `change` to the lead `rep` owns; `None` when the lead is not hers or not in a
    /// state the change allows ([`OwnedChange::from_states`]).
    pub async fn change_owned(
        &self,
        id: LeadId,
        rep: &RepId,
        change: &OwnedChange,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Lead>, Error> {
        let reason = change.history_reason();
        let row = match change {
            OwnedChange::Release { .. } | OwnedChange::Reject { .. } => {
                return give_back(
                    &self.pool,
                    &GiveBack {
                        id,
                        owner: rep,
                        from: change.from_states(),
                        kind: change.event_kind(),
                        reason: &reason,
                        // A rep may turn down only an assignment that leaves her the choice.
                        only_rejectable: matches!(change, OwnedChange::Reject { .. }),
                    },
                    actor,
                    now,
                )
                .await;
            }
            OwnedChange::Contact { .. } => {
                transition!(
                    "UPDATE leads SET state = 'contacted', contacted_at = $3, updated_at = $3, \
                       rejectable = false \
                     WHERE id = $1 AND owner_rep_id = $2 AND state = 'claimed' \
                     RETURNING *, 'claimed'::text AS old_state",
                    "'lead.contacted', $4, $5, pool_id, owner_rep_id, $3, false",
                    id.0,
                    rep.as_str(),
                    now,
                    actor,
                    reason
                )
                .fetch_optional(&self.pool)
                .await
            }
            OwnedChange::Close {
                outcome,
                deal_size_minor,
                ..
            } => {
                transition!(
                    "WITH target AS (SELECT id, state AS old_state FROM leads WHERE id = $1 \
                       AND owner_rep_id = $2 \
                       AND (state IN ('claimed', 'contacted') OR (state = 'closed' AND outcome = 'opportunity')) \
                       FOR UPDATE) \
                     UPDATE leads l SET state = 'closed', outcome = $5, deal_size_minor = $6, \
                       rejectable = false, \
                       contacted_at = COALESCE(l.contacted_at, $3::timestamptz), \
                       updated_at = $3::timestamptz \
                     FROM target WHERE l.id = target.id RETURNING l.*, target.old_state",
                    "$8, $4, $7, pool_id, owner_rep_id, $3, false",
                    id.0,
                    rep.as_str(),
                    now,
                    actor,
                    outcome.as_str(),
                    deal_size_minor,
                    reason,
                    change.event_kind().as_str()
                )
                .fetch_optional(&self.pool)
                .await
            }
            OwnedChange::Accept => {
                return Err(Error::internal(
                    "an accept needs its deadline: use Store::accept_assignment",
                ));
            }
        };
        rows::lead(row.map_err(db_error)?)
    }
}

impl Store {
    /// AcceptAssignment: an assigned lead of `rep` becomes hers as a claim, to be contacted by
    /// `terms.claimed`; `None` when it is not hers, not assigned or not in that pool.
    pub async fn accept_assignment(
        &self,
        id: LeadId,
        rep: &RepId,
        terms: &super::Handover<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Lead>, Error> {
        let reason = OwnedChange::Accept.history_reason();
        // The contact SLA starts now; she has decided, so it is no longer hers to turn down.
        let row = transition!(
            "WITH target AS (SELECT id, rejectable AS was_rejectable FROM leads \
               WHERE id = $1 AND owner_rep_id = $2 AND state = 'assigned' \
               AND pool_id IS NOT DISTINCT FROM $6 \
               FOR UPDATE) \
             UPDATE leads l SET state = 'claimed', claimed_at = $3::timestamptz, \
               updated_at = $3::timestamptz, rejectable = false, contact_due_at = $7 \
             FROM target WHERE l.id = target.id \
             RETURNING l.*, 'assigned'::text AS old_state, target.was_rejectable",
            "'lead.assignment_accepted', $4, $5, pool_id, owner_rep_id, $3, NOT was_rejectable",
            id.0,
            rep.as_str(),
            now,
            actor,
            reason,
            terms.pool.map(PoolId::as_str),
            terms.claimed
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        rows::lead(row)
    }
}

/// A lead leaving its owner for its pool (or routing, without one).
pub(super) struct GiveBack<'a> {
    pub id: LeadId,
    pub owner: &'a RepId,
    /// The states the lead must be in.
    pub from: &'a [LeadState],
    pub kind: EventKind,
    pub reason: &'a str,
    /// Only a lead its rep may turn down (`rejectable`): a rejection.
    pub only_rejectable: bool,
}

/// Takes a lead from its owner back to its pool as available, or back to routing if it has
/// none; the history names the rep who gave it up. A decision on an assignment that is not the
/// rep's own choice (a manager's return) is excused from her acceptance.
pub(super) async fn give_back<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    back: &GiveBack<'_>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Option<Lead>, Error> {
    let from: Vec<&str> = back.from.iter().map(|s| s.as_str()).collect();
    let excused = back.kind != EventKind::AssignmentRejected;
    let row = transition!(
        "WITH target AS (SELECT l.id, l.state AS old_state, l.owner_rep_id AS gave_up_by \
           FROM leads l WHERE l.id = $1 AND l.owner_rep_id = $2 AND l.state = ANY($6) \
             AND (l.rejectable OR NOT $8) \
           FOR UPDATE) \
         UPDATE leads l SET \
           state = CASE WHEN l.pool_id IS NULL THEN 'received' ELSE 'available' END, \
           pooled_at = CASE WHEN l.pool_id IS NULL THEN NULL \
             ELSE COALESCE(l.pooled_at, $3::timestamptz) END, \
           owner_rep_id = NULL, claimed_at = NULL, contact_due_at = NULL, contacted_at = NULL, \
           rejectable = false, updated_at = $3::timestamptz \
         FROM target WHERE l.id = target.id RETURNING l.*, target.old_state, target.gave_up_by",
        "$7, $4, $5, pool_id, gave_up_by, $3, old_state = 'assigned' AND $9",
        back.id.0,
        back.owner.as_str(),
        now,
        actor,
        back.reason,
        &from as &[&str],
        back.kind.as_str(),
        back.only_rejectable,
        excused
    )
    .fetch_optional(executor)
    .await
    .map_err(db_error)?;
    rows::lead(row)
}
