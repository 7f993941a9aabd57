//! Access (A1–A4): may this rep browse and claim from this pool right now, and why (not).

use chrono::{DateTime, Datelike, TimeZone, Utc};
use leadpool_domain::{PoolId, RepId};

use crate::model::{AccessRule, BusinessHours, Performance, Policy, Rep, Rotation, Team};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessExplanation {
    pub allowed: bool,
    /// The access rule that grants it.
    pub rule: Option<String>,
    /// The time window the decision was made in, in the team's terms.
    pub window: String,
    /// Why: the grant, or every reason it was refused.
    pub reasons: Vec<String>,
}

impl AccessExplanation {
    fn denied(window: String, reason: String) -> Self {
        Self {
            allowed: false,
            rule: None,
            window,
            reasons: vec![reason],
        }
    }
}

impl Policy {
    pub fn explain_access(
        &self,
        rep_id: &RepId,
        pool_id: &PoolId,
        now: DateTime<Utc>,
    ) -> AccessExplanation {
        let Some(rep) = self.rep(rep_id) else {
            return AccessExplanation::denied(
                String::new(),
                format!("{} is not a rep in the current policy", rep_id.name()),
            );
        };
        let Some(pool) = self.pool(pool_id) else {
            return AccessExplanation::denied(
                String::new(),
                format!("{} is not a pool in the current policy", pool_id.name()),
            );
        };
        let window = match self.claim_window(rep, now) {
            Ok(window) => window,
            Err((window, reason)) => return AccessExplanation::denied(window, reason),
        };
        if !rep.active {
            return AccessExplanation::denied(window, format!("{} is inactive", rep_id.name()));
        }
        if rep.performance == Performance::BelowQuota {
            return AccessExplanation::denied(
                window,
                format!(
                    "{} is below quota: she receives auto-assigned leads and has no pool access",
                    rep_id.name()
                ),
            );
        }
        if pool.access.is_empty() {
            let mut reasons = vec![format!("{} is open to every rep", pool_id.name())];
            reasons.extend(pool_skills(pool, rep));
            return AccessExplanation {
                allowed: true,
                rule: None,
                window,
                reasons,
            };
        }
        let mut refusals = Vec::new();
        for rule in &pool.access {
            let misses = rule_misses(rule, rep);
            if misses.is_empty() {
                let mut reasons = vec![format!("access rule `{}` grants it", rule.name)];
                if let Some(skills) = &rule.skills {
                    reasons.push(format!(
                        "she has the skills it asks for ({})",
                        skills.describe()
                    ));
                }
                reasons.extend(pool_skills(pool, rep));
                return AccessExplanation {
                    allowed: true,
                    rule: Some(rule.name.clone()),
                    window,
                    reasons,
                };
            }
            refusals.push(format!("rule `{}`: {}", rule.name, misses.join("; ")));
        }
        AccessExplanation {
            allowed: false,
            rule: None,
            window,
            reasons: refusals,
        }
    }

    /// Whether `rep` may work `pool` at all — she is active and the pool's access rules grant
    /// her — whatever the hour and her quota standing: what a manager's assignment needs.
    /// `Err` says why not.
    pub fn may_work(&self, rep_id: &RepId, pool_id: &PoolId) -> Result<(), String> {
        let rep = self
            .rep(rep_id)
            .ok_or_else(|| format!("{} is not a rep in the current policy", rep_id.name()))?;
        let pool = self
            .pool(pool_id)
            .ok_or_else(|| format!("{} is not a pool in the current policy", pool_id.name()))?;
        if !rep.active {
            return Err(format!("{} is inactive", rep_id.name()));
        }
        if pool.access.is_empty() || pool.access.iter().any(|r| rule_misses(r, rep).is_empty()) {
            return Ok(());
        }
        Err(format!(
            "no access rule of {} grants {}",
            pool_id.name(),
            rep_id.name()
        ))
    }

    /// The reps off duty at `now`: outside their team's calendar (A4) or away. An assignment
    /// that expires in their hands is excused: it does not count against their acceptance.
    pub fn off_duty(&self, now: DateTime<Utc>, away: &crate::Away) -> Vec<RepId> {
        self.reps
            .values()
            .filter(|rep| away.is_away(&rep.id) || self.claim_window(rep, now).is_err())
            .map(|rep| rep.id.clone())
            .collect()
    }

