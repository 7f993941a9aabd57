//! Routing's writes: placing received leads into pools (many per statement) and assigning a
//! lead to the rep whose turn it is.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use leadpool_domain::{Error, LeadId, PoolId, RepId};
use leadpool_policy::{Candidate, Strategy, next_assignee};
use uuid::Uuid;

use crate::Store;
use crate::error::db_error;
use crate::records::LeadRecord;

/// A received lead and the pool routing chose for it.
#[derive(Debug, Clone)]
pub struct Placement {
    pub lead: LeadId,
    pub pool: PoolId,
    /// Kept in the lead's history: which rule, which tier.
    pub reason: String,
}

/// Who an assignment goes to and under which rule.
pub struct AssignmentRequest<'a> {
    pub lead: LeadId,
    /// Identifies the rule (or split share) whose turn order applies.
    pub rule_key: &'a str,
    pub strategy: Strategy,
    pub candidates: &'a [Candidate],
    /// The pool the lead belongs to while assigned (and returns to if rejected).
    pub pool: Option<&'a PoolId>,
    pub contact_sla: Duration,
    pub reason: &'a str,
}

impl Store {
    /// Moves received leads into their pools; leads in timed pools wait there as `scheduled`
    /// until their release. Leads no longer `received` are left alone (routing is idempotent);
    /// the leads changed are returned.
    pub async fn place_leads(
        &self,
        placements: &[Placement],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<LeadRecord>, Error> {
        if placements.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = placements.iter().map(|p| p.lead.0).collect();
        let pools: Vec<&str> = placements.iter().map(|p| p.pool.as_str()).collect();
        let reasons: Vec<&str> = placements.iter().map(|p| p.reason.as_str()).collect();
        sqlx::query_as::<_, LeadRecord>(
            "WITH input AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(id, pool, reason)), \
             changed AS (UPDATE leads l SET \
                 state = CASE WHEN p.kind = 'timed' THEN 'scheduled' ELSE 'available' END, \
                 pool_id = i.pool, \
                 pooled_at = CASE WHEN p.kind = 'timed' THEN NULL ELSE $4 END, \
                 updated_at = $4 \
               FROM input i JOIN pools p ON p.id = i.pool \
               WHERE l.id = i.id AND l.state = 'received' \
               RETURNING l.*, i.reason AS event_reason), \
             event AS (INSERT INTO lead_events (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
               SELECT id, 'received', state, $5, event_reason, pool_id, NULL, $4 FROM changed) \
             SELECT * FROM changed",
        )
        .bind(&ids)
        .bind(&pools)
        .bind(&reasons)
        .bind(now)
        .bind(actor)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)
    }

    /// Assigns a received lead to the candidate whose turn it is, and counts the turn — both in
    /// one transaction, serialised per rule, so every routing replica shares one fair order.
    /// `None` when the lead is no longer waiting for routing, or nobody is a candidate.
    pub async fn assign_lead(
        &self,
        request: &AssignmentRequest<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(LeadRecord, RepId)>, Error> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('assign:' || $1, 0))")
            .bind(request.rule_key)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let names: Vec<&str> = request.candidates.iter().map(|c| c.rep.as_str()).collect();
        let counts: Vec<(String, i64)> =
            sqlx::query_as("SELECT rep_id, assigned FROM assignment_counts WHERE rule_key = $1 AND rep_id = ANY($2)")
                .bind(request.rule_key)
                .bind(&names)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error)?;
        let counts: HashMap<RepId, i64> = counts
            .into_iter()
            .filter_map(|(rep, count)| RepId::parse(&rep, "rep_id").ok().map(|rep| (rep, count)))
            .collect();
        let Some(chosen) = next_assignee(request.strategy, request.candidates, &counts) else {
            return Ok(None);
        };
        let reason = format!(
            "{} (turn {} for {})",
            request.reason,
            counts.get(&chosen.rep).copied().unwrap_or(0) + 1,
            chosen.rep.name()
        );
        let lead = sqlx::query_as::<_, LeadRecord>(
            "WITH changed AS (UPDATE leads SET state = 'assigned', owner_rep_id = $2, pool_id = COALESCE($3, pool_id), \
               claimed_at = $4, contact_due_at = $4 + make_interval(secs => $5), updated_at = $4 \
               WHERE id = $1 AND state = 'received' RETURNING *), \
             event AS (INSERT INTO lead_events (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
               SELECT id, 'received', 'assigned', $6, $7, pool_id, owner_rep_id, $4 FROM changed) \
             SELECT * FROM changed",
        )
        .bind(request.lead.0)
        .bind(chosen.rep.as_str())
        .bind(request.pool.map(PoolId::as_str))
        .bind(now)
        .bind(request.contact_sla.num_seconds() as f64)
        .bind(actor)
        .bind(&reason)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        let Some(lead) = lead else {
            return Ok(None);
        };
        sqlx::query(
            "INSERT INTO assignment_counts (rule_key, rep_id, assigned) VALUES ($1, $2, 1) \
             ON CONFLICT (rule_key, rep_id) DO UPDATE SET assigned = assignment_counts.assigned + 1",
        )
        .bind(request.rule_key)
        .bind(chosen.rep.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(Some((lead, chosen.rep.clone())))
    }

    /// How many leads each of `reps` received from the assignment rule `rule_key`.
    pub async fn assignment_counts(
        &self,
        rule_key: &str,
        reps: &[RepId],
    ) -> Result<HashMap<RepId, i64>, Error> {
        let names: Vec<&str> = reps.iter().map(RepId::as_str).collect();
        let counts: Vec<(String, i64)> =
            sqlx::query_as("SELECT rep_id, assigned FROM assignment_counts WHERE rule_key = $1 AND rep_id = ANY($2)")
                .bind(rule_key)
                .bind(&names)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(counts
            .into_iter()
            .filter_map(|(rep, count)| RepId::parse(&rep, "rep_id").ok().map(|rep| (rep, count)))
            .collect())
    }

    /// The leads with these ids (in no particular order); unknown ids are skipped.
    pub async fn get_leads(&self, ids: &[LeadId]) -> Result<Vec<LeadRecord>, Error> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
        sqlx::query_as::<_, LeadRecord>("SELECT * FROM leads WHERE id = ANY($1)")
            .bind(&ids)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)
    }
}
