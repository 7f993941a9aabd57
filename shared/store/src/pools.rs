//! Pools.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, PoolId};

use crate::Store;
use crate::error::{db_error, is_unique_violation};
use crate::records::PoolRecord;

const SELECT_POOL: &str = "SELECT p.id, p.display_name, p.kind, p.contact_sla_seconds, p.min_score, \
     p.created_at, (SELECT count(*) FROM leads l WHERE l.pool_id = p.id AND l.state = 'available') \
     AS available_leads FROM pools p";

impl Store {
    pub async fn create_pool(
        &self,
        id: &PoolId,
        display_name: &str,
        kind: &str,
        contact_sla_seconds: i32,
        min_score: i32,
        now: DateTime<Utc>,
    ) -> Result<PoolRecord, Error> {
        sqlx::query(
            "INSERT INTO pools (id, display_name, kind, contact_sla_seconds, min_score, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(id.as_str())
        .bind(display_name)
        .bind(kind)
        .bind(contact_sla_seconds)
        .bind(min_score)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|err| {
            if is_unique_violation(&err) {
                Error::AlreadyExists {
                    name: id.name(),
                    message: format!("pool {} already exists", id.name()),
                }
            } else {
                db_error(err)
            }
        })?;
        self.get_pool(id).await
    }

    pub async fn get_pool(&self, id: &PoolId) -> Result<PoolRecord, Error> {
        sqlx::query_as::<_, PoolRecord>(&format!("{SELECT_POOL} WHERE p.id = $1"))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?
            .ok_or_else(|| Error::not_found("pool", id.name()))
    }

    /// Pools in id order, after `after`.
    pub async fn list_pools(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<PoolRecord>, Error> {
        sqlx::query_as::<_, PoolRecord>(&format!(
            "{SELECT_POOL} WHERE $1::text IS NULL OR p.id > $1 ORDER BY p.id LIMIT $2"
        ))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)
    }

    /// The pool a lead with `score` belongs in: the one with the highest minimum score at or
    /// below it (ties broken by id, so the choice is stable).
    pub async fn pool_for_score(&self, score: i32) -> Result<Option<PoolId>, Error> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT id FROM pools WHERE min_score <= $1 ORDER BY min_score DESC, id LIMIT 1",
        )
        .bind(score)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        row.map(|(id,)| PoolId::try_from(id).map_err(Error::internal))
            .transpose()
    }
}
