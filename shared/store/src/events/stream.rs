//! Reading the stream: the events of closed epochs after a cursor, in stream order, as
//! CloudEvents-shaped records.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, EventCursor};
use uuid::Uuid;

use crate::Store;
use crate::error::db_error;

/// One event of the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEvent {
    /// Where it is in the stream: resuming after it starts with the next one.
    pub cursor: EventCursor,
    /// The event's `lead_events` or `service_events` row id: unique across both.
    pub id: i64,
    /// `lead.claimed`, `pool.alert.fired`, …
    pub event_type: String,
    /// What it is about: `leads/{uuid}`, `pools/west/alerts/aging`, `policy`.
    pub subject: String,
    pub lead: Option<Uuid>,
    pub pool: Option<String>,
    pub rep: Option<String>,
    pub time: DateTime<Utc>,
    pub data: serde_json::Value,
    /// The W3C trace context of the call that caused it.
    pub traceparent: Option<String>,
}

/// Which events a reader may and wants to see.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Empty: every type.
    pub types: Vec<String>,
    pub pool: Option<String>,
    /// `Some`: only events concerning these reps (lead events) or these pools; `None`:
    /// everything.
    pub scope: Option<EventScope>,
    /// Service events (alerts, policy applies) too, not only lead events.
    pub service_events: bool,
}

/// The reps and pools a reader oversees: a rep herself, a manager's teams.
#[derive(Debug, Clone, Default)]
pub struct EventScope {
    pub reps: Vec<String>,
    pub pools: Vec<String>,
    /// Pools of which the reader also sees leads entering or leaving `available` (whoever
    /// moved them): a rep watching a pool she may browse.
    pub available_in: Vec<String>,
}

/// An event row as the stream's statements select it.
pub(super) struct EventRow {
    pub epoch: i64,
    pub id: i64,
    pub event_type: String,
    pub subject: String,
    pub lead: Option<Uuid>,
    pub pool: Option<String>,
    pub rep: Option<String>,
    pub time: DateTime<Utc>,
    pub traceparent: Option<String>,
    pub data: serde_json::Value,
}

impl From<EventRow> for StreamEvent {
    fn from(r: EventRow) -> Self {
        Self {
            cursor: EventCursor {
                epoch: r.epoch,
                id: r.id,
            },
            id: r.id,
            event_type: r.event_type,
            subject: r.subject,
            lead: r.lead,
            pool: r.pool,
            rep: r.rep,
            time: r.time,
            data: r.data,
            traceparent: r.traceparent,
        }
    }
}

impl Store {
    /// Up to `limit` events after `after` in epochs up to `until_epoch`, in stream order.
    pub async fn events_after(
        &self,
        after: EventCursor,
        until_epoch: i64,
        filter: &EventFilter,
        limit: i64,
    ) -> Result<Vec<StreamEvent>, Error> {
        let scope = filter.scope.clone().unwrap_or_default();
        let rows = sqlx::query_as!(
            EventRow,
            r#"SELECT epoch AS "epoch!", id AS "id!", type AS "event_type!",
                 subject AS "subject!", lead_id AS "lead?", pool_id AS "pool?", rep_id AS "rep?",
                 occurred_at AS "time!", traceparent AS "traceparent?", data AS "data!"
               FROM event_stream
               WHERE epoch >= $1 AND epoch <= $3 AND (epoch, id) > ($1, $2)
                 AND (lead_id IS NOT NULL OR $4)
                 AND (cardinality($5::text[]) = 0 OR type = ANY ($5))
                 AND ($6::text IS NULL OR pool_id = $6)
                 AND (NOT $7 OR rep_id = ANY ($8) OR pool_id = ANY ($9)
                   OR (pool_id = ANY ($10)
                     AND 'available' IN (data->>'from', data->>'to')))
               ORDER BY epoch, id LIMIT $11"#,
            after.epoch,
            after.id,
            until_epoch,
            filter.service_events,
            &filter.types,
            filter.pool,
            filter.scope.is_some(),
            &scope.reps,
            &scope.pools,
            &scope.available_in,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(rows.into_iter().map(StreamEvent::from).collect())
    }
}
