//! SimulatePolicy's engine (X8) on a month of 100,000 leads and 50 reps: one run of a policy,
//! and a whole request (the policy in force and a candidate, five seeds each), in process. The
//! history is synthetic — arrivals spread over the month, claims in business hours — and the
//! policy is P3's tiers with working hours, limits and a lifecycle, so every rule runs.

use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use leadpool_auth::Role;
use leadpool_domain::{NewLead, Outcome, PoolId, RepId};
use leadpool_proto::v1;
use leadpool_proto::v1::scheduler_service_client::SchedulerServiceClient;
use leadpool_simulation::{Arrival, Behaviour, ClaimRecord, Scenario, runs, simulate};
use leadpool_testing::{TestDatabase, authed, token};
use uuid::Uuid;

use crate::report::Report;
use crate::stack::Stack;

const LEADS: u32 = 100_000;
const REPS: usize = 50;
const DAYS: i64 = 30;

fn policy(daily_limit: u32) -> leadpool_policy::Policy {
    leadpool_policy::load(&document(daily_limit)).expect("the bench policy compiles")
}

/// P3's tiers for 50 reps of one team with working hours, limits and a lifecycle.
fn document(daily_limit: u32) -> String {
    let seniority = ["senior", "standard", "junior"];
    let reps: String = (0..REPS)
        .map(|i| {
            format!(
                "- {{ id: rep-{i}, team: emea, role: sdr, seniority: {} }}\n",
                seniority[i % 3]
            )
        })
        .collect();
    format!(
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
    )
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
        away: &[],
    };
    let fit = started.elapsed();
    let started = Instant::now();
    let one = simulate(&in_force, &scenario, 1);
    let one_run = started.elapsed();
    let started = Instant::now();
    let both = runs(&[(&in_force, &scenario), (&candidate, &scenario)], 1, 5);
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

/// The whole `SimulatePolicy` call as an operator makes it: the scheduler loads the window's
/// history from Postgres (arrivals, the pools' contents at its start, claims and how they
/// ended, what happened per pool), fits behaviour and runs both policies × 5 seeds. The
/// database holds two months of history — the month before the window too, as a real one
/// would — written straight into the tables.
pub async fn measure_request(report: &mut Report) {
    println!("simulation: two months of history in Postgres, then SimulatePolicy over the second");
    let db = TestDatabase::new().await;
    crate::seed::apply(&db, &document(15)).await;
    let now = Utc::now();
    let from = now - Duration::days(DAYS);
    history(&db, now - Duration::days(2 * DAYS), 2 * i64::from(LEADS)).await;
    crate::seed::settle(&db).await;
    let stack = Stack::start(&db, &["scheduler"], &[]).await;
    let mut scheduler =
        SchedulerServiceClient::new(leadpool_e2e::channel(stack.one("scheduler").addr).await);
    let request = v1::SimulatePolicyRequest {
        document: document(10),
        from_time: Some(timestamp(from)),
        to_time: Some(timestamp(now)),
        seed: 1,
        runs: 5,
    };
    let started = Instant::now();
    let answer = scheduler
        .simulate_policy(authed(&token("users/bench", &[Role::Admin]), request))
        .await
        .expect("SimulatePolicy")
        .into_inner();
    let took = started.elapsed();
    let model = answer.model.unwrap_or_default();
    report.set("simulation_rpc_s", super::round2(took.as_secs_f64()));
    report.line(
        "SimulatePolicy call (history in Postgres: 200k leads over 60 days), the second month",
        format!(
            "{:.2} s for {} leads replayed and {} reps' claims fitted, 2 policies × 5 seeds",
            took.as_secs_f64(),
            model.leads,
            model.fitted_reps.len(),
        ),
    );
}

fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

/// `leads` leads arriving evenly from `from` to now, routed by score into hot, warm and cold;
/// 13% claimed two hours after arrival by one of the 50 reps and contacted an hour later,
/// the rest escalated at 48 hours, force-assigned at 72 and contacted at 74, as the policy
/// has it (events not yet due are left out: the last days' leads are still waiting).
async fn history(db: &TestDatabase, from: DateTime<Utc>, leads: i64) {
    let spread = (Utc::now() - from).num_seconds() as f64 / leads as f64;
    sqlx::query(
        "WITH shaped AS MATERIALIZED (SELECT gen_random_uuid() AS id, n, \
             $1::timestamptz + n * $3 * interval '1 second' AS at, (n * 7919) % 100 AS score, \
             'rep-' || ((n / 100) % 50) AS rep, (n * 104729) % 100 < 13 AS claimed \
           FROM generate_series(0, $2 - 1) AS n), \
         pooled AS MATERIALIZED (SELECT *, CASE WHEN score >= 80 THEN 'hot' \
             WHEN score >= 50 THEN 'warm' ELSE 'cold' END AS pool FROM shaped), \
         contacts AS (INSERT INTO lead_contacts (id, idempotency_key, request_hash, email, company) \
           SELECT id, 'sim-' || n, '\\x00', 'lead-' || n || '@example.com', 'Company ' || n \
           FROM pooled), \
         leads AS (INSERT INTO leads (id, state, score, priority, source, region, country, \
             pool_id, owner_rep_id, received_at, pooled_at, updated_at) \
           SELECT id, 'contacted', score, score, 'web', 'emea', 'DE', pool, rep, at, at, at \
           FROM pooled) \
         INSERT INTO lead_events (lead_id, from_state, to_state, kind, actor, pool_id, rep_id, \
             occurred_at) \
         SELECT p.id, e.from_state, e.to_state, e.kind, e.actor, e.pool_id, e.rep_id, e.at \
         FROM pooled p CROSS JOIN LATERAL (VALUES \
             (true, NULL, 'received', 'lead.received', 'services/intake', NULL, NULL, p.at), \
             (true, 'received', 'available', 'lead.routed', 'services/intake', p.pool, NULL, p.at), \
             (p.claimed, 'available', 'claimed', 'lead.claimed', 'reps/' || p.rep, p.pool, p.rep, \
               p.at + interval '2 hours'), \
             (p.claimed, 'claimed', 'contacted', 'lead.contacted', 'reps/' || p.rep, p.pool, p.rep, \
               p.at + interval '3 hours'), \
             (NOT p.claimed, 'available', 'escalated', 'lead.escalated', 'services/scheduler', \
               p.pool, NULL, p.at + interval '48 hours'), \
             (NOT p.claimed, 'escalated', 'assigned', 'lead.force_assigned', \
               'services/scheduler', p.pool, p.rep, p.at + interval '72 hours'), \
             (NOT p.claimed, 'assigned', 'contacted', 'lead.contacted', 'reps/' || p.rep, p.pool, \
               p.rep, p.at + interval '74 hours')) \
           AS e(happened, from_state, to_state, kind, actor, pool_id, rep_id, at) \
         WHERE e.happened AND e.at < now() \
         ORDER BY e.at",
    )
    .bind(from)
    .bind(leads)
    .bind(spread)
    .execute(db.store().pool())
    .await
    .expect("seed two months of history");
}
