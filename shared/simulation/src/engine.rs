//! The simulated clock: five-minute steps from the window's start to its end, each doing what
//! the services would have done in it — arrivals qualified and routed, timed releases, contacts,
//! releases and contact-SLA expiries, the lifecycle, forced assignment and overflow, and the
//! reps' claims under every claim rule — with the policy's own functions deciding.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, VecDeque};
use std::rc::Rc;

use chrono::{DateTime, Duration, Utc};
use leadpool_domain::{AvailabilitySetting, NewLead, PoolId, RepId};
use leadpool_policy::{
    Away, Candidate, Candidates, Decision, LeadFacts, Limits, Policy, Pool, PoolKind, Rep, Role,
    Strategy, Verdict, next_assignee,
};
use uuid::Uuid;

use crate::behaviour::{Behaviour, RepBehaviour, slot};
use crate::outcome::{Outcome, PoolOutcome};
use crate::rng::Rng;

/// How far the clock moves at a time: the scheduler's shortest job interval that matters here
/// (aging and forced assignment run every five minutes).
pub const STEP: Duration = Duration::minutes(5);
/// The claim service's daily limit for policies that set none (`claims.daily_limit`).
pub const DEFAULT_DAILY_LIMIT: u32 = 15;
/// Contact delay of a rep of whom nothing is known: within the hour.
const DEFAULT_CONTACT_DELAY: Duration = Duration::hours(1);

/// A lead that arrived in the window, as submitted.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub lead: NewLead,
}

/// A lead unclaimed in a pool when the window starts.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub facts: LeadFacts,
    pub pool: PoolId,
    pub entered: DateTime<Utc>,
    pub escalated: bool,
}

/// What a run replays: the window, its inflow, the pools' contents at its start, how reps
/// behave.
pub struct Scenario<'a> {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// In arrival order.
    pub arrivals: &'a [Arrival],
    pub waiting: &'a [Waiting],
    pub behaviour: &'a Behaviour,
    /// Availability set through the API (`SetRepAvailability`), each setting with the time
    /// it covers: with the policy's absences, who was away when.
    pub away: &'a [AvailabilitySetting],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In a timed pool, until its release.
    Scheduled,
    Available,
    Escalated,
    Held,
    Gone,
}

struct Lead {
    facts: LeadFacts,
    pool: usize,
    entered: DateTime<Utc>,
    priority: i32,
    state: State,
    /// Boosts taken in this stay: 1 top half, 2 top tenth.
    boosts: u8,
    /// The overflow and forced-assignment steps, each taken once per stay in a pool (a
    /// forced lead left uncontacted waits in the escalation queue, as the SLA job leaves it).
    overflowed: bool,
    force_taken: bool,
    /// Held by a forced assignment now.
    forced: bool,
}

/// How a held lead's stay with its rep ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ending {
    Contacted,
    /// Back to the pool (after a contact or not).
    Released,
    Expired,
}

#[derive(Default)]
struct Holder {
    /// Claim times, newest last: the rolling windows.
    claims: VecDeque<DateTime<Utc>>,
    by_pool: HashMap<usize, VecDeque<DateTime<Utc>>>,
    /// Claims in the current run of claims, and the last claim's time (the cooldown).
    run: u32,
    last: Option<DateTime<Utc>>,
    open: i64,
    open_by_pool: HashMap<usize, i64>,
    /// Claims from a ratio's source pools since the last claim from the ratio's pool.
    ratio_progress: HashMap<usize, u32>,
}

struct PoolState {
    /// Available leads in claim order: priority, then time in the pool.
    available: BTreeSet<(Reverse<i32>, DateTime<Utc>, usize)>,
    /// How many available leads have each priority: the percentiles aging raises to.
    priorities: BTreeMap<i32, usize>,
    /// Available and escalated leads by entry: the lifecycle's queue.
    unclaimed: BTreeSet<(DateTime<Utc>, usize)>,
    scheduled: Vec<usize>,
    /// Leads that (re)entered the lifecycle's queue since its last pass: their age may have
    /// passed steps already.
    fresh: Vec<usize>,
    /// Unclaimed leads past a step retried until it succeeds (force-assign, overflow).
    retrying: BTreeSet<(DateTime<Utc>, usize)>,
    /// Each lifecycle step's cutoff at the last pass: only leads whose age crossed one since
    /// then (and the fresh and retrying ones) can have something to do.
    passed: Option<[Option<DateTime<Utc>>; 8]>,
    next_release: Option<DateTime<Utc>>,
    escalated_now: i64,
    outcome: PoolOutcome,
}

