//! Retired pools: a policy that drops a pool still holding leads in play must say where they go
//! (`retiredPools[].drainTo`), so no lead ever sits in a pool no job and no claim can reach.

use leadpool_domain::{LeadState, PoolId};

use crate::model::Policy;

/// The leads in play a pool outside the policy still holds, by state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub pool: PoolId,
    pub leads: Vec<(LeadState, i64)>,
}

impl Holding {
    pub fn total(&self) -> i64 {
        self.leads.iter().map(|(_, n)| n).sum()
    }

    /// "3 available, 1 claimed".
    pub fn describe(&self) -> String {
        self.leads
            .iter()
            .map(|(state, n)| format!("{n} {state}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Where a retired pool's leads go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drain {
    pub from: PoolId,
    pub to: PoolId,
    /// How many leads move.
    pub leads: i64,
}

impl Policy {
    /// For every pool outside this policy that still holds leads in play: the drain the policy
    /// names for it, or — for each pool it names none for — why applying must be refused.
    pub fn plan_retirement(
        &self,
        holdings: &[Holding],
    ) -> Result<Vec<Drain>, Vec<(PoolId, String)>> {
        let mut drains = Vec::new();
        let mut orphans = Vec::new();
        for holding in holdings.iter().filter(|h| h.total() > 0) {
            match self.retired_pools.get(&holding.pool) {
                Some(to) => drains.push(Drain {
                    from: holding.pool.clone(),
                    to: to.clone(),
                    leads: holding.total(),
                }),
                None => orphans.push((
                    holding.pool.clone(),
                    format!(
                        "{} still holds {} leads ({}); say where they go with retiredPools: \
                         [{{ id: {}, drainTo: <a pool> }}], or keep the pool",
                        holding.pool.name(),
                        holding.total(),
                        holding.describe(),
                        holding.pool
                    ),
                )),
            }
        }
        if orphans.is_empty() {
            Ok(drains)
        } else {
            Err(orphans)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(id: &str) -> PoolId {
        PoolId::parse(id, "pool").unwrap()
    }

    const POLICY: &str =
        "apiVersion: leadpool.dev/v1\nkind: Policy\npools: [{ id: west, type: open }]\n";

    fn holding(id: &str) -> Holding {
        Holding {
            pool: pool(id),
            leads: vec![(LeadState::Available, 3), (LeadState::Claimed, 1)],
        }
    }

    #[test]
    fn a_pool_holding_leads_needs_a_drain() {
        let policy = crate::load(POLICY).unwrap();
        let refused = policy.plan_retirement(&[holding("east")]).unwrap_err();
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].0, pool("east"));
        assert!(
            refused[0]
                .1
                .starts_with("pools/east still holds 4 leads (3 available, 1 claimed)"),
            "{}",
            refused[0].1
        );
        let empty = Holding {
            pool: pool("north"),
            leads: Vec::new(),
        };
        assert_eq!(policy.plan_retirement(&[empty]), Ok(Vec::new()));
    }

    #[test]
    fn a_named_drain_moves_them() {
        let policy = crate::load(&format!(
            "{POLICY}retiredPools: [{{ id: east, drainTo: west }}]\n"
        ))
        .unwrap();
        assert_eq!(
            policy.plan_retirement(&[holding("east")]),
            Ok(vec![Drain {
                from: pool("east"),
                to: pool("west"),
                leads: 4
            }])
        );
    }

    #[test]
    fn a_retired_pool_must_be_gone_and_drain_into_a_pool() {
        let errors = crate::load(&format!(
            "{POLICY}retiredPools: [{{ id: west, drainTo: west }}, {{ id: east, drainTo: nowhere }}]\n"
        ))
        .unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["retiredPools[0].id", "retiredPools[1].drainTo"]);
    }
}
