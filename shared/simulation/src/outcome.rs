//! What one simulated run of a policy gave, per pool and for the whole, and the statistics
//! the report shows (median, p90, Gini).

use std::collections::BTreeMap;

use chrono::Duration;
use leadpool_domain::{PoolId, RepId};

/// Counts of what happened to leads, per pool or for all pools.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Entered the pool: arrived, released from a timed pool's wait, moved or drained in.
    pub entered: i64,
    pub claimed: i64,
    pub contact_sla_expired: i64,
    pub escalated: i64,
    pub force_assigned: i64,
    pub overflowed: i64,
    pub moved_out: i64,
    pub nurtured: i64,
    pub archived: i64,
    pub released: i64,
    pub opportunities: i64,
    pub customers: i64,
    /// Available at the end of the window.
    pub available_at_end: i64,
}

impl Totals {
    pub fn add(&mut self, other: &Totals) {
        self.entered += other.entered;
        self.claimed += other.claimed;
        self.contact_sla_expired += other.contact_sla_expired;
        self.escalated += other.escalated;
        self.force_assigned += other.force_assigned;
        self.overflowed += other.overflowed;
        self.moved_out += other.moved_out;
        self.nurtured += other.nurtured;
        self.archived += other.archived;
        self.released += other.released;
        self.opportunities += other.opportunities;
        self.customers += other.customers;
        self.available_at_end += other.available_at_end;
    }
}

/// An alert's episodes: how often it started firing, for how many sampled hours in all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Episodes {
    pub started: i64,
    pub hours: i64,
    firing: bool,
}

impl Episodes {
    /// One hourly sample of the alert's condition.
    pub fn sample(&mut self, firing: bool) {
        if firing {
            self.hours += 1;
            self.started += i64::from(!self.firing);
        }
        self.firing = firing;
    }
}

/// One pool over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolOutcome {
    pub pool: PoolId,
    /// As health reports name it ("tiered/hot").
    pub kind: String,
    pub target: Duration,
    /// Available leads at the start of each hour.
    pub depth_by_hour: Vec<i64>,
    /// Claims made in each hour.
    pub claims_by_hour: Vec<i64>,
    pub totals: Totals,
    /// From entering the pool to the claim, for every claim.
    pub to_claim: Vec<Duration>,
    /// Sums over the hourly samples of available leads by age: under 12 h, 12–24 h, over 24 h.
    pub age_mix: [i64; 3],
    pub capacity: Episodes,
    pub aging: Episodes,
    pub escalated: Episodes,
}

impl PoolOutcome {
    /// Nothing yet, over a window of `hours`.
    pub fn new(pool: PoolId, kind: String, target: Duration, hours: usize) -> Self {
        Self {
            pool,
            kind,
            target,
            depth_by_hour: Vec::with_capacity(hours),
            claims_by_hour: vec![0; hours],
            totals: Totals::default(),
            to_claim: Vec::new(),
            age_mix: [0; 3],
            capacity: Episodes::default(),
            aging: Episodes::default(),
            escalated: Episodes::default(),
        }
    }

    pub fn median_to_claim(&self) -> Option<Duration> {
        percentile(&self.to_claim, 0.5)
    }

    pub fn p90_to_claim(&self) -> Option<Duration> {
        percentile(&self.to_claim, 0.9)
    }

    /// Claims ÷ leads entering; `None` when none entered.
    pub fn depletion_rate(&self) -> Option<f64> {
        (self.totals.entered > 0).then(|| self.totals.claimed as f64 / self.totals.entered as f64)
    }

    /// The age mix in percent of the sampled available leads (all zero when none were).
    pub fn age_mix_percent(&self) -> [f64; 3] {
        let total: i64 = self.age_mix.iter().sum();
        self.age_mix.map(|n| {
            if total == 0 {
                0.0
            } else {
                100.0 * n as f64 / total as f64
            }
        })
    }
}

/// One run of one policy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// In the policy's order.
    pub pools: Vec<PoolOutcome>,
    /// Claims per rep who could claim (those who made none with 0).
    pub claims_by_rep: BTreeMap<RepId, i64>,
    /// Leads qualification rejected, no rule placed, pushed to a rep by routing.
    pub rejected: i64,
    pub unrouted: i64,
    pub auto_assigned: i64,
    /// Claim attempts a limit, cap, cooldown or ratio refused.
    pub refused: i64,
}

impl Outcome {
    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for pool in &self.pools {
            totals.add(&pool.totals);
        }
        totals
    }

    pub fn pool(&self, pool: &PoolId) -> Option<&PoolOutcome> {
        self.pools.iter().find(|p| &p.pool == pool)
    }
}

/// The `q` quantile (0–1) of `values` by the nearest rank; `None` when there are none.
pub fn percentile(values: &[Duration], q: f64) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// The Gini coefficient of `counts`: 0 when all are equal, towards 1 when one holds all.
pub fn gini(counts: &[i64]) -> f64 {
    let total: i64 = counts.iter().sum();
    if counts.len() < 2 || total == 0 {
        return 0.0;
    }
    let mut sorted = counts.to_vec();
    sorted.sort_unstable();
    let n = sorted.len() as f64;
    let weighted: f64 = sorted
        .iter()
        .enumerate()
        .map(|(i, c)| (i as f64 + 1.0) * *c as f64)
        .sum();
    (2.0 * weighted) / (n * total as f64) - (n + 1.0) / n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gini_is_zero_for_equal_counts_and_high_for_one_holder() {
        assert!(gini(&[5, 5, 5, 5]).abs() < 1e-9);
        assert!((gini(&[0, 0, 0, 12]) - 0.75).abs() < 1e-9);
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let minutes: Vec<Duration> = (1..=10).map(Duration::minutes).collect();
        assert_eq!(percentile(&minutes, 0.5), Some(Duration::minutes(5)));
        assert_eq!(percentile(&minutes, 0.9), Some(Duration::minutes(9)));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn an_alert_episode_starts_once_and_counts_its_hours() {
        let mut episodes = Episodes::default();
        for firing in [false, true, true, false, true] {
            episodes.sample(firing);
        }
        assert_eq!((episodes.started, episodes.hours), (2, 3));
    }
}