/// Who was on duty (`Sim::duty`) when a push's candidates were asked, and the answer.
type Asked = (Rc<[bool]>, Strategy, Rc<Candidates>);

struct Sim<'a> {
    policy: &'a Policy,
    scenario: &'a Scenario<'a>,
    rng: Rng,
    leads: Vec<Lead>,
    pools: Vec<PoolState>,
    reps: Vec<(&'a Rep, &'a RepBehaviour, Holder)>,
    endings: BinaryHeap<Reverse<(DateTime<Utc>, usize, Ending)>>,
    owners: HashMap<usize, usize>,
    turns: HashMap<(usize, bool), HashMap<RepId, i64>>,
    /// Forced-assignment and overflow candidates per pool and push kind where they do not
    /// depend on the lead (no skills asked, no assignment rule), with the duty they were
    /// asked under: they change only when who is on duty does.
    candidates: HashMap<(usize, bool), Asked>,
    /// Who may claim by her team's calendar and is not away (`reps`' order), and when that
    /// was asked.
    duty: Option<(DateTime<Utc>, Rc<[bool]>)>,
    /// Who is away (the policy's absences and the API's settings), and when that was asked.
    away: Option<(DateTime<Utc>, Rc<Away>)>,
    out: Outcome,
    hour: usize,
}

/// One run of `policy` over `scenario`, drawing with `seed`.
pub fn simulate(policy: &Policy, scenario: &Scenario, seed: u64) -> Outcome {
    let hours = usize::try_from((scenario.to - scenario.from).num_hours().max(1)).unwrap_or(1);
    let pools = policy
        .pools
        .iter()
        .map(|pool| PoolState {
            available: BTreeSet::new(),
            priorities: BTreeMap::new(),
            unclaimed: BTreeSet::new(),
            scheduled: Vec::new(),
            fresh: Vec::new(),
            retrying: BTreeSet::new(),
            passed: None,
            next_release: pool
                .schedule
                .release
                .as_ref()
                .and_then(|r| r.next_after(scenario.from)),
            escalated_now: 0,
            outcome: PoolOutcome::new(
                pool.id.clone(),
                pool.type_name(),
                pool.schedule.health.claim_target,
                hours,
            ),
        })
        .collect();
    let reps = policy
        .reps
        .values()
        .filter(|rep| rep.active && rep.role != Role::Manager)
        .map(|rep| (rep, scenario.behaviour.of(rep).0, Holder::default()))
        .collect();
    let mut sim = Sim {
        policy,
        scenario,
        rng: Rng::new(seed),
        leads: Vec::new(),
        pools,
        reps,
        endings: BinaryHeap::new(),
        owners: HashMap::new(),
        turns: HashMap::new(),
        candidates: HashMap::new(),
        duty: None,
        away: None,
        out: Outcome::default(),
        hour: 0,
    };
    sim.run();
    sim.finish()
}

impl PoolState {
    fn make_available(&mut self, priority: i32, entered: DateTime<Utc>, lead: usize) {
        if self.available.insert((Reverse(priority), entered, lead)) {
            *self.priorities.entry(priority).or_default() += 1;
        }
    }

    fn take_available(&mut self, priority: i32, entered: DateTime<Utc>, lead: usize) {
        if self.available.remove(&(Reverse(priority), entered, lead))
            && let Some(n) = self.priorities.get_mut(&priority)
        {
            *n -= 1;
            if *n == 0 {
                self.priorities.remove(&priority);
            }
        }
    }
}

