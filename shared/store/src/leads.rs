//! Leads: intake, routing, claiming, releasing, contact, SLA expiry. Each state change is one
//! statement that updates the lead only if it is still in the expected state and appends its
//! history row, so concurrent callers cannot both win and the history cannot be skipped.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, LeadId, PoolId, RepId};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::Store;
use crate::error::db_error;
use crate::records::LeadRecord;

/// Sort orders for browsing a pool; each has its own partial index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadOrder {
    Priority,
    Age,
    Score,
}

/// Where the previous page of a pool listing ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AvailableCursor {
    /// The sort key of the last lead: its priority or score (unused for age).
    pub key: i32,
    pub pooled_at: DateTime<Utc>,
    pub id: Uuid,
}

impl AvailableCursor {
    pub fn after(lead: &LeadRecord, order: LeadOrder) -> Option<Self> {
        Some(Self {
            key: match order {
                LeadOrder::Priority => lead.priority,
                LeadOrder::Score => lead.score,
                LeadOrder::Age => 0,
            },
            pooled_at: lead.pooled_at?,
            id: lead.id,
        })
    }
}

// One history row per changed lead, in the same statement as the change. `changed` must
// return the lead's columns plus `old_state` and `event_rep`.
macro_rules! with_event {
    ($change:expr, $event_values:expr) => {
        concat!(
            "WITH changed AS (",
            $change,
            "), ",
            "event AS (INSERT INTO lead_events ",
            "(lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) ",
            "SELECT id, old_state, state, ",
            $event_values,
            " FROM changed) ",
            "SELECT * FROM changed"
        )
    };
}

impl Store {
    pub async fn get_lead(&self, id: LeadId) -> Result<LeadRecord, Error> {
        sqlx::query_as::<_, LeadRecord>("SELECT * FROM leads WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("lead", id.name()))
    }

    /// Qualified leads still waiting for routing, oldest first.
    pub async fn leads_waiting_for_routing(
        &self,
        received_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<LeadId>, Error> {
        let ids: Vec<(Uuid,)> = sqlx::query_as(
            "SELECT id FROM leads WHERE state = 'received' AND received_at <= $1 \
             ORDER BY received_at LIMIT $2",
        )
        .bind(received_before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(ids.into_iter().map(|(id,)| LeadId(id)).collect())
    }

    /// Returns a lead `rep` owns (claimed or contacted) to its pool.
    pub async fn release_lead(
        &self,
        id: LeadId,
        rep: &RepId,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<LeadRecord>, Error> {
        self.give_back(
            "l.state IN ('claimed', 'contacted')",
            id,
            rep,
            reason,
            actor,
            now,
        )
        .await
    }

    /// Marks a lead `rep` has claimed as contacted, which stops its contact SLA.
    pub async fn record_contact(
        &self,
        id: LeadId,
        rep: &RepId,
        note: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<LeadRecord>, Error> {
        const CONTACT: &str = with_event!(
            "UPDATE leads SET state = 'contacted', contacted_at = $3, updated_at = $3 \
             WHERE id = $1 AND owner_rep_id = $2 AND state = 'claimed' \
             RETURNING *, 'claimed'::text AS old_state, owner_rep_id AS event_rep",
            "$4, $5, pool_id, event_rep, $3"
        );
        sqlx::query_as::<_, LeadRecord>(CONTACT)
            .bind(id.0)
            .bind(rep.as_str())
            .bind(now)
            .bind(actor)
            .bind(note)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)
    }

    /// One page of the available leads of `pool`, in `order`, after `cursor`.
    pub async fn list_available(
        &self,
        pool: &PoolId,
        order: LeadOrder,
        cursor: Option<&AvailableCursor>,
        limit: i64,
    ) -> Result<Vec<LeadRecord>, Error> {
        const BASE: &str = "SELECT * FROM leads WHERE pool_id = $1 AND state = 'available' ";
        // Keyset pagination: each page continues strictly after the previous page's last lead.
        let (after, order_by) = match order {
            LeadOrder::Priority => (
                "AND (priority < $3 OR (priority = $3 AND (pooled_at, id) > ($4, $5))) ",
                "ORDER BY priority DESC, pooled_at, id LIMIT $2",
            ),
            LeadOrder::Score => (
                "AND (score < $3 OR (score = $3 AND (pooled_at, id) > ($4, $5))) ",
                "ORDER BY score DESC, pooled_at, id LIMIT $2",
            ),
            LeadOrder::Age => (
                "AND (pooled_at, id) > ($3, $4) ",
                "ORDER BY pooled_at, id LIMIT $2",
            ),
        };
        let sql = match cursor {
            Some(_) => format!("{BASE}{after}{order_by}"),
            None => format!("{BASE}{order_by}"),
        };
        let query = sqlx::query_as::<_, LeadRecord>(&sql)
            .bind(pool.as_str())
            .bind(limit);
        let query = match (cursor, order) {
            (None, _) => query,
            (Some(c), LeadOrder::Age) => query.bind(c.pooled_at).bind(c.id),
            (Some(c), _) => query.bind(c.key).bind(c.pooled_at).bind(c.id),
        };
        query.fetch_all(&self.pool).await.map_err(db_error)
    }

    /// Leads available in `pool` right now.
    pub async fn count_available(&self, pool: &PoolId) -> Result<i64, Error> {
        let (count,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM leads WHERE pool_id = $1 AND state = 'available'")
                .bind(pool.as_str())
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(count)
    }
}

/// Takes back, in batches, the leads whose owner missed the deadline at or before `now`:
/// claimed leads not contacted in time and assigned leads not accepted in time. They return
/// to their pool (or to routing, without one). Runs inside the caller's transaction so the
/// job's run record commits with it.
pub async fn expire_contact_slas(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    actor: &str,
    batch_size: i64,
) -> Result<Vec<LeadId>, Error> {
    const EXPIRE: &str = concat!(
        "WITH due AS (SELECT id, state AS old_state, owner_rep_id FROM leads \
         WHERE state IN ('claimed', 'assigned') AND contact_due_at <= $1 \
         ORDER BY contact_due_at LIMIT $2 FOR UPDATE SKIP LOCKED), ",
        "changed AS (UPDATE leads l SET \
         state = CASE WHEN l.pool_id IS NULL THEN 'received' ELSE 'available' END, \
         pooled_at = CASE WHEN l.pool_id IS NULL THEN NULL ELSE COALESCE(l.pooled_at, $1) END, \
         owner_rep_id = NULL, claimed_at = NULL, contact_due_at = NULL, updated_at = $1 \
         FROM due WHERE l.id = due.id \
         RETURNING l.id, l.state, l.pool_id, due.old_state, due.owner_rep_id AS lost_by), ",
        "event AS (INSERT INTO lead_events \
         (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
         SELECT id, old_state, state, $3, CASE old_state WHEN 'claimed' THEN 'contact SLA expired' \
         ELSE 'assignment not accepted in time' END, pool_id, lost_by, $1 FROM changed) ",
        "SELECT id FROM changed"
    );
    let mut expired = Vec::new();
    loop {
        let batch: Vec<(Uuid,)> = sqlx::query_as(EXPIRE)
            .bind(now)
            .bind(batch_size)
            .bind(actor)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
        let done = (batch.len() as i64) < batch_size;
        expired.extend(batch.into_iter().map(|(id,)| LeadId(id)));
        if done {
            return Ok(expired);
        }
    }
}
