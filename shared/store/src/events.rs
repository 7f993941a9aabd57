//! The lead history.

use leadpool_domain::{Error, LeadId};

use crate::Store;
use crate::error::db_error;
use crate::records::EventRecord;

impl Store {
    /// A lead's history, oldest first, after event `after_id`.
    pub async fn lead_events(
        &self,
        lead: LeadId,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<EventRecord>, Error> {
        sqlx::query_as::<_, EventRecord>(
            "SELECT id, lead_id, from_state, to_state, actor, reason, pool_id, rep_id, occurred_at \
             FROM lead_events WHERE lead_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        )
        .bind(lead.0)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)
    }
}
