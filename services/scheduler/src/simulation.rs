//! SimulatePolicy (X8): loads a past window's history, replays it through the policy in force
//! and a candidate (`leadpool-simulation`), checks the policy in force against what happened,
//! and says it all as a `SimulationReport`.

use chrono::{DateTime, Duration, Utc};
use leadpool_domain::{Error, FieldViolation, PoolId, Reason};
use leadpool_policy::{Oversight, Policy};
use leadpool_proto::v1;
use leadpool_server::convert;
use leadpool_simulation::{
    Behaviour, Outcome, PoolOutcome, Scenario, Source, Validated, gini, runs, validate,
};

use crate::core::Scheduler;

/// The longest window replayed.
pub const MAX_WINDOW: Duration = Duration::days(92);
/// The most leads replayed (the first that arrived).
pub const MAX_LEADS: i64 = 500_000;
pub const MAX_RUNS: i32 = 20;
pub const DEFAULT_RUNS: i32 = 5;

/// What SimulatePolicy was asked, checked.
pub struct Simulation {
    pub candidate: Policy,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub seed: u64,
    pub runs: i32,
}

impl Simulation {
    /// Checks a request's window, seed and runs at `now`; every problem in one answer.
    pub fn parse(
        request: &v1::SimulatePolicyRequest,
        now: DateTime<Utc>,
    ) -> Result<Simulation, Error> {
        if request.document.trim().is_empty() {
            return Err(Error::invalid(
                "document",
                "is required: the candidate policy document (YAML), as ApplyPolicy takes it",
            ));
        }
        let candidate =
            leadpool_policy::load(&request.document).map_err(leadpool_policy::invalid_document)?;
        let mut violations = Vec::new();
        let time = |ts: Option<&prost_types::Timestamp>, field: &str| match ts {
            None => Err(FieldViolation::new(field, "is required")),
            Some(ts) => convert::from_timestamp(ts, field),
        };
        let from = time(request.from_time.as_ref(), "from_time");
        let to = time(request.to_time.as_ref(), "to_time");
        if let (Ok(from), Ok(to)) = (&from, &to) {
            if to <= from {
                violations.push(FieldViolation::new("to_time", "must be after from_time"));
            } else if *to - *from > MAX_WINDOW {
                violations.push(FieldViolation::new(
                    "to_time",
                    format!("the window is at most {} days", MAX_WINDOW.num_days()),
                ));
            }
            if *to > now {
                violations.push(FieldViolation::new(
                    "to_time",
                    "must not be in the future: only a past window has a history to replay",
                ));
            }
        }
        let runs = if request.runs == 0 {
            DEFAULT_RUNS
        } else {
            request.runs
        };
        if !(1..=MAX_RUNS).contains(&runs) {
            violations.push(FieldViolation::new(
                "runs",
                format!("must be 1 to {MAX_RUNS} (0: {DEFAULT_RUNS})"),
            ));
        }
        match (from, to) {
            (Ok(from), Ok(to)) if violations.is_empty() => Ok(Simulation {
                candidate,
                from,
                to,
                seed: if request.seed == 0 { 1 } else { request.seed },
                runs,
            }),
            (from, to) => {
                violations.extend(from.err());
                violations.extend(to.err());
                Err(Error::InvalidArgument(violations))
            }
        }
    }
}

