//! Webhook subscriptions and their deliveries. Each subscription follows the stream with its
//! own cursor; dispatching turns the events after it into deliveries and moves it on in one
//! transaction, and the delivery worker takes due deliveries under a lease. The event rows,
//! committed with the changes they describe, are the transactional outbox.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, EventCursor};
use uuid::Uuid;

use super::StreamEvent;
use super::stream::EventRow;
use crate::Store;
use crate::error::db_error;

/// What an admin asks for.
#[derive(Debug, Clone)]
pub struct NewSubscription {
    pub url: String,
    pub types: Vec<String>,
    pub pool: Option<String>,
    pub secret: String,
    pub description: String,
    pub created_by: String,
}

/// A subscription as listed: never its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    pub id: Uuid,
    pub url: String,
    pub types: Vec<String>,
    pub pool: Option<String>,
    pub description: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A delivery the worker is to attempt now (it holds a lease on it), with its event.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub subscription: Uuid,
    pub cursor: EventCursor,
    pub url: String,
    pub secret: String,
    /// Attempts so far (all failed: it is still due).
    pub attempts: i32,
    pub first_failed_at: Option<DateTime<Utc>>,
    pub event: StreamEvent,
}

/// How an attempt went.
#[derive(Debug, Clone)]
pub enum DeliveryOutcome {
    Delivered {
        status: u16,
        at: DateTime<Utc>,
    },
    Failed {
        error: String,
        status: Option<u16>,
        at: DateTime<Utc>,
        /// When to try again; `None`: the retry period is over — a dead letter.
        retry_at: Option<DateTime<Utc>>,
    },
}

/// A delivery as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub subscription: Uuid,
    pub cursor: EventCursor,
    pub event_type: String,
    pub subject: String,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: String,
    pub last_status: Option<i32>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Attempts' outcomes as the columns of one statement.
#[derive(Default)]
struct AttemptRows {
    subscriptions: Vec<Uuid>,
    epochs: Vec<i64>,
    event_ids: Vec<i64>,
    delivered: Vec<bool>,
    statuses: Vec<Option<i32>>,
    errors: Vec<String>,
    at: Vec<DateTime<Utc>>,
    retry_at: Vec<Option<DateTime<Utc>>>,
}

impl AttemptRows {
    fn push(&mut self, subscription: Uuid, cursor: EventCursor, outcome: &DeliveryOutcome) {
        self.subscriptions.push(subscription);
        self.epochs.push(cursor.epoch);
        self.event_ids.push(cursor.id);
        let (delivered, status, error, at, retry_at) = match outcome {
            DeliveryOutcome::Delivered { status, at } => {
                (true, Some(*status), String::new(), *at, None)
            }
            DeliveryOutcome::Failed {
                error,
                status,
                at,
                retry_at,
            } => (false, *status, error.clone(), *at, *retry_at),
        };
        self.delivered.push(delivered);
        self.statuses.push(status.map(i32::from));
        self.errors.push(error);
        self.at.push(at);
        self.retry_at.push(retry_at);
    }
}

impl Store {
    /// A new subscription, following the stream from its head: it hears what happens from now.
    pub async fn create_subscription(
        &self,
        new: &NewSubscription,
        now: DateTime<Utc>,
    ) -> Result<Subscription, Error> {
        let id = Uuid::now_v7();
        sqlx::query!(
            "INSERT INTO webhook_subscriptions (id, url, types, pool_id, secret, description, \
               created_by, created_at, after_epoch, after_id) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, max(epoch), $9 FROM event_epochs",
            id,
            new.url,
            &new.types,
            new.pool,
            new.secret,
            new.description,
            new.created_by,
            now,
            EventCursor::end_of(0).id
        )
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(Subscription {
            id,
            url: new.url.clone(),
            types: new.types.clone(),
            pool: new.pool.clone(),
            description: new.description.clone(),
            created_by: new.created_by.clone(),
            created_at: now,
        })
    }

