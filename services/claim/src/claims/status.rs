//! GetRepStatus: where a rep stands against every rule that can refuse her a claim.

use std::time::Duration;

use chrono::{DateTime, Utc};
use leadpool_domain::{
    AvailabilitySetting, AwayNow, Error, Lead, LeadId, LeadState, PoolId, Reason, RepId,
};
use leadpool_limits::{LimitSet, LimitStatus, Scope, Subject, WindowUse};
use leadpool_policy::{Consequence, Policy, Pool, Rep};
use leadpool_store::RatioProgress;

use super::{Claims, retention_start};
use crate::rules::{ClaimRules, active_lead_limit, pool_names};

/// A rep's standing at one moment.
#[derive(Debug, Clone)]
pub struct RepStatus {
    pub rep: RepId,
    pub as_of: DateTime<Utc>,
    /// Every limit on her, including limits on claims from one pool.
    pub limits: Vec<LimitUse>,
    pub cooldown: Option<CooldownUse>,
    /// Every pool of the policy, as she sees it.
    pub pools: Vec<PoolStanding>,
    pub acceptance: Option<AcceptanceStanding>,
    /// Leads she is working on, earliest deadline first.
    pub open_leads: Vec<OpenLead>,
    pub policy_version: i64,
    /// Redis is unreachable: the limits were worked out from the lead history.
    pub limits_from_history: bool,
    /// Why she is away now, if she is.
    pub away: Option<AwayNow>,
    /// What SetRepAvailability set for her.
    pub availability: Option<AvailabilitySetting>,
}

