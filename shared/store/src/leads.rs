//! Reading leads: what every service asks of the `leads` table.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, Lead, LeadId, PoolId};
use uuid::Uuid;

use crate::Store;
use crate::error::db_error;
use crate::rows;

impl Store {
    pub async fn get_lead(&self, id: LeadId) -> Result<Lead, Error> {
        let row = lead_rows!(["out AS (SELECT * FROM leads WHERE id = $1)"], id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
        rows::lead(row)?.ok_or_else(|| Error::not_found("lead", id.name()))
    }

    /// The leads with these ids (in no particular order); unknown ids are skipped.
    pub async fn get_leads(&self, ids: &[LeadId]) -> Result<Vec<Lead>, Error> {
        let ids: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
        let rows = lead_rows!(["out AS (SELECT * FROM leads WHERE id = ANY($1))"], &ids)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows::leads(rows)
    }

    /// Records in each lead's history why a push could not place it now (`lead.waiting`).
    pub async fn record_waiting(
        &self,
        waits: &[(LeadId, String)],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let mut tx = self.begin().await?;
        record_waiting(&mut tx, waits, actor, now).await?;
        tx.commit().await.map_err(db_error)
    }

    /// Leads available in `pool` right now.
    pub async fn count_available(&self, pool: &PoolId) -> Result<i64, Error> {
        sqlx::query_scalar!(
            r#"SELECT count(*) AS "count!" FROM leads WHERE pool_id = $1 AND state = 'available'"#,
            pool.as_str()
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)
    }
}

/// A `lead.waiting` row for each lead whose latest history row is not already the same wait,
/// so a lead retried every few seconds for the same reason gets one row, not thousands. Runs
/// in the caller's transaction: a per-lead lock, then the insert in a statement of its own, so
/// two routings of one lead at once (intake's retry loop and a RouteLead) see each other's row.
pub(crate) async fn record_waiting(
    conn: &mut sqlx::PgConnection,
    waits: &[(LeadId, String)],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let (ids, reasons): (Vec<Uuid>, Vec<&str>) =
        waits.iter().map(|(id, why)| (id.0, why.as_str())).unzip();
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended('waiting:' || id::text, 0)) \
         FROM (SELECT DISTINCT id FROM unnest($1::uuid[]) AS id ORDER BY id) ids",
        &ids
    )
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    sqlx::query!(
        "INSERT INTO lead_events \
           (lead_id, from_state, to_state, kind, actor, reason, pool_id, rep_id, occurred_at) \
         SELECT l.id, l.state, l.state, 'lead.waiting', $3, w.reason, l.pool_id, NULL, $4 \
         FROM unnest($1::uuid[], $2::text[]) AS w (id, reason) JOIN leads l ON l.id = w.id \
         WHERE NOT EXISTS (SELECT 1 FROM (SELECT kind, reason FROM lead_events e \
                             WHERE e.lead_id = l.id ORDER BY e.id DESC LIMIT 1) latest \
                           WHERE latest.kind = 'lead.waiting' AND latest.reason = w.reason)",
        &ids,
        &reasons as &[&str],
        actor,
        now
    )
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}
