//! S6 backpressure. While a pool is at or above its critical depth, leads from the pool's
//! low-priority sources (`health.pauseSources`) that arrive are held back (state `scheduled`,
//! with why in their history); once the pool is below its warning depth the pause ends and the
//! held leads enter the pool. The gap between the two thresholds keeps it from flapping.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, LeadId};
use leadpool_policy::{Policy, PoolKind};
use leadpool_store::JobTx;

use crate::history::ACTOR;

pub async fn apply(
    run: &mut JobTx,
    policy: &Policy,
    now: DateTime<Utc>,
    batch: i64,
) -> Result<Vec<LeadId>, Error> {
    let mut moved = Vec::new();
    // Timed pools hold every lead until release anyway.
    for pool in policy
        .pools
        .iter()
        .filter(|p| p.kind != PoolKind::Timed && !p.schedule.health.pause_sources.is_empty())
    {
        let health = &pool.schedule.health;
        let depth = run.pool_depth(&pool.id).await?;
        let mut pause = run.open_pause(&pool.id).await?;
        if pause.is_none() && depth >= i64::from(health.critical) {
            let sources: Vec<String> = health.pause_sources.iter().cloned().collect();
            run.pause_sources(&pool.id, &sources, now).await?;
            tracing::warn!(pool = %pool.id, depth, ?sources, "pool critical: pausing low-priority sources");
            pause = Some((now, sources));
        } else if pause.is_some() && depth < i64::from(health.warning) {
            moved.extend(run.resume_sources(&pool.id, now, ACTOR, batch).await?);
            tracing::info!(pool = %pool.id, depth, "pool below warning: sources resumed");
            continue;
        }
        if let Some((since, sources)) = pause {
            moved.extend(
                run.hold_sources(&pool.id, &sources, since, now, ACTOR, batch)
                    .await?,
            );
        }
    }
    Ok(moved)
}
