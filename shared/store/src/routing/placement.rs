//! Routing's writes: placing received leads into pools (many per statement) and assigning a
//! lead to the rep whose turn it is.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, Lead, LeadId, PoolId, RepId};
use leadpool_policy::{Candidate, PoolEntry, Strategy, next_assignee};
use uuid::Uuid;

use crate::Store;
use crate::claim::{lock_rep, open_lead_counts};
use crate::error::db_error;
use crate::rows;

/// A received lead and the pool the policy sends it to (with the reason for its history, and
/// whether a timed pool releases it at once).
#[derive(Debug, Clone)]
pub struct Placement {
    pub lead: LeadId,
    pub entry: PoolEntry,
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
    /// When the rep must have accepted it.
    pub due: DateTime<Utc>,
    pub reason: &'a str,
}

/// What [`Store::assign_lead`] did.
#[derive(Debug)]
pub enum Assignment {
    Assigned(Box<Lead>, RepId),
    /// The lead was no longer waiting for routing.
    AlreadyRouted,
    /// Every candidate holds as many open leads as her caps allow: who, and which cap.
    NobodyHasRoom(Vec<String>),
}

impl Store {
    /// Moves received leads into their pools; leads in timed pools wait there as `scheduled`
    /// until their release, flash leads excepted. Leads no longer `received` are left alone
    /// (routing is idempotent); the leads changed are returned.
    pub async fn place_leads(
        &self,
        placements: &[Placement],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Lead>, Error> {
        if placements.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = placements.iter().map(|p| p.lead.0).collect();
        let pools: Vec<&str> = placements.iter().map(|p| p.entry.pool.as_str()).collect();
        let reasons: Vec<&str> = placements.iter().map(|p| p.entry.reason.as_str()).collect();
        let flash: Vec<bool> = placements.iter().map(|p| p.entry.flash).collect();
        let rows = transition!(
            "WITH input AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $6::bool[]) \
               AS t(id, pool, reason, flash)) \
             UPDATE leads l SET \
               state = CASE WHEN p.kind = 'timed' AND NOT i.flash THEN 'scheduled' ELSE 'available' END, \
               pool_id = i.pool, \
               pooled_at = CASE WHEN p.kind = 'timed' AND NOT i.flash THEN NULL ELSE $4::timestamptz END, \
               updated_at = $4::timestamptz \
             FROM input i JOIN pools p ON p.id = i.pool \
             WHERE l.id = i.id AND l.state = 'received' \
             RETURNING l.*, 'received'::text AS old_state, i.reason AS event_reason",
            "'lead.routed', $5, event_reason, pool_id, NULL, $4, false",
            &ids,
            &pools as &[&str],
            &reasons as &[&str],
            now,
            actor,
            &flash
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows::leads(rows)
    }

    /// Assigns a received lead to the candidate whose turn it is, and counts the turn — both in
    /// one transaction, serialised per rule, so every routing replica shares one fair order.
    /// Candidates at their open-lead caps are passed over.
    pub async fn assign_lead(
        &self,
        request: &AssignmentRequest<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Assignment, Error> {
        let mut tx = self.begin().await?;
        lock_assignment_rule(&mut tx, request.rule_key).await?;
        let reps: Vec<RepId> = request.candidates.iter().map(|c| c.rep.clone()).collect();
        let counts = assignment_counts(&mut *tx, request.rule_key, Some(&reps)).await?;
        // Whose turn it is among those with room under their caps, checked under each rep's
        // claim lock (held until commit), so her own claims cannot slip in between.
        let mut remaining = request.candidates.to_vec();
        let mut full = Vec::new();
        let chosen = loop {
            let Some(next) = next_assignee(request.strategy, &remaining, &counts).cloned() else {
                return Ok(Assignment::NobodyHasRoom(full));
            };
            lock_rep(&mut tx, &next.rep).await?;
            let (total, in_pool) = open_lead_counts(&mut tx, &next.rep, request.pool).await?;
            match next.caps.full(total, in_pool) {
                None => break next,
                Some(why) => {
                    full.push(format!("{} {why}", next.rep.name()));
                    remaining.retain(|c| c.rep != next.rep);
                }
            }
        };
        let reason = format!(
            "{} (turn {} for {})",
            request.reason,
            counts.get(&chosen.rep).copied().unwrap_or(0) + 1,
            chosen.rep.name()
        );
        let lead = transition!(
            "UPDATE leads SET state = 'assigned', owner_rep_id = $2, pool_id = COALESCE($3, pool_id), \
               assigned_by = 'auto', rejectable = true, \
               claimed_at = $4::timestamptz, updated_at = $4::timestamptz, \
               contact_due_at = $5 \
             WHERE id = $1 AND state = 'received' RETURNING *, 'received'::text AS old_state",
            "'lead.auto_assigned', $6, $7, pool_id, owner_rep_id, $4, false",
            request.lead.0,
            chosen.rep.as_str(),
            request.pool.map(PoolId::as_str),
            now,
            request.due,
            actor,
            &reason
        )
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_error)?;
        let Some(lead) = rows::lead(lead)? else {
            return Ok(Assignment::AlreadyRouted);
        };
        count_turns(&mut tx, request.rule_key, std::slice::from_ref(&chosen.rep)).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(Assignment::Assigned(Box::new(lead), chosen.rep))
    }

    /// How many leads each of `reps` received from the assignment rule `rule_key`.
    pub async fn assignment_counts(
        &self,
        rule_key: &str,
        reps: &[RepId],
    ) -> Result<HashMap<RepId, i64>, Error> {
        assignment_counts(&self.pool, rule_key, Some(reps)).await
    }
}

/// Serialises turn counting under `rule_key`: routing's assignments, forced assignment runs.
pub(crate) async fn lock_assignment_rule(
    conn: &mut sqlx::PgConnection,
    rule_key: &str,
) -> Result<(), Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('assign:' || $1, 0))",
        rule_key
    )
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// How many leads each rep (of `reps`, or all) received under `rule_key`.
pub(crate) async fn assignment_counts<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    rule_key: &str,
    reps: Option<&[RepId]>,
) -> Result<HashMap<RepId, i64>, Error> {
    let names: Option<Vec<&str>> = reps.map(|reps| reps.iter().map(RepId::as_str).collect());
    let rows = sqlx::query!(
        "SELECT rep_id, assigned FROM assignment_counts \
         WHERE rule_key = $1 AND ($2::text[] IS NULL OR rep_id = ANY($2))",
        rule_key,
        names.as_deref() as Option<&[&str]>
    )
    .fetch_all(executor)
    .await
    .map_err(db_error)?;
    rows.into_iter()
        .map(|row| Ok((rows::stored_rep(&row.rep_id)?, row.assigned)))
        .collect()
}

/// Counts one more turn under `rule_key` for each rep in `reps` (a rep may appear repeatedly).
pub(crate) async fn count_turns(
    conn: &mut sqlx::PgConnection,
    rule_key: &str,
    reps: &[RepId],
) -> Result<(), Error> {
    let reps: Vec<&str> = reps.iter().map(RepId::as_str).collect();
    sqlx::query!(
        "INSERT INTO assignment_counts (rule_key, rep_id, assigned) \
         SELECT $1, rep, count(*) FROM unnest($2::text[]) AS rep GROUP BY rep \
         ON CONFLICT (rule_key, rep_id) DO UPDATE \
           SET assigned = assignment_counts.assigned + EXCLUDED.assigned",
        rule_key,
        &reps as &[&str]
    )
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    Ok(())
}
