//! The raw figures behind pool health (M1–M6), read from the leads and their history. The
//! scheduler turns them into rates, shares and alerts; nothing here interprets them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, PoolId};

use super::JobTx;
use crate::Store;
use crate::error::db_error;

/// Leads in a pool now, by state and (available ones) by time in the pool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolCounts {
    pub available: i64,
    pub scheduled: i64,
    pub escalated: i64,
    pub under_12h: i64,
    pub from_12h_to_24h: i64,
    pub over_24h: i64,
    pub over_48h: i64,
}

/// Claims from, and new leads into, a pool over one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub claims: i64,
    pub new_leads: i64,
}

/// One claim from a pool: how long after pool entry, and the local hour and weekday (1 =
/// Monday) it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimTiming {
    pub seconds: f64,
    pub hour: i32,
    pub weekday: i32,
}

/// M4: outcomes of the leads that entered a pool in a window, read from their history.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcomes {
    pub leads: i64,
    /// Ever reached opportunity (an opportunity outcome, or won directly), even if later lost.
    pub opportunities: i64,
    pub customers: i64,
    pub lost: i64,
    /// Of the won leads.
    pub average_deal_size_minor: Option<f64>,
    /// Pool entry to the final close (won or lost).
    pub average_cycle_seconds: Option<f64>,
}

/// A rep below her claim quota on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaShortfall {
    pub rep_id: String,
    pub day: chrono::NaiveDate,
    pub claims: i32,
    pub minimum: i32,
    pub recorded_at: DateTime<Utc>,
}

impl Store {
    pub async fn pool_counts(
        &self,
        pool: &PoolId,
        now: DateTime<Utc>,
    ) -> Result<PoolCounts, Error> {
        sqlx::query_as!(
            PoolCounts,
            r#"SELECT count(*) FILTER (WHERE state = 'available') AS "available!",
                 count(*) FILTER (WHERE state = 'scheduled') AS "scheduled!",
                 count(*) FILTER (WHERE state = 'escalated') AS "escalated!",
                 count(*) FILTER (WHERE state = 'available' AND pooled_at > $2::timestamptz - interval '12 hours')
                   AS "under_12h!",
                 count(*) FILTER (WHERE state = 'available' AND pooled_at <= $2::timestamptz - interval '12 hours'
                   AND pooled_at > $2::timestamptz - interval '24 hours') AS "from_12h_to_24h!",
                 count(*) FILTER (WHERE state = 'available' AND pooled_at <= $2::timestamptz - interval '24 hours')
                   AS "over_24h!",
                 count(*) FILTER (WHERE state = 'available' AND pooled_at <= $2::timestamptz - interval '48 hours')
                   AS "over_48h!"
               FROM leads WHERE pool_id = $1 AND state IN ('available', 'scheduled', 'escalated')"#,
            pool.as_str(),
            now
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)
    }

