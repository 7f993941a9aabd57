//! GetRepStatus: where a rep stands against every rule that can refuse her a claim.

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, PoolId, RepId};
use leadpool_limits::{LimitSet, LimitStatus, Scope, Subject, WindowUse};
use leadpool_policy::{Consequence, Policy, Pool, Rep};
use leadpool_proto::{Duration as ProtoDuration, v1};
use leadpool_server::convert::{lead_state, timestamp};
use leadpool_store::LeadRecord;

use crate::claims::{Claims, retention_start};
use crate::rules::{ClaimRules, active_lead_limit, pool_names};

impl Claims {
    pub async fn rep_status(
        &self,
        rep: &RepId,
        now: DateTime<Utc>,
    ) -> Result<v1::GetRepStatusResponse, Error> {
        let current = self.policy.current().await?;
        let policy = &current.policy;
        let record = policy
            .rep(rep)
            .ok_or_else(|| Error::not_found("rep", rep.name()))?;
        let open = self.store.open_leads_of(rep).await?;
        let own = ClaimRules::new(policy, record, None, self.settings.daily_limit);
        let (usage, mut from_history) = self.limit_status(rep, None, &own.limits, now).await?;
        let mut limits = window_usages(None, &usage, now);
        if let Some(max) = own.active_leads {
            limits.push(active_usage(None, max, open.len()));
        }
        let cooldown = own.limits.cooldown.map(|rule| v1::CooldownStatus {
            after_claims: to_i32(rule.after),
            pause: ProtoDuration::try_from(rule.pause).ok(),
            claims_in_run: to_i32(usage.streak),
            end_time: usage.cooling_until.map(timestamp),
        });

        let acceptance = match policy.acceptance {
            Some(rule) => {
                let decisions = self
                    .store
                    .assignment_decisions(rep, now - rule.window)
                    .await?;
                Some(v1::AcceptanceStatus {
                    accepted: to_i32(decisions.accepted),
                    decided: to_i32(decisions.decided),
                    minimum_percent: to_i32(rule.minimum_percent),
                    window: rule
                        .window
                        .to_std()
                        .ok()
                        .and_then(|w| ProtoDuration::try_from(w).ok()),
                    below_minimum: rule.is_below(decisions.accepted, decisions.decided),
                    consequence: rule.consequence.name().to_owned(),
                })
            }
            None => None,
        };
        let locked_out = acceptance.as_ref().is_some_and(|a| {
            a.below_minimum && a.consequence == Consequence::LosePoolAccess.name()
        });

        let mut pools = Vec::new();
        for pool in &policy.pools {
            let rules = ClaimRules::new(policy, record, Some(pool), self.settings.daily_limit);
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
                limits.extend(window_usages(Some(&pool.id), &usage, now));
            }
            if let Some(max) = rules.pool_active_leads {
                let held = open
                    .iter()
                    .filter(|l| l.pool_id.as_deref() == Some(pool.id.as_str()))
                    .count();
                limits.push(active_usage(Some(&pool.id), max, held));
            }
            pools.push(
                self.pool_status(policy, record, pool, &rules, locked_out, now)
                    .await?,
            );
        }

        Ok(v1::GetRepStatusResponse {
            rep: rep.name(),
            as_of_time: Some(timestamp(now)),
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
        })
    }

    async fn pool_status(
        &self,
        policy: &Policy,
        rep: &Rep,
        pool: &Pool,
        rules: &ClaimRules,
        locked_out: bool,
        now: DateTime<Utc>,
    ) -> Result<v1::RepPoolStatus, Error> {
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
                let made = self
                    .store
                    .claims_since_last(&rep.id, &pool.id, &ratio.from)
                    .await?;
                let satisfied = made >= i64::from(ratio.claims);
                if !satisfied {
                    reasons.push(format!(
                        "needs {} more claims from {} first",
                        i64::from(ratio.claims) - made,
                        pool_names(&ratio.from)
                    ));
                }
                Some(v1::RatioStatus {
                    required: to_i32(ratio.claims),
                    from_pools: ratio.from.iter().map(PoolId::name).collect(),
                    made: i32::try_from(made).unwrap_or(i32::MAX),
                    satisfied,
                })
            }
            None => None,
        };
        let rotation = rules.rotation.as_ref().and_then(|rotation| {
            let turn = rotation.turn_at(now)?;
            Some(v1::RotationStatus {
                holder: turn.holder.name(),
                window_end_time: Some(timestamp(turn.end)),
                next_window_start_time: rotation.next_turn_of(&rep.id, now).map(timestamp),
            })
        });
        Ok(v1::RepPoolStatus {
            pool: pool.id.name(),
            claimable: reasons.is_empty(),
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

fn window_usages(
    pool: Option<&PoolId>,
    usage: &LimitStatus,
    now: DateTime<Utc>,
) -> Vec<v1::LimitUsage> {
    usage
        .windows
        .iter()
        .map(|w| v1::LimitUsage {
            limit: w.limit.reason.as_str().to_owned(),
            description: w.limit.label.clone(),
            pool: pool.map(PoolId::name).unwrap_or_default(),
            max: to_i32(w.limit.max),
            used: to_i32(w.used),
            remaining: to_i32(w.limit.max.saturating_sub(w.used)),
            reset_time: w.frees_at.filter(|at| *at > now).map(timestamp),
            window: ProtoDuration::try_from(w.limit.window).ok(),
        })
        .collect()
}

fn active_usage(pool: Option<&PoolId>, max: u32, held: usize) -> v1::LimitUsage {
    let used = u32::try_from(held).unwrap_or(u32::MAX);
    let (limit, description) = active_lead_limit(pool);
    v1::LimitUsage {
        limit: limit.as_str().to_owned(),
        description,
        pool: pool.map(PoolId::name).unwrap_or_default(),
        max: to_i32(max),
        used: to_i32(used),
        remaining: to_i32(max.saturating_sub(used)),
        reset_time: None,
        window: None,
    }
}

/// A lead the rep holds, with its deadline and, close to it, her warning (C5).
fn open_lead(policy: &Policy, lead: &LeadRecord, now: DateTime<Utc>) -> v1::OpenLead {
    let warning = lead
        .pool_id
        .as_deref()
        .and_then(|p| PoolId::parse(p, "pool").ok())
        .and_then(|p| policy.pool(&p).map(|pool| pool.contact_warning))
        .unwrap_or_else(|| chrono::Duration::minutes(15));
    let warning_at = lead.contact_due_at.map(|due| due - warning);
    v1::OpenLead {
        lead: lead.lead_id().name(),
        state: lead_state(lead.state).into(),
        pool: lead
            .pool_id
            .as_deref()
            .map(|p| format!("pools/{p}"))
            .unwrap_or_default(),
        contact_due_time: lead.contact_due_at.map(timestamp),
        warning_time: warning_at.map(timestamp),
        due_soon: warning_at.is_some_and(|at| now >= at),
    }
}

fn to_i32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}
