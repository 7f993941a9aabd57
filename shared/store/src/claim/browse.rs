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
    /// The sort key of the last lead: its priority (the rank its aging place gives it) or
    /// score (unused for age).
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
    /// last lead, as index range scans that start where the page starts, so a page deep in a
    /// large pool costs what the first one does.
    ///
    /// A descending key with ascending ties cannot be one row comparison, and behind an `OR` it
    /// would be a filter read from the head of the pool's index (12 s for a page four million
    /// leads in). So a priority or score page is two ranges of the order's index — the rest of the
    /// cursor's key, then every lower key — each limited to a page and merged in order. The
    /// first page is the cursor above every key (`i32::MAX` and `-infinity`), so one statement
    /// serves every page and its plan holds for any cursor. The priority order ranks each lead
    /// at its aging place, derived as it is read: those two ranges in each of the order's seven
    /// (`pool_order`).
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
        // The leads after the cursor whose `$key` is the cursor's, then those below it.
        macro_rules! by_key_then_age {
            ($key:literal, $order:literal) => {
                lead_rows!(
                    [
                        "out AS (SELECT * FROM ( \
                           (SELECT * FROM leads WHERE pool_id = $1 AND state = 'available' \
                             AND " $key " = COALESCE($3, 2147483647) \
                             AND (pooled_at, id) > (COALESCE($4, '-infinity'::timestamptz), \
                               COALESCE($5, '00000000-0000-0000-0000-000000000000'::uuid)) \
                             ORDER BY pooled_at, id LIMIT $2) \
                           UNION ALL \
                           (SELECT * FROM leads WHERE pool_id = $1 AND state = 'available' \
                             AND " $key " < COALESCE($3, 2147483647) \
                             ORDER BY " $key " DESC, pooled_at, id LIMIT $2)) page \
                         ORDER BY " $key " DESC, pooled_at, id LIMIT $2)"
                    ]
                    order by $order,
                    pool,
                    limit,
                    key,
                    pooled_at,
                    id
                )
                .fetch_all(&self.pool)
                .await
            };
        }
        let rows =
            match order {
                LeadOrder::Priority => {
                    page_in_pool_order!(pool, limit, key, pooled_at, id)
                        .fetch_all(&self.pool)
                        .await
                }
                LeadOrder::Score => by_key_then_age!("score", "score DESC, pooled_at, id"),
                LeadOrder::Age => lead_rows!(
                    [
                        "out AS (SELECT * FROM leads WHERE pool_id = $1 AND state = 'available' \
                         AND (pooled_at, id) > (COALESCE($3, '-infinity'::timestamptz), \
                           COALESCE($4, '00000000-0000-0000-0000-000000000000'::uuid)) \
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
