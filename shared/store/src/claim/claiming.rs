//! Claiming, one rep at a time: a claim runs in a transaction holding an advisory lock on the
//! rep, so her own concurrent claims (from any replica) see each other's effects. That makes
//! the caps that depend on what she already holds (open leads, claim ratios) exact. Who wins a
//! lead is still decided by one conditional statement per lead, so two reps never get the same
//! lead.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, Lead, LeadId, PoolId, Reason, RepId};
use sqlx::{Postgres, Transaction};

use crate::Store;
use crate::error::{db_error, is_foreign_key_violation};
use crate::rows;

/// What a ClaimNext gives the rep — leads to be contacted by `due` — and which available
/// leads it may not take for her.
#[derive(Debug, Clone)]
pub struct NextClaim {
    /// When what is claimed must be contacted (the pool's SLA on its clock).
    pub due: DateTime<Utc>,
    /// Skip leads the rep gave up (released, or lost to an SLA) after this time.
    pub gave_up_after: Option<DateTime<Utc>>,
    /// Skip leads that entered the pool at or after this time: another rep's rotation window.
    pub pooled_before: Option<DateTime<Utc>>,
    /// Skip leads asking for skills the rep lacks (a pool's `skills`).
    pub skills: Option<SkillFilter>,
}

/// The skills a rep covers, for a pool that gives leads only to reps covering theirs: a lead
/// whose product (industry, language) is set and not among hers is skipped — unless it
/// entered the pool at or before `relaxed_before`. `None`: that skill is not matched.
#[derive(Debug, Clone)]
pub struct SkillFilter {
    pub products: Option<Vec<String>>,
    pub industries: Option<Vec<String>>,
    pub languages: Option<Vec<String>>,
    pub relaxed_before: DateTime<Utc>,
}

/// An open claim transaction for one rep. Dropping it without [`RepClaim::commit`] rolls back.
pub struct RepClaim {
    tx: Transaction<'static, Postgres>,
    rep: RepId,
}

impl Store {
    /// Starts a claim for `rep`, waiting for her other claims in flight to finish.
    pub async fn begin_claim(&self, rep: &RepId) -> Result<RepClaim, Error> {
        let mut tx = self.begin().await?;
        lock_rep(&mut tx, rep).await?;
        Ok(RepClaim {
            tx,
            rep: rep.clone(),
        })
    }

    /// Starts a claim of one lead the pool picks for `rep` (a ClaimNext), as
    /// [`Store::begin_claim`] does, with the transaction's statements on their generic plans and
    /// JIT off, as a group's are. Each of them is keyed by the rep, her pool or a lead, or picks
    /// one lead down the pool's index ([`RepClaim::claim_next`] with a count of one), so one plan
    /// serves every call: planning the pick anew cost more than running it (0.33-0.35 ms against
    /// 0.29 ms in `psql`, a million leads; in the bench a sixth more claims).
    ///
    /// A generic plan is made on the statistics of its moment and kept until they change: the
    /// pick's probe of the history is right once the history has statistics (every lead has its
    /// intake rows; autovacuum analyzes them), and over a history analyzed empty it would scan
    /// the history for each candidate ("Why a generic plan failed this pick" in
    /// docs/benchmarks.md).
    pub async fn begin_claim_of_one(&self, rep: &RepId) -> Result<RepClaim, Error> {
        let mut tx = self.begin().await?;
        sqlx::query!(
            "SELECT set_config('plan_cache_mode', 'force_generic_plan', true) AS generic, \
               set_config('jit', 'off', true) AS interpreted \
             FROM pg_advisory_xact_lock(hashtextextended('claim:' || $1, 0))",
            rep.as_str()
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        Ok(RepClaim {
            tx,
            rep: rep.clone(),
        })
    }
}

/// Takes `rep`'s claim lock for the rest of the transaction, waiting for whoever holds it: every
/// writer that gives her an open lead (her claims, a manager's assignment, a push) holds it, so
/// her open-lead count cannot change under it.
pub(crate) async fn lock_rep(conn: &mut sqlx::PgConnection, rep: &RepId) -> Result<(), Error> {
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('claim:' || $1, 0))",
        rep.as_str()
    )
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Like [`lock_rep`], but only if nobody holds it now: for a job that already holds lead row
/// locks, which must never wait on a rep who may be waiting on those rows.
pub(crate) async fn try_lock_rep(
    conn: &mut sqlx::PgConnection,
    rep: &RepId,
) -> Result<bool, Error> {
    sqlx::query_scalar!(
        r#"SELECT pg_try_advisory_xact_lock(hashtextextended('claim:' || $1, 0)) AS "locked!""#,
        rep.as_str()
    )
    .fetch_one(conn)
    .await
    .map_err(db_error)
}

