//! Reading leads: what every service asks of the `leads` table.

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
