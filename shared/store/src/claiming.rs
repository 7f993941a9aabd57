//! Claiming, one rep at a time: a claim runs in a transaction holding an advisory lock on the
//! rep, so her own concurrent claims (from any replica) see each other's effects. That makes
//! the caps that depend on what she already holds (open leads, claim ratios) exact. Who wins a
//! lead is still decided by one conditional statement per lead, so two reps never get the same
//! lead.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, LeadId, PoolId, Reason, RepId};
use sqlx::{Postgres, Transaction};

use crate::Store;
use crate::error::{db_error, is_foreign_key_violation};
use crate::records::LeadRecord;

/// Lead states that count as a rep's open work.
const OPEN_STATES: &str = "('claimed', 'assigned', 'contacted')";

/// Which available leads a ClaimNext may not take for this rep.
#[derive(Debug, Clone, Default)]
pub struct NextFilter {
    /// Skip leads the rep gave up (released, or lost to an SLA) after this time.
    pub gave_up_after: Option<DateTime<Utc>>,
    /// Skip leads that entered the pool at or after this time: another rep's rotation window.
    pub pooled_before: Option<DateTime<Utc>>,
}

/// An open claim transaction for one rep. Dropping it without [`RepClaim::commit`] rolls back.
pub struct RepClaim {
    tx: Transaction<'static, Postgres>,
    rep: RepId,
}

