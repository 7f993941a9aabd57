//! S5 weekly cleanup: low-volume pools become a *proposed* policy that merges each into a
//! busier pool of the same kind — a document an ops team reviews (`apply --dry-run`) and
//! applies with `leadpoolctl apply`, never a change of the policy in force.

use std::collections::HashMap;

use leadpool_domain::PoolId;

use crate::document::{
    AssignDoc, LifecycleStepDoc, PolicyDocument, RetiredPoolDoc, ShareDoc, TargetDoc,
};
use crate::model::{Policy, Pool};

/// One merge the proposal makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    pub pool: PoolId,
    pub into: PoolId,
    /// New leads the merged pool received in the last 7 days.
    pub new_leads: i64,
}

/// The proposed document, what it merges, the low-volume pools it leaves (with why), and the
/// routing values it moves between segments with the segments' expected shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub document: PolicyDocument,
    pub merges: Vec<Merge>,
    pub kept: Vec<(PoolId, String)>,
    pub moves: Vec<crate::SegmentMove>,
    /// Each segmented pool's share of the last weeks' inflow, now and with the moves.
    pub shares: Vec<(crate::Share, crate::Share)>,
}

impl Policy {
    /// The weekly cleanup's proposal: low-volume pools merged (`arrivals`: new leads of the
    /// last 7 days by pool), then unbalanced segments evened out by moving routing values
    /// (judged on `inflow`, the last weeks' leads). The moves are made on the merged document
    /// and kept only if it still validates. `None` when there is nothing to propose.
    pub fn propose_cleanup(
        &self,
        arrivals: &HashMap<String, i64>,
        inflow: &[crate::LeadFacts],
    ) -> Option<Proposal> {
        let rebalance = self.propose_rebalance(inflow);
        let mut proposal = self.propose_merges(arrivals).unwrap_or_else(|| Proposal {
            document: self.document.clone(),
            merges: Vec::new(),
            kept: Vec::new(),
            moves: Vec::new(),
            shares: Vec::new(),
        });
        if let Some(rebalance) = rebalance {
            let mut document = proposal.document.clone();
            for movement in &rebalance.moves {
                document.move_criterion(movement);
            }
            if crate::compile(&document).is_ok() {
                proposal.document = document;
                proposal.shares = rebalance.before.into_iter().zip(rebalance.after).collect();
                proposal.moves = rebalance.moves;
            }
        }
        (!proposal.merges.is_empty() || !proposal.moves.is_empty()).then_some(proposal)
    }

    /// Proposes merging every pool with fewer than `health.lowVolumePerWeek` new leads in 7
    /// days (`arrivals`, by pool id) into the busiest pool of the same kind and tier that is
    /// not itself low-volume — or, where there is none, into the busiest of the low-volume ones.
    /// A merge the resulting policy would not validate with is left out (and said so). `None`
    /// when there is nothing to merge.
    pub fn propose_merges(&self, arrivals: &HashMap<String, i64>) -> Option<Proposal> {
        let volume = |pool: &Pool| arrivals.get(pool.id.as_str()).copied().unwrap_or(0);
        let minimum = i64::from(self.health.low_volume_per_week);
        let low: Vec<&Pool> = self.pools.iter().filter(|p| volume(p) < minimum).collect();
        if low.is_empty() {
            return None;
        }
        let alike = |a: &Pool, b: &Pool| a.kind == b.kind && a.tier == b.tier;
        let busiest = |candidates: Vec<&Pool>| -> Option<PoolId> {
            // Ties go to the pool listed first in the document.
            let mut best: Option<&Pool> = None;
            for pool in candidates {
                if best.is_none_or(|b| volume(pool) > volume(b)) {
                    best = Some(pool);
                }
            }
            best.map(|p| p.id.clone())
        };
        let mut proposal = Proposal {
            document: self.document.clone(),
            merges: Vec::new(),
            kept: Vec::new(),
            moves: Vec::new(),
            shares: Vec::new(),
        };
        for pool in &low {
            let healthy = self
                .pools
                .iter()
                .filter(|p| alike(p, pool) && volume(p) >= minimum)
                .collect();
            let target = busiest(healthy).or_else(|| {
                let low_alike: Vec<&Pool> =
                    low.iter().copied().filter(|p| alike(p, pool)).collect();
                busiest(low_alike).filter(|b| b != &pool.id)
            });
            let Some(into) = target else {
                let why = "no other pool of its kind and tier to merge into".to_owned();
                proposal.kept.push((pool.id.clone(), why));
                continue;
            };
            // Merged pools chain (a into b, b into c) only through pools that stay.
            let into = proposal
                .merges
                .iter()
                .find(|m| m.pool == into)
                .map_or(into, |m| m.into.clone());
            let mut document = proposal.document.clone();
            document.merge_pool(pool.id.as_str(), into.as_str());
            match crate::compile(&document) {
                Ok(_) => {
                    proposal.document = document;
                    proposal.merges.push(Merge {
                        pool: pool.id.clone(),
                        into,
                        new_leads: volume(pool),
                    });
                }
                Err(errors) => proposal.kept.push((
                    pool.id.clone(),
                    format!(
                        "merging it into {} would not validate: {}",
                        into.name(),
                        crate::PolicyError::join(&errors)
                    ),
                )),
            }
        }
        // A low-volume pool others merge into stays, as their target.
        for (pool, why) in &mut proposal.kept {
            if proposal.merges.iter().any(|m| &m.into == pool) {
                *why =
                    "the busiest low-volume pool of its kind: the others merge into it".to_owned();
            }
        }
        (!proposal.merges.is_empty()).then_some(proposal)
    }
}

