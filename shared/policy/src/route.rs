//! Routing (I3, H1, H2): which pool a lead goes to, or whom it is pushed to, and why. The
//! explanation names the rule that decided and why each earlier rule did not.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::model::{Assign, Criteria, Policy, RuleTarget, Target};
use leadpool_domain::PoolId;

/// What routing looks at. Tags are lowercase, the country uppercase (as intake stores them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadFacts {
    pub id: Uuid,
    pub score: i32,
    pub region: String,
    pub country: String,
    pub product: String,
    pub industry: String,
    pub source: String,
    pub language: String,
}

impl LeadFacts {
    /// The facts of a lead just submitted, under the id it will be stored as.
    pub fn of_new(id: Uuid, lead: &leadpool_domain::NewLead) -> Self {
        Self {
            id,
            score: lead.score,
            region: lead.region.clone(),
            country: lead.country.clone(),
            product: lead.product.clone(),
            industry: lead.industry.clone(),
            language: lead.language.clone(),
            source: lead.source.clone(),
        }
    }
}

impl From<&leadpool_domain::Lead> for LeadFacts {
    fn from(lead: &leadpool_domain::Lead) -> Self {
        Self {
            id: lead.id.0,
            score: lead.score,
            region: lead.region.clone(),
            country: lead.country.clone(),
            product: lead.product.clone(),
            industry: lead.industry.clone(),
            language: lead.language.clone(),
            source: lead.source.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Pool(PoolId),
    /// Push to one of the rule's candidates; `key` identifies the rule (share) whose
    /// assignment counts keep the turn order fair.
    Assign {
        assign: Assign,
        key: String,
    },
    /// No rule applies and there is no default; the lead waits.
    Unroutable,
}

/// One rule as evaluated for one lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleCheck {
    pub rule: String,
    pub matched: bool,
    /// What matched, or every criterion that did not.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RouteExplanation {
    /// Every rule up to and including the one that matched.
    pub checks: Vec<RuleCheck>,
    /// The deciding rule; `None` for the default.
    pub rule: Option<String>,
    pub decision: Decision,
    /// How the decision followed from the rule: the split bucket, the tier chosen, …
    pub detail: String,
}

/// A lead the policy sends to a pool, as it enters it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolEntry {
    pub pool: PoolId,
    /// For its history: the rule (or default) and how it decided.
    pub reason: String,
    /// A timed pool's flash lead (P4): available at once instead of waiting for the release.
    pub flash: bool,
}

impl RouteExplanation {
    /// Why, for the lead's history: "rule `hot`: score 80 ≥ 75".
    pub fn reason(&self) -> String {
        let by = self.rule.as_deref().map_or_else(
            || "default route".to_owned(),
            |rule| format!("rule `{rule}`"),
        );
        format!("{by}: {}", self.detail)
    }
}

impl Policy {
    /// How a lead of `score` the route sends to `pool` enters it.
    pub fn pool_entry(&self, pool: PoolId, score: i32, reason: String) -> PoolEntry {
        let flash = self.is_flash(&pool, score);
        PoolEntry {
            reason: if flash {
                format!("{reason}; flash lead: released at once")
            } else {
                reason
            },
            pool,
            flash,
        }
    }

    /// Where `lead` goes when the policy alone decides it: a pool. `None` for an assignment
    /// (the turn order and who is on duty are routing's) or no route.
    pub fn pool_for(&self, lead: &LeadFacts) -> Option<PoolEntry> {
        let explained = self.route(lead);
        let reason = explained.reason();
        match explained.decision {
            Decision::Pool(pool) => Some(self.pool_entry(pool, lead.score, reason)),
            Decision::Assign { .. } | Decision::Unroutable => None,
        }
    }

