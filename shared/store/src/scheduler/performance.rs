//! A3: the figures behind computed performance, and the ratings each daily run records.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, RepId};
use leadpool_policy::{Performance, Rating, RepFigures};

use super::JobTx;
use crate::Store;
use crate::error::db_error;

/// Rating runs kept; older ones are pruned when a run is recorded.
const RUNS_KEPT: i64 = 30;

impl JobTx {
    /// Per rep, the leads she claimed or accepted in (`since`, `until`], how many of them she
    /// turned into an opportunity or a customer, and how many she worked (contacted or closed).
    pub async fn rep_figures(
        &mut self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<RepFigures>, Error> {
        let rows = sqlx::query!(
            r#"SELECT c.rep_id AS "rep_id!", count(*) AS "claims!",
                 count(*) FILTER (WHERE EXISTS (SELECT 1 FROM lead_events o
                   WHERE o.lead_id = c.lead_id AND o.id > c.id AND o.rep_id = c.rep_id
                     AND o.kind IN ('lead.opportunity', 'lead.won'))) AS "converted!",
                 count(*) FILTER (WHERE EXISTS (SELECT 1 FROM lead_events o
                   WHERE o.lead_id = c.lead_id AND o.id > c.id AND o.rep_id = c.rep_id
                     AND o.kind IN ('lead.contacted', 'lead.opportunity', 'lead.won', 'lead.lost')))
                   AS "worked!"
               FROM lead_events c
               WHERE c.kind IN ('lead.claimed', 'lead.assignment_accepted')
                 AND c.occurred_at > $1 AND c.occurred_at <= $2 AND c.rep_id IS NOT NULL
               GROUP BY c.rep_id ORDER BY c.rep_id"#,
            since,
            until
        )
        .fetch_all(&mut *self.tx)
        .await
        .map_err(db_error)?;
        rows.into_iter()
            .map(|row| {
                Ok(RepFigures {
                    rep: RepId::parse(&row.rep_id, "rep_id").map_err(|_| {
                        Error::internal(format!("stored rep id {:?} is invalid", row.rep_id))
                    })?,
                    claims: row.claims,
                    converted: row.converted,
                    worked: row.worked,
                })
            })
            .collect()
    }

    /// Records a rating run; returns how many reps it rated.
    pub async fn record_ratings(
        &mut self,
        ratings: &[Rating],
        now: DateTime<Utc>,
    ) -> Result<i64, Error> {
        let run = sqlx::query_scalar!(
            "INSERT INTO performance_runs (computed_at) VALUES ($1) RETURNING id",
            now
        )
        .fetch_one(&mut *self.tx)
        .await
        .map_err(db_error)?;
        let reps: Vec<&str> = ratings.iter().map(|r| r.rep.as_str()).collect();
        let tiers: Vec<&str> = ratings.iter().map(|r| r.performance.name()).collect();
        let figures: Vec<f64> = ratings.iter().map(|r| r.figure).collect();
        let claims: Vec<i64> = ratings.iter().map(|r| r.claims).collect();
        let bases: Vec<&str> = ratings.iter().map(|r| r.basis.as_str()).collect();
        sqlx::query!(
            "INSERT INTO rep_ratings (run_id, rep_id, performance, figure, claims, basis) \
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::float8[], $5::bigint[], $6::text[])",
            run,
            &reps as &[&str],
            &tiers as &[&str],
            &figures,
            &claims,
            &bases as &[&str]
        )
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        sqlx::query!(
            "DELETE FROM performance_runs WHERE id <= $1::bigint - $2::bigint",
            run,
            RUNS_KEPT
        )
        .execute(&mut *self.tx)
        .await
        .map_err(db_error)?;
        Ok(ratings.len() as i64)
    }
}

impl Store {
    /// The latest rating run's id (0 before any) and its ratings.
    pub async fn latest_ratings(&self) -> Result<(i64, Vec<Rating>), Error> {
        let rows = sqlx::query!(
            r#"SELECT r.run_id, r.rep_id, r.performance, r.figure, r.claims, r.basis, p.computed_at
               FROM rep_ratings r JOIN performance_runs p ON p.id = r.run_id
               WHERE r.run_id = (SELECT max(id) FROM performance_runs) ORDER BY r.rep_id"#
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let run = rows.first().map_or(0, |row| row.run_id);
        let ratings = rows
            .into_iter()
            .filter_map(|row| {
                Some(Rating {
                    rep: RepId::parse(&row.rep_id, "rep_id").ok()?,
                    performance: Performance::from_name(&row.performance)?,
                    figure: row.figure,
                    claims: row.claims,
                    basis: row.basis,
                    computed_at: row.computed_at,
                })
            })
            .collect();
        Ok((run, ratings))
    }
}
