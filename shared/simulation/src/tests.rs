//! Answers worked out by hand: a pool nobody may claim from, a binding daily limit, seeds.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use leadpool_domain::{AvailabilitySetting, AwayStatus, NewLead, PoolId, RepId};
use uuid::Uuid;

use super::*;

fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap()
}

fn policy(extra: &str) -> leadpool_policy::Policy {
    leadpool_policy::load(&format!(
        "apiVersion: leadpool.dev/v1\nkind: Policy\nmetadata: {{ name: sim }}\n\
         reps:\n  - {{ id: ann, role: sdr }}\n\
         pools:\n  - {{ id: work, type: open{extra} }}\n\
         routing:\n  default: {{ pool: work }}\n"
    ))
    .unwrap()
}

fn arrival(n: u32, at: DateTime<Utc>) -> Arrival {
    Arrival {
        id: Uuid::from_u128(u128::from(n) + 1),
        at,
        lead: NewLead {
            idempotency_key: format!("k{n}"),
            email: format!("l{n}@example.com"),
            contact_name: String::new(),
            company: String::new(),
            company_domain: String::new(),
            country: String::new(),
            phone: String::new(),
            score: 50,
            source: "web".into(),
            region: String::new(),
            product: String::new(),
            industry: String::new(),
            language: String::new(),
            attributes: Default::default(),
        },
    }
}

/// Ann claimed 40 leads between 09:00 and 10:00 on the window's Monday, each contacted within
/// ten minutes.
fn eager_ann(from: DateTime<Utc>) -> Vec<ClaimRecord> {
    (0..40)
        .map(|i| ClaimRecord {
            rep: RepId::parse("ann", "rep").unwrap(),
            pool: PoolId::parse("work", "pool").unwrap(),
            at: from + Duration::hours(9) + Duration::seconds(i * 60),
            contacted_after: Some(Duration::minutes(10)),
            released: false,
            outcome: None,
        })
        .collect()
}

/// The arrivals replayed through `policy` over `[from, to)` with Ann as eager as in
/// [`eager_ann`] (and reps without history borrowing her behaviour).
fn replay(
    policy: &leadpool_policy::Policy,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    arrivals: &[Arrival],
    seed: u64,
) -> Outcome {
    let behaviour = Behaviour::fit(policy, &eager_ann(from), from, to);
    let scenario = Scenario {
        from,
        to,
        arrivals,
        waiting: &[],
        behaviour: &behaviour,
        away: &[],
    };
    simulate(policy, &scenario, seed)
}

/// The Monday (its start and end) with 200 leads arriving at midnight.
fn monday_of_200_leads() -> (DateTime<Utc>, DateTime<Utc>, Vec<Arrival>) {
    let from = monday();
    let arrivals = (0..200).map(|n| arrival(n, from)).collect();
    (from, from + Duration::days(1), arrivals)
}

/// One day with 200 leads waiting from midnight and Ann as eager as on the Monday she had.
fn eager_day(policy: &leadpool_policy::Policy, seed: u64) -> Outcome {
    let (from, to, arrivals) = monday_of_200_leads();
    replay(policy, from, to, &arrivals, seed)
}

fn claims(policy: &leadpool_policy::Policy, seed: u64) -> i64 {
    eager_day(policy, seed).totals().claimed
}

#[test]
fn halving_a_binding_daily_limit_halves_the_claims_it_allows() {
    assert_eq!(claims(&policy(", limits: { perDay: 10 }"), 1), 10);
    assert_eq!(claims(&policy(", limits: { perDay: 5 }"), 1), 5);
}

#[test]
fn a_pool_nobody_may_claim_from_grows_linearly_and_escalates_every_lead_at_its_age() {
    let policy = policy(", access: [{ name: nobody, regions: [nowhere] }]");
    let from = monday();
    let to = from + Duration::hours(72);
    // One lead at half past every hour.
    let arrivals: Vec<Arrival> = (0..72)
        .map(|n| {
            arrival(
                n,
                from + Duration::hours(i64::from(n)) + Duration::minutes(30),
            )
        })
        .collect();
    let outcome = replay(&policy, from, to, &arrivals, 1);
    let pool = &outcome.pools[0];
    assert_eq!(pool.totals.claimed, 0);
    assert_eq!(pool.totals.entered, 72);
    // Before the first escalation (48 h after the first arrival) the depth is one per hour.
    for hour in 0..=48 {
        assert_eq!(pool.depth_by_hour[hour], hour as i64, "hour {hour}");
    }
    // Escalated at 48 h: the leads that arrived in the first 24 hours.
    assert_eq!(pool.totals.escalated, 24);
}

