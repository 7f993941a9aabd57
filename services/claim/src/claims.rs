//! Claiming: reserve the rep's allowance in Redis, claim in Postgres, hand back what was not
//! used. Postgres decides who wins a lead (one conditional statement), so a lead can never go
//! to two reps, whatever the number of claim replicas.

use std::time::Duration;

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, LeadId, LeadState, PoolId, QuotaViolation, RepId};
use leadpool_limits::{ClaimLimiter, Reservation, ReserveOutcome, RollingLimit};
use leadpool_policy::{AccessExplanation, Policy};
use leadpool_store::{LeadRecord, PolicyCache, Store};

use crate::config::ClaimsConfig;

const DAY: Duration = Duration::from_secs(24 * 3600);

pub struct Claims {
    pub store: Store,
    pub limiter: ClaimLimiter,
    pub policy: PolicyCache,
    pub settings: ClaimsConfig,
}

/// What a rep is claiming.
pub enum Target<'a> {
    Lead(LeadId),
    /// The `count` highest-priority available leads of a pool.
    Next {
        pool: &'a PoolId,
        count: u32,
    },
}

impl Claims {
    pub async fn claim(
        &self,
        rep: &RepId,
        target: Target<'_>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<LeadRecord>, Error> {
        let current = self.policy.current().await?;
        let policy = &current.policy;
        let limits = self.limits_for(policy, rep)?;
        let (pool, wanted) = match target {
            Target::Lead(id) => {
                let lead = self.store.get_lead(id).await?;
                let pool = lead
                    .pool_id
                    .as_deref()
                    .map(|p| PoolId::parse(p, "pool"))
                    .transpose()?;
                (pool, 1)
            }
            Target::Next { pool, count } => (Some(pool.clone()), count),
        };
        if let Some(pool) = &pool {
            require_access(policy, rep, pool, now)?;
        }
        let reservation = match self.limiter.reserve(rep, wanted, &limits, now).await? {
            ReserveOutcome::Granted(reservation) => reservation,
            ReserveOutcome::Exhausted {
                limit,
                used,
                retry_after,
            } => return Err(exhausted(rep, &limit, used, retry_after)),
        };
        let granted = u32::try_from(reservation.granted()).unwrap_or(u32::MAX);
        let claimed = match target {
            Target::Lead(id) => self
                .store
                .claim_lead(id, rep, actor, now)
                .await
                .map(|lead| lead.into_iter().collect::<Vec<_>>()),
            Target::Next { pool, .. } => {
                self.store
                    .claim_next(pool, rep, i64::from(granted), actor, now)
                    .await
            }
        };
        self.settle(&reservation, claimed.as_ref().map_or(0, Vec::len))
            .await;
        let claimed = claimed?;
        tracing::info!(rep = %rep, claimed = claimed.len(), "claim finished");
        Ok(claimed)
    }

    /// The rolling limits that apply to `rep`. A rep the policy does not know, or an inactive
    /// one, cannot claim.
    fn limits_for(&self, policy: &Policy, rep: &RepId) -> Result<Vec<RollingLimit>, Error> {
        let record = policy.rep(rep).ok_or_else(|| {
            Error::precondition(
                "REP_NOT_REGISTERED",
                rep.name(),
                format!(
                    "{} is not a rep in the routing policy; ask an admin to add her",
                    rep.name()
                ),
            )
        })?;
        if !record.active {
            return Err(Error::precondition(
                "REP_INACTIVE",
                rep.name(),
                format!("{} is inactive and cannot claim leads", rep.name()),
            ));
        }
        let daily = policy
            .limits_for(record)
            .per_day
            .unwrap_or(self.settings.daily_limit);
        Ok(vec![RollingLimit {
            reason: "DAILY_CLAIM_LIMIT",
            label: "daily claim limit",
            window: DAY,
            max: daily,
        }])
    }

    /// Whether `rep` may browse and claim from `pool` at `now`, and why.
    pub async fn explain_access(
        &self,
        rep: &RepId,
        pool: &PoolId,
        now: DateTime<Utc>,
    ) -> Result<(AccessExplanation, i64), Error> {
        let current = self.policy.current().await?;
        if current.policy.pool(pool).is_none() {
            // A pool the policy retired, or one that never existed.
            self.store.get_pool(pool).await?;
        }
        Ok((
            current.policy.explain_access(rep, pool, now),
            current.version,
        ))
    }

    /// Hands back the allowance that did not turn into claims. If Redis fails here the rep
    /// loses that allowance until the window passes: the safe direction for a limit.
    async fn settle(&self, reservation: &Reservation, used: usize) {
        let unused = reservation.granted().saturating_sub(used);
        if let Err(err) = self.limiter.release(reservation, unused).await {
            tracing::warn!(error = %err, unused, "could not hand back unused claim allowance");
        }
    }

    /// Why a lead could not be claimed, worked out only after the claim failed.
    pub async fn explain_unavailable(&self, id: LeadId) -> Error {
        match self.store.get_lead(id).await {
            Ok(lead) => Error::precondition(
                "LEAD_NOT_AVAILABLE",
                id.name(),
                format!(
                    "{} is no longer available (it is {}); browse the pool for another lead",
                    id.name(),
                    lead.state
                ),
            ),
            Err(err) => err,
        }
    }

    /// Why a lead could not be released or marked contacted by `rep`.
    pub async fn explain_not_owned(
        &self,
        id: LeadId,
        rep: &RepId,
        expected: &[LeadState],
    ) -> Error {
        match self.store.get_lead(id).await {
            Ok(lead)
                if lead
                    .owner_rep_id
                    .as_deref()
                    .is_some_and(|owner| owner != rep.as_str()) =>
            {
                Error::PermissionDenied(format!("{} is owned by another rep", id.name()))
            }
            Ok(lead) => {
                let expected: Vec<&str> = expected.iter().map(|s| s.as_str()).collect();
                Error::precondition(
                    "LEAD_NOT_OWNED",
                    id.name(),
                    format!(
                        "{} is {}; this needs a lead you own that is {}",
                        id.name(),
                        lead.state,
                        expected.join(" or ")
                    ),
                )
            }
            Err(err) => err,
        }
    }
}

/// PERMISSION_DENIED unless the policy lets `rep` claim from `pool` at `now`.
pub fn require_access(
    policy: &Policy,
    rep: &RepId,
    pool: &PoolId,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let access = policy.explain_access(rep, pool, now);
    if access.allowed {
        Ok(())
    } else {
        let window = if access.window.is_empty() {
            String::new()
        } else {
            format!(" ({})", access.window)
        };
        Err(Error::PermissionDenied(format!(
            "{} may not claim from {}{window}: {}",
            rep.name(),
            pool.name(),
            access.reasons.join("; ")
        )))
    }
}

fn exhausted(rep: &RepId, limit: &RollingLimit, used: u32, retry_after: Duration) -> Error {
    let retry_secs = retry_after.as_secs_f64().ceil();
    Error::ResourceExhausted {
        message: format!(
            "{} reached the {} ({} of {} claims used); claims are possible again in {}s",
            rep.name(),
            limit.label,
            used,
            limit.max,
            retry_secs
        ),
        reason: limit.reason,
        violations: vec![QuotaViolation {
            subject: rep.name(),
            description: format!("{}: {} of {} used", limit.label, used, limit.max),
        }],
        retry_after: Some(retry_after),
    }
}
