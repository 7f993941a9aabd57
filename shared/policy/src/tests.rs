use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Europe::Berlin;
use leadpool_domain::{PoolId, RepId};
use uuid::Uuid;

use super::*;

const POLICY: &str = r#"
apiVersion: leadpool.dev/v1
kind: Policy
metadata: { name: acme }
teams:
  - id: emea
    timeZone: Europe/Berlin
    businessHours: { from: "08:00", to: "18:00" }
    afterHours: on-call
    weekends: weekend-duty
reps:
  - { id: alice, team: emea, role: ae, seniority: senior, performance: top, regions: [emea] }
  - { id: bob, team: emea, role: sdr, seniority: junior, regions: [emea] }
  - { id: carol, team: emea, role: ae, regions: [west] }
  - { id: dave, team: emea, role: sdr, performance: below-quota, regions: [emea] }
  - { id: erin, team: emea, role: ae, regions: [emea], unavailable: [{ from: 2026-03-02, to: 2026-03-06, reason: vacation }] }
rotations:
  - { id: on-call, shifts: [[alice], [bob]], shiftLength: 1w, start: "2026-03-02T00:00:00+01:00" }
  - { id: weekend-duty, shifts: [[carol, bob]], shiftLength: 1w, start: "2026-01-05T00:00:00+01:00" }
pools:
  - id: emea-hot
    type: tiered
    tier: hot
    minScore: 80
    access: [{ name: seniors, seniority: [senior] }]
  - id: emea-warm
    type: tiered
    tier: warm
    minScore: 50
    access: [{ name: not-juniors, seniority: [senior, standard] }]
  - { id: emea-cold, type: tiered, tier: cold, minScore: 0 }
  - id: west
    type: segmented
    segment: { regions: [west] }
    access: [{ name: west-reps, regions: [west] }, { name: aes, roles: [ae], performance: [top] }]
  - { id: demo-requests, type: open }
routing:
  rules:
    - name: emea-by-tier
      match: { regions: [emea] }
      tiers: [emea-hot, emea-warm, emea-cold]
    - name: west
      match: { regions: [west], minScore: 30 }
      pool: west
    - name: demo-split
      match: { sources: [demo-request] }
      split:
        - { percent: 60, pool: demo-requests }
        - { percent: 40, assign: { strategy: round-robin, teams: [emea] } }
  default: { pool: demo-requests }
"#;

fn policy() -> Policy {
    load(POLICY).unwrap_or_else(|errors| panic!("{errors:#?}"))
}

fn rep(id: &str) -> RepId {
    RepId::parse(id, "rep").unwrap()
}

fn pool(id: &str) -> PoolId {
    PoolId::parse(id, "pool").unwrap()
}

fn berlin(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Berlin
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn lead(region: &str, score: i32, source: &str) -> LeadFacts {
    LeadFacts {
        id: Uuid::now_v7(),
        score,
        region: region.into(),
        source: source.into(),
        ..LeadFacts::default()
    }
}

#[test]
fn an_invalid_policy_reports_every_problem_with_its_path() {
    let yaml = r#"
apiVersion: leadpool.dev/v2
kind: Policy
teams:
  - { id: emea, timeZone: Mars/Olympus, businessHours: { from: "18:00", to: "08:00" }, afterHours: nobody }
reps:
  - { id: alice, team: apac, role: ceo }
  - { id: alice, role: sdr }
pools:
  - { id: Hot, type: tiered }
  - { id: warm, type: hourly, contactSla: soon }
  - id: cold
    type: open
    access: [{ roles: [ae, sdrr], performance: [below-quota], reps: [zed] }]
routing:
  rules:
    - { name: a, pool: missing }
    - { name: a, match: { minScore: 90, maxScore: 10 }, tiers: [cold] }
    - name: split
      split: [{ percent: 70, pool: warm }, { percent: 20, assign: { strategy: random } }]
"#;
    let errors = load(yaml).unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "apiVersion",
            "reps[1].id",
            "pools[0].id",
            "teams[0].timeZone",
            "teams[0].businessHours",
            "teams[0].afterHours",
            "reps[0].team",
            "reps[0].role",
            "pools[1].type",
            "pools[1].contactSla",
            "pools[2].access[0].performance",
            "pools[2].access[0].roles[1]",
            "pools[2].access[0].reps[0]",
            "routing.rules[0].pool",
            "routing.rules[1].name",
            "routing.rules[1].match",
            "routing.rules[1].tiers[0]",
            "routing.rules[2].split",
            "routing.rules[2].split[1].assign.strategy",
        ],
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("`sdrr` is not one of: sdr, ae, manager"))
    );
}

