//! What the claim service reads from the lead history: a lead's events, a rep's claims (the
//! record Redis's claim logs are rebuilt from, and what claim ratios count), and how she
//! decided her assignments.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, Lead, LeadEvent, LeadId, PoolId, RepId};

use crate::Store;
use crate::error::db_error;
use crate::rows::{self, EventRow};

/// C6: the rep's claims from a ratio's `from` pools since her last claim from the ratio's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RatioProgress {
    /// Worked: contacted (or closed) while she held the lead, or kept at least the minimum hold.
    pub worked: i64,
    /// Still held, neither contacted nor kept long enough yet: they count once they are.
    pub pending: i64,
}

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

    /// `rep`'s claims from `from` since her last claim from `pool` (ever, if none), as of
    /// `now`; see [`RatioProgress`].
    pub async fn ratio_progress(
        &self,
        rep: &RepId,
        pool: &PoolId,
        from: &[PoolId],
        min_hold: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<RatioProgress, Error> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        ratio_progress(&mut conn, rep, pool, from, min_hold, now).await
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
// her claims even when the clock does not move between them. A claim's hold ends with the
// first change that took the lead from her (released, expired, returned, reassigned, drained);
// it was worked if she contacted the lead or recorded an outcome before that, or if the hold
// lasted (or has lasted, until `now`) at least `min_hold`.
pub(super) async fn ratio_progress(
    conn: &mut sqlx::PgConnection,
    rep: &RepId,
    pool: &PoolId,
    from: &[PoolId],
    min_hold: chrono::Duration,
    now: DateTime<Utc>,
) -> Result<RatioProgress, Error> {
    let from: Vec<&str> = from.iter().map(PoolId::as_str).collect();
    let row = sqlx::query!(
        r#"WITH claims AS (
             SELECT c.id, c.occurred_at, gone.id AS gone_id, gone.occurred_at AS gone_at,
               EXISTS (SELECT 1 FROM lead_events w WHERE w.lead_id = c.lead_id AND w.id > c.id
                   AND w.id < COALESCE(gone.id, 9223372036854775807) AND w.rep_id = $1
                   AND w.kind IN ('lead.contacted', 'lead.opportunity', 'lead.won', 'lead.lost'))
                 AS contacted
             FROM lead_events c
             LEFT JOIN LATERAL (SELECT e.id, e.occurred_at FROM lead_events e
               WHERE e.lead_id = c.lead_id AND e.id > c.id
                 AND e.kind IN ('lead.released', 'lead.sla_expired', 'lead.returned',
                   'lead.reassigned', 'lead.drained')
               ORDER BY e.id LIMIT 1) gone ON true
             WHERE c.rep_id = $1 AND c.kind = 'lead.claimed' AND c.pool_id = ANY($3)
               AND c.id > COALESCE((SELECT max(id) FROM lead_events WHERE rep_id = $1
                 AND kind = 'lead.claimed' AND pool_id = $2), 0))
           SELECT
             count(*) FILTER (WHERE contacted
               OR COALESCE(gone_at, $4) - occurred_at >= make_interval(secs => $5)) AS "worked!",
             count(*) FILTER (WHERE NOT contacted AND gone_id IS NULL
               AND $4 - occurred_at < make_interval(secs => $5)) AS "pending!"
           FROM claims"#,
        rep.as_str(),
        pool.as_str(),
        &from as &[&str],
        now,
        min_hold.num_seconds() as f64
    )
    .fetch_one(conn)
    .await
    .map_err(db_error)?;
    Ok(RatioProgress {
        worked: row.worked,
        pending: row.pending,
    })
}