    /// The live subscriptions, oldest first.
    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, Error> {
        let rows = sqlx::query!(
            "SELECT id, url, types, pool_id, description, created_by, created_at \
             FROM webhook_subscriptions WHERE deleted_at IS NULL ORDER BY created_at, id"
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|r| Subscription {
                id: r.id,
                url: r.url,
                types: r.types,
                pool: r.pool_id,
                description: r.description,
                created_by: r.created_by,
                created_at: r.created_at,
            })
            .collect())
    }

    /// Stops a subscription: every delivery it has not sent is cancelled (also those a worker
    /// holds under a lease; [`Store::still_pending`] tells the worker before each attempt).
    /// `false` if there was no live one with `id`.
    pub async fn delete_subscription(&self, id: Uuid, now: DateTime<Utc>) -> Result<bool, Error> {
        let deleted = sqlx::query_scalar!(
            r#"WITH deleted AS (
                 UPDATE webhook_subscriptions SET deleted_at = $2
                 WHERE id = $1 AND deleted_at IS NULL RETURNING id),
               cancelled AS (
                 UPDATE webhook_deliveries d SET state = 'cancelled',
                   last_error = 'not sent: the subscription was deleted'
                 FROM deleted WHERE d.subscription_id = deleted.id AND d.state = 'pending')
               SELECT count(*) AS "deleted!" FROM deleted"#,
            id,
            now
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(deleted == 1)
    }

    /// Whether a delivery may be sent now: it is still pending (not cancelled by a delete).
    /// Waits for a delete that is cancelling it, so a delivery checked here either goes out
    /// before the delete took it or not at all.
    pub async fn still_pending(
        &self,
        subscription: Uuid,
        cursor: EventCursor,
    ) -> Result<bool, Error> {
        let pending = sqlx::query_scalar!(
            "SELECT 1 AS one FROM webhook_deliveries \
             WHERE (subscription_id, epoch, event_id) = ($1, $2, $3) AND state = 'pending' \
             FOR SHARE",
            subscription,
            cursor.epoch,
            cursor.id
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(pending.is_some())
    }

    /// For every live subscription no other dispatcher holds: turns up to `limit` of the
    /// events it wants after its cursor (in epochs up to `until_epoch`) into deliveries due at
    /// `now`, and moves its cursor past them — in one transaction, so an event becomes a
    /// delivery exactly once. Returns how many deliveries it made.
    pub async fn dispatch_deliveries(
        &self,
        until_epoch: i64,
        window: i64,
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<i64, Error> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let subscriptions = sqlx::query!(
            "SELECT id, types, pool_id, after_epoch, after_id FROM webhook_subscriptions \
             WHERE deleted_at IS NULL AND (after_epoch, after_id) < ($1, $2) \
             FOR UPDATE SKIP LOCKED",
            until_epoch,
            EventCursor::end_of(0).id
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        let mut made = 0;
        for s in subscriptions {
            let after = EventCursor {
                epoch: s.after_epoch,
                id: s.after_id,
            };
            let until = until_epoch.min(after.epoch.saturating_add(window));
            let enqueued = sqlx::query!(
                r#"INSERT INTO webhook_deliveries
                     (subscription_id, epoch, event_id, lead_id, next_attempt_at)
                   SELECT $1, epoch, id, lead_id, $8 FROM event_stream
                   WHERE epoch >= $2 AND epoch <= $4 AND (epoch, id) > ($2, $3)
                     AND (cardinality($5::text[]) = 0 OR type = ANY ($5))
                     AND ($6::text IS NULL OR pool_id = $6)
                   ORDER BY epoch, id LIMIT $7
                   ON CONFLICT DO NOTHING
                   RETURNING epoch, event_id"#,
                s.id,
                after.epoch,
                after.id,
                until,
                &s.types,
                s.pool_id,
                limit,
                now
            )
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
            // A full batch ends at its last event; a short one read everything up to `until`.
            let next = if enqueued.len() as i64 == limit {
                enqueued
                    .iter()
                    .map(|r| EventCursor {
                        epoch: r.epoch,
                        id: r.event_id,
                    })
                    .max()
                    .unwrap_or(after)
            } else {
                EventCursor::end_of(until)
            };
            made += enqueued.len() as i64;
            sqlx::query!(
                "UPDATE webhook_subscriptions SET after_epoch = $2, after_id = $3 WHERE id = $1",
                s.id,
                next.epoch,
                next.id
            )
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(made)
    }

    /// Takes up to `limit` deliveries due at `now` of live subscriptions not in `busy`,
    /// leasing each until `lease_until`: per subscription in stream order, and of each lead
    /// only its oldest pending event (so a lead's events arrive in order). A worker that dies
    /// leaves what it took to be taken again when the lease ends (at least once).
    pub async fn take_due_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
        busy: &[Uuid],
    ) -> Result<Vec<Delivery>, Error> {
        let leased = sqlx::query!(
            r#"WITH due AS (
                 SELECT d.subscription_id, d.epoch, d.event_id FROM webhook_deliveries d
                 JOIN webhook_subscriptions s ON s.id = d.subscription_id AND s.deleted_at IS NULL
                 WHERE d.state = 'pending' AND d.next_attempt_at <= $1
                   AND NOT (d.subscription_id = ANY ($4))
                   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries earlier
                     WHERE earlier.subscription_id = d.subscription_id
                       AND earlier.lead_id = d.lead_id AND earlier.state = 'pending'
                       AND (earlier.epoch, earlier.event_id) < (d.epoch, d.event_id))
                 ORDER BY d.epoch, d.event_id LIMIT $3
                 FOR UPDATE OF d SKIP LOCKED)
               UPDATE webhook_deliveries d SET next_attempt_at = $2 FROM due, webhook_subscriptions s
               WHERE (d.subscription_id, d.epoch, d.event_id)
                     = (due.subscription_id, due.epoch, due.event_id)
                 AND s.id = d.subscription_id
               RETURNING d.subscription_id, d.epoch, d.event_id, d.attempts, d.first_failed_at,
                 s.url, s.secret"#,
            now,
            lease_until,
            limit,
            busy
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let epochs: Vec<i64> = leased.iter().map(|d| d.epoch).collect();
        let ids: Vec<i64> = leased.iter().map(|d| d.event_id).collect();
        let events: HashMap<i64, StreamEvent> = sqlx::query_as!(
            EventRow,
            r#"SELECT k.epoch AS "epoch!", r.id AS "id!", r.type AS "event_type!",
                 r.subject AS "subject!", r.lead_id AS "lead?", r.pool_id AS "pool?",
                 r.rep_id AS "rep?", r.occurred_at AS "time!", r.traceparent AS "traceparent?",
                 r.data AS "data!"
               FROM unnest($1::bigint[], $2::bigint[]) AS k (epoch, id)
               JOIN event_rows r ON r.id = k.id"#,
            &epochs,
            &ids
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|row| (row.id, StreamEvent::from(row)))
        .collect();
        let mut deliveries: Vec<Delivery> = leased
            .into_iter()
            .filter_map(|d| {
                Some(Delivery {
                    subscription: d.subscription_id,
                    cursor: EventCursor {
                        epoch: d.epoch,
                        id: d.event_id,
                    },
                    url: d.url,
                    secret: d.secret,
                    attempts: d.attempts,
                    first_failed_at: d.first_failed_at,
                    event: events.get(&d.event_id)?.clone(),
                })
            })
            .collect();
        deliveries.sort_by_key(|d| (d.subscription, d.cursor));
        Ok(deliveries)
    }

    /// Records how attempts went, in one statement. An attempt under way when its subscription
    /// was deleted keeps its outcome if it was delivered; a failed one stays cancelled.
    pub async fn record_deliveries(
        &self,
        attempts: &[(Uuid, EventCursor, DeliveryOutcome)],
    ) -> Result<(), Error> {
        let mut rows = AttemptRows::default();
        for (subscription, cursor, outcome) in attempts {
            rows.push(*subscription, *cursor, outcome);
        }
        sqlx::query!(
            "UPDATE webhook_deliveries d SET attempts = d.attempts + 1, \
               state = CASE WHEN o.delivered THEN 'delivered' WHEN d.state = 'cancelled' THEN d.state \
                 WHEN o.retry_at IS NULL THEN 'dead' ELSE 'pending' END, \
               delivered_at = CASE WHEN o.delivered THEN o.at END, \
               last_status = o.status, last_error = o.error, \
               first_failed_at = CASE WHEN o.delivered THEN d.first_failed_at \
                 ELSE COALESCE(d.first_failed_at, o.at) END, \
               next_attempt_at = COALESCE(o.retry_at, d.next_attempt_at) \
             FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bool[], $5::int[], \
               $6::text[], $7::timestamptz[], $8::timestamptz[]) \
               AS o (subscription_id, epoch, event_id, delivered, status, error, at, retry_at) \
             WHERE (d.subscription_id, d.epoch, d.event_id) = (o.subscription_id, o.epoch, o.event_id) \
               AND d.state IN ('pending', 'cancelled')",
            &rows.subscriptions,
            &rows.epochs,
            &rows.event_ids,
            &rows.delivered,
            &rows.statuses as &[Option<i32>],
            &rows.errors,
            &rows.at,
            &rows.retry_at as &[Option<DateTime<Utc>>]
        )
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// Makes deliveries taken under a lease due at `now`, not attempted: a worker that stops
    /// before sending what it took hands it back rather than leave it to its lease.
    pub async fn hand_back_deliveries(
        &self,
        taken: &[(Uuid, EventCursor)],
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let subscriptions: Vec<Uuid> = taken.iter().map(|(s, _)| *s).collect();
        let epochs: Vec<i64> = taken.iter().map(|(_, c)| c.epoch).collect();
        let event_ids: Vec<i64> = taken.iter().map(|(_, c)| c.id).collect();
        sqlx::query!(
            "UPDATE webhook_deliveries d SET next_attempt_at = $4 \
             FROM unnest($1::uuid[], $2::bigint[], $3::bigint[]) AS t (subscription_id, epoch, event_id) \
             WHERE (d.subscription_id, d.epoch, d.event_id) = (t.subscription_id, t.epoch, t.event_id) \
               AND d.state = 'pending'",
            &subscriptions,
            &epochs,
            &event_ids,
            now
        )
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// Deliveries of `subscription` (or all) in `state` (or any), newest first: those listed
    /// after `before` (the last one of the page before) if given.
    pub async fn deliveries(
        &self,
        subscription: Option<Uuid>,
        state: Option<&str>,
        before: Option<(EventCursor, Uuid)>,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>, Error> {
        let (cursor, of) = before.unwrap_or((EventCursor::end_of(i64::MAX), Uuid::max()));
        let rows = sqlx::query!(
            r#"SELECT d.subscription_id, d.epoch, d.event_id, r.type AS "event_type!",
                 r.subject AS "subject!", d.state, d.attempts, d.next_attempt_at, d.last_error,
                 d.last_status, d.delivered_at
               FROM webhook_deliveries d JOIN event_rows r ON r.id = d.event_id
               WHERE ($1::uuid IS NULL OR d.subscription_id = $1)
                 AND ($2::text IS NULL OR d.state = $2)
                 AND (d.epoch, d.event_id, d.subscription_id) < ($3, $4, $5)
               ORDER BY d.epoch DESC, d.event_id DESC, d.subscription_id DESC LIMIT $6"#,
            subscription,
            state,
            cursor.epoch,
            cursor.id,
            of,
            limit
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(rows
            .into_iter()
            .map(|r| DeliveryRecord {
                subscription: r.subscription_id,
                cursor: EventCursor {
                    epoch: r.epoch,
                    id: r.event_id,
                },
                event_type: r.event_type,
                subject: r.subject,
                state: r.state,
                attempts: r.attempts,
                next_attempt_at: r.next_attempt_at,
                last_error: r.last_error,
                last_status: r.last_status,
                delivered_at: r.delivered_at,
            })
            .collect())
    }

    /// Deliveries waiting and given up, across live subscriptions (for the metrics).
    pub async fn delivery_backlog(&self) -> Result<(i64, i64), Error> {
        let row = sqlx::query!(
            r#"SELECT count(*) FILTER (WHERE d.state = 'pending') AS "pending!",
                 count(*) FILTER (WHERE d.state = 'dead') AS "dead!"
               FROM webhook_deliveries d
               JOIN webhook_subscriptions s ON s.id = d.subscription_id AND s.deleted_at IS NULL
               WHERE d.state <> 'delivered'"#
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_error)?;
        Ok((row.pending, row.dead))
    }

    /// Sends a subscription's dead letters again, from `now`; how many, or `None` if there is
    /// no live subscription `id`.
    pub async fn replay_dead(
        &self,
        subscription: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, Error> {
        sqlx::query_scalar!(
            r#"WITH replayed AS (
                 UPDATE webhook_deliveries SET state = 'pending', attempts = 0,
                   first_failed_at = NULL, next_attempt_at = $2
                 WHERE subscription_id = $1 AND state = 'dead' RETURNING 1)
               SELECT (SELECT count(*) FROM replayed) AS "replayed!"
               FROM webhook_subscriptions WHERE id = $1 AND deleted_at IS NULL"#,
            subscription,
            now
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)
    }

    /// Forgets deliveries made before `before` (they are listed for a while, then gone).
    pub async fn prune_delivered(&self, before: DateTime<Utc>) -> Result<u64, Error> {
        let done = sqlx::query!(
            "DELETE FROM webhook_deliveries WHERE state = 'delivered' AND delivered_at < $1",
            before
        )
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected())
    }
}