/// The open leads (claimed, assigned, contacted) `rep` holds: in total, and from `pool` —
/// from her counters (migration 0013), so a cap costs the same however many she holds.
pub(crate) async fn open_lead_counts(
    conn: &mut sqlx::PgConnection,
    rep: &RepId,
    pool: Option<&PoolId>,
) -> Result<(i64, i64), Error> {
    let row = sqlx::query!(
        r#"SELECT coalesce(sum(open), 0)::bigint AS "total!",
             coalesce(sum(open) FILTER (WHERE pool_id = $2), 0)::bigint AS "in_pool!"
           FROM rep_open_leads WHERE rep_id = $1"#,
        rep.as_str(),
        pool.map(PoolId::as_str)
    )
    .fetch_one(conn)
    .await
    .map_err(db_error)?;
    Ok((row.total, row.in_pool))
}

impl RepClaim {
    /// The rep whose lock this transaction holds.
    pub fn rep(&self) -> &RepId {
        &self.rep
    }

    pub(super) fn conn(&mut self) -> &mut sqlx::PgConnection {
        &mut self.tx
    }

    /// Leads the rep holds open (claimed, assigned, contacted), in `pool` if given.
    pub async fn open_leads(&mut self, pool: Option<&PoolId>) -> Result<i64, Error> {
        let (total, in_pool) = open_lead_counts(&mut self.tx, &self.rep, pool).await?;
        Ok(if pool.is_some() { in_pool } else { total })
    }

