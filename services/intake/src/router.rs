//! Handing accepted leads to the routing service, now or later. A lead routing cannot take
//! right now (routing down, no rule, nobody to assign to) stays stored as `received` and is
//! offered again by [`retry_waiting_leads`].

use std::sync::Arc;
use std::time::Duration;

use leadpool_domain::{Clock, LeadId};
use leadpool_proto::v1::{
    self, RouteLeadRequest, RouteLeadsRequest, routing_service_client::RoutingServiceClient,
};
use leadpool_server::{AuthenticatedChannel, CancellationToken};
use leadpool_store::Store;
use tonic::Code;

/// RouteLeads takes at most this many leads per call.
pub const ROUTE_BATCH: usize = 1000;

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

    /// Asks routing to place one lead and returns the routed lead; `None` when routing could
    /// not be reached or refused for now.
    pub async fn route(&self, id: LeadId) -> Option<v1::Lead> {
        match self
            .client
            .clone()
            .route_lead(RouteLeadRequest { name: id.name() })
            .await
        {
            Ok(response) => response.into_inner().lead,
            Err(status) => {
                log_route_failure(&status, 1);
                None
            }
        }
    }

    /// Asks routing to place many leads; `None` when routing could not be reached.
    pub async fn route_many(&self, ids: &[LeadId]) -> Option<v1::RouteLeadsResponse> {
        let mut total = v1::RouteLeadsResponse::default();
        for chunk in ids.chunks(ROUTE_BATCH) {
            let names = chunk.iter().map(LeadId::name).collect();
            match self
                .client
                .clone()
                .route_leads(RouteLeadsRequest { names })
                .await
            {
                Ok(response) => {
                    let response = response.into_inner();
                    total.pooled += response.pooled;
                    total.assigned += response.assigned;
                    total.already_routed += response.already_routed;
                    total.unrouted.extend(response.unrouted);
                }
                Err(status) => {
                    log_route_failure(&status, chunk.len());
                    return None;
                }
            }
        }
        Some(total)
    }
}

fn log_route_failure(status: &tonic::Status, leads: usize) {
    let unreachable = matches!(
        status.code(),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled
    );
    if unreachable {
        tracing::warn!(leads, code = ?status.code(), message = status.message(), "routing unreachable; the leads wait and are retried");
    } else {
        tracing::warn!(leads, code = ?status.code(), message = status.message(), "routing refused the leads for now; they are retried");
    }
}

/// Offers every lead still waiting for routing to routing again, until `shutdown`.
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
            Ok(ids) if !ids.is_empty() => {
                if let Some(report) = router.route_many(&ids).await
                    && !report.unrouted.is_empty()
                {
                    tracing::debug!(
                        waiting = report.unrouted.len(),
                        "leads still cannot be routed"
                    );
                }
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "cannot list leads waiting for routing"),
        }
    }
}