impl PolicyDocument {
    /// Removes pool `from`, points every reference to it at `into` (routing, tiers, fallback
    /// pools, gates, ratios, lifecycle moves, priority pools, drains) and retires it into
    /// `into`, so the leads it holds move there when the document is applied.
    pub fn merge_pool(&mut self, from: &str, into: &str) {
        let swap = |id: &mut String| {
            if id == from {
                *id = into.to_owned();
            }
        };
        let swap_list = |ids: &mut Vec<String>, own: Option<&str>| {
            ids.iter_mut().for_each(swap);
            let mut seen = Vec::new();
            ids.retain(|id| {
                let keep = Some(id.as_str()) != own && !seen.contains(id);
                seen.push(id.clone());
                keep
            });
        };
        let swap_assign = |assign: &mut Option<AssignDoc>| {
            if let Some(pool) = assign.as_mut().and_then(|a| a.fallback_pool.as_mut()) {
                swap(pool);
            }
        };
        let swap_target = |pool: &mut Option<String>,
                           tiers: &mut Option<Vec<String>>,
                           assign: &mut Option<AssignDoc>| {
            pool.iter_mut().for_each(swap);
            if let Some(tiers) = tiers {
                swap_list(tiers, None);
            }
            swap_assign(assign);
        };
        let swap_lifecycle = |steps: &mut Vec<LifecycleStepDoc>, own: Option<&str>| {
            for step in steps.iter_mut() {
                step.to.iter_mut().for_each(swap);
                swap_assign(&mut step.assign);
            }
            // A move into the pool itself is no move.
            steps.retain(|step| own.is_none() || step.to.as_deref() != own);
        };

        self.pools.retain(|p| p.id != from);
        for rule in &mut self.routing.rules {
            swap_target(&mut rule.pool, &mut rule.tiers, &mut rule.assign);
            for ShareDoc {
                pool,
                tiers,
                assign,
                ..
            } in rule.split.iter_mut().flatten()
            {
                swap_target(pool, tiers, assign);
            }
        }
        if let Some(TargetDoc {
            pool,
            tiers,
            assign,
        }) = &mut self.routing.default
        {
            swap_target(pool, tiers, assign);
        }
        for pool in &mut self.pools {
            let own = pool.id.clone();
            swap_list(&mut pool.opens_when_empty, Some(&own));
            if let Some(ratio) = &mut pool.requires {
                swap_list(&mut ratio.from, Some(&own));
            }
            if pool.requires.as_ref().is_some_and(|r| r.from.is_empty()) {
                pool.requires = None;
            }
            if let Some(refresh) = &mut pool.refresh {
                refresh.priority_pool.iter_mut().for_each(swap);
                if refresh.priority_pool.as_deref() == Some(own.as_str()) {
                    refresh.priority_pool = None;
                }
            }
            if let Some(aging) = &mut pool.aging {
                swap_assign(&mut aging.assign);
            }
            if let Some(steps) = &mut pool.lifecycle {
                swap_lifecycle(steps, Some(&own));
            }
        }
        if let Some(aging) = &mut self.aging {
            swap_assign(&mut aging.assign);
        }
        if let Some(steps) = &mut self.lifecycle {
            swap_lifecycle(steps, None);
        }
        for retired in &mut self.retired_pools {
            swap(&mut retired.drain_to);
        }
        self.retired_pools.push(RetiredPoolDoc {
            id: from.to_owned(),
            drain_to: into.to_owned(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r"
apiVersion: leadpool.dev/v1
kind: Policy
reps: [{ id: ana, role: sdr }]
pools:
  - { id: hot, type: tiered, tier: hot, minScore: 80 }
  - { id: warm, type: tiered, tier: warm, minScore: 50, requires: { claims: 1, from: [cold] } }
  - { id: cold, type: tiered, tier: cold, minScore: 0, opensWhenEmpty: [warm] }
  - { id: west, type: segmented }
  - { id: east, type: segmented }
  - { id: tiny-west, type: segmented, lifecycle: [{ after: 1d, then: move, to: west }] }
  - { id: lonely, type: timed }
routing:
  rules:
    - { name: tiers, match: { regions: [emea] }, tiers: [hot, warm, cold] }
    - { name: west, match: { regions: [west] }, pool: tiny-west }
    - { name: push, match: { sources: [push] }, assign: { strategy: round-robin, fallbackPool: tiny-west } }
  default: { pool: east }
";

    fn arrivals(pairs: &[(&str, i64)]) -> HashMap<String, i64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn low_volume_pools_merge_into_the_busiest_alike_pool_and_every_reference_follows() {
        let policy = crate::load(POLICY).unwrap();
        let proposal = policy
            .propose_merges(&arrivals(&[
                ("hot", 40),
                ("warm", 50),
                ("cold", 3),
                ("west", 30),
                ("east", 20),
                ("tiny-west", 2),
                ("lonely", 1),
            ]))
            .unwrap();
        let merges: Vec<(String, String, i64)> = proposal
            .merges
            .iter()
            .map(|m| (m.pool.to_string(), m.into.to_string(), m.new_leads))
            .collect();
        assert_eq!(merges, [("tiny-west".to_owned(), "west".to_owned(), 2)]);
        let kept: Vec<&str> = proposal.kept.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            kept,
            ["cold", "lonely"],
            "no other cold tier, no other timed pool"
        );
        let doc = &proposal.document;
        assert!(doc.pools.iter().all(|p| p.id != "tiny-west"));
        assert_eq!(doc.routing.rules[1].pool.as_deref(), Some("west"));
        let push = doc.routing.rules[2].assign.as_ref().unwrap();
        assert_eq!(push.fallback_pool.as_deref(), Some("west"));
        assert_eq!(
            (
                doc.retired_pools[0].id.as_str(),
                doc.retired_pools[0].drain_to.as_str()
            ),
            ("tiny-west", "west")
        );
        assert!(crate::compile(doc).is_ok());
        assert!(
            policy
                .propose_merges(&arrivals(&[
                    ("hot", 10),
                    ("warm", 10),
                    ("cold", 10),
                    ("west", 10),
                    ("east", 10),
                    ("tiny-west", 10),
                    ("lonely", 10)
                ]))
                .is_none(),
            "nothing below the weekly minimum"
        );
        assert!(
            policy
                .propose_merges(&arrivals(&[
                    ("hot", 40),
                    ("warm", 50),
                    ("west", 30),
                    ("east", 20),
                    ("tiny-west", 10),
                    ("lonely", 1)
                ]))
                .is_none(),
            "the low-volume pools have nothing to merge into"
        );
    }

    #[test]
    fn merging_rewrites_tiers_gates_and_ratios_without_pointing_a_pool_at_itself() {
        let mut doc = crate::parse(POLICY).unwrap();
        doc.merge_pool("cold", "warm");
        assert_eq!(
            doc.routing.rules[0].tiers.as_deref(),
            Some(&["hot".to_owned(), "warm".to_owned()][..])
        );
        let warm = doc.pools.iter().find(|p| p.id == "warm").unwrap();
        assert_eq!(warm.requires, None, "a ratio on itself is dropped");
        assert!(
            crate::compile(&doc).is_ok(),
            "{:?}",
            crate::compile(&doc).err()
        );
    }
}