    /// The rep's worked and pending claims towards `pool`'s ratio (see `RatioProgress`).
    pub async fn ratio_progress(
        &mut self,
        pool: &PoolId,
        from: &[PoolId],
        min_hold: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<super::RatioProgress, Error> {
        super::history::ratio_progress(&mut self.tx, &self.rep, pool, from, min_hold, now).await
    }

    /// When the rep last gave up `lead` (released it or lost it to an SLA), if after `since`.
    pub async fn gave_up_after(
        &mut self,
        lead: LeadId,
        since: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, Error> {
        sqlx::query_scalar!(
            "SELECT max(occurred_at) FROM lead_events WHERE lead_id = $1 AND rep_id = $2 \
             AND from_state IN ('claimed', 'assigned', 'contacted') \
             AND to_state IN ('available', 'received') AND occurred_at > $3",
            lead.0,
            self.rep.as_str(),
            since
        )
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db_error)
    }

    /// Claims one chosen lead, if it is still available in `pool`; it is to be contacted by
    /// `due` (the pool's contact SLA from now, on its clock).
    pub async fn claim_lead(
        &mut self,
        id: LeadId,
        pool: &PoolId,
        due: DateTime<Utc>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Lead>, Error> {
        let row = transition!(
            "UPDATE leads l SET state = 'claimed', owner_rep_id = $2, claimed_at = $3::timestamptz, \
             contact_due_at = $6, assigned_by = NULL, rejectable = false, \
             updated_at = $3::timestamptz \
             WHERE l.id = $1 AND l.state = 'available' AND l.pool_id = $5 \
             RETURNING l.*, 'available'::text AS old_state",
            "'lead.claimed', $4, 'claim', pool_id, owner_rep_id, $3, false",
            id.0,
            self.rep.as_str(),
            now,
            actor,
            pool.as_str(),
            due
        )
        .fetch_optional(&mut *self.tx)
        .await
        .map_err(|err| claim_error(err, &self.rep))?;
        rows::lead(row)
    }

    /// Claims up to `count` of the first available leads of `pool` in its claim order (aging
    /// places derived: `pool_order`) that `filter` lets this rep take. Leads another claimer
    /// holds locked right now are skipped, not waited for.
    ///
    /// A count of one (every ClaimNext) has its own statement with the count written in: its
    /// generic plan is then the pick down the pool's indexes that its custom plans are, and a
    /// transaction begun by [`Store::begin_claim_of_one`] keeps it instead of planning the
    /// statement anew for every claim. A bound count is a LIMIT the generic plan cannot see,
    /// which it takes for a tenth of the pool.
    ///
    /// The embargo's `NOT EXISTS` ends in `OFFSET 0` so that it stays a probe of each candidate
    /// lead's own history (`lead_events_by_lead`, a few rows a lead). Without it the planner may
    /// hash the rep's every give-up in the embargo window instead, read through her whole
    /// history in that window (`lead_events_by_rep`), on every claim: in `psql`, 19 ms a claim
    /// for a rep with 9,500 history rows in the window (0.4 ms with 500), 0.16 ms probed.
    pub async fn claim_next(
        &mut self,
        pool: &PoolId,
        count: i64,
        filter: &NextClaim,
        actor: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Lead>, Error> {
        // The statement with `$limit` as its LIMITs: `1`, or `$13` with the count bound.
        macro_rules! pick_and_claim {
            ($limit:literal $(, $count:expr)?) => {
                pick_in_pool_order!(
                    "($6::timestamptz IS NULL OR l.pooled_at < $6) \
                     AND ($7::timestamptz IS NULL OR NOT EXISTS (SELECT 1 FROM lead_events e \
                       WHERE e.lead_id = l.id AND e.rep_id = $2 AND e.occurred_at > $7 \
                       AND e.from_state IN ('claimed', 'assigned', 'contacted') \
                       AND e.to_state IN ('available', 'received') OFFSET 0)) \
                     AND ($9::timestamptz IS NULL OR l.pooled_at <= $9 \
                       OR (($10::text[] IS NULL OR l.product = '' OR l.product = ANY($10)) \
                         AND ($11::text[] IS NULL OR l.industry = '' OR l.industry = ANY($11)) \
                         AND ($12::text[] IS NULL OR l.language = '' OR l.language = ANY($12))))",
                    $limit,
                    transition!(
                        [
                            "UPDATE leads l SET state = 'claimed', owner_rep_id = $2, \
                               claimed_at = $3::timestamptz, contact_due_at = $8, \
                               assigned_by = NULL, rejectable = false, updated_at = $3::timestamptz \
                             FROM picked WHERE l.id = picked.id \
                             RETURNING l.*, 'available'::text AS old_state, picked.place"
                        ],
                        "'lead.claimed', $4, $5, pool_id, owner_rep_id, $3, false";
                        order by "place",
                        pool.as_str(),
                        self.rep.as_str(),
                        now,
                        actor,
                        reason,
                        filter.pooled_before,
                        filter.gave_up_after,
                        filter.due,
                        filter.skills.as_ref().map(|s| s.relaxed_before),
                        filter.skills.as_ref().and_then(|s| s.products.as_deref()),
                        filter.skills.as_ref().and_then(|s| s.industries.as_deref()),
                        filter.skills.as_ref().and_then(|s| s.languages.as_deref())
                        $(, $count)?
                    )
                )
                .fetch_all(&mut *self.tx)
                .await
            };
        }
        let rows = if count == 1 {
            pick_and_claim!("1")
        } else {
            pick_and_claim!("$13", count)
        }
        .map_err(|err| claim_error(err, &self.rep))?;
        rows::leads(rows)
    }

    /// Commits the claim. A connection lost during the COMMIT leaves its outcome unknown
    /// ([`Error::OutcomeUnknown`]): the claim may have been made.
    pub async fn commit(self) -> Result<(), Error> {
        self.tx.commit().await.map_err(commit_error)
    }
}

/// A COMMIT that failed because the connection did (its outcome is unknown), or otherwise.
pub(super) fn commit_error(err: sqlx::Error) -> Error {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => Error::OutcomeUnknown(format!("committing a claim: {err}")),
        other => db_error(other),
    }
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
