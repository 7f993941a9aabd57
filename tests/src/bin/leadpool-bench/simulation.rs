//! SimulatePolicy's engine (X8) on a month of 100,000 leads and 50 reps: one run of a policy,
//! and a whole request (the policy in force and a candidate, five seeds each), in process. The
//! history is synthetic — arrivals spread over the month, claims in business hours — and the
//! policy is P3's tiers with working hours, limits and a lifecycle, so every rule runs.

use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use leadpool_domain::{NewLead, Outcome, PoolId, RepId};
use leadpool_simulation::{Arrival, Behaviour, ClaimRecord, Scenario, runs, simulate};
use uuid::Uuid;

use crate::report::Report;

const LEADS: u32 = 100_000;
const REPS: usize = 50;
const DAYS: i64 = 30;

fn policy(daily_limit: u32) -> leadpool_policy::Policy {
    let seniority = ["senior", "standard", "junior"];
    let reps: String = (0..REPS)
        .map(|i| {
            format!(
                "- {{ id: rep-{i}, team: emea, role: sdr, seniority: {} }}\n",
                seniority[i % 3]
            )
        })
        .collect();
    leadpool_policy::load(&format!(
        "apiVersion: leadpool.dev/v1\nkind: Policy\nmetadata: {{ name: bench }}\n\
         teams: [{{ id: emea, timeZone: Europe/Berlin, \
           businessHours: {{ days: [mon, tue, wed, thu, fri], from: \"08:00\", to: \"18:00\" }} }}]\n\
         reps:\n{reps}\
         pools:\n\
         - {{ id: hot, type: tiered, tier: hot, minScore: 80, contactSla: 30m, \
              access: [{{ seniority: [senior] }}] }}\n\
         - {{ id: warm, type: tiered, tier: warm, minScore: 50, \
              access: [{{ seniority: [senior, standard] }}] }}\n\
         - {{ id: cold, type: tiered, tier: cold, minScore: 0, contactSla: 24h }}\n\
         limits: {{ perDay: {daily_limit}, cooldown: {{ after: 5, pause: 10m }} }}\n\
         lifecycle: [{{ after: 12h, then: top-half }}, {{ after: 24h, then: top-tenth }}, \
           {{ after: 48h, then: escalate }}, {{ after: 72h, then: force-assign }}]\n\
         routing: {{ rules: [{{ name: by-score, tiers: [hot, warm, cold] }}] }}\n"
    ))
    .expect("the bench policy compiles")
}

/// A deterministic stream of numbers for the synthetic history.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn arrivals(from: DateTime<Utc>, random: &mut Lcg) -> Vec<Arrival> {
    let spread = DAYS * 86_400 / i64::from(LEADS);
    (0..LEADS)
        .map(|n| Arrival {
            id: Uuid::from_u128(u128::from(n) + 1),
            at: from + Duration::seconds(i64::from(n) * spread),
            lead: NewLead {
                idempotency_key: format!("sim-{n}"),
                email: format!("lead-{n}@example.com"),
                contact_name: String::new(),
                company: format!("Company {n}"),
                company_domain: String::new(),
                country: "DE".into(),
                phone: String::new(),
                score: i32::try_from(random.below(100)).unwrap_or(0),
                source: "web".into(),
                region: "emea".into(),
                product: String::new(),
                industry: String::new(),
                language: String::new(),
                attributes: Default::default(),
            },
        })
        .collect()
}

/// Each rep's claims in the month: about 12 a working day between 08:00 and 17:00 UTC.
fn claims(from: DateTime<Utc>, random: &mut Lcg) -> Vec<ClaimRecord> {
    let pools = ["hot", "warm", "cold"].map(|p| PoolId::parse(p, "pool").expect("pool id"));
    let mut records = Vec::new();
    for day in 0..DAYS {
        let date = from + Duration::days(day);
        if date.format("%a").to_string().starts_with('S') {
            continue;
        }
        for rep in 0..REPS {
            let id = RepId::parse(&format!("rep-{rep}"), "rep").expect("rep id");
            for _ in 0..12 {
                let at = date
                    + Duration::hours(8)
                    + Duration::minutes(i64::try_from(random.below(540)).unwrap_or(0));
                let draw = random.below(100);
                records.push(ClaimRecord {
                    rep: id.clone(),
                    pool: pools[rep % 3].clone(),
                    at,
                    contacted_after: (draw < 90).then(|| {
                        Duration::minutes(5 + i64::try_from(random.below(120)).unwrap_or(0))
                    }),
                    released: (80..90).contains(&draw),
                    outcome: match draw {
                        0..10 => Some(Outcome::Opportunity),
                        10..13 => Some(Outcome::Customer),
                        _ => None,
                    },
                });
            }
        }
    }
    records
}

pub fn measure(report: &mut Report) {
    let from = Utc
        .with_ymd_and_hms(2026, 2, 2, 0, 0, 0)
        .single()
        .expect("a date");
    let to = from + Duration::days(DAYS);
    let mut random = Lcg(7);
    let arrivals = arrivals(from, &mut random);
    let records = claims(from, &mut random);
    let (in_force, candidate) = (policy(15), policy(10));
    println!(
        "simulation: {LEADS} leads, {REPS} reps, {} claims of history, {DAYS} days",
        records.len()
    );
    let started = Instant::now();
    let behaviour = Behaviour::fit(&in_force, &records, from, to);
    let scenario = Scenario {
        from,
        to,
        arrivals: &arrivals,
        waiting: &[],
        behaviour: &behaviour,
    };
    let fit = started.elapsed();
    let started = Instant::now();
    let one = simulate(&in_force, &scenario, 1);
    let one_run = started.elapsed();
    let started = Instant::now();
    let both = [
        runs(&in_force, &scenario, 1, 5),
        runs(&candidate, &scenario, 1, 5),
    ];
    let request = started.elapsed() + fit;
    report.set("simulation_run_s", super::round2(one_run.as_secs_f64()));
    report.set("simulation_request_s", super::round2(request.as_secs_f64()));
    report.line(
        "SimulatePolicy engine, 100k leads × 50 reps × 30 days",
        format!(
            "one run {:.2} s, a request (2 policies × 5 seeds) {:.2} s; claims {} vs {}",
            one_run.as_secs_f64(),
            request.as_secs_f64(),
            one.totals().claimed,
            both[1][0].totals().claimed,
        ),
    );
}
