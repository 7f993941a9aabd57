//! The claim rules for one rep claiming from one pool, worked out from the policy.
//!
//! Limits come from the rep, else her team, else the policy (see [`Policy::limits_for`]); a
//! pool's own limits cap claims from that pool on top. Rolling windows and the cooldown are
//! checked in Redis; the active-lead caps, ratios, embargo and rotation inside the Postgres
//! claim transaction.

use std::time::Duration;

use chrono::{DateTime, Utc};
use leadpool_domain::{Error, PoolId, Reason, RepId};
use leadpool_limits::{CooldownRule, LimitSet, RollingLimit, Scope};
use leadpool_policy::{Limits, Policy, Pool, Ratio, Rep, RotationWindow, Skill, WindowTurn};
use leadpool_store::SkillFilter;

const DAY: Duration = Duration::from_secs(24 * 3600);
const HOUR: Duration = Duration::from_secs(3600);

pub struct ClaimRules {
    /// Checked and reserved in Redis.
    pub limits: LimitSet,
    /// Open leads the rep may hold, over all pools.
    pub active_leads: Option<u32>,
    /// Open leads the rep may hold from this pool.
    pub pool_active_leads: Option<u32>,
    pub reclaim_embargo: Option<chrono::Duration>,
    pub ratio: Option<Ratio>,
    pub rotation: Option<RotationWindow>,
    /// Pools that must be empty before this one opens.
    pub gates: Vec<PoolId>,
    /// Leads go only to reps covering their skills, until they waited long enough.
    pub skills: Option<leadpool_policy::SkillMatch>,
    /// The pool's lifecycle clock, on which the skills' wait is counted.
    pub lifecycle: leadpool_policy::PoolClock,
    /// What the claiming rep covers: products, industries, languages.
    covers: [Vec<String>; 3],
}

impl ClaimRules {
    /// `default_daily` is the service's daily limit for policies that set none.
    pub fn new(policy: &Policy, rep: &Rep, pool: Option<&Pool>, default_daily: u32) -> Self {
        let own = policy.limits_for(rep);
        let pool_limits = pool.map(|p| p.limits).unwrap_or_default();
        let mut windows = vec![window(
            Reason::DailyClaimLimit,
            "daily claim limit".into(),
            Scope::Rep,
            DAY,
            own.per_day.unwrap_or(default_daily),
        )];
        if let Some(max) = own.per_hour {
            windows.push(window(
                Reason::HourlyClaimLimit,
                "hourly claim limit".into(),
                Scope::Rep,
                HOUR,
                max,
            ));
        }
        if let Some(pool) = pool {
            windows.extend(pool_windows(&pool.id, pool_limits));
        }
        Self {
            limits: LimitSet {
                windows,
                cooldown: pool_limits.cooldown.or(own.cooldown).map(|c| CooldownRule {
                    after: c.after,
                    pause: c.pause.to_std().unwrap_or_default(),
                }),
            },
            active_leads: own.active_leads,
            pool_active_leads: pool_limits.active_leads,
            reclaim_embargo: pool_limits.reclaim_embargo.or(own.reclaim_embargo),
            ratio: pool.and_then(|p| p.ratio.clone()),
            rotation: pool.and_then(|p| p.rotation.clone()),
            gates: pool.map(|p| p.gates.clone()).unwrap_or_default(),
            skills: pool.and_then(|p| p.skills.clone()),
            lifecycle: pool.map(|p| p.clocks.lifecycle.clone()).unwrap_or_default(),
            covers: [Skill::Product, Skill::Industry, Skill::Language]
                .map(|skill| skill.of_rep(rep).iter().cloned().collect()),
        }
    }

    /// Which leads ClaimNext skips for this rep at `now` because of the pool's skill match.
    pub fn skill_filter(&self, now: DateTime<Utc>) -> Option<SkillFilter> {
        let skills = self.skills.as_ref()?;
        let [products, industries, languages] = [Skill::Product, Skill::Industry, Skill::Language]
            .map(|skill| {
                skills
                    .skills
                    .contains(&skill)
                    .then(|| self.covers[skill as usize].clone())
            });
        Some(SkillFilter {
            products,
            industries,
            languages,
            relaxed_before: skills.relaxed_before(now, &self.lifecycle),
        })
    }

    /// Whether a claim by `rep` at `now` may be made with others (group commit): not when it
    /// needs the history of her own claims (a ratio, the reclaim embargo) or skips leads only
    /// for her (another rep's rotation window, leads needing skills she lacks).
    pub fn groupable(&self, rep: &RepId, now: DateTime<Utc>) -> bool {
        self.ratio.is_none()
            && self.reclaim_embargo.is_none()
            && self.skills.is_none()
            && self.excluding_turn(rep, now).is_none()
    }

    /// The rotation turn that keeps new leads from `rep` at `now`: another rep's open window.
    pub fn excluding_turn(&self, rep: &RepId, now: DateTime<Utc>) -> Option<WindowTurn> {
        self.rotation
            .as_ref()
            .and_then(|rotation| rotation.excluding_turn(rep, now))
    }
}

/// The policy's record of `rep`, if she may claim at all.
pub fn claiming_rep<'p>(policy: &'p Policy, rep: &RepId) -> Result<&'p Rep, Error> {
    let record = policy.rep(rep).ok_or_else(|| {
        Error::precondition(
            Reason::RepNotRegistered,
            rep.name(),
            format!(
                "{} is not a rep in the routing policy; ask an admin to add her",
                rep.name()
            ),
        )
    })?;
    if !record.active {
        return Err(Error::precondition(
            Reason::RepInactive,
            rep.name(),
            format!("{} is inactive and cannot claim leads", rep.name()),
        ));
    }
    Ok(record)
}

/// The open-lead cap's stable reason and its label for people: the rep's own, or per pool.
pub fn active_lead_limit(pool: Option<&PoolId>) -> (Reason, String) {
    match pool {
        Some(pool) => (
            Reason::PoolActiveLeadLimit,
            format!("open-lead limit for {}", pool.name()),
        ),
        None => (Reason::ActiveLeadLimit, "open-lead limit".to_owned()),
    }
}

/// "pools/a or pools/b".
pub fn pool_names(pools: &[PoolId]) -> String {
    pools
        .iter()
        .map(PoolId::name)
        .collect::<Vec<_>>()
        .join(" or ")
}

fn pool_windows(pool: &PoolId, limits: Limits) -> Vec<RollingLimit> {
    let mut windows = Vec::new();
    if let Some(max) = limits.per_day {
        windows.push(window(
            Reason::PoolDailyClaimLimit,
            format!("daily claim limit for {}", pool.name()),
            Scope::Pool,
            DAY,
            max,
        ));
    }
    if let Some(max) = limits.per_hour {
        windows.push(window(
            Reason::PoolHourlyClaimLimit,
            format!("hourly claim limit for {}", pool.name()),
            Scope::Pool,
            HOUR,
            max,
        ));
    }
    windows
}

fn window(reason: Reason, label: String, scope: Scope, window: Duration, max: u32) -> RollingLimit {
    RollingLimit {
        reason,
        label,
        scope,
        window,
        max,
    }
}