#[test]
fn a_syntax_or_type_error_names_where_reading_stopped() {
    let errors = load("apiVersion: leadpool.dev/v1\nkind: Policy\npools:\n  - id: hot\n    type: open\n    minScore: lots\n").unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path, "pools[0].minScore");
    let errors =
        load("apiVersion: leadpool.dev/v1\nkind: Policy\npools:\n  - id: hot\n    typ: open\n")
            .unwrap_err();
    assert!(
        errors[0].message.contains("unknown field `typ`"),
        "{errors:?}"
    );
}

#[test]
fn the_first_matching_rule_decides_and_earlier_rules_say_why_not() {
    let policy = policy();
    let explained = policy.route(&lead("west", 45, "mql"));
    assert_eq!(explained.rule.as_deref(), Some("west"));
    assert_eq!(explained.decision, Decision::Pool(pool("west")));
    assert_eq!(explained.checks.len(), 2);
    assert!(!explained.checks[0].matched);
    assert_eq!(
        explained.checks[0].reasons,
        ["region west is not one of [emea]"]
    );

    let low = policy.route(&lead("west", 10, "mql"));
    assert_eq!(low.rule, None, "falls through to the default");
    assert_eq!(low.decision, Decision::Pool(pool("demo-requests")));
    assert_eq!(low.checks[1].reasons, ["score 10 is below 30"]);
}

#[test]
fn tiers_inside_a_territory_pick_by_score() {
    let policy = policy();
    for (score, expected) in [
        (95, "emea-hot"),
        (80, "emea-hot"),
        (79, "emea-warm"),
        (50, "emea-warm"),
        (12, "emea-cold"),
    ] {
        assert_eq!(
            policy.route(&lead("emea", score, "")).decision,
            Decision::Pool(pool(expected)),
            "score {score}"
        );
    }
}

#[test]
fn a_split_sends_each_lead_to_a_stable_share_in_proportion() {
    let policy = policy();
    let mut pooled = 0;
    for _ in 0..10_000 {
        let facts = lead("", 60, "demo-request");
        let first = policy.route(&facts).decision;
        assert_eq!(
            policy.route(&facts).decision,
            first,
            "the same lead always lands in the same share"
        );
        match first {
            Decision::Pool(p) => {
                assert_eq!(p, pool("demo-requests"));
                pooled += 1;
            }
            Decision::Assign { key, .. } => assert_eq!(key, "rule/demo-split/1"),
            Decision::Unroutable => panic!("split leads are always routed"),
        }
    }
    assert!(
        (5_700..=6_300).contains(&pooled),
        "about 60% pooled, got {pooled}"
    );
}

#[test]
fn access_follows_role_seniority_region_and_performance() {
    let policy = policy();
    let monday_noon = berlin(2026, 3, 2, 12, 0);
    let allowed = |r: &str, p: &str| {
        policy
            .explain_access(&rep(r), &pool(p), monday_noon)
            .allowed
    };
    // P3 tier hierarchy: senior any tier, standard warm and cold, junior cold only.
    assert!(
        allowed("alice", "emea-hot")
            && allowed("alice", "emea-warm")
            && allowed("alice", "emea-cold")
    );
    assert!(!allowed("erin", "emea-hot") && allowed("erin", "emea-warm"));
    assert!(!allowed("bob", "emea-warm") && allowed("bob", "emea-cold"));
    // A2 geography, with a second rule for top-performing AEs (a national-accounts style grant).
    assert!(allowed("carol", "west"));
    assert!(allowed("alice", "west"));
    assert!(!allowed("bob", "west"));
    // A3: below quota means no pool access at all, even to open pools.
    let dave = policy.explain_access(&rep("dave"), &pool("demo-requests"), monday_noon);
    assert!(!dave.allowed);
    assert!(dave.reasons[0].contains("below quota"));

    let refused = policy.explain_access(&rep("bob"), &pool("west"), monday_noon);
    assert_eq!(
        refused.reasons,
        [
            "rule `west-reps`: covers regions [emea], none of [west]",
            "rule `aes`: role sdr is not one of [ae]; performance on-quota is not one of [top]"
        ]
    );
}

