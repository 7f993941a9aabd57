//! Group commit: the claims waiting for one pool, made in one transaction whose one statement
//! hands K leads to K reps with their history rows. The transaction holds each rep's claim lock
//! (taken without waiting: a rep whose lock is busy is left to claim on her own), so the caps
//! read under it are exact as they are for a single claim; who gets which lead is still decided
//! by the statement's `FOR UPDATE SKIP LOCKED`, so no lead goes to two reps.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, Lead, PoolId, RepId};
use sqlx::{Postgres, Transaction};

use crate::Store;
use crate::error::db_error;
use crate::rows;

/// One lead to hand out, in hand-out order (the best lead goes to the first slot).
#[derive(Debug, Clone)]
pub struct Slot {
    pub rep: RepId,
    /// Who asked, for the history row.
    pub actor: String,
    /// `claim-next` or `claim-batch`.
    pub reason: &'static str,
    /// The asking call's trace, for the history row.
    pub traceparent: Option<String>,
}

/// An open batch transaction. Dropped without [`BatchClaim::commit`], it rolls back.
pub struct BatchClaim {
    tx: Transaction<'static, Postgres>,
}

impl Store {
    /// Opens a batch transaction holding the claim locks of those of `reps` that nobody holds
    /// right now; returns them (the others should claim on their own, waiting for their lock).
    pub async fn begin_batch_claim(
        &self,
        reps: &[RepId],
    ) -> Result<(BatchClaim, Vec<RepId>), Error> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let names: Vec<&str> = reps.iter().map(RepId::as_str).collect();
        // The batch's statements keep one plan each: planning them anew for every batch (what
        // custom plans for their array parameters would do) costs more than running them. A
        // generic plan takes its bound LIMIT for a tenth of the pool, so its estimated cost grows
        // with the pool; past `jit_above_cost` (measured: five million leads in one pool) Postgres
        // would compile the hand-out to machine code on every run, 30-40 ms each time for a
        // statement that runs in half a millisecond. No statement of a claim is long enough to
        // gain from it, so the transaction turns it off.
        let locked = sqlx::query_scalar!(
            r#"SELECT rep AS "rep!" FROM (SELECT DISTINCT rep FROM unnest($1::text[]) AS rep) reps,
                 set_config('plan_cache_mode', 'force_generic_plan', true) AS generic,
                 set_config('jit', 'off', true) AS interpreted
               WHERE pg_try_advisory_xact_lock(hashtextextended('claim:' || rep, 0))"#,
            &names as &[&str]
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        let locked = reps
            .iter()
            .filter(|rep| locked.iter().any(|name| name == rep.as_str()))
            .cloned()
            .collect();
        Ok((BatchClaim { tx }, locked))
    }
}

impl BatchClaim {
    /// The open leads each of `reps` holds: in total, and from `pool`. Read after the locks,
    /// so no claim of theirs is in flight.
    pub async fn open_leads(
        &mut self,
        reps: &[RepId],
        pool: &PoolId,
    ) -> Result<HashMap<RepId, (i64, i64)>, Error> {
        let names: Vec<&str> = reps.iter().map(RepId::as_str).collect();
        let rows = sqlx::query!(
            r#"SELECT rep_id, coalesce(sum(open), 0)::bigint AS "total!",
                 coalesce(sum(open) FILTER (WHERE pool_id = $2), 0)::bigint AS "in_pool!"
               FROM rep_open_leads WHERE rep_id = ANY ($1) GROUP BY rep_id"#,
            &names as &[&str],
            pool.as_str()
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(reps
            .iter()
            .map(|rep| {
                let counts = rows
                    .iter()
                    .find(|row| row.rep_id == rep.as_str())
                    .map_or((0, 0), |row| (row.total, row.in_pool));
                (rep.clone(), counts)
            })
            .collect())
    }

    /// Hands the first available leads of `pool` in its claim order (aging places derived:
    /// `pool_order`) to `slots`, the first slot the best one; fewer when the pool runs out. The
    /// leads come back in slot order, each to be contacted by `due`.
    pub async fn hand_out(
        &mut self,
        pool: &PoolId,
        slots: &[Slot],
        due: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Lead>, Error> {
        let reps: Vec<&str> = slots.iter().map(|s| s.rep.as_str()).collect();
        let actors: Vec<&str> = slots.iter().map(|s| s.actor.as_str()).collect();
        let reasons: Vec<&str> = slots.iter().map(|s| s.reason).collect();
        let traces: Vec<&str> = slots
            .iter()
            .map(|s| s.traceparent.as_deref().unwrap_or_default())
            .collect();
        let rows = pick_in_pool_order!(
            "true",
            "$6",
            transition!(
                traced: [
                    ", slots AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], \
                       $5::text[]) WITH ORDINALITY AS s (rep, actor, reason, trace, slot)) \
                     UPDATE leads l SET state = 'claimed', owner_rep_id = s.rep, \
                       claimed_at = $7::timestamptz, updated_at = $7::timestamptz, \
                       contact_due_at = $8, assigned_by = NULL, rejectable = false \
                     FROM picked p JOIN slots s ON s.slot = p.place \
                     WHERE l.id = p.id \
                     RETURNING l.*, 'available'::text AS old_state, s.actor, s.reason, s.trace, s.slot"
                ],
                "'lead.claimed', actor, reason, pool_id, owner_rep_id, $7, false, NULLIF(trace, '')";
                order by "slot",
                pool.as_str(),
                &reps as &[&str],
                &actors as &[&str],
                &reasons as &[&str],
                &traces as &[&str],
                i64::try_from(slots.len()).unwrap_or(i64::MAX),
                now,
                due
            )
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_error)?;
        rows::leads(rows)
    }

    /// Commits the batch. A connection lost during the COMMIT leaves its outcome unknown
    /// ([`Error::OutcomeUnknown`]): the claims may have been made.
    pub async fn commit(self) -> Result<(), Error> {
        self.tx
            .commit()
            .await
            .map_err(super::claiming::commit_error)
    }
}
