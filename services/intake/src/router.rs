//! Handing accepted leads to the routing service, now or later.

use std::sync::Arc;
use std::time::Duration;

use leadpool_domain::{Clock, LeadId};
use leadpool_proto::v1::{self, RouteLeadRequest, routing_service_client::RoutingServiceClient};
use leadpool_server::{AuthenticatedChannel, CancellationToken};
use leadpool_store::Store;
use tonic::Code;

#[derive(Clone)]
pub struct Router {
    client: RoutingServiceClient<AuthenticatedChannel>,
}

impl Router {
    pub fn new(channel: AuthenticatedChannel) -> Self {
        Self {
            client: RoutingServiceClient::new(channel),
        }
    }

    /// Asks routing to place the lead and returns the routed lead. `None` when routing could
    /// not be reached or refused for now: the lead stays stored and is retried.
    pub async fn route(&self, id: LeadId) -> Option<v1::Lead> {
        let mut client = self.client.clone();
        match client
            .route_lead(RouteLeadRequest { name: id.name() })
            .await
        {
            Ok(response) => response.into_inner().lead,
            Err(status) => {
                log_route_failure(id, &status);
                None
            }
        }
    }
}

fn log_route_failure(id: LeadId, status: &tonic::Status) {
    match status.code() {
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
            tracing::warn!(lead = %id, code = ?status.code(), message = status.message(), "routing unreachable; the lead waits and is retried");
        }
        _ => {
            tracing::warn!(lead = %id, code = ?status.code(), message = status.message(), "routing refused the lead for now; it is retried");
        }
    }
}

/// Retries every lead still waiting for routing, until `shutdown`.
pub async fn retry_waiting_leads(
    router: Router,
    store: Store,
    clock: Arc<dyn Clock>,
    interval: Duration,
    grace: Duration,
    batch: i64,
    shutdown: CancellationToken,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let cutoff = clock.now() - chrono::Duration::from_std(grace).unwrap_or_default();
        match store.leads_waiting_for_routing(cutoff, batch).await {
            Ok(ids) => {
                for id in ids {
                    if shutdown.is_cancelled() {
                        return;
                    }
                    router.route(id).await;
                }
            }
            Err(err) => tracing::warn!(error = %err, "cannot list leads waiting for routing"),
        }
    }
}
