//! S5 weekly cleanup, unbalanced segmentation: when one segmented pool takes far more (or
//! less) than its fair share of the inflow, propose moving routing criterion values (a region,
//! a product, …) from the rules feeding the busy pools to rules feeding the quiet ones — judged
//! by routing the last weeks' actual leads through the current policy and through each
//! candidate, so the expected shares before and after are the inflow's own.

use std::collections::BTreeMap;

use leadpool_domain::PoolId;

use crate::document::{MatchDoc, PolicyDocument};
use crate::model::{Policy, PoolKind};
use crate::route::{Decision, LeadFacts};

/// One criterion value moved from one rule to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentMove {
    /// `regions`, `countries`, `products`, `industries`, `sources` or `languages`.
    pub criterion: &'static str,
    pub value: String,
    pub from_rule: String,
    pub to_rule: String,
    pub from_pool: PoolId,
    pub to_pool: PoolId,
    /// Leads of the inflow that move with it.
    pub leads: i64,
}

/// A segmented pool's share of the inflow.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    pub pool: PoolId,
    pub leads: i64,
    /// Of the leads routed to segmented pools, in percent.
    pub percent: f64,
}

/// The proposed moves, the document with them, and the shares before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct Rebalance {
    pub document: PolicyDocument,
    pub moves: Vec<SegmentMove>,
    pub before: Vec<Share>,
    pub after: Vec<Share>,
}

/// At most this many moves in one proposal: it is a suggestion to review, not a rewrite.
const MAX_MOVES: usize = 5;

impl PolicyDocument {
    /// Moves `movement`'s value from its rule's criterion list to the other rule's.
    pub fn move_criterion(&mut self, movement: &SegmentMove) {
        for rule in &mut self.routing.rules {
            let (remove, add) = (
                rule.name == movement.from_rule,
                rule.name == movement.to_rule,
            );
            for (name, list) in lists(&mut rule.criteria) {
                if name != movement.criterion {
                    continue;
                }
                if remove {
                    list.retain(|v| v != &movement.value);
                }
                if add && !list.contains(&movement.value) {
                    list.push(movement.value.clone());
                }
            }
        }
    }
}