impl Store {
    /// Starts a claim for `rep`, waiting for her other claims in flight to finish.
    pub async fn begin_claim(&self, rep: &RepId) -> Result<RepClaim, Error> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('claim:' || $1, 0))")
            .bind(rep.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        Ok(RepClaim {
            tx,
            rep: rep.clone(),
        })
    }

    /// When `rep` claimed leads (from `pool`, if given) since `since`, from the history: the
    /// record Redis's claim logs are rebuilt from.
    pub async fn claim_times(
        &self,
        rep: &RepId,
        pool: Option<&PoolId>,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>, Error> {
        let times: Vec<(DateTime<Utc>,)> = sqlx::query_as(
            "SELECT occurred_at FROM lead_events WHERE rep_id = $1 AND occurred_at > $2 \
             AND from_state = 'available' AND to_state = 'claimed' \
             AND ($3::text IS NULL OR pool_id = $3) ORDER BY occurred_at",
        )
        .bind(rep.as_str())
        .bind(since)
        .bind(pool.map(PoolId::as_str))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(times.into_iter().map(|(at,)| at).collect())
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
    pub async fn open_leads_of(&self, rep: &RepId) -> Result<Vec<LeadRecord>, Error> {
        sqlx::query_as::<_, LeadRecord>(&format!(
            "SELECT * FROM leads WHERE owner_rep_id = $1 AND state IN {OPEN_STATES} \
             ORDER BY contact_due_at NULLS LAST, id"
        ))
        .bind(rep.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)
    }
}

impl RepClaim {
    /// Leads the rep holds open, in `pool` if given.
    pub async fn open_leads(&mut self, pool: Option<&PoolId>) -> Result<i64, Error> {
        let (count,): (i64,) = sqlx::query_as(&format!(
            "SELECT count(*) FROM leads WHERE owner_rep_id = $1 AND state IN {OPEN_STATES} \
             AND ($2::text IS NULL OR pool_id = $2)"
        ))
        .bind(self.rep.as_str())
        .bind(pool.map(PoolId::as_str))
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(count)
    }

    /// Claims the rep made from `from` since her last claim from `pool` (ever, if none).
    pub async fn claims_since_last(
        &mut self,
        pool: &PoolId,
        from: &[PoolId],
    ) -> Result<i64, Error> {
        claims_since_last(&mut *self.tx, &self.rep, pool, from).await
    }

    /// When the rep last gave up `lead` (released it or lost it to an SLA), if after `since`.
    pub async fn gave_up_after(
        &mut self,
        lead: LeadId,
        since: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, Error> {
        let (at,): (Option<DateTime<Utc>>,) = sqlx::query_as(
            "SELECT max(occurred_at) FROM lead_events WHERE lead_id = $1 AND rep_id = $2 \
             AND from_state IN ('claimed', 'assigned', 'contacted') \
             AND to_state IN ('available', 'received') AND occurred_at > $3",
        )
        .bind(lead.0)
        .bind(self.rep.as_str())
        .bind(since)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(at)
    }

    /// Claims one chosen lead, if it is still available.
    pub async fn claim_lead(
        &mut self,
        id: LeadId,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<LeadRecord>, Error> {
        const CLAIM: &str = concat!(
            "WITH changed AS (UPDATE leads l SET state = 'claimed', owner_rep_id = $2, claimed_at = $3, \
             contact_due_at = $3 + make_interval(secs => p.contact_sla_seconds), updated_at = $3 \
             FROM pools p WHERE l.id = $1 AND l.state = 'available' AND p.id = l.pool_id \
             RETURNING l.*), ",
            "event AS (INSERT INTO lead_events \
             (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
             SELECT id, 'available', 'claimed', $4, 'claim', pool_id, owner_rep_id, $3 FROM changed) ",
            "SELECT * FROM changed"
        );
        sqlx::query_as::<_, LeadRecord>(CLAIM)
            .bind(id.0)
            .bind(self.rep.as_str())
            .bind(now)
            .bind(actor)
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(|err| claim_error(err, &self.rep))
    }

    /// Claims up to `count` of the highest-priority available leads of `pool` that `filter`
    /// lets this rep take. Leads another claimer holds locked right now are skipped, not
    /// waited for.
    pub async fn claim_next(
        &mut self,
        pool: &PoolId,
        count: i64,
        filter: &NextFilter,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<LeadRecord>, Error> {
        const CLAIM_NEXT: &str = concat!(
            "WITH picked AS (SELECT l.id FROM leads l WHERE l.pool_id = $1 AND l.state = 'available' \
             AND ($7::timestamptz IS NULL OR l.pooled_at < $7) \
             AND ($8::timestamptz IS NULL OR NOT EXISTS (SELECT 1 FROM lead_events e \
               WHERE e.lead_id = l.id AND e.rep_id = $3 AND e.occurred_at > $8 \
               AND e.from_state IN ('claimed', 'assigned', 'contacted') \
               AND e.to_state IN ('available', 'received'))) \
             ORDER BY l.priority DESC, l.pooled_at, l.id LIMIT $2 FOR UPDATE SKIP LOCKED), ",
            "changed AS (UPDATE leads l SET state = 'claimed', owner_rep_id = $3, claimed_at = $4, \
             contact_due_at = $4 + make_interval(secs => p.contact_sla_seconds), updated_at = $4 \
             FROM picked, pools p WHERE l.id = picked.id AND p.id = l.pool_id RETURNING l.*), ",
            "event AS (INSERT INTO lead_events \
             (lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at) \
             SELECT id, 'available', 'claimed', $5, $6, pool_id, owner_rep_id, $4 FROM changed) ",
            "SELECT * FROM changed ORDER BY priority DESC, pooled_at, id"
        );
        let reason = if count == 1 {
            "claim-next"
        } else {
            "claim-batch"
        };
        sqlx::query_as::<_, LeadRecord>(CLAIM_NEXT)
            .bind(pool.as_str())
            .bind(count)
            .bind(self.rep.as_str())
            .bind(now)
            .bind(actor)
            .bind(reason)
            .bind(filter.pooled_before)
            .bind(filter.gave_up_after)
            .fetch_all(&mut *self.tx)
            .await
            .map_err(|err| claim_error(err, &self.rep))
    }

    pub async fn commit(self) -> Result<(), Error> {
        self.tx.commit().await.map_err(db_error)
    }
}

// Ordered by event id, not time: the rep's claims are serialised by her lock, so ids follow
// her claims even when the clock does not move between them.
async fn claims_since_last<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    rep: &RepId,
    pool: &PoolId,
    from: &[PoolId],
) -> Result<i64, Error> {
    let from: Vec<&str> = from.iter().map(PoolId::as_str).collect();
    let (count,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM lead_events WHERE rep_id = $1 AND from_state = 'available' \
         AND to_state = 'claimed' AND pool_id = ANY($3) AND id > COALESCE(( \
           SELECT max(id) FROM lead_events WHERE rep_id = $1 \
           AND from_state = 'available' AND to_state = 'claimed' AND pool_id = $2), 0)",
    )
    .bind(rep.as_str())
    .bind(pool.as_str())
    .bind(&from)
    .fetch_one(executor)
    .await
    .map_err(db_error)?;
    Ok(count)
}

fn claim_error(err: sqlx::Error, rep: &RepId) -> Error {
    if is_foreign_key_violation(&err) {
        Error::precondition(
            Reason::RepNotRegistered,
            rep.name(),
            format!(
                "{} is not a registered rep; ask an admin to add her",
                rep.name()
            ),
        )
    } else {
        db_error(err)
    }
}