impl Sim<'_> {
    fn run(&mut self) {
        let scenario = self.scenario;
        for waiting in scenario.waiting {
            self.place_waiting(waiting);
        }
        let mut arrivals = scenario.arrivals.iter().peekable();
        let mut now = scenario.from;
        while now < scenario.to {
            self.hour = usize::try_from((now - scenario.from).num_hours()).unwrap_or(0);
            if (now - scenario.from).num_seconds() % 3600 == 0 {
                self.sample(now);
            }
            let step_end = now + STEP;
            let away = self.away(now);
            while let Some(arrival) = arrivals.next_if(|a| a.at < step_end) {
                self.arrive(arrival, &away);
            }
            self.release_timed(step_end);
            self.end_holds(step_end);
            self.lifecycle(step_end);
            self.claims(now, step_end);
            now = step_end;
        }
    }

    fn finish(mut self) -> Outcome {
        for (pool, state) in self.policy.pools.iter().zip(&mut self.pools) {
            state.outcome.totals.available_at_end = state.available.len() as i64;
            state.outcome.pool = pool.id.clone();
        }
        self.out.pools = self.pools.into_iter().map(|p| p.outcome).collect();
        self.out
    }

    /// A lead in a pool when the window starts: where it was, if the policy still has that
    /// pool; else where `retiredPools` drains it; else routed afresh.
    fn place_waiting(&mut self, waiting: &Waiting) {
        let start = self.scenario.from;
        if let Some(pool) = self.pool_index(&waiting.pool) {
            let lead = self.new_lead(waiting.facts.clone(), pool, waiting.entered);
            if waiting.escalated {
                self.escalate(lead);
            } else {
                self.make_available(lead);
            }
            return;
        }
        let drained = self.policy.retired_pools.get(&waiting.pool).cloned();
        let target = drained.or_else(|| self.policy.pool_for(&waiting.facts).map(|e| e.pool));
        match target.and_then(|p| self.pool_index(&p)) {
            Some(pool) => {
                let lead = self.new_lead(waiting.facts.clone(), pool, start);
                self.pools[pool].outcome.totals.entered += 1;
                self.make_available(lead);
            }
            None => self.out.unrouted += 1,
        }
    }

    /// `away`: who is away in the arrival's step.
    fn arrive(&mut self, arrival: &Arrival, away: &Away) {
        if let Verdict::Rejected { .. } = self.policy.qualification.qualify(&arrival.lead) {
            self.out.rejected += 1;
            return;
        }
        let facts = LeadFacts::of_new(arrival.id, &arrival.lead);
        let explained = self.policy.route(&facts);
        match explained.decision {
            Decision::Pool(pool_id) => {
                let Some(pool) = self.pool_index(&pool_id) else {
                    self.out.unrouted += 1;
                    return;
                };
                let flash = self.policy.is_flash(&pool_id, facts.score);
                let lead = self.new_lead(facts, pool, arrival.at);
                self.pools[pool].outcome.totals.entered += 1;
                if self.policy.pools[pool].kind == PoolKind::Timed && !flash {
                    self.leads[lead].state = State::Scheduled;
                    self.pools[pool].scheduled.push(lead);
                } else {
                    self.make_available(lead);
                }
            }
            Decision::Assign { assign, .. } => {
                let candidates = self.policy.assignment_candidates(
                    &assign,
                    &facts,
                    assign.skills.as_ref(),
                    away,
                    arrival.at,
                    None,
                );
                let rep = self.choose(&candidates.eligible, assign.strategy, usize::MAX, None);
                match (rep, assign.fallback_pool.and_then(|p| self.pool_index(&p))) {
                    (Some(rep), _) => {
                        self.out.auto_assigned += 1;
                        self.out
                            .claims_by_rep
                            .entry(self.reps[rep].0.id.clone())
                            .or_default();
                        self.reps[rep].2.open += 1;
                    }
                    (None, Some(pool)) => {
                        let lead = self.new_lead(facts, pool, arrival.at);
                        self.pools[pool].outcome.totals.entered += 1;
                        self.make_available(lead);
                    }
                    (None, None) => self.out.unrouted += 1,
                }
            }
            Decision::Unroutable => self.out.unrouted += 1,
        }
    }

    fn release_timed(&mut self, step_end: DateTime<Utc>) {
        for pool in 0..self.pools.len() {
            while let Some(at) = self.pools[pool].next_release.filter(|at| *at < step_end) {
                for lead in std::mem::take(&mut self.pools[pool].scheduled) {
                    self.leads[lead].entered = at;
                    self.make_available(lead);
                }
                self.pools[pool].next_release = self.policy.pools[pool]
                    .schedule
                    .release
                    .as_ref()
                    .and_then(|r| r.next_after(at));
            }
        }
    }

    /// Contacts, releases and expiries due before `step_end`.
    fn end_holds(&mut self, step_end: DateTime<Utc>) {
        while let Some(Reverse((_, lead, ending))) =
            self.endings.peek().copied().filter(|e| e.0.0 < step_end)
        {
            self.endings.pop();
            // Every held lead has a holder: `take` records both.
            let Some(rep) = self.owners.remove(&lead) else {
                continue;
            };
            let pool = self.leads[lead].pool;
            let holder = &mut self.reps[rep].2;
            holder.open -= 1;
            *holder.open_by_pool.entry(pool).or_default() -= 1;
            let totals = &mut self.pools[pool].outcome.totals;
            match ending {
                Ending::Contacted => {
                    let behaviour = self.reps[rep].1;
                    let draw = self.rng.unit() * (1.0 - behaviour.released).max(f64::EPSILON);
                    if draw < behaviour.opportunity {
                        totals.opportunities += 1;
                    } else if draw < behaviour.opportunity + behaviour.customer {
                        totals.customers += 1;
                    }
                    self.leads[lead].state = State::Gone;
                }
                Ending::Released => {
                    totals.released += 1;
                    self.make_available(lead);
                }
                Ending::Expired => {
                    totals.contact_sla_expired += 1;
                    if self.leads[lead].forced {
                        // Forced leads left uncontacted go to the managers' queue.
                        self.escalate(lead);
                    } else {
                        self.make_available(lead);
                    }
                }
            }
        }
    }

    /// The lifecycle of every pool's unclaimed leads, each step's age a cutoff on the pool's
    /// lifecycle clock as the scheduler computes it.
    fn lifecycle(&mut self, now: DateTime<Utc>) {
        let policy = self.policy;
        for (index, pool) in policy.pools.iter().enumerate() {
            let clock = &pool.clocks.lifecycle;
            let cutoff = |after: Option<Duration>| after.map(|a| clock.before(now, a));
            let aging = &pool.schedule.aging;
            let refresh = pool.schedule.refresh.as_ref();
            let archive = cutoff(refresh.and_then(|r| r.archive_after));
            let nurture = cutoff(refresh.and_then(|r| r.nurture_after));
            let moving = refresh.and_then(|r| r.move_to.as_ref());
            let move_at = cutoff(moving.map(|m| m.after));
            let force = cutoff(aging.assign_after);
            let escalate = cutoff(aging.escalate_after);
            let overflow = cutoff(aging.overflow_after);
            let tenth = cutoff(aging.top_tenth_after);
            let half = cutoff(aging.top_half_after);
            let cutoffs = [
                archive, nurture, move_at, force, escalate, overflow, tenth, half,
            ];
            if cutoffs.iter().all(Option::is_none) {
                continue;
            }
            let mut percentiles = None;
            let retry = self.retry_may_succeed(index, pool, now);
            for (entered, lead) in self.due(index, cutoffs, retry) {
                if !self.pools[index].unclaimed.contains(&(entered, lead)) {
                    continue;
                }
                let past = |c: Option<DateTime<Utc>>| c.is_some_and(|c| entered < c);
                let state = self.leads[lead].state;
                if past(archive) || past(nurture) {
                    self.leave(lead);
                    let totals = &mut self.pools[index].outcome.totals;
                    if past(archive) {
                        totals.archived += 1;
                    } else {
                        totals.nurtured += 1;
                    }
                } else if let Some(to) = moving
                    .filter(|_| past(move_at))
                    .and_then(|m| self.pool_index(&m.to))
                {
                    self.leave(lead);
                    self.pools[index].outcome.totals.moved_out += 1;
                    self.pools[to].outcome.totals.entered += 1;
                    let moved = &mut self.leads[lead];
                    (moved.pool, moved.entered, moved.boosts) = (to, now, 0);
                    (moved.overflowed, moved.force_taken) = (false, false);
                    self.make_available(lead);
                } else if past(force)
                    && !self.leads[lead].force_taken
                    && self.push(lead, pool, now, true)
                {
                    self.pools[index].outcome.totals.force_assigned += 1;
                } else if past(escalate) && state == State::Available {
                    self.pools[index].outcome.totals.escalated += 1;
                    self.escalate(lead);
                } else if past(overflow)
                    && state == State::Available
                    && !self.leads[lead].overflowed
                    && self.push(lead, pool, now, false)
                {
                    self.pools[index].outcome.totals.overflowed += 1;
                } else if state == State::Available {
                    let boost = if past(tenth) { 2 } else { u8::from(past(half)) };
                    if boost > self.leads[lead].boosts {
                        let (p50, p90) = *percentiles.get_or_insert_with(|| self.priorities(index));
                        let to = if boost == 2 { p90 } else { p50 };
                        self.boost(lead, boost, to);
                    }
                }
                let l = &self.leads[lead];
                let waiting = self.pools[index].unclaimed.contains(&(l.entered, lead));
                if waiting
                    && ((past(force) && !l.force_taken)
                        || (past(overflow) && !l.overflowed && l.state == State::Available))
                {
                    self.pools[index].retrying.insert((l.entered, lead));
                }
            }
        }
    }

    /// The unclaimed leads of `pool` the lifecycle may act on at this pass, oldest first:
    /// those whose age crossed a step's cutoff since the last pass, those that (re)entered
    /// the queue since, and (with `retry`) those a retried step is waiting for. Any other
    /// lead would meet exactly what it met at the last pass, so looking at it changes nothing.
    fn due(
        &mut self,
        pool: usize,
        cutoffs: [Option<DateTime<Utc>>; 8],
        retry: bool,
    ) -> BTreeSet<(DateTime<Utc>, usize)> {
        let state = &mut self.pools[pool];
        let mut due = if retry {
            std::mem::take(&mut state.retrying)
        } else {
            BTreeSet::new()
        };
        for lead in state.fresh.drain(..) {
            due.insert((self.leads[lead].entered, lead));
        }
        for (k, cutoff) in cutoffs.into_iter().enumerate() {
            let Some(cutoff) = cutoff else { continue };
            let since = state.passed.and_then(|passed| passed[k]);
            match since {
                Some(since) if since <= cutoff => {
                    due.extend(state.unclaimed.range((since, 0)..(cutoff, 0)).copied());
                }
                _ => due.extend(state.unclaimed.range(..(cutoff, 0)).copied()),
            }
        }
        state.passed = Some(cutoffs);
        due
    }

    /// Every rep's claims in `[now, step_end)`: as many tries as her behaviour draws for the
    /// hour, each from a pool she may claim from, under every claim rule.
    fn claims(&mut self, now: DateTime<Utc>, step_end: DateTime<Utc>) {
        let (day, hour) = slot(now);
        let share = STEP.num_seconds() as f64 / 3600.0;
        let away = self.away(now);
        let mut order: Vec<usize> = (0..self.reps.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, self.rng.below(i + 1));
        }
        for rep in order {
            let rate = self.reps[rep].1.per_hour.get(day).map_or(0.0, |h| h[hour]);
            let tries = self.rng.poisson(rate * share);
            if tries == 0 {
                continue;
            }
            let rep_record = self.reps[rep].0;
            if away.is_away(&rep_record.id) {
                continue;
            }
            let allowed: Vec<usize> = (0..self.policy.pools.len())
                .filter(|&p| {
                    self.policy
                        .explain_access(&rep_record.id, &self.policy.pools[p].id, now)
                        .allowed
                })
                .collect();
            for k in 0..tries {
                let at = now
                    + (step_end - now) * i32::try_from(k).unwrap_or(0)
                        / i32::try_from(tries).unwrap_or(1);
                self.try_claim(rep, &allowed, at);
            }
        }
    }

    fn try_claim(&mut self, rep: usize, allowed: &[usize], at: DateTime<Utc>) {
        let open: Vec<usize> = allowed
            .iter()
            .copied()
            .filter(|&p| !self.pools[p].available.is_empty() && self.gates_open(p))
            .collect();
        if open.is_empty() {
            return;
        }
        let behaviour = self.reps[rep].1;
        let weights: Vec<f64> = open
            .iter()
            .map(|&p| {
                let id = &self.policy.pools[p].id;
                behaviour.pools.get(id).copied().unwrap_or(0.0) + 0.5
            })
            .collect();
        let pool = open[self.rng.weighted(&weights)];
        if self.refused(rep, pool, at) {
            self.out.refused += 1;
            return;
        }
        let Some(lead) = self.head_for(rep, pool, at) else {
            return;
        };
        self.take(lead, rep, at);
        let policy_pool = &self.policy.pools[pool];
        let outcome = &mut self.pools[pool].outcome;
        outcome.totals.claimed += 1;
        outcome.claims_by_hour[self.hour] += 1;
        outcome.to_claim.push(at - self.leads[lead].entered);
        *self
            .out
            .claims_by_rep
            .entry(self.reps[rep].0.id.clone())
            .or_default() += 1;
        let cooldown = self.cooldown(rep, pool);
        let holder = &mut self.reps[rep].2;
        holder.claims.push_back(at);
        holder.by_pool.entry(pool).or_default().push_back(at);
        let continues = holder
            .last
            .zip(cooldown)
            .is_some_and(|(last, c)| at - last < c.pause);
        holder.run = if continues { holder.run + 1 } else { 1 };
        holder.last = Some(at);
        for (index, other) in self.policy.pools.iter().enumerate() {
            if let Some(ratio) = &other.ratio {
                let progress = holder.ratio_progress.entry(index).or_default();
                if index == pool {
                    *progress = 0;
                } else if ratio.from.contains(&policy_pool.id) {
                    *progress += 1;
                }
            }
        }
    }

    /// Whether a limit, cap, cooldown or ratio refuses `rep` a claim from `pool` at `at`.
    fn refused(&mut self, rep: usize, pool: usize, at: DateTime<Utc>) -> bool {
        let (record, _, holder) = &mut self.reps[rep];
        let policy_pool = &self.policy.pools[pool];
        let own = self.policy.limits_for(record);
        let day = at - Duration::days(1);
        let hour = at - Duration::hours(1);
        let within = |log: &VecDeque<DateTime<Utc>>, since: DateTime<Utc>| {
            log.iter().rev().take_while(|t| **t > since).count()
        };
        let over = |max: Option<u32>, used: usize| max.is_some_and(|m| used >= m as usize);
        let in_pool = holder.by_pool.entry(pool).or_default();
        if over(
            own.per_day.or(Some(DEFAULT_DAILY_LIMIT)),
            within(&holder.claims, day),
        ) || over(own.per_hour, within(&holder.claims, hour))
            || over(policy_pool.limits.per_day, within(in_pool, day))
            || over(policy_pool.limits.per_hour, within(in_pool, hour))
            || over(own.active_leads, usize::try_from(holder.open).unwrap_or(0))
            || over(
                policy_pool.limits.active_leads,
                usize::try_from(holder.open_by_pool.get(&pool).copied().unwrap_or(0)).unwrap_or(0),
            )
        {
            return true;
        }
        // Old claims no window needs any more.
        while holder.claims.front().is_some_and(|t| *t <= day) {
            holder.claims.pop_front();
        }
        let cooldown = policy_pool.limits.cooldown.or(own.cooldown);
        if let (Some(c), Some(last)) = (cooldown, holder.last)
            && holder.run >= c.after
            && at - last < c.pause
        {
            return true;
        }
        policy_pool.ratio.as_ref().is_some_and(|ratio| {
            holder.ratio_progress.get(&pool).copied().unwrap_or(0) < ratio.claims
        })
    }

    fn cooldown(&self, rep: usize, pool: usize) -> Option<leadpool_policy::Cooldown> {
        let own: Limits = self.policy.limits_for(self.reps[rep].0);
        self.policy.pools[pool].limits.cooldown.or(own.cooldown)
    }

    /// The first lead of `pool` in claim order that `rep` may take at `at`: not one another
    /// rep's rotation window keeps for her, not one needing skills she lacks.
    fn head_for(&self, rep: usize, pool: usize, at: DateTime<Utc>) -> Option<usize> {
        let policy_pool = &self.policy.pools[pool];
        let record = self.reps[rep].0;
        let kept_since = policy_pool
            .rotation
            .as_ref()
            .and_then(|rotation| rotation.excluding_turn(&record.id, at))
            .map(|turn| turn.start);
        self.pools[pool]
            .available
            .iter()
            .map(|(_, _, lead)| *lead)
            .find(|&lead| {
                let lead = &self.leads[lead];
                kept_since.is_none_or(|start| lead.entered < start)
                    && policy_pool
                        .skills_asked(Some(lead.entered), at)
                        .is_none_or(|skills| skills.lacking(record, &lead.facts).is_empty())
            })
    }

    /// Whether every pool gating `pool` is empty.
    fn gates_open(&self, pool: usize) -> bool {
        self.policy.pools[pool].gates.iter().all(|gate| {
            self.pool_index(gate)
                .is_none_or(|g| self.pools[g].available.is_empty())
        })
    }

    /// Forced assignment (`forced`) or overflow of `lead` to the rep whose turn it is, as the
    /// scheduler chooses; false when nobody can take it now.
    fn push(&mut self, lead: usize, pool: &Pool, now: DateTime<Utc>, forced: bool) -> bool {
        let index = self.leads[lead].pool;
        let (strategy, candidates) = self.candidates(index, pool, lead, now, forced);
        if candidates.eligible.is_empty() {
            return false;
        }
        let Some(rep) = self.choose(&candidates.eligible, strategy, index, Some(forced)) else {
            return false;
        };
        self.leads[lead].forced = forced;
        self.leads[lead].force_taken |= forced;
        self.leads[lead].overflowed |= !forced;
        self.take(lead, rep, now);
        true
    }

    /// Who may be pushed `lead` of `pool` (at `index`) at `now` (`forced`: forced
    /// assignment, else overflow), asked again only when who is on duty changed where the
    /// answer does not depend on the lead.
    fn candidates(
        &mut self,
        index: usize,
        pool: &Pool,
        lead: usize,
        now: DateTime<Utc>,
        forced: bool,
    ) -> (Strategy, Rc<Candidates>) {
        let duty = lead_independent(pool, forced).then(|| self.duty(now));
        if let Some(duty) = &duty
            && let Some((asked, strategy, candidates)) = self.candidates.get(&(index, forced))
            && asked == duty
        {
            return (*strategy, Rc::clone(candidates));
        }
        let away = self.away(now);
        let (facts, entered) = (&self.leads[lead].facts, self.leads[lead].entered);
        let (strategy, candidates) = if forced {
            self.policy
                .forced_candidates(pool, facts, Some(entered), &away, now)
        } else {
            let candidates =
                self.policy
                    .overflow_candidates(pool, facts, Some(entered), &away, now);
            (Strategy::RoundRobin, candidates)
        };
        let candidates = Rc::new(candidates);
        if let Some(duty) = duty {
            self.candidates
                .insert((index, forced), (duty, strategy, Rc::clone(&candidates)));
        }
        (strategy, candidates)
    }

    /// Which reps may claim at `now` by their team's calendar and are not away: all that
    /// lead-independent candidates depend on that changes with time.
    fn duty(&mut self, now: DateTime<Utc>) -> Rc<[bool]> {
        if let Some((at, duty)) = &self.duty
            && *at == now
        {
            return Rc::clone(duty);
        }
        let away = self.away(now);
        let duty: Rc<[bool]> = self
            .reps
            .iter()
            .map(|(rep, _, _)| self.policy.may_claim_at(rep, now) && !away.is_away(&rep.id))
            .collect();
        self.duty = Some((now, Rc::clone(&duty)));
        duty
    }

    /// Who is away at `now`, as the scheduler and the claim service see it.
    fn away(&mut self, now: DateTime<Utc>) -> Rc<Away> {
        if let Some((at, away)) = &self.away
            && *at == now
        {
            return Rc::clone(away);
        }
        let away = Rc::new(self.policy.away_at(now, self.scenario.away));
        self.away = Some((now, Rc::clone(&away)));
        away
    }

    /// Whether pushing `pool`'s retried leads may succeed at `now`: false only where neither
    /// push depends on the lead and nobody is eligible for either — every retry would then
    /// fail as it did at the last pass (nights and weekends, mostly). Any retried lead
    /// stands for all of them there (its facts are not asked).
    fn retry_may_succeed(&mut self, index: usize, pool: &Pool, now: DateTime<Utc>) -> bool {
        let Some(&(_, lead)) = self.pools[index].retrying.first() else {
            return false;
        };
        let aging = &pool.schedule.aging;
        [(true, aging.assign_after), (false, aging.overflow_after)]
            .into_iter()
            .filter(|(_, after)| after.is_some())
            .any(|(forced, _)| {
                !lead_independent(pool, forced)
                    || !self
                        .candidates(index, pool, lead, now, forced)
                        .1
                        .eligible
                        .is_empty()
            })
    }

    /// The candidate whose turn it is (per pool and push kind), under her open-lead caps.
    fn choose(
        &mut self,
        eligible: &[Candidate],
        strategy: Strategy,
        pool: usize,
        kind: Option<bool>,
    ) -> Option<usize> {
        let key = (pool, kind.unwrap_or(false));
        // Copied only when a candidate's caps are full and she drops out.
        let mut left = Cow::Borrowed(eligible);
        loop {
            let counts = self.turns.entry(key).or_default();
            let next = next_assignee(strategy, &left, counts)?;
            let rep = self.reps.iter().position(|(r, _, _)| r.id == next.rep)?;
            let holder = &self.reps[rep].2;
            let in_pool = holder.open_by_pool.get(&pool).copied().unwrap_or(0);
            if next.caps.full(holder.open, in_pool).is_none() {
                *counts.entry(next.rep.clone()).or_default() += 1;
                return Some(rep);
            }
            let full = next.rep.clone();
            left.to_mut().retain(|c| c.rep != full);
        }
    }

    /// `rep` holds `lead` from `at`; how her hold ends is drawn from her behaviour.
    fn take(&mut self, lead: usize, rep: usize, at: DateTime<Utc>) {
        self.leave(lead);
        self.leads[lead].state = State::Held;
        let pool = self.leads[lead].pool;
        let behaviour = self.reps[rep].1;
        let delay = if behaviour.contact_delays.is_empty() {
            Some(DEFAULT_CONTACT_DELAY)
        } else {
            behaviour.contact_delays[self.rng.below(behaviour.contact_delays.len())]
        };
        let due = self.policy.contact_due(&self.policy.pools[pool].id, at);
        let ending = match delay.map(|d| at + d).filter(|when| *when <= due) {
            Some(when) if self.rng.unit() < behaviour.released => (when, Ending::Released),
            Some(when) => (when, Ending::Contacted),
            None => (due, Ending::Expired),
        };
        self.endings.push(Reverse((ending.0, lead, ending.1)));
        self.owners.insert(lead, rep);
        let holder = &mut self.reps[rep].2;
        holder.open += 1;
        *holder.open_by_pool.entry(pool).or_default() += 1;
    }

    fn new_lead(&mut self, facts: LeadFacts, pool: usize, entered: DateTime<Utc>) -> usize {
        self.leads.push(Lead {
            priority: facts.score,
            facts,
            pool,
            entered,
            state: State::Gone,
            boosts: 0,
            overflowed: false,
            force_taken: false,
            forced: false,
        });
        self.leads.len() - 1
    }

    fn make_available(&mut self, lead: usize) {
        let l = &mut self.leads[lead];
        l.state = State::Available;
        l.forced = false;
        let pool = &mut self.pools[l.pool];
        pool.make_available(l.priority, l.entered, lead);
        pool.unclaimed.insert((l.entered, lead));
        pool.fresh.push(lead);
    }

    fn escalate(&mut self, lead: usize) {
        self.leave(lead);
        let l = &mut self.leads[lead];
        l.state = State::Escalated;
        let pool = &mut self.pools[l.pool];
        pool.unclaimed.insert((l.entered, lead));
        pool.fresh.push(lead);
        pool.escalated_now += 1;
    }

    /// Takes `lead` out of its pool's queues.
    fn leave(&mut self, lead: usize) {
        let l = &mut self.leads[lead];
        let pool = &mut self.pools[l.pool];
        pool.take_available(l.priority, l.entered, lead);
        pool.unclaimed.remove(&(l.entered, lead));
        if l.state == State::Escalated {
            pool.escalated_now -= 1;
        }
        l.state = State::Gone;
    }

    fn boost(&mut self, lead: usize, boost: u8, to: i32) {
        let l = &mut self.leads[lead];
        let pool = &mut self.pools[l.pool];
        pool.take_available(l.priority, l.entered, lead);
        l.priority = l.priority.max(to);
        l.boosts = boost;
        pool.make_available(l.priority, l.entered, lead);
    }

    /// The median and 90th percentile of the priorities available in `pool`: the smallest
    /// priority with at least ⌈q·n⌉ leads at or below it.
    fn priorities(&self, pool: usize) -> (i32, i32) {
        let counts = &self.pools[pool].priorities;
        let total: usize = counts.values().sum();
        let at = |q: f64| {
            let rank = ((q * total as f64).ceil() as usize).max(1);
            let mut seen = 0;
            counts
                .iter()
                .find(|(_, n)| {
                    seen += **n;
                    seen >= rank
                })
                .map_or(0, |(priority, _)| *priority)
        };
        (at(0.5), at(0.9))
    }

    /// The hourly sample: depth, age mix, alerts.
    fn sample(&mut self, now: DateTime<Utc>) {
        let aged_percent = f64::from(self.policy.health.aged_alert_percent);
        for (pool, state) in self.policy.pools.iter().zip(&mut self.pools) {
            let depth = state.available.len() as i64;
            let mut mix = [0i64; 3];
            for (_, entered, _) in &state.available {
                let age = now - *entered;
                let bucket = if age < Duration::hours(12) {
                    0
                } else if age < Duration::hours(24) {
                    1
                } else {
                    2
                };
                mix[bucket] += 1;
            }
            let outcome = &mut state.outcome;
            outcome.depth_by_hour.push(depth);
            for (sum, n) in outcome.age_mix.iter_mut().zip(mix) {
                *sum += n;
            }
            outcome
                .capacity
                .sample(depth >= i64::from(pool.schedule.health.critical));
            outcome
                .aging
                .sample(depth > 0 && 100.0 * mix[2] as f64 / depth as f64 > aged_percent);
            outcome.escalated.sample(state.escalated_now > 0);
        }
    }

    fn pool_index(&self, id: &PoolId) -> Option<usize> {
        self.policy.pools.iter().position(|p| &p.id == id)
    }
}

/// Whether a push's candidates are the same for every lead of `pool`: no skills asked, and
/// for forced assignment no assignment rule of its own.
fn lead_independent(pool: &Pool, forced: bool) -> bool {
    pool.skills.is_none() && (!forced || pool.schedule.aging.assign.is_none())
}
