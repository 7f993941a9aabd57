//! Pools: the policy's pools as stored, with their depth.

use leadpool_domain::{Error, PoolId, PoolSummary};

use crate::Store;
use crate::error::db_error;

/// `SELECT <pool columns and depth> FROM pools p <rest>`, checked.
macro_rules! pool_rows {
    ($rest:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            crate::rows::PoolRow,
            r#"SELECT p.id, p.display_name, p.kind, p.contact_sla_seconds, p.min_score, p.retired,
                 p.created_at, (SELECT count(*) FROM leads l WHERE l.pool_id = p.id
                   AND l.state = 'available') AS "available_leads!"
               FROM pools p "# + $rest
            $(, $arg)*
        )
    };
}

impl Store {
    pub async fn get_pool(&self, id: &PoolId) -> Result<PoolSummary, Error> {
        pool_rows!("WHERE p.id = $1", id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("pool", id.name()))?
            .try_into()
    }

    /// Pools in force (not retired), in id order, after `after`.
    pub async fn list_pools(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PoolSummary>, Error> {
        pool_rows!(
            "WHERE NOT p.retired AND ($1::text IS NULL OR p.id > $1) ORDER BY p.id LIMIT $2",
            after,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(TryInto::try_into)
        .collect()
    }
}
