//! What if (X8): the leads that arrived in a past window replayed through a policy on a
//! simulated clock, with reps claiming as their history says they do. The rules are the
//! policy crate's own — qualification, routing, access, skills, limits and caps, the
//! lifecycle's cutoffs on each pool's clocks, contact deadlines, timed releases, forced
//! assignment and overflow candidates and turns — called, not re-implemented; what this crate
//! adds is the clock, the pools' queues and the reps' behaviour. No I/O: the scheduler loads
//! the window's history and answers `SimulatePolicy` with what [`compare`] gives.

mod behaviour;
mod engine;
mod outcome;
mod rng;

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Duration;
use leadpool_domain::PoolId;
use leadpool_policy::Policy;

pub use behaviour::{Behaviour, ClaimRecord, MIN_OWN_CLAIMS, RepBehaviour, Source};
pub use engine::{Arrival, DEFAULT_DAILY_LIMIT, STEP, Scenario, Waiting, simulate};
pub use outcome::{Episodes, Outcome, PoolOutcome, Totals, gini, percentile};

/// `runs` runs of each (policy, scenario) case, run `k` drawing with `seed + k`: the same
/// seeds for every case, so two policies' runs differ only by the policy. The runs share
/// nothing but what they read: as many threads as there are cores take the next run of any
/// case until none is left. One list of outcomes per case, in run order.
pub fn runs(cases: &[(&Policy, &Scenario)], seed: u64, runs: u32) -> Vec<Vec<Outcome>> {
    let per_case = u64::from(runs.max(1));
    let count = per_case * cases.len() as u64;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let next = AtomicU64::new(0);
    let mut done: Vec<(u64, Outcome)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cores.min(count))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= count {
                            return mine;
                        }
                        let (policy, scenario) = cases[(n / per_case) as usize];
                        let k = n % per_case;
                        mine.push((n, simulate(policy, scenario, seed.wrapping_add(k))));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
            .collect()
    });
    done.sort_by_key(|(n, _)| *n);
    let mut outcomes = done.into_iter().map(|(_, outcome)| outcome);
    cases
        .iter()
        .map(|_| outcomes.by_ref().take(per_case as usize).collect())
        .collect()
}

/// What actually happened in one pool in the window, from its history.
#[derive(Debug, Clone, PartialEq)]
pub struct Actual {
    pub pool: PoolId,
    pub claims: i64,
    pub contact_sla_expired: i64,
    pub escalated: i64,
    pub median_to_claim: Option<Duration>,
}

/// One figure, as it happened and as the model gave it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Validated {
    pub actual: f64,
    pub simulated: f64,
}

impl Validated {
    /// |simulated − actual| ÷ actual; `None` when nothing happened.
    pub fn relative_error(&self) -> Option<f64> {
        (self.actual != 0.0).then(|| (self.simulated - self.actual).abs() / self.actual)
    }
}

/// A pool's figures: claims, expiries, escalations, median seconds to a claim.
pub struct PoolValidation {
    pub pool: PoolId,
    pub figures: [Validated; 4],
}

/// Pools with fewer actual claims than this do not count towards the headline error: a few
/// claims more or less say nothing about the model.
pub const VALIDATION_MIN_CLAIMS: i64 = 20;

/// The policy in force, simulated, against what happened: per pool, and the largest relative
/// error of claims over pools with enough of them.
pub fn validate(simulated: &Outcome, actual: &[Actual]) -> (Vec<PoolValidation>, Option<f64>) {
    let seconds = |d: Option<Duration>| d.map_or(0.0, |d| d.num_seconds() as f64);
    let mut worst: Option<f64> = None;
    let pools = actual
        .iter()
        .map(|actual| {
            let pool = simulated.pool(&actual.pool);
            let totals = pool.map(|p| p.totals).unwrap_or_default();
            let claims = Validated {
                actual: actual.claims as f64,
                simulated: totals.claimed as f64,
            };
            if actual.claims >= VALIDATION_MIN_CLAIMS
                && let Some(error) = claims.relative_error()
            {
                worst = Some(worst.map_or(error, |w| w.max(error)));
            }
            PoolValidation {
                pool: actual.pool.clone(),
                figures: [
                    claims,
                    Validated {
                        actual: actual.contact_sla_expired as f64,
                        simulated: totals.contact_sla_expired as f64,
                    },
                    Validated {
                        actual: actual.escalated as f64,
                        simulated: totals.escalated as f64,
                    },
                    Validated {
                        actual: seconds(actual.median_to_claim),
                        simulated: seconds(pool.and_then(PoolOutcome::median_to_claim)),
                    },
                ],
            }
        })
        .collect();
    (pools, worst)
}

#[cfg(test)]
mod tests;
