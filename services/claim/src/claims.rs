//! Claiming: check the policy's rules, reserve the rep's allowance in Redis, claim in Postgres
//! under the rep's lock, hand back what was not used. Postgres decides who wins a lead (one
//! conditional statement), so a lead can never go to two reps, whatever the number of claim
//! replicas.

use std::time::Duration;

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, LeadId, LeadState, PoolId, QuotaViolation, Reason, RepId};
use leadpool_limits::{
    ClaimLimiter, LimitSet, RETENTION, Refusal, Reservation, ReserveOutcome, Scope, Subject,
    Unseeded,
};
use leadpool_policy::{AccessExplanation, Consequence, Policy};
use leadpool_store::{LeadRecord, NextFilter, PolicyCache, RepClaim, Store};

use crate::config::ClaimsConfig;
use crate::rules::{ClaimRules, active_lead_limit, claiming_rep, pool_names};

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
        let record = claiming_rep(policy, rep)?;
        let (pool, wanted, lead) = match target {
            Target::Lead(id) => {
                let lead = self.store.get_lead(id).await?;
                let Some(pool) = lead
                    .pool_id
                    .as_deref()
                    .filter(|_| lead.state == LeadState::Available)
                else {
                    return Err(unavailable_lead(id, lead.state));
                };
                (PoolId::parse(pool, "pool")?, 1, Some(lead))
            }
            Target::Next { pool, count } => (pool.clone(), count, None),
        };
        require_access(policy, rep, &pool, now)?;
        self.require_acceptance(policy, rep, now).await?;
        let rules = ClaimRules::new(
            policy,
            record,
            policy.pool(&pool),
            self.settings.daily_limit,
        );
        self.require_gates_open(&pool, &rules).await?;
        if let (Some(lead), Some(turn)) = (&lead, rules.excluding_turn(rep, now))
            && lead.pooled_at.is_some_and(|at| at >= turn.start)
        {
            return Err(Error::precondition(
                Reason::RotationWindow,
                pool.name(),
                format!(
                    "{} is in {}'s exclusive window on new leads of {} until {}; claim \
                         it after that, or an older lead now",
                    lead.lead_id().name(),
                    turn.holder.name(),
                    pool.name(),
                    turn.end.to_rfc3339()
                ),
            ));
        }

        let subject = Subject {
            rep: rep.clone(),
            pool: Some(pool.clone()),
        };
        let reservation = self.reserve(&subject, wanted, &rules.limits, now).await?;
        let claimed = self
            .claim_in_postgres(
                &subject,
                &rules,
                &reservation,
                lead.as_ref().map(LeadRecord::lead_id),
                actor,
                now,
            )
            .await;
        self.settle(&reservation, claimed.as_ref().map_or(0, Vec::len))
            .await;
        let claimed = claimed?;
        tracing::info!(rep = %rep, claimed = claimed.len(), "claim finished");
        Ok(claimed)
    }

    /// Within the rep's claim transaction: the caps that depend on what she holds, then the
    /// claim itself.
    async fn claim_in_postgres(
        &self,
        subject: &Subject,
        rules: &ClaimRules,
        reservation: &Reservation,
        chosen: Option<LeadId>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<LeadRecord>, Error> {
        let rep = &subject.rep;
        let pool = subject
            .pool
            .as_ref()
            .ok_or_else(|| Error::internal("a claim without a pool"))?;
        let mut tx = self.store.begin_claim(rep).await?;
        let mut grant = i64::from(reservation.granted());
        if let Some(max) = rules.active_leads {
            let open = tx.open_leads(None).await?;
            grant = grant.min(active_room(rep, max, open, None)?);
        }
        if let Some(max) = rules.pool_active_leads {
            let open = tx.open_leads(Some(pool)).await?;
            grant = grant.min(active_room(rep, max, open, Some(pool))?);
        }
        if let Some(ratio) = &rules.ratio {
            let made = tx.claims_since_last(pool, &ratio.from).await?;
            if made < i64::from(ratio.claims) {
                return Err(ratio_unmet(pool, ratio.claims, &ratio.from, made));
            }
            // Each claim here needs its own run of claims from the other pools.
            grant = grant.min(1);
        }
        let claimed = if let Some(id) = chosen {
            claim_chosen(&mut tx, rules, id, actor, now).await?
        } else {
            let filter = NextFilter {
                gave_up_after: rules.reclaim_embargo.map(|embargo| now - embargo),
                pooled_before: rules.excluding_turn(rep, now).map(|turn| turn.start),
            };
            tx.claim_next(pool, grant, &filter, actor, now).await?
        };
        tx.commit().await?;
        Ok(claimed)
    }

    /// Reserves claims in Redis, first rebuilding from Postgres any claim log Redis lost.
    async fn reserve(
        &self,
        subject: &Subject,
        wanted: u32,
        limits: &LimitSet,
        now: DateTime<Utc>,
    ) -> Result<Reservation, Error> {
        let outcome = self
            .with_seeded_logs(subject, now, || {
                self.limiter.reserve(subject, wanted, limits, now)
            })
            .await
            .map_err(limits_unreachable)?;
        match outcome {
            ReserveOutcome::Granted(reservation) => Ok(reservation),
            ReserveOutcome::Exhausted {
                limit,
                used,
                retry_after,
            } => Err(exhausted(&subject.rep, &limit, used, retry_after)),
        }
    }

    /// Runs a limiter call; when it finds a claim log Redis does not hold, refills that log
    /// from the lead history and runs it again.
    pub async fn with_seeded_logs<T, F, Fut>(
        &self,
        subject: &Subject,
        now: DateTime<Utc>,
        mut call: F,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Result<T, Unseeded>, Error>>,
    {
        // Two logs per subject: a third miss means they vanish as fast as they are rebuilt.
        for _ in 0..3 {
            match call().await? {
                Ok(answer) => return Ok(answer),
                Err(Unseeded(scope)) => self.seed(subject, scope, now).await?,
            }
        }
        Err(Error::internal(
            "claim logs kept disappearing while being rebuilt",
        ))
    }

    /// Refills a claim log Redis does not hold from the lead history.
    async fn seed(&self, subject: &Subject, scope: Scope, now: DateTime<Utc>) -> Result<(), Error> {
        let pool = subject.pool.as_ref().filter(|_| scope == Scope::Pool);
        let times = self
            .store
            .claim_times(&subject.rep, pool, retention_start(now))
            .await?;
        tracing::info!(rep = %subject.rep, ?scope, claims = times.len(), "rebuilt a claim log from history");
        self.limiter
            .seed(subject, scope, &times)
            .await
            .map_err(limits_unreachable)
    }

    /// With a "lose pool access" consequence, a rep below the minimum acceptance of her
    /// assignments cannot claim from pools until her rate recovers.
    async fn require_acceptance(
        &self,
        policy: &Policy,
        rep: &RepId,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        let Some(acceptance) = policy.acceptance else {
            return Ok(());
        };
        if acceptance.consequence != Consequence::LosePoolAccess {
            return Ok(());
        }
        let decisions = self
            .store
            .assignment_decisions(rep, now - acceptance.window)
            .await?;
        if acceptance.is_below(decisions.accepted, decisions.decided) {
            return Err(Error::precondition(
                Reason::AcceptanceTooLow,
                rep.name(),
                format!(
                    "{} accepted {} of {} assignments recently, below the minimum of {}%; \
                     pools reopen once enough assignments are accepted",
                    rep.name(),
                    decisions.accepted,
                    decisions.decided,
                    acceptance.minimum_percent
                ),
            ));
        }
        Ok(())
    }

    /// Tier gating: a pool opens only once the pools gating it are empty.
    async fn require_gates_open(&self, pool: &PoolId, rules: &ClaimRules) -> Result<(), Error> {
        for gate in &rules.gates {
            let left = self.store.count_available(gate).await?;
            if left > 0 {
                return Err(Error::precondition(
                    Reason::TierGated,
                    pool.name(),
                    format!(
                        "{} opens when {} is empty ({left} leads left there); claim from it first",
                        pool.name(),
                        gate.name()
                    ),
                ));
            }
        }
        Ok(())
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
        let unused = reservation
            .granted()
            .saturating_sub(u32::try_from(used).unwrap_or(u32::MAX));
        if let Err(err) = self.limiter.release(reservation, unused).await {
            tracing::warn!(error = %err, unused, "could not hand back unused claim allowance");
        }
    }

    /// Why a lead could not be claimed, worked out only after the claim failed.
    pub async fn explain_unavailable(&self, id: LeadId) -> Error {
        match self.store.get_lead(id).await {
            Ok(lead) => unavailable_lead(id, lead.state),
            Err(err) => err,
        }
    }

    /// The lead a change by its owner `rep` returned, or why there was none: the lead was
    /// not hers, or not in one of the `expected` states.
    pub async fn owned_change(
        &self,
        changed: Option<LeadRecord>,
        id: LeadId,
        rep: &RepId,
        expected: &[LeadState],
    ) -> Result<leadpool_proto::v1::Lead, Error> {
        match changed {
            Some(lead) => Ok(leadpool_server::convert::lead(&lead)),
            None => Err(self.explain_not_owned(id, rep, expected).await),
        }
    }

    /// Why a lead could not be changed by `rep`, who needed it in one of `expected`.
    async fn explain_not_owned(&self, id: LeadId, rep: &RepId, expected: &[LeadState]) -> Error {
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
                    Reason::LeadNotOwned,
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

/// A chosen lead, unless the rep gave it up too recently.
async fn claim_chosen(
    tx: &mut RepClaim,
    rules: &ClaimRules,
    id: LeadId,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Vec<LeadRecord>, Error> {
    if let Some(embargo) = rules.reclaim_embargo
        && let Some(gave_up) = tx.gave_up_after(id, now - embargo).await?
    {
        return Err(Error::precondition(
            Reason::ReclaimEmbargo,
            id.name(),
            format!(
                "you gave up {} at {}; you may claim it again from {}",
                id.name(),
                gave_up.to_rfc3339(),
                (gave_up + embargo).to_rfc3339()
            ),
        ));
    }
    Ok(tx.claim_lead(id, actor, now).await?.into_iter().collect())
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

fn unavailable_lead(id: LeadId, state: LeadState) -> Error {
    Error::precondition(
        Reason::LeadNotAvailable,
        id.name(),
        format!(
            "{} is no longer available (it is {state}); browse the pool for another lead",
            id.name()
        ),
    )
}

/// The start of the history claim logs keep: [`RETENTION`] before `now`.
pub fn retention_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::from_std(RETENTION).unwrap_or_default()
}

/// How many more open leads the rep may take under a cap of `max`.
fn active_room(rep: &RepId, max: u32, open: i64, pool: Option<&PoolId>) -> Result<i64, Error> {
    let room = i64::from(max) - open;
    if room > 0 {
        return Ok(room);
    }
    let (reason, label) = active_lead_limit(pool);
    Err(Error::ResourceExhausted {
        message: format!(
            "{} holds {open} open leads, the {label} of {max}; contact, close or release one \
             before claiming more",
            rep.name()
        ),
        reason,
        violations: vec![QuotaViolation {
            subject: rep.name(),
            description: format!("{label}: {open} of {max} open"),
        }],
        retry_after: None,
    })
}

fn ratio_unmet(pool: &PoolId, required: u32, from: &[PoolId], made: i64) -> Error {
    Error::precondition(
        Reason::ClaimRatio,
        pool.name(),
        format!(
            "a claim from {} needs {required} claims from {} since your last one there; you \
             have made {made}",
            pool.name(),
            pool_names(from)
        ),
    )
}

fn exhausted(rep: &RepId, limit: &Refusal, used: u32, retry_after: Duration) -> Error {
    let retry_secs = retry_after.as_secs_f64().ceil();
    let (reason, label, max) = match limit {
        Refusal::Window(window) => (window.reason, window.label.clone(), window.max),
        Refusal::Cooldown(cooldown) => (
            Reason::ClaimCooldown,
            format!("cooldown after {} claims in a row", cooldown.after),
            cooldown.after,
        ),
    };
    Error::ResourceExhausted {
        message: format!(
            "{} reached the {label} ({used} of {max} claims used); claims are possible again \
             in {retry_secs}s",
            rep.name(),
        ),
        reason,
        violations: vec![QuotaViolation {
            subject: rep.name(),
            description: format!("{label}: {used} of {max} used"),
        }],
        retry_after: Some(retry_after),
    }
}

/// Redis being unreachable pauses claiming (limits cannot be checked); say so plainly.
fn limits_unreachable(err: Error) -> Error {
    match err {
        Error::Unavailable { message, .. } => Error::Unavailable {
            dependency: "redis",
            message: format!(
                "claim limits cannot be checked ({message}), so claiming is paused; browsing, \
                 releasing and recording contacts still work. Retry in a few seconds"
            ),
        },
        other => other,
    }
}
