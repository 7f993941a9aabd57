//! Placing a received lead into its pool.

use leadpool_domain::{Clock, Error, LeadId, LeadState};
use leadpool_store::{LeadRecord, Store};

/// What routing did with a lead.
pub struct Routed {
    pub lead: LeadRecord,
    /// False when the lead had been routed before: nothing changed.
    pub newly_routed: bool,
}

/// Routes `id` into the pool its score selects. Idempotent: a lead no longer waiting for
/// routing is returned as it is, so a retry (or a second router racing the first) never
/// routes it twice.
pub async fn route_lead(
    store: &Store,
    clock: &dyn Clock,
    id: LeadId,
    actor: &str,
) -> Result<Routed, Error> {
    let lead = store.get_lead(id).await?;
    match lead.state {
        LeadState::Received => {}
        LeadState::Rejected => {
            return Err(Error::precondition(
                "LEAD_REJECTED",
                id.name(),
                format!(
                    "{} was rejected by qualification ({}); rejected leads are not routed",
                    id.name(),
                    lead.rejection_reason
                        .as_deref()
                        .unwrap_or("no reason recorded")
                ),
            ));
        }
        _ => {
            return Ok(Routed {
                lead,
                newly_routed: false,
            });
        }
    }
    let pool = store.pool_for_score(lead.score).await?.ok_or_else(|| {
        Error::precondition(
            "NO_MATCHING_POOL",
            id.name(),
            format!(
                "no pool accepts score {}: create a pool whose min_score is at most {}",
                lead.score, lead.score
            ),
        )
    })?;
    let reason = format!("score {} routed to {}", lead.score, pool.name());
    match store
        .place_in_pool(id, &pool, actor, &reason, clock.now())
        .await?
    {
        Some(lead) => {
            tracing::info!(lead = %id, pool = %pool, "lead routed");
            Ok(Routed {
                lead,
                newly_routed: true,
            })
        }
        // Routed by someone else between our read and our update.
        None => Ok(Routed {
            lead: store.get_lead(id).await?,
            newly_routed: false,
        }),
    }
}