impl Scheduler {
    /// Replays the window through the policy in force and the candidate; `oversight` leaves
    /// out the pools and reps a manager does not oversee.
    pub async fn simulate(
        &self,
        simulation: &Simulation,
        oversight: impl Fn(&Policy) -> Oversight,
    ) -> Result<v1::SimulationReport, Error> {
        let started = std::time::Instant::now();
        let store = self.store();
        let current = self.current_policy().await?;
        let (from, to) = (simulation.from, simulation.to);
        let arrivals = store.arrivals(from, to, MAX_LEADS).await?;
        if arrivals.is_empty() {
            return Err(Error::precondition(
                Reason::NothingToReplay,
                "from_time",
                format!(
                    "no lead arrived between {from} and {to}: there is no inflow to replay; \
                     choose a window in which leads arrived"
                ),
            ));
        }
        let waiting = store.waiting_at(from).await?;
        let away = store.availability_settings().await?;
        let records = store.claim_records(from, to).await?;
        let actual = store.actual_by_pool(from, to).await?;
        let behaviour = Behaviour::fit(&current.policy, &records, from, to);
        let candidate_behaviour = Behaviour::fit(&simulation.candidate, &records, from, to);
        let count = u32::try_from(simulation.runs).unwrap_or(1);
        let seed = simulation.seed;
        let loaded = started.elapsed();
        let (in_force_policy, candidate_policy) = (current.clone(), simulation.candidate.clone());
        let (leads, waiting_leads) = (arrivals.len(), waiting.len());
        // Pure CPU for up to seconds: on a blocking thread, off the async workers' backs.
        let (in_force, candidate, behaviour) = tokio::task::spawn_blocking(move || {
            let scenario = |behaviour| Scenario {
                from,
                to,
                arrivals: &arrivals,
                waiting: &waiting,
                behaviour,
                away: &away,
            };
            let cases = [
                (&in_force_policy.policy, &scenario(&behaviour)),
                (&candidate_policy, &scenario(&candidate_behaviour)),
            ];
            let mut outcomes = runs(&cases, seed, count).into_iter();
            let (in_force, candidate) = (outcomes.next(), outcomes.next());
            (
                in_force.unwrap_or_default(),
                candidate.unwrap_or_default(),
                behaviour,
            )
        })
        .await
        .map_err(|e| Error::Internal(format!("the simulation stopped: {e}")))?;
        tracing::info!(
            leads,
            waiting = waiting_leads,
            runs = count,
            history_ms = loaded.as_millis(),
            simulation_ms = (started.elapsed() - loaded).as_millis(),
            "simulated the policy in force and a candidate"
        );
        let (validated, max_error) = validate(&in_force[0], &actual);
        let seen = oversight(&current.policy);
        let seen_candidate = oversight(&simulation.candidate);
        Ok(v1::SimulationReport {
            from_time: Some(convert::timestamp(from)),
            to_time: Some(convert::timestamp(to)),
            seed,
            runs: simulation.runs,
            current_version: current.version,
            current: Some(simulated(&current.policy, &in_force, &seen)),
            candidate: Some(simulated(
                &simulation.candidate,
                &candidate,
                &seen_candidate,
            )),
            validation: Some(v1::ModelValidation {
                pools: validated
                    .iter()
                    .filter(|v| covers_pool(&seen, &v.pool))
                    .map(|v| v1::PoolValidation {
                        pool: v.pool.name(),
                        claims: Some(figure(v.figures[0])),
                        contact_sla_expired: Some(figure(v.figures[1])),
                        escalated: Some(figure(v.figures[2])),
                        median_to_claim_seconds: Some(figure(v.figures[3])),
                    })
                    .collect(),
                max_claims_error: max_error.unwrap_or(0.0),
                summary: trust(max_error),
            }),
            model: Some(model(&current.policy, &behaviour, leads, waiting_leads)),
        })
    }
}

fn covers_pool(oversight: &Oversight, pool: &PoolId) -> bool {
    oversight.covers_lead(Some(pool), None)
}

/// One policy's runs as the report gives them: the first run's figures, the intervals over all.
fn simulated(policy: &Policy, runs: &[Outcome], oversight: &Oversight) -> v1::SimulatedPolicy {
    let first = &runs[0];
    let pools = first
        .pools
        .iter()
        .filter(|p| covers_pool(oversight, &p.pool))
        .map(|pool| simulated_pool(pool, runs))
        .collect();
    let mut totals = leadpool_simulation::Totals::default();
    for pool in first
        .pools
        .iter()
        .filter(|p| covers_pool(oversight, &p.pool))
    {
        totals.add(&pool.totals);
    }
    let reps: Vec<v1::RepClaims> = first
        .claims_by_rep
        .iter()
        .filter(|(rep, _)| oversight.covers_rep(rep))
        .map(|(rep, claims)| v1::RepClaims {
            rep: rep.name(),
            claims: *claims,
        })
        .collect();
    // Every rep who could claim counts, those who made no claim with none.
    let mut counts: Vec<i64> = reps.iter().map(|r| r.claims).collect();
    let claimless = policy
        .reps
        .values()
        .filter(|rep| {
            rep.active
                && rep.role != leadpool_policy::Role::Manager
                && oversight.covers_rep(&rep.id)
                && !first.claims_by_rep.contains_key(&rep.id)
        })
        .count();
    counts.extend(std::iter::repeat_n(0, claimless));
    let mean = if counts.is_empty() {
        0.0
    } else {
        counts.iter().sum::<i64>() as f64 / counts.len() as f64
    };
    v1::SimulatedPolicy {
        pools,
        totals: Some(totals_message(&totals)),
        fairness: Some(v1::Fairness {
            gini: gini(&counts),
            min_claims: counts.iter().copied().min().unwrap_or(0),
            max_claims: counts.iter().copied().max().unwrap_or(0),
            mean_claims: mean,
            reps,
        }),
        unrouted: first.unrouted,
        rejected: first.rejected,
        auto_assigned: first.auto_assigned,
        refused: first.refused,
    }
}

