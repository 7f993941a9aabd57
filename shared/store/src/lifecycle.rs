//! What a rep does with a lead she holds beyond contact: accept or reject an assignment, and
//! record how it ended. Like every lead change, each is one statement that writes the history
//! row with the change, and only if the lead is still in the state the change expects.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, LeadId, Outcome, RepId};

use crate::Store;
use crate::error::db_error;
use crate::records::LeadRecord;

/// Assignments a rep decided (accepted, rejected, or let expire) in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AssignmentDecisions {
    pub accepted: u32,
    pub decided: u32,
}

impl Store {
    /// `rep` takes an assigned lead: it becomes claimed, and its contact SLA starts now.
    pub async fn accept_assignment(
        &self,
        id: LeadId,
        rep: &RepId,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<LeadRecord>, Error> {
        sqlx::query_as::<_, LeadRecord>(
            "WITH changed AS (UPDATE leads l SET state = 'claimed', claimed_at = $3, updated_at = $3, \
               contact_due_at = $3 + make_interval(secs => COALESCE( \
                 (SELECT contact_sla_seconds FROM pools WHERE id = l.pool_id), 7200)) \
               WHERE l.id = $1 AND l.owner_rep_id = $2 AND l.state = 'assigned' RETURNING l.*), \
             event AS (INSERT INTO lead_events \
               (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
               SELECT id, 'assigned', 'claimed', $4, 'assignment accepted', pool_id, owner_rep_id, $3 \
               FROM changed) \
             SELECT * FROM changed",
        )
        .bind(id.0)
        .bind(rep.as_str())
        .bind(now)
        .bind(actor)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)
    }

    /// `rep` turns an assigned lead down: it goes to its pool, or back to routing if it has
    /// none.
    pub async fn reject_assignment(
        &self,
        id: LeadId,
        rep: &RepId,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<LeadRecord>, Error> {
        self.give_back("l.state = 'assigned'", id, rep, reason, actor, now)
            .await
    }

    /// Records how a lead `rep` worked ended. An opportunity may later become a customer or
    /// be lost; customers and lost leads are final.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_outcome(
        &self,
        id: LeadId,
        rep: &RepId,
        outcome: Outcome,
        deal_size_minor: i64,
        note: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<LeadRecord>, Error> {
        sqlx::query_as::<_, LeadRecord>(
            "WITH target AS (SELECT id, state AS old_state FROM leads WHERE id = $1 AND owner_rep_id = $2 \
               AND (state IN ('claimed', 'contacted') OR (state = 'closed' AND outcome = 'opportunity')) \
               FOR UPDATE), \
             changed AS (UPDATE leads l SET state = 'closed', outcome = $5, deal_size_minor = $6, \
               contacted_at = COALESCE(l.contacted_at, $3), updated_at = $3 \
               FROM target WHERE l.id = target.id RETURNING l.*, target.old_state), \
             event AS (INSERT INTO lead_events \
               (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
               SELECT id, old_state, 'closed', $4, $7, pool_id, owner_rep_id, $3 FROM changed) \
             SELECT * FROM changed",
        )
        .bind(id.0)
        .bind(rep.as_str())
        .bind(now)
        .bind(actor)
        .bind(outcome.as_str())
        .bind(deal_size_minor)
        .bind(note)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)
    }

    /// How `rep` decided the assignments she got: an accepted one became claimed; rejected
    /// and expired ones went back.
    pub async fn assignment_decisions(
        &self,
        rep: &RepId,
        since: DateTime<Utc>,
    ) -> Result<AssignmentDecisions, Error> {
        let (accepted, decided): (i64, i64) = sqlx::query_as(
            "SELECT count(*) FILTER (WHERE to_state = 'claimed'), count(*) FROM lead_events \
             WHERE rep_id = $1 AND from_state = 'assigned' AND occurred_at > $2",
        )
        .bind(rep.as_str())
        .bind(since)
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(AssignmentDecisions {
            accepted: u32::try_from(accepted).unwrap_or(u32::MAX),
            decided: u32::try_from(decided).unwrap_or(u32::MAX),
        })
    }

    /// Takes a lead from its owner `rep`: back to its pool as available, or back to routing if
    /// it has none, if it matches `condition` over leads `l`. The history row names the rep
    /// who gave it up.
    pub(crate) async fn give_back(
        &self,
        condition: &str,
        id: LeadId,
        rep: &RepId,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<LeadRecord>, Error> {
        let statement = format!(
            "WITH target AS (SELECT l.id, l.state AS old_state, l.owner_rep_id AS gave_up_by FROM leads l \
               WHERE l.id = $1 AND l.owner_rep_id = $2 AND {condition} FOR UPDATE), \
             changed AS (UPDATE leads l SET \
               state = CASE WHEN l.pool_id IS NULL THEN 'received' ELSE 'available' END, \
               pooled_at = CASE WHEN l.pool_id IS NULL THEN NULL ELSE COALESCE(l.pooled_at, $3) END, \
               owner_rep_id = NULL, claimed_at = NULL, contact_due_at = NULL, contacted_at = NULL, \
               updated_at = $3 \
               FROM target WHERE l.id = target.id RETURNING l.*, target.old_state, target.gave_up_by), \
             event AS (INSERT INTO lead_events \
               (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
               SELECT id, old_state, state, $4, $5, pool_id, gave_up_by, $3 FROM changed) \
             SELECT * FROM changed"
        );
        sqlx::query_as::<_, LeadRecord>(&statement)
            .bind(id.0)
            .bind(rep.as_str())
            .bind(now)
            .bind(actor)
            .bind(reason)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)
    }
}