#[test]
fn after_hours_only_the_on_call_shift_may_claim_and_weekends_only_the_duty_team() {
    let policy = policy();
    let open_pool = pool("demo-requests");
    let may = |r: &str, at| policy.explain_access(&rep(r), &open_pool, at).allowed;
    // Monday 17:59 is business hours; 18:00 is not.
    assert!(may("bob", berlin(2026, 3, 2, 17, 59)));
    let evening = berlin(2026, 3, 2, 18, 0);
    assert!(!may("bob", evening));
    assert!(may("alice", evening), "alice has the first on-call week");
    let refused = policy.explain_access(&rep("bob"), &open_pool, evening);
    assert!(
        refused.window.contains("outside team emea business hours"),
        "{refused:?}"
    );
    assert!(refused.reasons[0].contains("on-call"), "{refused:?}");
    // The next week the shift moves to bob.
    assert!(may("bob", berlin(2026, 3, 9, 20, 0)));
    assert!(!may("alice", berlin(2026, 3, 9, 20, 0)));
    // Saturday: the weekend duty team only.
    let saturday = berlin(2026, 3, 7, 11, 0);
    assert!(may("carol", saturday) && may("bob", saturday));
    assert!(!may("alice", saturday));
}

#[test]
fn may_claim_at_decides_as_the_claim_window_does_every_five_minutes_for_three_weeks() {
    let policy = policy();
    // Across business hours, evenings, weekends, two on-call shifts and the DST change.
    let mut at = berlin(2026, 3, 16, 0, 0);
    let mut allowed = 0;
    while at < berlin(2026, 4, 6, 0, 0) {
        for rep in policy.reps.values() {
            let window = policy.claim_window(rep, at);
            assert_eq!(
                policy.may_claim_at(rep, at),
                window.is_ok(),
                "{} at {at}: {window:?}",
                rep.id.name()
            );
            allowed += usize::from(window.is_ok());
        }
        at += chrono::Duration::minutes(5);
    }
    assert!(allowed > 0, "some rep may claim at some time");
}

#[test]
fn business_hours_stay_local_across_daylight_saving() {
    let policy = policy();
    let open_pool = pool("demo-requests");
    // Berlin moves to CEST on 2026-03-29: 08:00 local is 07:00 UTC before and 06:00 UTC after.
    for day in [27, 30] {
        let eight = berlin(2026, 3, day, 8, 0);
        assert!(
            policy
                .explain_access(&rep("carol"), &open_pool, eight)
                .allowed,
            "08:00 on the {day}th"
        );
        let before = eight - chrono::Duration::minutes(1);
        assert!(
            !policy
                .explain_access(&rep("carol"), &open_pool, before)
                .allowed,
            "07:59 on the {day}th"
        );
    }
}

#[test]
fn assignment_skips_the_unavailable_and_inactive() {
    let policy = policy();
    let Decision::Assign { assign, .. } = policy.route(&lead_in_share_two(&policy)).decision else {
        panic!("expected an assignment");
    };
    let candidates = policy.assignment_candidates(
        &assign,
        &lead("emea", 60, "demo-request"),
        None,
        &policy.away_at(berlin(2026, 3, 3, 10, 0), &[]),
        berlin(2026, 3, 3, 10, 0),
        None,
    );
    let eligible: Vec<String> = candidates
        .eligible
        .iter()
        .map(|c| c.rep.to_string())
        .collect();
    assert_eq!(eligible, ["alice", "bob", "carol", "dave"]);
    assert!(
        candidates.skipped[0].starts_with("reps/erin is unavailable (vacation)"),
        "{candidates:?}"
    );
}

#[test]
fn after_hours_only_the_reps_on_call_receive_pushed_leads() {
    let policy = load(&POLICY.replace("reps:\n", "limits: { activeLeads: 4 }\nreps:\n")).unwrap();
    let Decision::Assign { assign, .. } = policy.route(&lead_in_share_two(&policy)).decision else {
        panic!("expected an assignment");
    };
    let evening = berlin(2026, 3, 3, 20, 0);
    let candidates = policy.assignment_candidates(
        &assign,
        &lead("emea", 60, "demo-request"),
        None,
        &policy.away_at(evening, &[]),
        evening,
        Some(&pool("demo-requests")),
    );
    let eligible: Vec<String> = candidates
        .eligible
        .iter()
        .map(|c| c.rep.to_string())
        .collect();
    assert_eq!(eligible, ["alice"], "{candidates:#?}");
    assert_eq!(
        candidates.eligible[0].caps,
        crate::OpenCaps {
            total: Some(4),
            in_pool: None
        }
    );
    assert!(
        candidates
            .skipped
            .iter()
            .any(|s| s.starts_with("reps/bob is off duty: only the after-hours (on-call) rotation")),
        "{candidates:#?}"
    );
}

