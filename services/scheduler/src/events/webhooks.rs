//! Webhook delivery. Every `delivery_interval` the worker turns new events into deliveries
//! (per subscription, in one transaction with its cursor) and takes the due ones under a
//! lease. Each subscription's batch is sent by a task of its own, a few requests at a time and
//! each with a time limit, so a slow or failing endpoint holds up only itself — never another
//! endpoint, and never an RPC (nothing here runs in a call). A failure is retried with
//! exponential backoff and jitter until the retry period ends; then it is a dead letter.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use leadpool_domain::{Clock, EventCursor};
use leadpool_server::CancellationToken;
use leadpool_store::{Delivery, DeliveryOutcome, Store};
use leadpool_telemetry::metrics;
use tokio::task::JoinSet;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use uuid::Uuid;

use super::signing::{cloud_event, event_id, signature};
use crate::config::EventsConfig;

/// Epochs one dispatch reads per subscription at most.
const EPOCHS_PER_DISPATCH: i64 = 1000;
/// How often the backlog gauges are read, and delivered deliveries past retention forgotten.
const HOUSEKEEPING: Duration = Duration::from_secs(10);

/// What every delivery task shares.
struct Deliverer {
    store: Store,
    clock: Arc<dyn Clock>,
    config: EventsConfig,
    client: reqwest::Client,
    /// Subscriptions whose batch is being sent here: not taken again until it is done.
    busy: Mutex<HashSet<Uuid>>,
}

/// Delivers webhooks until `shutdown`.
pub async fn run(
    store: Store,
    clock: Arc<dyn Clock>,
    config: EventsConfig,
    shutdown: CancellationToken,
) {
    // No redirects: a 3xx is a failure (a redirect could lead off https).
    let client = match reqwest::Client::builder()
        .timeout(config.http_timeout)
        .connect_timeout(config.http_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(error = %err, "webhook delivery cannot start");
            return;
        }
    };
    let mut ticker = tokio::time::interval(config.delivery_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let deliverer = Arc::new(Deliverer {
        // Delivery bookkeeping is worked out again from the durable events if a crash loses
        // its last commits (sent again: at least once), so it need not wait for the disk.
        store: store.relaxed(4),
        clock,
        config,
        client,
        busy: Mutex::default(),
    });
    let mut housekeeping = Instant::now();
    // The batches being sent: awaited at shutdown, so each records what it sent first.
    let mut sending = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            () = shutdown.cancelled() => break,
            _ = ticker.tick() => {}
        }
        while sending.try_join_next().is_some() {}
        if housekeeping.elapsed() >= HOUSEKEEPING {
            housekeeping = Instant::now();
            deliverer.housekeeping().await;
        }
        if let Err(err) = deliverer.dispatch().await {
            tracing::warn!(error = %err, "events not turned into deliveries; trying again");
        }
        match deliverer.take_due().await {
            // Stopping came while the batch was taken: it is not sent here.
            Ok(batches) if shutdown.is_cancelled() => {
                deliverer.hand_back(batches.values().flatten()).await;
            }
            Ok(batches) => {
                for (subscription, batch) in batches {
                    sending.spawn(
                        deliverer
                            .clone()
                            .send(subscription, batch, shutdown.clone()),
                    );
                }
            }
            Err(err) => tracing::warn!(error = %err, "webhook deliveries not taken; trying again"),
        }
    }
    while sending.join_next().await.is_some() {}
}

impl Deliverer {
    async fn dispatch(&self) -> Result<(), leadpool_domain::Error> {
        let head = self.store.event_head().await?;
        self.store
            .dispatch_deliveries(
                head,
                EPOCHS_PER_DISPATCH,
                self.config.delivery_batch,
                self.clock.now(),
            )
            .await?;
        Ok(())
    }

    /// Due deliveries of subscriptions not busy here, by subscription, each marked busy.
    async fn take_due(&self) -> Result<BTreeMap<Uuid, Vec<Delivery>>, leadpool_domain::Error> {
        let busy: Vec<Uuid> = self.busy().iter().copied().collect();
        let now = self.clock.now();
        let lease = chrono::Duration::from_std(self.config.delivery_lease)
            .unwrap_or(chrono::Duration::seconds(30));
        let due = self
            .store
            .take_due_deliveries(now, now + lease, self.config.delivery_batch, &busy)
            .await?;
        let mut batches: BTreeMap<Uuid, Vec<Delivery>> = BTreeMap::new();
        for delivery in due {
            batches
                .entry(delivery.subscription)
                .or_default()
                .push(delivery);
        }
        self.busy().extend(batches.keys().copied());
        Ok(batches)
    }

    /// Makes taken deliveries due again at once, for another replica (or this one's successor)
    /// to send, instead of leaving them to their lease — and the later events of their leads
    /// behind them.
    async fn hand_back(&self, deliveries: impl IntoIterator<Item = &Delivery>) {
        let taken: Vec<(Uuid, EventCursor)> = deliveries
            .into_iter()
            .map(|delivery| (delivery.subscription, delivery.cursor))
            .collect();
        if taken.is_empty() {
            return;
        }
        if let Err(err) = self
            .store
            .hand_back_deliveries(&taken, self.clock.now())
            .await
        {
            tracing::warn!(error = %err, "deliveries not handed back; sent once their lease ends");
        }
    }

