//! The event stream (issue 13): closing epochs (the stream's order, by commit time), reading
//! the stream after a cursor, and webhook subscriptions with their deliveries. How epochs keep
//! a cursor from skipping a late commit: migration 0012.

mod epochs;
mod stream;
mod webhooks;

pub use stream::{EventFilter, EventScope, StreamEvent};
pub use webhooks::{Delivery, DeliveryOutcome, DeliveryRecord, NewSubscription, Subscription};
