//! How each rep claims, fitted from the history of a window: when she claims (weekday × hour),
//! from which pools, how soon she contacts, how often she lets a lead go, how her leads end.
//! A rep with too little history of her own borrows her team's average member, a rep without a
//! team (or of a team without history) everyone's.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use leadpool_domain::{Outcome, PoolId, RepId};
use leadpool_policy::{Policy, Rep};

/// Fewer claims than this in the window, and a rep borrows her team's behaviour.
pub const MIN_OWN_CLAIMS: u32 = 10;

/// One claim of the window's history and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRecord {
    pub rep: RepId,
    pub pool: PoolId,
    pub at: DateTime<Utc>,
    /// From the claim to the contact; `None` when she never contacted it while holding it.
    pub contacted_after: Option<Duration>,
    /// She gave it back to the pool (after contacting it or not).
    pub released: bool,
    pub outcome: Option<Outcome>,
}

/// One rep's (or an average member's) behaviour.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepBehaviour {
    /// Claims an hour she makes at each weekday (Monday first) × hour of day (UTC).
    pub per_hour: Vec<[f64; 24]>,
    /// Her claims' times to contact, drawn from as they were; `None`: never contacted.
    pub contact_delays: Vec<Option<Duration>>,
    /// Shares of her claims she released, that became an opportunity, a customer.
    pub released: f64,
    pub opportunity: f64,
    pub customer: f64,
    /// Her claims by pool: where she turns first.
    pub pools: BTreeMap<PoolId, f64>,
    pub claims: u32,
}

/// Where a rep's behaviour came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Own,
    Team,
    Everyone,
}

#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    reps: BTreeMap<RepId, RepBehaviour>,
    teams: BTreeMap<String, RepBehaviour>,
    everyone: RepBehaviour,
}

impl Behaviour {
    /// Fits every rep of `policy` (and her team, and everyone) from `records`, the claims made
    /// in `[from, to)`.
    pub fn fit(
        policy: &Policy,
        records: &[ClaimRecord],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Self {
        let slots = slot_hours(from, to);
        let mut by_rep: BTreeMap<&RepId, Vec<&ClaimRecord>> = BTreeMap::new();
        for record in records {
            by_rep.entry(&record.rep).or_default().push(record);
        }
        let team_of = |rep: &RepId| policy.rep(rep).and_then(|r| r.team.clone());
        let mut reps = BTreeMap::new();
        let mut teams: BTreeMap<String, (Vec<&ClaimRecord>, u32)> = BTreeMap::new();
        for (rep, claims) in &by_rep {
            reps.insert((*rep).clone(), average(claims, 1, &slots));
            if let Some(team) = team_of(rep) {
                let entry = teams.entry(team).or_default();
                entry.0.extend(claims.iter().copied());
                entry.1 += 1;
            }
        }
        let all: Vec<&ClaimRecord> = records.iter().collect();
        let claiming = u32::try_from(by_rep.len()).unwrap_or(u32::MAX).max(1);
        Self {
            reps,
            teams: teams
                .into_iter()
                .map(|(team, (claims, members))| (team, average(&claims, members, &slots)))
                .collect(),
            everyone: average(&all, claiming, &slots),
        }
    }

    /// `rep`'s behaviour and where it came from.
    pub fn of(&self, rep: &Rep) -> (&RepBehaviour, Source) {
        if let Some(own) = self
            .reps
            .get(&rep.id)
            .filter(|b| b.claims >= MIN_OWN_CLAIMS)
        {
            return (own, Source::Own);
        }
        if let Some(team) = rep.team.as_ref().and_then(|t| self.teams.get(t)) {
            return (team, Source::Team);
        }
        (&self.everyone, Source::Everyone)
    }

    /// Whether the window holds any claim at all.
    pub fn is_empty(&self) -> bool {
        self.everyone.claims == 0
    }
}

/// The average behaviour of `members` reps who made `claims` together; `slots[d][h]`: how many
/// hours of that weekday and hour the window holds.
fn average(claims: &[&ClaimRecord], members: u32, slots: &[[u32; 24]; 7]) -> RepBehaviour {
    let mut per_hour = vec![[0.0; 24]; 7];
    let mut pools: BTreeMap<PoolId, f64> = BTreeMap::new();
    let (mut released, mut opportunity, mut customer) = (0u32, 0u32, 0u32);
    for claim in claims {
        let (day, hour) = slot(claim.at);
        per_hour[day][hour] += 1.0;
        *pools.entry(claim.pool.clone()).or_default() += 1.0;
        released += u32::from(claim.released);
        match claim.outcome {
            Some(Outcome::Opportunity) => opportunity += 1,
            Some(Outcome::Customer) => customer += 1,
            _ => {}
        }
    }
    for (day, hours) in per_hour.iter_mut().enumerate() {
        for (hour, rate) in hours.iter_mut().enumerate() {
            let occurrences = f64::from(slots[day][hour].max(1));
            *rate /= occurrences * f64::from(members.max(1));
        }
    }
    let count = u32::try_from(claims.len()).unwrap_or(u32::MAX);
    let share = |n: u32| f64::from(n) / f64::from(count.max(1));
    RepBehaviour {
        per_hour,
        contact_delays: claims.iter().map(|c| c.contacted_after).collect(),
        released: share(released),
        opportunity: share(opportunity),
        customer: share(customer),
        pools,
        claims: count,
    }
}

/// Weekday (Monday first) and hour of `at`, in UTC.
pub fn slot(at: DateTime<Utc>) -> (usize, usize) {
    (
        at.weekday().num_days_from_monday() as usize,
        at.hour() as usize,
    )
}

/// How many hours of each weekday × hour lie in `[from, to)`.
fn slot_hours(from: DateTime<Utc>, to: DateTime<Utc>) -> [[u32; 24]; 7] {
    let mut slots = [[0; 24]; 7];
    let mut at = from;
    while at < to {
        let (day, hour) = slot(at);
        slots[day][hour] += 1;
        at += Duration::hours(1);
    }
    slots
}