#[test]
fn open_caps_say_which_cap_is_full() {
    let caps = crate::OpenCaps {
        total: Some(5),
        in_pool: Some(2),
    };
    assert_eq!(caps.full(4, 1), None);
    assert_eq!(
        caps.full(5, 1).as_deref(),
        Some("holds 5 open leads, her cap is 5")
    );
    assert_eq!(
        caps.full(3, 2).as_deref(),
        Some("holds 2 open leads from the pool, its cap is 2")
    );
    assert_eq!(crate::OpenCaps::default().full(1000, 1000), None);
}

fn lead_in_share_two(policy: &Policy) -> LeadFacts {
    loop {
        let facts = lead("", 60, "demo-request");
        if matches!(policy.route(&facts).decision, Decision::Assign { .. }) {
            return facts;
        }
    }
}

#[test]
fn territory_assignment_only_considers_reps_covering_the_region() {
    let policy = load(&POLICY.replace(
        "strategy: round-robin, teams: [emea]",
        "strategy: territory",
    ))
    .unwrap();
    let Decision::Assign { assign, .. } = policy.route(&lead_in_share_two(&policy)).decision else {
        panic!("expected an assignment");
    };
    let candidates = policy.assignment_candidates(
        &assign,
        &lead("west", 60, "demo-request"),
        None,
        &policy.away_at(berlin(2026, 3, 3, 10, 0), &[]),
        berlin(2026, 3, 3, 10, 0),
        None,
    );
    let eligible: Vec<String> = candidates
        .eligible
        .iter()
        .map(|c| c.rep.to_string())
        .collect();
    assert_eq!(eligible, ["carol"]);
}

#[test]
fn the_diff_names_what_changes() {
    let old = parse(POLICY).unwrap();
    let new = parse(
        &POLICY
            .replace("  - { id: demo-requests, type: open }\n", "  - { id: demo-requests, type: open, contactSla: 1h }\n  - { id: events, type: open }\n")
            .replace("  - { id: erin, team: emea, role: ae, regions: [emea], unavailable: [{ from: 2026-03-02, to: 2026-03-06, reason: vacation }] }\n", ""),
    )
    .unwrap();
    let changes: Vec<(ChangeKind, String)> = diff(Some(&old), &new)
        .into_iter()
        .map(|c| (c.kind, c.path))
        .collect();
    assert_eq!(
        changes,
        [
            (ChangeKind::Removed, "reps/erin".to_owned()),
            (ChangeKind::Changed, "pools/demo-requests".to_owned()),
            (ChangeKind::Added, "pools/events".to_owned()),
        ]
    );
    assert!(diff(Some(&old), &old).is_empty());
}

#[test]
fn policy_wide_limits_and_acceptance_are_changes_too() {
    let old = parse("apiVersion: leadpool.dev/v1\nkind: Policy\nlimits: { perDay: 15 }\n").unwrap();
    let new = parse(
        "apiVersion: leadpool.dev/v1\nkind: Policy\nlimits: { perDay: 10 }\n\
         acceptance: { minimum: 80, window: 30d, consequence: warn }\n",
    )
    .unwrap();
    let paths: Vec<String> = diff(Some(&old), &new).into_iter().map(|c| c.path).collect();
    assert_eq!(paths, ["limits", "acceptance"]);
}

#[test]
fn the_contact_warning_defaults_below_the_sla_and_must_stay_below_it() {
    let policy = load(
        "apiVersion: leadpool.dev/v1\nkind: Policy\n\
         pools: [{ id: a, type: open }, { id: b, type: open, contactSla: 20m }]\n",
    )
    .unwrap();
    let warning = |id: &str| policy.pool(&pool(id)).unwrap().contact_warning;
    assert_eq!(warning("a"), chrono::Duration::minutes(15));
    assert_eq!(
        warning("b"),
        chrono::Duration::minutes(10),
        "half a short SLA"
    );
    let errors = load(
        "apiVersion: leadpool.dev/v1\nkind: Policy\n\
         pools: [{ id: a, type: open, contactSla: 1h, contactWarning: 2h }]\n",
    )
    .unwrap_err();
    assert_eq!(errors[0].path, "pools[0].contactWarning");
}