fn simulated_pool(pool: &PoolOutcome, runs: &[Outcome]) -> v1::SimulatedPool {
    let same: Vec<&PoolOutcome> = runs.iter().filter_map(|r| r.pool(&pool.pool)).collect();
    let interval = |figure: &dyn Fn(&PoolOutcome) -> f64| {
        let values: Vec<f64> = same.iter().map(|p| figure(p)).collect();
        v1::Interval {
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    };
    let duration = |d: Option<Duration>| {
        d.map(|d| leadpool_proto::Duration {
            seconds: d.num_seconds(),
            nanos: 0,
        })
    };
    let [under_12h, from_12h_to_24h, over_24h] = pool.age_mix_percent();
    let alert = |kind: v1::AlertKind, e: &leadpool_simulation::Episodes| v1::SimulatedAlert {
        kind: kind as i32,
        episodes: e.started,
        hours: e.hours,
    };
    v1::SimulatedPool {
        pool: pool.pool.name(),
        kind: pool.kind.clone(),
        depth_by_hour: pool.depth_by_hour.clone(),
        claims_by_hour: pool.claims_by_hour.clone(),
        totals: Some(totals_message(&pool.totals)),
        median_to_claim: duration(pool.median_to_claim()),
        p90_to_claim: duration(pool.p90_to_claim()),
        target: duration(Some(pool.target)),
        under_12h_percent: under_12h,
        from_12h_to_24h_percent: from_12h_to_24h,
        over_24h_percent: over_24h,
        depletion_rate: pool.depletion_rate(),
        alerts: [
            alert(v1::AlertKind::Capacity, &pool.capacity),
            alert(v1::AlertKind::Aging, &pool.aging),
            alert(v1::AlertKind::Escalated, &pool.escalated),
        ]
        .into_iter()
        .filter(|a| a.episodes > 0)
        .collect(),
        claims_interval: Some(interval(&|p| p.totals.claimed as f64)),
        escalated_interval: Some(interval(&|p| p.totals.escalated as f64)),
        median_to_claim_seconds_interval: Some(interval(&|p| {
            p.median_to_claim().map_or(0.0, |d| d.num_seconds() as f64)
        })),
    }
}

fn totals_message(t: &leadpool_simulation::Totals) -> v1::SimulatedTotals {
    v1::SimulatedTotals {
        entered: t.entered,
        claimed: t.claimed,
        contact_sla_expired: t.contact_sla_expired,
        escalated: t.escalated,
        force_assigned: t.force_assigned,
        overflowed: t.overflowed,
        moved_out: t.moved_out,
        nurtured: t.nurtured,
        archived: t.archived,
        released: t.released,
        opportunities: t.opportunities,
        customers: t.customers,
        available_at_end: t.available_at_end,
    }
}

fn figure(v: Validated) -> v1::ValidatedFigure {
    v1::ValidatedFigure {
        actual: v.actual,
        simulated: v.simulated,
        relative_error: v.relative_error(),
    }
}

/// How far to trust the answer, in words, from the largest relative error of claims.
fn trust(max_error: Option<f64>) -> String {
    match max_error {
        None => format!(
            "no pool had {} claims in the window: too little history to check the model; \
             read the figures as rough",
            leadpool_simulation::VALIDATION_MIN_CLAIMS
        ),
        Some(e) => format!(
            "the policy in force, simulated, gives each pool's claims within {:.0}% of what \
             happened; read differences between the policies smaller than that as noise",
            e * 100.0
        ),
    }
}

fn model(
    policy: &Policy,
    behaviour: &Behaviour,
    leads: usize,
    waiting: usize,
) -> v1::SimulationModel {
    let (mut fitted, mut borrowed) = (Vec::new(), Vec::new());
    for rep in policy
        .reps
        .values()
        .filter(|r| r.active && r.role != leadpool_policy::Role::Manager)
    {
        match behaviour.of(rep).1 {
            Source::Own => fitted.push(rep.id.name()),
            Source::Team | Source::Everyone => borrowed.push(rep.id.name()),
        }
    }
    v1::SimulationModel {
        leads: i64::try_from(leads).unwrap_or(i64::MAX),
        fitted_reps: fitted,
        borrowed_reps: borrowed,
        notes: vec![
            format!(
                "{leads} leads arrived in the window and {waiting} waited in pools at its start; \
                 both policies replay the same"
            ),
            format!(
                "each rep claims at the rate she claimed in the window at that weekday and hour \
                 (UTC); fewer than {} claims of her own and she behaves as her team's average \
                 member, without a team (or team history) as everyone's",
                leadpool_simulation::MIN_OWN_CLAIMS
            ),
            "times to contact are drawn from the window's own claims; a contact later than a \
             pool's contact SLA is an expiry; releases and outcomes keep the rates of the \
             window"
                .to_owned(),
            "reps are away as the policy's absences and their availability set through the \
             API say (each rep's current setting, over the time it covers; a setting replaced \
             since is not known)"
                .to_owned(),
            "not modelled: managers assigning escalated leads by hand, the reclaim embargo, \
             duplicate merging"
                .to_owned(),
        ],
    }
}
