//! Pools.

use leadpool_domain::{Error, PoolId};

use crate::Store;
use crate::error::db_error;
use crate::records::PoolRecord;

const SELECT_POOL: &str = "SELECT p.id, p.display_name, p.kind, p.contact_sla_seconds, p.min_score, \
     p.retired, p.created_at, (SELECT count(*) FROM leads l WHERE l.pool_id = p.id AND l.state = 'available') \
     AS available_leads FROM pools p";

impl Store {
    pub async fn get_pool(&self, id: &PoolId) -> Result<PoolRecord, Error> {
        sqlx::query_as::<_, PoolRecord>(&format!("{SELECT_POOL} WHERE p.id = $1"))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("pool", id.name()))
    }

    /// Pools in force (not retired), in id order, after `after`.
    pub async fn list_pools(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PoolRecord>, Error> {
        sqlx::query_as::<_, PoolRecord>(&format!(
            "{SELECT_POOL} WHERE NOT p.retired AND ($1::text IS NULL OR p.id > $1) ORDER BY p.id LIMIT $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)
    }
}