#[test]
fn the_same_seed_gives_the_same_answer() {
    let policy = policy(", limits: { perDay: 30, cooldown: { after: 3, pause: 10m } }");
    assert_eq!(claims(&policy, 7), claims(&policy, 7));
}

#[test]
fn runs_of_several_policies_on_several_threads_each_give_what_their_seed_gives_alone() {
    let (limited, free) = (policy(", limits: { perDay: 5 }"), policy(""));
    let (from, to, arrivals) = monday_of_200_leads();
    // Ann releases every other lead: how many she releases differs from seed to seed.
    let mut history = eager_ann(from);
    for (i, record) in history.iter_mut().enumerate() {
        record.released = i % 2 == 0;
    }
    let behaviour = Behaviour::fit(&free, &history, from, to);
    let scenario = Scenario {
        from,
        to,
        arrivals: &arrivals,
        waiting: &[],
        behaviour: &behaviour,
        away: &[],
    };
    let outcomes = runs(&[(&limited, &scenario), (&free, &scenario)], 3, 4);
    assert_eq!(outcomes.len(), 2);
    for (policy, of_policy) in [&limited, &free].into_iter().zip(&outcomes) {
        assert_eq!(of_policy.len(), 4);
        for (k, outcome) in of_policy.iter().enumerate() {
            let alone = simulate(policy, &scenario, 3 + k as u64);
            assert_eq!(outcome.totals(), alone.totals(), "run {k}");
            assert_eq!(
                outcome.pools[0].claims_by_hour,
                alone.pools[0].claims_by_hour
            );
        }
    }
    assert_eq!(outcomes[0][0].totals().claimed, 5);
    let released: BTreeSet<i64> = outcomes[1].iter().map(|o| o.totals().released).collect();
    assert!(
        released.len() > 1,
        "the seeds draw differently: {released:?}"
    );
}

#[test]
fn a_cooldown_shows_in_the_claims_per_hour() {
    // Ann tries about 40 claims between 09:00 and 10:00. Without a cooldown she makes 15 of
    // them, her daily limit; with three claims then 30 minutes' pause, at most three per half
    // hour.
    for seed in 1..=5 {
        let free = eager_day(&policy(""), seed);
        assert_eq!(free.pools[0].claims_by_hour[9], 15, "seed {seed}");
        let cooled = eager_day(
            &policy(", limits: { cooldown: { after: 3, pause: 30m } }"),
            seed,
        );
        let by_hour = &cooled.pools[0].claims_by_hour;
        assert!(
            by_hour[9] <= 6 && by_hour[9] >= 4,
            "seed {seed}: {by_hour:?}"
        );
        assert_eq!(by_hour.iter().sum::<i64>(), by_hour[9], "seed {seed}");
    }
}

#[test]
fn a_candidate_that_drops_a_pool_drains_its_leads_as_retired_pools_says() {
    let candidate = leadpool_policy::load(
        "apiVersion: leadpool.dev/v1\nkind: Policy\nmetadata: { name: sim }\n\
         reps:\n  - { id: ann, role: sdr }\n\
         pools:\n  - { id: work, type: open }\n  - { id: spare, type: open }\n\
         retiredPools: [{ id: old, drainTo: spare }]\n\
         routing:\n  default: { pool: work }\n",
    )
    .unwrap();
    let from = monday();
    let to = from + Duration::hours(6);
    let waiting: Vec<Waiting> = (0..7)
        .map(|n| Waiting {
            facts: leadpool_policy::LeadFacts::of_new(
                Uuid::from_u128(n + 1000),
                &arrival(0, from).lead,
            ),
            pool: PoolId::parse("old", "pool").unwrap(),
            entered: from - Duration::hours(3),
            escalated: false,
        })
        .collect();
    let behaviour = Behaviour::fit(&candidate, &[], from, to);
    let scenario = Scenario {
        from,
        to,
        arrivals: &[],
        waiting: &waiting,
        behaviour: &behaviour,
        away: &[],
    };
    let outcome = simulate(&candidate, &scenario, 1);
    let spare = outcome
        .pool(&PoolId::parse("spare", "pool").unwrap())
        .unwrap();
    assert_eq!(spare.totals.entered, 7);
    assert_eq!(spare.totals.available_at_end, 7);
    assert_eq!(spare.depth_by_hour, vec![7; 6]);
    assert_eq!(outcome.pools[0].totals.entered, 0);
    assert_eq!(outcome.unrouted, 0);
}

