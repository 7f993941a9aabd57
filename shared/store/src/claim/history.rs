//! What the claim service reads from the lead history: a lead's events, a rep's claims (the
//! record Redis's claim logs are rebuilt from, and what claim ratios count), and how she
//! decided her assignments.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, Lead, LeadEvent, LeadId, PoolId, RepId};

use crate::Store;
use crate::error::db_error;
use crate::rows::{self, EventRow};

/// Assignments a rep decided (accepted, rejected, or let expire) in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AssignmentDecisions {
    pub accepted: u32,
    pub decided: u32,
}

impl Store {
    /// A lead's history, oldest first, after event `after_id`.
    pub async fn lead_events(
        &self,
        lead: LeadId,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<LeadEvent>, Error> {
        sqlx::query_as!(
            EventRow,
            "SELECT id, lead_id, kind, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at \
             FROM lead_events WHERE lead_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            lead.0,
            after_id,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }

    /// When `rep` claimed leads (from `pool`, if given) since `since`: the record Redis's
    /// claim logs are rebuilt from.
    pub async fn claim_times(
        &self,
        rep: &RepId,
        pool: Option<&PoolId>,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, Error> {
        sqlx::query_scalar!(
            "SELECT occurred_at FROM lead_events WHERE rep_id = $1 AND occurred_at > $2 \
             AND from_state = 'available' AND to_state = 'claimed' \
             AND ($3::text IS NULL OR pool_id = $3) ORDER BY occurred_at",
            rep.as_str(),
            since,
            pool.map(PoolId::as_str)
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)
    }

    /// Claims `rep` made from `from` since her last claim from `pool` (ever, if none).
    pub async fn claims_since_last(
        &self,
        rep: &RepId,
        pool: &PoolId,
        from: &[PoolId],
    ) -> Result<i64, Error> {
        claims_since_last(&self.pool, rep, pool, from).await
    }

    /// The leads `rep` is working on (claimed, assigned or contacted), earliest deadline first.
    pub async fn open_leads_of(&self, rep: &RepId) -> Result<Vec<Lead>, Error> {
        let rows = lead_rows!(
            [
                "out AS (SELECT * FROM leads WHERE owner_rep_id = $1 \
                 AND state IN ('claimed', 'assigned', 'contacted'))"
            ]
            order by "contact_due_at NULLS LAST, id",
            rep.as_str()
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows::leads(rows)
    }

    /// How `rep` decided the assignments she had a choice about: an accepted one became
    /// claimed; rejected and expired ones went back. Decisions excused from her acceptance (no
    /// choice, or off duty) do not count.
    pub async fn assignment_decisions(
        &self,
        rep: &RepId,
        since: DateTime<Utc>,
    ) -> Result<AssignmentDecisions, Error> {
        let counts = sqlx::query!(
            r#"SELECT count(*) FILTER (WHERE kind = 'lead.assignment_accepted') AS "accepted!",
                 count(*) AS "decided!" FROM lead_events
               WHERE rep_id = $1 AND from_state = 'assigned' AND occurred_at > $2 AND NOT excused
                 AND kind IN ('lead.assignment_accepted', 'lead.assignment_rejected',
                   'lead.assignment_expired')"#,
            rep.as_str(),
            since
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(AssignmentDecisions {
            accepted: u32::try_from(counts.accepted).unwrap_or(u32::MAX),
            decided: u32::try_from(counts.decided).unwrap_or(u32::MAX),
        })
    }
}

// Ordered by event id, not time: the rep's claims are serialised by her lock, so ids follow
// her claims even when the clock does not move between them.
pub(super) async fn claims_since_last<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    rep: &RepId,
    pool: &PoolId,
    from: &[PoolId],
) -> Result<i64, Error> {
    let from: Vec<&str> = from.iter().map(PoolId::as_str).collect();
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM lead_events WHERE rep_id = $1
           AND from_state = 'available' AND to_state = 'claimed' AND pool_id = ANY($3)
           AND id > COALESCE((SELECT max(id) FROM lead_events WHERE rep_id = $1
             AND from_state = 'available' AND to_state = 'claimed' AND pool_id = $2), 0)"#,
        rep.as_str(),
        pool.as_str(),
        &from as &[&str]
    )
    .fetch_one(executor)
    .await
    .map_err(db_error)
}