/// The criterion lists of a rule, by name.
fn lists(criteria: &mut MatchDoc) -> [(&'static str, &mut Vec<String>); 6] {
    [
        ("regions", &mut criteria.regions),
        ("countries", &mut criteria.countries),
        ("products", &mut criteria.products),
        ("industries", &mut criteria.industries),
        ("sources", &mut criteria.sources),
        ("languages", &mut criteria.languages),
    ]
}

impl Policy {
    /// Moves that even out the segmented pools' shares of `inflow` (the last weeks' leads),
    /// when one is outside the fair share times or divided by `health.unbalancedSegmentFactor`
    /// (what the unbalanced-segment alert says). Only rules routing to one segmented pool by a
    /// criterion list take part. `None` when the segments are balanced or no move helps.
    pub fn propose_rebalance(&self, inflow: &[LeadFacts]) -> Option<Rebalance> {
        let segmented: Vec<PoolId> = self
            .pools
            .iter()
            .filter(|p| p.kind == PoolKind::Segmented)
            .map(|p| p.id.clone())
            .collect();
        if segmented.len() < 2 {
            return None;
        }
        let before = shares(self, &segmented, inflow);
        let total: i64 = before.iter().map(|s| s.leads).sum();
        let fair = 100.0 / segmented.len() as f64;
        let factor = self.health.unbalanced_segment_factor;
        let unbalanced = |shares: &[Share]| {
            shares
                .iter()
                .any(|s| s.percent > fair * factor || s.percent < fair / factor)
        };
        if total == 0 || !unbalanced(&before) {
            return None;
        }
        let spread = |shares: &[Share]| {
            shares
                .iter()
                .map(|s| (s.percent - fair).powi(2))
                .sum::<f64>()
        };
        let mut document = self.document.clone();
        let mut current = before.clone();
        let mut moves = Vec::new();
        while moves.len() < MAX_MOVES && unbalanced(&current) {
            let mut best: Option<(f64, PolicyDocument, Vec<Share>, SegmentMove)> = None;
            for (candidate, movement) in candidates(&document, &segmented, &current, fair) {
                let Ok(compiled) = crate::compile(&candidate) else {
                    continue;
                };
                let after = shares(&compiled, &segmented, inflow);
                let score = spread(&after);
                if score < spread(&current) && best.as_ref().is_none_or(|b| score < b.0) {
                    let moved = moved_leads(&current, &after, &movement.from_pool);
                    best = Some((
                        score,
                        candidate,
                        after,
                        SegmentMove {
                            leads: moved,
                            ..movement
                        },
                    ));
                }
            }
            let Some((_, candidate, after, movement)) = best else {
                break;
            };
            document = candidate;
            current = after;
            moves.push(movement);
        }
        (!moves.is_empty()).then_some(Rebalance {
            document,
            moves,
            before,
            after: current,
        })
    }
}

/// How many leads left `pool` between two shares.
fn moved_leads(before: &[Share], after: &[Share], pool: &PoolId) -> i64 {
    let of = |shares: &[Share]| {
        shares
            .iter()
            .find(|s| &s.pool == pool)
            .map_or(0, |s| s.leads)
    };
    of(before) - of(after)
}

/// Each segmented pool's share of `inflow` as `policy` routes it.
fn shares(policy: &Policy, segmented: &[PoolId], inflow: &[LeadFacts]) -> Vec<Share> {
    let mut counts: BTreeMap<&PoolId, i64> = segmented.iter().map(|p| (p, 0)).collect();
    for lead in inflow {
        if let Decision::Pool(pool) = policy.route(lead).decision
            && let Some(count) = counts.get_mut(&pool)
        {
            *count += 1;
        }
    }
    let total: i64 = counts.values().sum();
    segmented
        .iter()
        .map(|pool| {
            let leads = counts[pool];
            Share {
                pool: pool.clone(),
                leads,
                percent: if total == 0 {
                    0.0
                } else {
                    (leads as f64 * 1000.0 / total as f64).round() / 10.0
                },
            }
        })
        .collect()
}

/// Every single move of one criterion value from a rule feeding an over-share pool to a rule
/// feeding an under-share pool that lists values of the same criterion.
fn candidates(
    document: &PolicyDocument,
    segmented: &[PoolId],
    shares: &[Share],
    fair: f64,
) -> Vec<(PolicyDocument, SegmentMove)> {
    let share = |pool: &str| {
        shares
            .iter()
            .find(|s| s.pool.as_str() == pool)
            .map(|s| s.percent)
    };
    // (rule index, its pool) for rules routing to one segmented pool.
    let feeding: Vec<(usize, PoolId)> = document
        .routing
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, rule)| {
            let pool = PoolId::parse(rule.pool.as_deref()?, "pool").ok()?;
            (rule.split.is_none() && segmented.contains(&pool)).then_some((i, pool))
        })
        .collect();
    let mut out = Vec::new();
    for (from, from_pool) in &feeding {
        if share(from_pool.as_str()).is_none_or(|s| s <= fair) {
            continue;
        }
        for (to, to_pool) in &feeding {
            if to_pool == from_pool || share(to_pool.as_str()).is_none_or(|s| s >= fair) {
                continue;
            }
            let mut source = document.routing.rules[*from].criteria.clone();
            for (criterion, values) in lists(&mut source) {
                if values.len() < 2 {
                    continue; // a rule's last value stays: moving it would empty the rule
                }
                let mut target = document.routing.rules[*to].criteria.clone();
                let receives = lists(&mut target)
                    .into_iter()
                    .any(|(name, list)| name == criterion && !list.is_empty());
                if !receives {
                    continue;
                }
                for value in values.iter() {
                    let movement = SegmentMove {
                        criterion,
                        value: value.clone(),
                        from_rule: document.routing.rules[*from].name.clone(),
                        to_rule: document.routing.rules[*to].name.clone(),
                        from_pool: from_pool.clone(),
                        to_pool: to_pool.clone(),
                        leads: 0,
                    };
                    let mut candidate = document.clone();
                    candidate.move_criterion(&movement);
                    out.push((candidate, movement));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    const POLICY: &str = r"
apiVersion: leadpool.dev/v1
kind: Policy
pools:
  - { id: west, type: segmented }
  - { id: east, type: segmented }
  - { id: south, type: segmented }
routing:
  rules:
    - { name: west, match: { regions: [ca, wa, or, nv] }, pool: west }
    - { name: east, match: { regions: [ny, ma] }, pool: east }
    - { name: south, match: { regions: [tx, fl] }, pool: south }
";

    fn inflow(counts: &[(&str, usize)]) -> Vec<LeadFacts> {
        counts
            .iter()
            .flat_map(|(region, n)| {
                (0..*n).map(|_| LeadFacts {
                    id: Uuid::new_v4(),
                    region: (*region).to_owned(),
                    ..LeadFacts::default()
                })
            })
            .collect()
    }

    #[test]
    fn an_overloaded_segment_gives_values_to_the_quiet_ones_and_the_shares_add_up() {
        let policy = crate::load(POLICY).unwrap();
        let leads = inflow(&[
            ("ca", 40),
            ("wa", 30),
            ("or", 10),
            ("nv", 5),
            ("ny", 5),
            ("ma", 3),
            ("tx", 4),
            ("fl", 3),
        ]);
        let proposal = policy.propose_rebalance(&leads).unwrap();
        for shares in [&proposal.before, &proposal.after] {
            let leads: i64 = shares.iter().map(|s| s.leads).sum();
            assert_eq!(leads, 100, "every lead routed to a segment is counted once");
            let percent: f64 = shares.iter().map(|s| s.percent).sum();
            assert!((percent - 100.0).abs() < 0.2, "{percent}");
        }
        assert_eq!(proposal.before[0].leads, 85, "west had 85 of 100");
        assert!(proposal.after[0].leads < 85);
        // What the moves say moved is what the shares say moved.
        let moved: i64 = proposal.moves.iter().map(|m| m.leads).sum();
        assert_eq!(moved, 85 - proposal.after[0].leads);
        assert!(
            proposal
                .moves
                .iter()
                .all(|m| m.from_pool.as_str() == "west")
        );
        // The document routes the moved values to their new rule, and validates.
        let compiled = crate::compile(&proposal.document).unwrap();
        let first = &proposal.moves[0];
        let lead = LeadFacts {
            region: first.value.clone(),
            ..LeadFacts::default()
        };
        assert_eq!(
            compiled.route(&lead).decision,
            Decision::Pool(first.to_pool.clone())
        );
    }

    #[test]
    fn balanced_segments_need_no_proposal() {
        let policy = crate::load(POLICY).unwrap();
        let leads = inflow(&[("ca", 10), ("ny", 12), ("tx", 9)]);
        assert!(policy.propose_rebalance(&leads).is_none());
    }
}