    /// Claims (available → claimed) and arrivals (received → available or scheduled) per
    /// window `(start, end]` (what happened at the instant asked about counts), in the order
    /// given.
    pub async fn pool_flows(
        &self,
        pool: &PoolId,
        windows: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<Vec<Flow>, Error> {
        let starts: Vec<DateTime<Utc>> = windows.iter().map(|w| w.0).collect();
        let ends: Vec<DateTime<Utc>> = windows.iter().map(|w| w.1).collect();
        sqlx::query_as!(
            Flow,
            r#"SELECT w.s AS "start!", w.e AS "end!",
                 (SELECT count(*) FROM lead_events x WHERE x.pool_id = $1 AND x.from_state = 'available'
                    AND x.to_state = 'claimed' AND x.occurred_at > w.s AND x.occurred_at <= w.e) AS "claims!",
                 (SELECT count(*) FROM lead_events x WHERE x.pool_id = $1 AND x.from_state = 'received'
                    AND x.to_state IN ('available', 'scheduled') AND x.occurred_at > w.s
                    AND x.occurred_at <= w.e) AS "new_leads!"
               FROM unnest($2::timestamptz[], $3::timestamptz[]) WITH ORDINALITY AS w(s, e, i)
               ORDER BY w.i"#,
            pool.as_str(),
            &starts,
            &ends
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)
    }

    /// Every claim from `pool` in `(from, to]`, with local hour and weekday in `time_zone`.
    pub async fn claim_timings(
        &self,
        pool: &PoolId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        time_zone: &str,
    ) -> Result<Vec<ClaimTiming>, Error> {
        sqlx::query_as!(
            ClaimTiming,
            r#"SELECT GREATEST(EXTRACT(EPOCH FROM e.occurred_at - l.pooled_at), 0)::float8 AS "seconds!",
                 EXTRACT(HOUR FROM e.occurred_at AT TIME ZONE $4)::int AS "hour!",
                 EXTRACT(ISODOW FROM e.occurred_at AT TIME ZONE $4)::int AS "weekday!"
               FROM lead_events e JOIN leads l ON l.id = e.lead_id
               WHERE e.pool_id = $1 AND e.from_state = 'available' AND e.to_state = 'claimed'
                 AND e.occurred_at > $2 AND e.occurred_at <= $3 AND l.pooled_at IS NOT NULL"#,
            pool.as_str(),
            from,
            to,
            time_zone
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)
    }

    /// Outcomes of the leads that entered `pool` in `(from, to]`, from their history: whether
    /// each ever became an opportunity, whether it was won or lost, and when it finally closed.
    pub async fn pool_outcomes(
        &self,
        pool: &PoolId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Outcomes, Error> {
        sqlx::query_as!(
            Outcomes,
            r#"SELECT count(*) AS "leads!",
                 count(*) FILTER (WHERE h.opportunity) AS "opportunities!",
                 count(*) FILTER (WHERE h.won) AS "customers!",
                 count(*) FILTER (WHERE h.lost) AS "lost!",
                 (avg(l.deal_size_minor) FILTER (WHERE h.won))::float8 AS average_deal_size_minor,
                 (avg(EXTRACT(EPOCH FROM h.closed_at - l.pooled_at))
                   FILTER (WHERE h.closed_at IS NOT NULL))::float8 AS average_cycle_seconds
               FROM leads l CROSS JOIN LATERAL (
                 SELECT COALESCE(bool_or(e.kind IN ('lead.opportunity', 'lead.won')), false) AS opportunity,
                   COALESCE(bool_or(e.kind = 'lead.won'), false) AS won,
                   COALESCE(bool_or(e.kind = 'lead.lost'), false) AS lost,
                   min(e.occurred_at) FILTER (WHERE e.kind IN ('lead.won', 'lead.lost')) AS closed_at
                 FROM lead_events e WHERE e.lead_id = l.id
                   AND e.kind IN ('lead.opportunity', 'lead.won', 'lead.lost')) h
               WHERE l.pool_id = $1 AND l.pooled_at > $2 AND l.pooled_at <= $3"#,
            pool.as_str(),
            from,
            to
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)
    }

    /// New leads (received → available or scheduled) per pool in `(from, to]`.
    pub async fn arrivals_by_pool(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<HashMap<String, i64>, Error> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        arrivals_by_pool(&mut conn, from, to).await
    }

    /// The mean depth of `pool` over the snapshots taken in `(from, to]`; `None` without any.
    pub async fn average_depth(
        &self,
        pool: &PoolId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Option<f64>, Error> {
        sqlx::query_scalar!(
            "SELECT avg(available)::float8 FROM pool_snapshots \
             WHERE pool_id = $1 AND taken_at > $2 AND taken_at <= $3",
            pool.as_str(),
            from,
            to
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)
    }

    /// The sources backpressure holds back on `pool` now.
    pub async fn paused_sources(&self, pool: &PoolId) -> Result<Vec<String>, Error> {
        let sources = sqlx::query_scalar!(
            "SELECT sources FROM pool_pauses WHERE pool_id = $1 AND resumed_at IS NULL",
            pool.as_str()
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(sources.unwrap_or_default())
    }

    /// Quota shortfalls recorded in `[from, to)`.
    pub async fn quota_shortfalls(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<QuotaShortfall>, Error> {
        sqlx::query_as!(
            QuotaShortfall,
            "SELECT rep_id, day, claims, minimum, recorded_at FROM quota_shortfalls \
             WHERE recorded_at >= $1 AND recorded_at < $2 ORDER BY rep_id, day",
            from,
            to
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)
    }
}

impl JobTx {
    /// What routing looks at of the leads received in `(from, to]` (at most `limit`, the
    /// newest), except rejected ones: the inflow a rebalancing proposal is judged on.
    pub async fn inflow(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<leadpool_policy::LeadFacts>, Error> {
        let rows = sqlx::query!(
            "SELECT id, score, region, country, product, industry, source, language FROM leads \
             WHERE received_at > $1 AND received_at <= $2 AND state <> 'rejected' \
             ORDER BY received_at DESC LIMIT $3",
            from,
            to,
            limit
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|r| leadpool_policy::LeadFacts {
                id: r.id,
                score: r.score,
                region: r.region,
                country: r.country,
                product: r.product,
                industry: r.industry,
                source: r.source,
                language: r.language,
            })
            .collect())
    }

    /// New leads per pool in `(from, to]` (see [`Store::arrivals_by_pool`]).
    pub async fn arrivals_by_pool(
        &mut self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<HashMap<String, i64>, Error> {
        arrivals_by_pool(&mut self.tx, from, to).await
    }
}

async fn arrivals_by_pool(
    conn: &mut sqlx::PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<HashMap<String, i64>, Error> {
    let rows = sqlx::query!(
        r#"SELECT pool_id AS "pool_id!", count(*) AS "arrivals!" FROM lead_events
           WHERE pool_id IS NOT NULL AND from_state = 'received'
             AND to_state IN ('available', 'scheduled')
             AND occurred_at > $1 AND occurred_at <= $2 GROUP BY pool_id"#,
        from,
        to
    )
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    Ok(rows.into_iter().map(|r| (r.pool_id, r.arrivals)).collect())
}