/// One limit's use.
#[derive(Debug, Clone)]
pub struct LimitUse {
    pub limit: Reason,
    pub description: String,
    /// For a limit on claims from one pool.
    pub pool: Option<PoolId>,
    pub max: u32,
    pub used: u32,
    /// When one more claim becomes possible (rolling windows with a claim in them).
    pub frees_at: Option<DateTime<Utc>>,
    /// The rolling window; `None` for the open-lead caps.
    pub window: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct CooldownUse {
    pub after_claims: u32,
    pub pause: Duration,
    pub claims_in_run: u32,
    pub ends_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct PoolStanding {
    pub pool: PoolId,
    /// Why she may not claim from it now; empty when she may.
    pub reasons: Vec<String>,
    pub ratio: Option<RatioStanding>,
    pub rotation: Option<RotationStanding>,
}

#[derive(Debug, Clone)]
pub struct RatioStanding {
    pub required: u32,
    pub from_pools: Vec<PoolId>,
    pub progress: RatioProgress,
    /// How long a claim must be kept to count, if not contacted.
    pub min_hold: chrono::Duration,
}

impl RatioStanding {
    pub fn satisfied(&self) -> bool {
        self.progress.worked >= i64::from(self.required)
    }
}

#[derive(Debug, Clone)]
pub struct RotationStanding {
    pub holder: RepId,
    pub window_end: DateTime<Utc>,
    pub her_next_window: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct AcceptanceStanding {
    pub accepted: u32,
    pub decided: u32,
    pub minimum_percent: u32,
    pub window: Option<Duration>,
    pub below_minimum: bool,
    pub consequence: Consequence,
}

/// A lead she holds, with its deadline and, close to it, her warning (C5).
#[derive(Debug, Clone)]
pub struct OpenLead {
    pub lead: LeadId,
    pub state: LeadState,
    pub pool: Option<PoolId>,
    pub contact_due: Option<DateTime<Utc>>,
    pub warning_at: Option<DateTime<Utc>>,
    pub due_soon: bool,
}

impl Claims {
    pub async fn rep_status(&self, rep: &RepId, now: DateTime<Utc>) -> Result<RepStatus, Error> {
        let current = self.policy.current().await?;
        let policy = &current.policy;
        let record = policy
            .rep(rep)
            .ok_or_else(|| Error::not_found("rep", rep.name()))?;
        let open = self.store.open_leads_of(rep).await?;
        let settings = self.store.availability_settings().await?;
        let away = policy.away_at(now, &settings);
        let own = ClaimRules::new(policy, record, None, self.settings.daily_limit);
        let (usage, mut from_history) = self.limit_status(rep, None, &own.limits, now).await?;
        let mut limits = window_uses(None, &usage);
        if let Some(max) = own.active_leads {
            limits.push(active_use(None, max, open.len()));
        }
        let cooldown = own.limits.cooldown.map(|rule| CooldownUse {
            after_claims: rule.after,
            pause: rule.pause,
            claims_in_run: usage.streak,
            ends_at: usage.cooling_until,
        });

        let acceptance = match policy.acceptance {
            Some(rule) => {
                let decisions = self
                    .store
                    .assignment_decisions(rep, now - rule.window)
                    .await?;
                Some(AcceptanceStanding {
                    accepted: decisions.accepted,
                    decided: decisions.decided,
                    minimum_percent: rule.minimum_percent,
                    window: rule.window.to_std().ok(),
                    below_minimum: rule.is_below(decisions.accepted, decisions.decided),
                    consequence: rule.consequence,
                })
            }
            None => None,
        };
        let locked_out = acceptance
            .as_ref()
            .is_some_and(|a| a.below_minimum && a.consequence == Consequence::LosePoolAccess);

        let mut pools = Vec::new();
        for pool in &policy.pools {
            let mut rules = ClaimRules::new(policy, record, Some(pool), self.settings.daily_limit);
            // An away rep's exclusive windows pass to the others.
            rules.rotation = rules.rotation.map(|rotation| rotation.without(&away));
            let pool_windows = LimitSet {
                windows: rules
                    .limits
                    .windows
                    .iter()
                    .filter(|w| w.scope == Scope::Pool)
                    .cloned()
                    .collect(),
                cooldown: None,
            };
            if !pool_windows.windows.is_empty() {
                let (usage, pool_from_history) = self
                    .limit_status(rep, Some(&pool.id), &pool_windows, now)
                    .await?;
                from_history |= pool_from_history;
                limits.extend(window_uses(Some(&pool.id), &usage));
            }
            if let Some(max) = rules.pool_active_leads {
                let held = open
                    .iter()
                    .filter(|l| l.pool.as_ref() == Some(&pool.id))
                    .count();
                limits.push(active_use(Some(&pool.id), max, held));
            }
            pools.push(
                self.pool_standing(policy, record, pool, &rules, locked_out, now)
                    .await?,
            );
        }

        Ok(RepStatus {
            rep: rep.clone(),
            as_of: now,
            limits,
            cooldown,
            pools,
            acceptance,
            open_leads: open
                .iter()
                .map(|lead| open_lead(policy, lead, now))
                .collect(),
            policy_version: current.version,
            limits_from_history: from_history,
            away: away.of(rep).cloned(),
            availability: settings.into_iter().find(|s| &s.rep == rep),
        })
    }

    async fn pool_standing(
        &self,
        policy: &Policy,
        rep: &Rep,
        pool: &Pool,
        rules: &ClaimRules,
        locked_out: bool,
        now: DateTime<Utc>,
    ) -> Result<PoolStanding, Error> {
        let access = policy.explain_access(&rep.id, &pool.id, now);
        let mut reasons = if access.allowed {
            Vec::new()
        } else {
            access.reasons
        };
        for gate in &rules.gates {
            let left = self.store.count_available(gate).await?;
            if left > 0 {
                reasons.push(format!("opens when {} is empty ({left} left)", gate.name()));
            }
        }
        if locked_out {
            reasons.push("acceptance of assignments is below the minimum".to_owned());
        }
        let ratio = match &rules.ratio {
            Some(ratio) => {
                let standing = RatioStanding {
                    required: ratio.claims,
                    from_pools: ratio.from.clone(),
                    progress: self
                        .store
                        .ratio_progress(&rep.id, &pool.id, &ratio.from, ratio.min_hold, now)
                        .await?,
                    min_hold: ratio.min_hold,
                };
                if !standing.satisfied() {
                    reasons.push(format!(
                        "needs {} more worked claims from {} first ({}; you have {})",
                        i64::from(ratio.claims) - standing.progress.worked,
                        pool_names(&ratio.from),
                        super::worked_means(ratio),
                        super::progress_text(standing.progress)
                    ));
                }
                Some(standing)
            }
            None => None,
        };
        let rotation = rules.rotation.as_ref().and_then(|rotation| {
            let turn = rotation.turn_at(now)?;
            Some(RotationStanding {
                holder: turn.holder,
                window_end: turn.end,
                her_next_window: rotation.next_turn_of(&rep.id, now),
            })
        });
        Ok(PoolStanding {
            pool: pool.id.clone(),
            reasons,
            ratio,
            rotation,
        })
    }

    /// The use of `limits` by `rep`, rebuilding from history any claim log Redis lost. While
    /// Redis is unreachable, worked out from the lead history instead (the `bool`): the counts
    /// are the same, the cooldown is unknown.
    async fn limit_status(
        &self,
        rep: &RepId,
        pool: Option<&PoolId>,
        limits: &LimitSet,
        now: DateTime<Utc>,
    ) -> Result<(LimitStatus, bool), Error> {
        let subject = Subject {
            rep: rep.clone(),
            pool: pool.cloned(),
        };
        let usage = self
            .with_seeded_logs(&subject, now, || self.limiter.status(&subject, limits, now))
            .await;
        match usage {
            Ok(usage) => Ok((usage, false)),
            Err(Error::Unavailable { .. }) => Ok((
                self.limit_status_from_history(&subject, limits, now)
                    .await?,
                true,
            )),
            Err(other) => Err(other),
        }
    }

    async fn limit_status_from_history(
        &self,
        subject: &Subject,
        limits: &LimitSet,
        now: DateTime<Utc>,
    ) -> Result<LimitStatus, Error> {
        let claimed = self
            .store
            .claim_times(&subject.rep, subject.pool.as_ref(), retention_start(now))
            .await?;
        let windows = limits
            .windows
            .iter()
            .map(|limit| {
                let window = chrono::Duration::from_std(limit.window).unwrap_or_default();
                let inside: Vec<&DateTime<Utc>> =
                    claimed.iter().filter(|at| **at > now - window).collect();
                WindowUse {
                    limit: limit.clone(),
                    used: u32::try_from(inside.len()).unwrap_or(u32::MAX),
                    frees_at: inside.first().map(|oldest| **oldest + window),
                }
            })
            .collect();
        Ok(LimitStatus {
            windows,
            streak: 0,
            cooling_until: None,
        })
    }
}

fn window_uses(pool: Option<&PoolId>, usage: &LimitStatus) -> Vec<LimitUse> {
    usage
        .windows
        .iter()
        .map(|w| LimitUse {
            limit: w.limit.reason,
            description: w.limit.label.clone(),
            pool: pool.cloned(),
            max: w.limit.max,
            used: w.used,
            frees_at: w.frees_at,
            window: Some(w.limit.window),
        })
        .collect()
}

fn active_use(pool: Option<&PoolId>, max: u32, held: usize) -> LimitUse {
    let (limit, description) = active_lead_limit(pool);
    LimitUse {
        limit,
        description,
        pool: pool.cloned(),
        max,
        used: u32::try_from(held).unwrap_or(u32::MAX),
        frees_at: None,
        window: None,
    }
}

fn open_lead(policy: &Policy, lead: &Lead, now: DateTime<Utc>) -> OpenLead {
    // `contactWarning` before the deadline, on the clock that set it.
    let assigned = lead.state == LeadState::Assigned;
    let warning_at = match (&lead.pool, lead.contact_due_at) {
        (Some(pool), Some(due)) => Some(policy.warning_from(pool, due, assigned)),
        (None, Some(due)) => Some(due - chrono::Duration::minutes(15)),
        _ => None,
    };
    OpenLead {
        lead: lead.id,
        state: lead.state,
        pool: lead.pool.clone(),
        contact_due: lead.contact_due_at,
        warning_at,
        due_soon: warning_at.is_some_and(|at| now >= at),
    }
}