#[test]
fn the_published_json_schema_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/policy.schema.json");
    let schema = json_schema();
    if std::env::var_os("LEADPOOL_UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &schema).unwrap();
    }
    let published = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        published == schema,
        "policy.schema.json is stale: run LEADPOOL_UPDATE_SCHEMA=1 cargo test -p leadpool-policy"
    );
}

#[test]
fn every_example_policy_is_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let yaml = std::fs::read_to_string(&path).unwrap();
            if let Err(errors) = load(&yaml) {
                panic!("{}: {errors:#?}", path.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= 7, "examples for P1-P4 and H1-H3");
}

#[test]
fn limits_fall_back_from_rep_to_team_to_policy() {
    let policy = load(
        "apiVersion: leadpool.dev/v1\nkind: Policy\nlimits: { perDay: 15, perHour: 5, activeLeads: 20 }\n\
         teams: [{ id: emea, limits: { perHour: 3, cooldown: { after: 3, pause: 15m } } }]\n\
         reps: [{ id: alice, team: emea, role: ae, limits: { perDay: 8 } }, { id: bob, role: ae }]\n",
    )
    .unwrap();
    let alice = policy.limits_for(policy.rep(&rep("alice")).unwrap());
    assert_eq!(
        (alice.per_day, alice.per_hour, alice.active_leads),
        (Some(8), Some(3), Some(20))
    );
    assert_eq!(alice.cooldown.unwrap().pause, chrono::Duration::minutes(15));
    let bob = policy.limits_for(policy.rep(&rep("bob")).unwrap());
    assert_eq!(
        (bob.per_day, bob.per_hour, bob.cooldown),
        (Some(15), Some(5), None)
    );
}

#[test]
fn rotation_windows_take_turns_aligned_to_the_window() {
    let window = RotationWindow {
        window: chrono::Duration::minutes(15),
        reps: vec![rep("a"), rep("b"), rep("c")],
        clock: PoolClock::Wall,
    };
    let at = |h, m| Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0).unwrap();
    let first = window.turn_at(at(9, 0)).unwrap();
    let second = window.turn_at(at(9, 15)).unwrap();
    assert_ne!(first.holder, second.holder);
    assert_eq!((second.start, second.end), (at(9, 15), at(9, 30)));
    assert_eq!(window.turn_at(at(9, 14)).unwrap().holder, first.holder);
    assert_eq!(
        window.turn_at(at(9, 45)).unwrap().holder,
        first.holder,
        "three reps: every 45 minutes"
    );
    assert_eq!(
        window.next_turn_of(&first.holder, at(9, 20)),
        Some(at(9, 45))
    );
    assert_eq!(
        window.next_turn_of(&second.holder, at(9, 20)),
        Some(at(9, 15)),
        "hers is open now"
    );
}

#[test]
fn acceptance_is_judged_only_with_enough_decisions() {
    let acceptance = Acceptance {
        minimum_percent: 80,
        window: chrono::Duration::days(30),
        min_decisions: 5,
        consequence: Consequence::Warn,
    };
    assert!(!acceptance.is_below(0, 4), "too few decisions to judge");
    assert!(acceptance.is_below(3, 5));
    assert!(!acceptance.is_below(4, 5), "exactly 80% is enough");
}

#[test]
fn reps_are_found_by_the_email_and_login_the_identity_provider_knows() {
    let doc = "apiVersion: leadpool.dev/v1\nkind: Policy\nreps:\n  \
        - { id: ann, role: sdr, email: Ann@Example.com, login: ANN }\n  \
        - { id: ben, role: sdr, email: ben@example.com }\n";
    let policy = load(doc).unwrap();
    assert_eq!(
        policy
            .rep_with_email(" ann@EXAMPLE.com")
            .map(|r| r.id.as_str()),
        Some("ann")
    );
    assert_eq!(
        policy.rep_with_login("ann").map(|r| r.id.as_str()),
        Some("ann")
    );
    assert!(policy.rep_with_email("nobody@example.com").is_none());

    let clash = "apiVersion: leadpool.dev/v1\nkind: Policy\nreps:\n  \
        - { id: ann, role: sdr, email: ann@example.com }\n  \
        - { id: ben, role: sdr, email: ANN@example.com, login: '' }\n  \
        - { id: cat, role: sdr, email: not-an-address }\n";
    let errors = load(clash).unwrap_err();
    let found: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.path.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("reps[1].login", "must not be empty"),
            (
                "reps[1].email",
                "`ann@example.com` is also reps[0]'s email: each must be unique"
            ),
            ("reps[2].email", "`not-an-address` is not an email address"),
        ]
    );
}
