//! The stream's moving parts in the scheduler: the epoch marker that closes epochs, the watch
//! on the latest closed epoch that wakes WatchEvents streams, and reading a page after a
//! cursor.

use std::time::Duration;

use leadpool_domain::{Error, EventCursor, FieldViolation};
use leadpool_server::CancellationToken;
use leadpool_store::{EventFilter, Store, StreamEvent};
use tokio::sync::watch;

/// Epochs one statement reads at most: a reader far behind (or filtering most events out)
/// reads in steps of this many.
const EPOCHS_PER_READ: i64 = 1000;

/// Events after a cursor, and where to go on from.
pub struct Page {
    pub events: Vec<StreamEvent>,
    pub next: EventCursor,
}

/// Reads the stream; cheap to clone.
#[derive(Clone)]
pub struct EventReader {
    store: Store,
    head: watch::Receiver<i64>,
}

impl EventReader {
    /// A reader whose `changed` wakes when `head` (kept by [`watch_head`]) moves on.
    pub fn new(store: Store, head: watch::Receiver<i64>) -> Self {
        Self { store, head }
    }

    /// Up to `limit` events after `after`: fewer only once it has read every closed epoch.
    pub async fn page(
        &self,
        after: EventCursor,
        filter: &EventFilter,
        limit: i64,
    ) -> Result<Page, Error> {
        let head = self.store.event_head().await?;
        if after.epoch > head {
            return Err(Error::InvalidArgument(vec![FieldViolation::new(
                "after",
                "is ahead of the stream: not a cursor of this deployment",
            )]));
        }
        let mut page = Page {
            events: Vec::new(),
            next: after,
        };
        while (page.events.len() as i64) < limit && page.next < EventCursor::end_of(head) {
            let until = head.min(page.next.epoch.saturating_add(EPOCHS_PER_READ));
            let wanted = limit - page.events.len() as i64;
            let events = self
                .store
                .events_after(page.next, until, filter, wanted)
                .await?;
            page.next = match events.last() {
                Some(last) if events.len() as i64 == wanted => last.cursor,
                _ => EventCursor::end_of(until),
            };
            page.events.extend(events);
        }
        Ok(page)
    }

    /// Waits until an epoch later than `epoch` is closed (or `shutdown`): `false` if it was
    /// shut down.
    pub async fn wait_past(&mut self, epoch: i64, shutdown: &CancellationToken) -> bool {
        tokio::select! {
            () = shutdown.cancelled() => false,
            changed = self.head.wait_for(|head| *head > epoch) => changed.is_ok(),
        }
    }
}

/// Closes an epoch every `every` until `shutdown`: what committed since the last one becomes
/// readable.
pub async fn close_epochs(store: Store, every: Duration, shutdown: CancellationToken) {
    each_tick(every, &shutdown, || async {
        if let Err(err) = store.close_epoch().await {
            tracing::warn!(error = %err, "no epoch closed; trying again");
        }
    })
    .await;
}

/// Keeps `head` at the latest closed epoch (read every `every`), for the streams to wake on.
pub async fn watch_head(
    store: Store,
    head: watch::Sender<i64>,
    every: Duration,
    shutdown: CancellationToken,
) {
    each_tick(every, &shutdown, || async {
        // The API's own reader is one receiver; only streams add more.
        if head.receiver_count() <= 1 {
            return;
        }
        if let Ok(latest) = store.event_head().await {
            head.send_if_modified(|known| {
                let newer = latest > *known;
                if newer {
                    *known = latest;
                }
                newer
            });
        }
    })
    .await;
}

/// Runs `work` every `every` (a slow run delays the next) until `shutdown`.
async fn each_tick<F, Fut>(every: Duration, shutdown: &CancellationToken, mut work: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        work().await;
    }
}