    fn busy(&self) -> std::sync::MutexGuard<'_, HashSet<Uuid>> {
        self.busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends one subscription's batch (at most one event per lead), a few at a time, in order.
    /// Told to stop, it records the attempts that finished, hands back the deliveries it had
    /// not started, and abandons the requests under way, as a crash would: they are sent again
    /// once their lease ends.
    async fn send(
        self: Arc<Self>,
        subscription: Uuid,
        batch: Vec<Delivery>,
        stop: CancellationToken,
    ) {
        // The stream starts the batch's attempts in order: those past `started` never began.
        let mut started = 0;
        let batch = Arc::new(batch);
        let mut attempts = futures::stream::iter(0..batch.len())
            .map(|index| {
                started += 1;
                let (this, batch) = (self.clone(), batch.clone());
                async move {
                    let delivery = &batch[index];
                    let outcome = this.attempt(delivery).await?;
                    Some((delivery.subscription, delivery.cursor, outcome))
                }
            })
            .buffer_unordered(self.config.delivery_concurrency);
        let mut outcomes = Vec::new();
        let stopped = loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => break true,
                attempt = attempts.next() => match attempt {
                    Some(outcome) => outcomes.extend(outcome),
                    None => break false,
                },
            }
        };
        drop(attempts);
        // Recorded once the batch is done or stopped (a crash before that sends it again). An
        // attempt not made (see `attempt`) stays leased and is taken again when the lease ends.
        if !outcomes.is_empty()
            && let Err(err) = self.store.record_deliveries(&outcomes).await
        {
            tracing::warn!(error = %err, "delivery outcomes not recorded; they are sent again");
        }
        if stopped {
            self.hand_back(&batch[started..]).await;
        }
        self.busy().remove(&subscription);
    }

    /// One attempt: how it went; `None` if it was not made — the subscription was deleted
    /// (the delivery is cancelled), or the check failed (tried again when the lease ends).
    async fn attempt(&self, delivery: &Delivery) -> Option<DeliveryOutcome> {
        match self
            .store
            .still_pending(delivery.subscription, delivery.cursor)
            .await
        {
            Ok(true) => {}
            Ok(false) => return None,
            Err(err) => {
                tracing::warn!(error = %err, "delivery not checked; it is tried again later");
                return None;
            }
        }
        let event = &delivery.event;
        let id = event_id(event);
        let span = tracing::info_span!("webhook delivery", url = %delivery.url, event = %id);
        // The request continues the trace of the call that made the change.
        if let Some(traceparent) = &event.traceparent {
            let _ = span.set_parent(leadpool_telemetry::context_from_traceparent(traceparent));
        }
        let body = cloud_event(event, &self.config.source).to_string();
        let timestamp = self.clock.now().timestamp();
        let mut request = self
            .client
            .post(&delivery.url)
            .header("content-type", "application/cloudevents+json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string());
        if let Some(signed) = signature(&delivery.secret, &id, timestamp, body.as_bytes()) {
            request = request.header("webhook-signature", signed);
        }
        // This request's own span when spans are recorded, else the causing call's context.
        let traceparent = span
            .in_scope(leadpool_telemetry::current_traceparent)
            .or_else(|| event.traceparent.clone());
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        let started = Instant::now();
        let answer = request.body(body).send().await;
        let outcome = self.outcome(delivery, answer);
        let label = match &outcome {
            DeliveryOutcome::Delivered { .. } => "delivered",
            DeliveryOutcome::Failed {
                retry_at: Some(_), ..
            } => "failed",
            DeliveryOutcome::Failed { retry_at: None, .. } => "dead",
        };
        metrics::WEBHOOK_DELIVERIES
            .with_label_values(&[label])
            .inc();
        metrics::WEBHOOK_DURATION
            .with_label_values(&[label])
            .observe(started.elapsed().as_secs_f64());
        Some(outcome)
    }

    fn outcome(
        &self,
        delivery: &Delivery,
        answer: Result<reqwest::Response, reqwest::Error>,
    ) -> DeliveryOutcome {
        let now = self.clock.now();
        let (error, status) = match answer {
            Ok(response) if response.status().is_success() => {
                return DeliveryOutcome::Delivered {
                    status: response.status().as_u16(),
                    at: now,
                };
            }
            Ok(response) => (
                format!("answered {}", response.status()),
                Some(response.status().as_u16()),
            ),
            Err(err) if err.is_timeout() => (
                format!("no answer within {:?}", self.config.http_timeout),
                None,
            ),
            Err(err) => (format!("request failed: {err}"), None),
        };
        let failures = u32::try_from(delivery.attempts)
            .unwrap_or(0)
            .saturating_add(1);
        let first_failed_at = delivery.first_failed_at.unwrap_or(now);
        let jitter = f64::from(Uuid::new_v4().as_u128() as u16) / f64::from(u16::MAX);
        DeliveryOutcome::Failed {
            error,
            status,
            at: now,
            retry_at: self.config.retry_schedule().next_attempt(
                failures,
                first_failed_at,
                now,
                jitter,
            ),
        }
    }

    /// The backlog gauges, and delivered deliveries past retention forgotten.
    async fn housekeeping(&self) {
        if let Ok((pending, dead)) = self.store.delivery_backlog().await {
            metrics::WEBHOOK_BACKLOG
                .with_label_values(&["pending"])
                .set(pending);
            metrics::WEBHOOK_BACKLOG
                .with_label_values(&["dead"])
                .set(dead);
        }
        let retention = chrono::Duration::from_std(self.config.delivered_retention)
            .unwrap_or(chrono::Duration::MAX);
        if let Some(before) = self.clock.now().checked_sub_signed(retention)
            && let Err(err) = self.store.prune_delivered(before).await
        {
            tracing::warn!(error = %err, "delivered deliveries not pruned");
        }
    }
}