    /// `Ok(window)` when the rep may claim at `now` by her team's calendar (A4), otherwise
    /// `Err((window, reason))`.
    pub fn claim_window(&self, rep: &Rep, now: DateTime<Utc>) -> Result<String, (String, String)> {
        let Some(team) = self.team_of(rep) else {
            return Ok("no team calendar: claiming is not time-restricted".to_owned());
        };
        let Some(hours) = &team.business_hours else {
            return Ok(format!(
                "team {} has no business hours: claiming is not time-restricted",
                team.id
            ));
        };
        let local = now.with_timezone(&team.time_zone);
        let hours_text = format!(
            "{}–{} {}",
            hours.from.format("%H:%M"),
            hours.to.format("%H:%M"),
            team.time_zone
        );
        let at = local.format("%a %H:%M %Z");
        let (business_day, within) = hours.at(&local);
        if within {
            return Ok(format!(
                "{at} is within team {} business hours ({hours_text})",
                team.id
            ));
        }
        let kind = if business_day {
            "after-hours (on-call)"
        } else {
            "weekend duty"
        };
        let window = if business_day {
            format!(
                "{at} is outside team {} business hours ({hours_text})",
                team.id
            )
        } else {
            format!("{at} is not a business day for team {}", team.id)
        };
        let Some(rotation) = self.shift_rotation(team, business_day) else {
            return Err((
                window,
                format!(
                    "team {} has no {kind} rotation, so nobody may claim now",
                    team.id
                ),
            ));
        };
        if rotation.on_duty(now).contains(&rep.id) {
            Ok(format!(
                "{window}; {} is on the {kind} rotation `{}` now",
                rep.id.name(),
                rotation.id
            ))
        } else {
            Err((
                window,
                format!(
                    "only the {kind} rotation `{}` may claim now, and {} is not on its current shift",
                    rotation.id,
                    rep.id.name()
                ),
            ))
        }
    }

    /// Whether `claim_window` lets `rep` claim at `now`, decided without putting it in words:
    /// for callers that ask for every rep again and again (the what-if simulation).
    pub fn may_claim_at(&self, rep: &Rep, now: DateTime<Utc>) -> bool {
        let Some(team) = self.team_of(rep) else {
            return true;
        };
        let Some(hours) = &team.business_hours else {
            return true;
        };
        let (business_day, within) = hours.at(&now.with_timezone(&team.time_zone));
        within
            || self
                .shift_rotation(team, business_day)
                .is_some_and(|rotation| rotation.on_duty(now).contains(&rep.id))
    }

    /// The rotation that may claim outside `team`'s business hours: on-call on a business
    /// day, weekend duty on another.
    fn shift_rotation(&self, team: &Team, business_day: bool) -> Option<&Rotation> {
        let rotation = if business_day {
            team.after_hours
        } else {
            team.weekends
        };
        rotation.and_then(|i| self.rotations.get(i))
    }
}

/// What a pool that matches leads to skills means for `rep`: which leads she may take.
fn pool_skills(pool: &crate::Pool, rep: &Rep) -> Option<String> {
    let skills = pool.skills.as_ref()?;
    let covered: Vec<String> = skills
        .skills
        .iter()
        .map(|skill| {
            let has: Vec<&str> = skill.of_rep(rep).iter().map(String::as_str).collect();
            format!("{}s [{}]", skill.name(), has.join(", "))
        })
        .collect();
    let relax = skills.relax_after.map_or(String::new(), |after| {
        format!("; after {} in the pool, any lead", crate::span(after))
    });
    Some(format!(
        "she may take leads whose {} she covers: {}{relax}",
        skills
            .skills
            .iter()
            .map(|s| s.name())
            .collect::<Vec<_>>()
            .join(", "),
        covered.join(", ")
    ))
}

/// Every criterion of `rule` the rep does not meet.
fn rule_misses(rule: &AccessRule, rep: &Rep) -> Vec<String> {
    let mut misses = Vec::new();
    let list = |items: Vec<String>| items.join(", ");
    if !rule.reps.is_empty() && !rule.reps.contains(&rep.id) {
        misses.push(format!(
            "only for reps [{}]",
            list(rule.reps.iter().map(|r| r.to_string()).collect())
        ));
    }
    if !rule.roles.is_empty() && !rule.roles.contains(&rep.role) {
        misses.push(format!(
            "role {} is not one of [{}]",
            rep.role,
            list(rule.roles.iter().map(|r| r.to_string()).collect())
        ));
    }
    if !rule.seniority.is_empty() && !rule.seniority.contains(&rep.seniority) {
        misses.push(format!(
            "seniority {} is not one of [{}]",
            rep.seniority,
            list(rule.seniority.iter().map(|s| s.to_string()).collect())
        ));
    }
    if !rule.performance.is_empty() && !rule.performance.contains(&rep.performance) {
        misses.push(format!(
            "performance {} is not one of [{}]",
            rep.performance,
            list(rule.performance.iter().map(|p| p.to_string()).collect())
        ));
    }
    if !rule.regions.is_empty() && rule.regions.is_disjoint(&rep.regions) {
        misses.push(format!(
            "covers regions [{}], none of [{}]",
            list(rep.regions.iter().cloned().collect()),
            list(rule.regions.iter().cloned().collect())
        ));
    }
    if !rule.teams.is_empty() && !rep.team.as_ref().is_some_and(|t| rule.teams.contains(t)) {
        misses.push(format!(
            "team is not one of [{}]",
            list(rule.teams.iter().cloned().collect())
        ));
    }
    if let Some(skills) = &rule.skills {
        misses.extend(skills.misses(rep));
    }
    misses
}

impl BusinessHours {
    /// Whether `local` falls on one of the business days, and within the hours of it.
    fn at<Z: TimeZone>(&self, local: &DateTime<Z>) -> (bool, bool) {
        let business_day = self.days[local.weekday().num_days_from_monday() as usize];
        let time = local.time();
        (
            business_day,
            business_day && time >= self.from && time < self.to,
        )
    }
}
