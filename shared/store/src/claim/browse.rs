//! Browsing a pool's available leads, a page at a time, in one of three orders.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, Lead, PoolId};
use uuid::Uuid;

use crate::Store;
use crate::error::db_error;
use crate::rows;

/// Sort orders for browsing a pool; each has its own partial index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadOrder {
    Priority,
    Age,
    Score,
}

/// Where the previous page of a pool listing ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AvailableCursor {
    /// The sort key of the last lead: its priority or score (unused for age).
    pub key: i32,
    pub pooled_at: DateTime<Utc>,
    pub id: Uuid,
}

impl AvailableCursor {
    pub fn after(lead: &Lead, order: LeadOrder) -> Option<Self> {
        Some(Self {
            key: match order {
                LeadOrder::Priority => lead.priority,
                LeadOrder::Score => lead.score,
                LeadOrder::Age => 0,
            },
            pooled_at: lead.pooled_at?,
            id: lead.id.0,
        })
    }
}

impl Store {
    /// One page of the available leads of `pool`, in `order`, after `cursor` (the first page
    /// without one). Keyset pagination: each page continues strictly after the previous page's
    /// last lead, along the order's index; one statement per order, so each is checked and
    /// planned on its own.
    pub async fn list_available(
        &self,
        pool: &PoolId,
        order: LeadOrder,
        cursor: Option<&AvailableCursor>,
        limit: i64,
    ) -> Result<Vec<Lead>, Error> {
        let pool = pool.as_str();
        let (key, pooled_at, id) = (
            cursor.map(|c| c.key),
            cursor.map(|c| c.pooled_at),
            cursor.map(|c| c.id),
        );
        let rows =
            match order {
                LeadOrder::Priority => lead_rows!(
                    [
                        "out AS (SELECT * FROM leads WHERE pool_id = $1 AND state = 'available' \
                         AND ($3::int IS NULL OR priority < $3 \
                           OR (priority = $3 AND (pooled_at, id) > ($4, $5))) \
                         ORDER BY priority DESC, pooled_at, id LIMIT $2)"
                    ]
                    order by "priority DESC, pooled_at, id",
                    pool,
                    limit,
                    key,
                    pooled_at,
                    id
                )
                .fetch_all(&self.pool)
                .await,
                LeadOrder::Score => lead_rows!(
                    [
                        "out AS (SELECT * FROM leads WHERE pool_id = $1 AND state = 'available' \
                         AND ($3::int IS NULL OR score < $3 \
                           OR (score = $3 AND (pooled_at, id) > ($4, $5))) \
                         ORDER BY score DESC, pooled_at, id LIMIT $2)"
                    ]
                    order by "score DESC, pooled_at, id",
                    pool,
                    limit,
                    key,
                    pooled_at,
                    id
                )
                .fetch_all(&self.pool)
                .await,
                LeadOrder::Age => lead_rows!(
                    [
                        "out AS (SELECT * FROM leads WHERE pool_id = $1 AND state = 'available' \
                         AND ($3::timestamptz IS NULL OR (pooled_at, id) > ($3, $4)) \
                         ORDER BY pooled_at, id LIMIT $2)"
                    ]
                    order by "pooled_at, id",
                    pool,
                    limit,
                    pooled_at,
                    id
                )
                .fetch_all(&self.pool)
                .await,
            };
        rows::leads(rows.map_err(db_error)?)
    }
}