#[test]
fn another_reps_rotation_window_keeps_the_leads_that_entered_in_it_from_ann() {
    let with = |pool: &str| {
        leadpool_policy::load(&format!(
            "apiVersion: leadpool.dev/v1\nkind: Policy\nmetadata: {{ name: sim }}\n\
             reps:\n  - {{ id: ann, role: sdr }}\n  - {{ id: bob, role: sdr }}\n\
             pools:\n  - {{ id: work, type: open{pool} }}\n\
             routing:\n  default: {{ pool: work }}\n"
        ))
        .unwrap()
    };
    let ann_claims = |policy: &leadpool_policy::Policy| {
        let from = monday();
        let to = from + Duration::days(1);
        // A lead a minute from 09:00, while Ann (and Bob, who borrows her behaviour) claim.
        let arrivals: Vec<Arrival> = (0..60)
            .map(|n| {
                arrival(
                    n,
                    from + Duration::hours(9) + Duration::minutes(i64::from(n)),
                )
            })
            .collect();
        let outcome = replay(policy, from, to, &arrivals, 1);
        let ann = RepId::parse("ann", "rep").unwrap();
        outcome.claims_by_rep.get(&ann).copied().unwrap_or(0)
    };
    assert!(ann_claims(&with("")) > 0);
    // Bob's window is 09:00–10:00 (aligned to the hour): every lead entered in it, and nobody
    // claims after 10:00.
    assert_eq!(
        ann_claims(&with(", rotation: { window: 1h, reps: [bob] }")),
        0
    );
}

#[test]
fn a_forced_lead_left_uncontacted_waits_in_the_escalation_queue_and_is_not_forced_again() {
    // Ann may claim one lead a day and contacts in ten minutes; the SLA of forced leads is
    // five minutes, so every forced lead expires in her hands.
    let policy = policy(
        ", contactSla: 5m, limits: { perDay: 1 }, \
         lifecycle: [{ after: 1h, then: force-assign }]",
    );
    let from = monday();
    let to = from + Duration::days(1);
    let arrivals: Vec<Arrival> = (0..20).map(|n| arrival(n, from)).collect();
    let outcome = replay(&policy, from, to, &arrivals, 1);
    let totals = &outcome.pools[0].totals;
    let claimed = totals.claimed;
    assert!(claimed <= 1, "{totals:?}");
    // Every lead not claimed first is forced once, at one hour, and expires: 19 or 20.
    assert_eq!(totals.force_assigned, 20 - claimed, "{totals:?}");
    assert_eq!(
        totals.contact_sla_expired, totals.force_assigned,
        "{totals:?}"
    );
}

#[test]
fn a_rep_away_by_the_api_claims_nothing_while_her_setting_covers_the_hour() {
    let policy = policy("");
    let (from, to, arrivals) = monday_of_200_leads();
    let behaviour = Behaviour::fit(&policy, &eager_ann(from), from, to);
    let away_from = |start: DateTime<Utc>, hours: i64| AvailabilitySetting {
        rep: RepId::parse("ann", "rep").unwrap(),
        status: AwayStatus::OutOfOffice,
        from: start,
        until: Some(start + Duration::hours(hours)),
        note: String::new(),
        set_by: "reps/ann".into(),
        set_at: start,
    };
    let claims_by_hour = |away: &[AvailabilitySetting]| {
        let scenario = Scenario {
            from,
            to,
            arrivals: &arrivals,
            waiting: &[],
            behaviour: &behaviour,
            away,
        };
        simulate(&policy, &scenario, 1).pools[0]
            .claims_by_hour
            .clone()
    };
    // She claims 15 (her daily limit) between 09:00 and 10:00 when nothing keeps her away,
    // and when a setting covers another day.
    assert_eq!(claims_by_hour(&[])[9], 15);
    assert_eq!(
        claims_by_hour(&[away_from(from + Duration::days(1), 8)])[9],
        15
    );
    // Out of office from 08:00 to 10:00: nothing that day.
    let away = claims_by_hour(&[away_from(from + Duration::hours(8), 2)]);
    assert_eq!(away.iter().sum::<i64>(), 0, "{away:?}");
}