    pub fn route(&self, lead: &LeadFacts) -> RouteExplanation {
        let mut checks = Vec::new();
        for rule in &self.routing.rules {
            let check = check_criteria(&rule.criteria, lead);
            let matched = check.is_ok();
            checks.push(RuleCheck {
                rule: rule.name.clone(),
                matched,
                reasons: match check {
                    Ok(matched) => matched,
                    Err(failed) => failed,
                },
            });
            if matched {
                let key = format!("rule/{}", rule.name);
                let (decision, detail) = match &rule.target {
                    RuleTarget::One(target) => self.resolve(target, lead, key),
                    RuleTarget::Split(shares) => {
                        let bucket = split_bucket(lead.id);
                        let mut upper = 0;
                        let mut chosen = None;
                        for (index, (percent, target)) in shares.iter().enumerate() {
                            let lower = upper;
                            upper += percent;
                            if bucket < upper {
                                chosen = Some((index, lower, upper, target));
                                break;
                            }
                        }
                        match chosen {
                            Some((index, lower, upper, target)) => {
                                let (decision, detail) =
                                    self.resolve(target, lead, format!("{key}/{index}"));
                                (
                                    decision,
                                    format!(
                                        "split bucket {bucket} is in share {index} (buckets {lower}..{upper}); {detail}"
                                    ),
                                )
                            }
                            None => (
                                Decision::Unroutable,
                                format!("split bucket {bucket} is in no share"),
                            ),
                        }
                    }
                };
                return RouteExplanation {
                    checks,
                    rule: Some(rule.name.clone()),
                    decision,
                    detail,
                };
            }
        }
        let (decision, detail) = match &self.routing.default {
            Some(target) => self.resolve(target, lead, "default".to_owned()),
            None => {
                let tiers: Vec<PoolId> = self
                    .pools
                    .iter()
                    .filter(|p| p.min_score.is_some())
                    .map(|p| p.id.clone())
                    .collect();
                if tiers.is_empty() {
                    (
                        Decision::Unroutable,
                        "no rule matched, there is no default, and no pool has a minScore"
                            .to_owned(),
                    )
                } else {
                    let (decision, detail) = self.by_tier(&tiers, lead.score);
                    (
                        decision,
                        format!(
                            "no rule matched; by score over every pool with a minScore: {detail}"
                        ),
                    )
                }
            }
        };
        RouteExplanation {
            checks,
            rule: None,
            decision,
            detail,
        }
    }

    fn resolve(&self, target: &Target, lead: &LeadFacts, key: String) -> (Decision, String) {
        match target {
            Target::Pool(pool) => (Decision::Pool(pool.clone()), format!("to {}", pool.name())),
            Target::Tiers(pools) => self.by_tier(pools, lead.score),
            Target::Assign(assign) => (
                Decision::Assign {
                    assign: assign.clone(),
                    key,
                },
                format!("auto-assigned ({})", assign.strategy),
            ),
        }
    }

    /// The pool with the highest minimum score at or below `score`.
    fn by_tier(&self, pools: &[PoolId], score: i32) -> (Decision, String) {
        let best = pools
            .iter()
            .filter_map(|id| self.pool(id))
            .filter_map(|pool| pool.min_score.map(|min| (min, pool)))
            .filter(|(min, _)| *min <= score)
            .max_by_key(|(min, _)| *min);
        match best {
            Some((min, pool)) => (
                Decision::Pool(pool.id.clone()),
                format!(
                    "score {score} reaches tier {} (minScore {min})",
                    pool.id.name()
                ),
            ),
            None => (
                Decision::Unroutable,
                format!("score {score} is below the minScore of every tier"),
            ),
        }
    }
}

/// A stable bucket in 0..100 for a lead: the same lead always falls in the same share, and
/// leads spread evenly over the shares.
pub fn split_bucket(id: Uuid) -> u32 {
    let digest = Sha256::digest(id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u32::try_from(u64::from_be_bytes(first) % 100).unwrap_or(0)
}

/// `Ok(what matched)` or `Err(every criterion that did not)`.
fn check_criteria(c: &Criteria, lead: &LeadFacts) -> Result<Vec<String>, Vec<String>> {
    let mut matched = Vec::new();
    let mut failed = Vec::new();
    let mut any_of = |what: &str, allowed: &BTreeSet<String>, value: &str| {
        if allowed.is_empty() {
            return;
        }
        let list = allowed.iter().cloned().collect::<Vec<_>>().join(", ");
        if allowed.contains(value) {
            matched.push(format!("{what} {value} is one of [{list}]"));
        } else if value.is_empty() {
            failed.push(format!(
                "the lead has no {what}; the rule wants one of [{list}]"
            ));
        } else {
            failed.push(format!("{what} {value} is not one of [{list}]"));
        }
    };
    any_of("region", &c.regions, &lead.region);
    any_of("country", &c.countries, &lead.country);
    any_of("product", &c.products, &lead.product);
    any_of("industry", &c.industries, &lead.industry);
    any_of("source", &c.sources, &lead.source);
    any_of("language", &c.languages, &lead.language);
    if let Some(min) = c.min_score {
        if lead.score >= min {
            matched.push(format!("score {} is at least {min}", lead.score));
        } else {
            failed.push(format!("score {} is below {min}", lead.score));
        }
    }
    if let Some(max) = c.max_score {
        if lead.score <= max {
            matched.push(format!("score {} is at most {max}", lead.score));
        } else {
            failed.push(format!("score {} is above {max}", lead.score));
        }
    }
    if failed.is_empty() {
        if matched.is_empty() {
            matched.push("the rule matches every lead".to_owned());
        }
        Ok(matched)
    } else {
        Err(failed)
    }
}
