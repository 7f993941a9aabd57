//! The event stream and webhooks, hosted by the scheduler (docs/architecture.md, "Events"): it
//! closes the stream's epochs and delivers the webhooks, and serves `leadpool.v1.EventService`.
//! `Events` is the service's core and its API's only door.

pub mod api;
mod scope;
mod signing;
mod stream;
pub mod webhooks;

use std::sync::Arc;

use leadpool_auth::Identity;
use leadpool_domain::{Clock, Error, EventCursor};
use leadpool_store::{
    DeliveryRecord, EventFilter, NewSubscription, PolicyCache, Store, Subscription,
};
use uuid::Uuid;

pub use scope::Wanted;
pub use signing::event_id;
pub use stream::{EventReader, Page, close_epochs, watch_head};

use crate::config::EventsConfig;

#[derive(Clone)]
pub struct Events {
    store: Store,
    policy: PolicyCache,
    clock: Arc<dyn Clock>,
    reader: EventReader,
    config: EventsConfig,
}

impl Events {
    pub fn new(
        store: Store,
        policy: PolicyCache,
        clock: Arc<dyn Clock>,
        reader: EventReader,
        config: EventsConfig,
    ) -> Self {
        Self {
            store,
            policy,
            clock,
            reader,
            config,
        }
    }

    /// The CloudEvents source of every event.
    pub fn source(&self) -> &str {
        &self.config.source
    }

    /// What `identity` may read of what it asks for.
    pub async fn filter(
        &self,
        identity: &Identity,
        wanted: &Wanted<'_>,
    ) -> Result<EventFilter, Error> {
        let current = self.policy.current().await?;
        scope::filter_for(
            &current.policy,
            &identity.authority(),
            &identity.actor(),
            wanted,
            self.clock.now(),
        )
    }

    /// Up to `limit` events after `after` that `filter` lets through.
    pub async fn page(
        &self,
        after: EventCursor,
        filter: &EventFilter,
        limit: i64,
    ) -> Result<Page, Error> {
        self.reader.page(after, filter, limit).await
    }

    /// The head of the stream: after every event readable now.
    pub async fn head(&self) -> Result<EventCursor, Error> {
        Ok(EventCursor::end_of(self.store.event_head().await?))
    }

    /// A reader for one live stream.
    pub fn reader(&self) -> EventReader {
        self.reader.clone()
    }

    /// A new webhook subscription and its signing secret (shown this once).
    pub async fn subscribe(
        &self,
        url: String,
        types: Vec<String>,
        pool: Option<String>,
        description: String,
        created_by: String,
    ) -> Result<(Subscription, String), Error> {
        let secret = signing::new_secret();
        let subscription = self
            .store
            .create_subscription(
                &NewSubscription {
                    url,
                    types,
                    pool,
                    secret: secret.clone(),
                    description,
                    created_by,
                },
                self.clock.now(),
            )
            .await?;
        Ok((subscription, secret))
    }

    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, Error> {
        self.store.subscriptions().await
    }

    /// Stops subscription `id` (named `name`).
    pub async fn unsubscribe(&self, id: Uuid, name: &str) -> Result<(), Error> {
        if self.store.delete_subscription(id, self.clock.now()).await? {
            Ok(())
        } else {
            Err(Error::not_found("webhook subscription", name))
        }
    }

    pub async fn deliveries(
        &self,
        subscription: Option<Uuid>,
        state: Option<&str>,
        before: Option<(EventCursor, Uuid)>,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>, Error> {
        self.store
            .deliveries(subscription, state, before, limit)
            .await
    }

    /// Sends subscription `id`'s dead letters again; how many.
    pub async fn replay(&self, id: Uuid, name: &str) -> Result<i64, Error> {
        self.store
            .replay_dead(id, self.clock.now())
            .await?
            .ok_or_else(|| Error::not_found("webhook subscription", name))
    }
}
