//! Property tests of the policy compiler: any document — well-formed or not, with durations
//! too large to represent, unknown kinds, bad ids, control characters — compiles or names
//! every problem with its path; it never panics, and what compiles holds every pool, rep and
//! rule the document lists (nothing is dropped in silence).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

fn duration() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("2h".to_owned()),
        Just("0s".to_owned()),
        Just("never".to_owned()),
        Just("99999999999999999999s".to_owned()),
        Just("18446744073709551615s".to_owned()),
        Just("300000y".to_owned()),
        Just("101y".to_owned()),
        (1u64..10_000_000).prop_map(|n| format!("{n}h")),
        "[a-z0-9 -]{0,6}",
    ]
}

fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,6}",
        Just("Bad Id".to_owned()),
        Just(String::new()),
        Just("x\u{0}y".to_owned()),
    ]
}

fn kind() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["open", "segmented", "tiered", "timed", "bogus"])
}

/// A policy document as YAML, built from random parts (quoted as JSON strings, which YAML
/// reads, so any text survives).
fn document() -> impl Strategy<Value = (String, usize, usize)> {
    (
        prop::collection::vec((id(), kind(), duration()), 0..5),
        prop::collection::vec((id(), duration()), 0..4),
        prop::collection::vec(duration(), 0..3),
    )
        .prop_map(|(pools, reps, steps)| {
            let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
            let mut yaml = "apiVersion: leadpool.dev/v1\nkind: Policy\nreps:\n".to_owned();
            for (rep, hold) in &reps {
                yaml += &format!("  - {{ id: {}, role: sdr, limits: {{ cooldown: {{ after: 2, pause: {} }} }} }}\n", q(rep), q(hold));
            }
            yaml += "pools:\n";
            for (pool, kind, sla) in &pools {
                let tier = if *kind == "tiered" { ", tier: hot" } else { "" };
                yaml += &format!(
                    "  - {{ id: {}, type: {kind}{tier}, contactSla: {} }}\n",
                    q(pool),
                    q(sla)
                );
            }
            if !steps.is_empty() {
                yaml += "lifecycle:\n";
                for (i, after) in steps.iter().enumerate() {
                    let then = ["top-half", "escalate", "archive"][i % 3];
                    yaml += &format!("  - {{ after: {}, then: {then} }}\n", q(after));
                }
            }
            (yaml, pools.len(), reps.len())
        })
}

proptest! {
    #[test]
    fn any_document_compiles_whole_or_names_every_problem((yaml, pools, reps) in document()) {
        match leadpool_policy::load(&yaml) {
            Ok(policy) => {
                prop_assert_eq!(policy.pools.len(), pools, "{}", yaml);
                prop_assert_eq!(policy.reps.len(), reps, "{}", yaml);
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for error in &errors {
                    prop_assert!(!error.message.is_empty(), "{:?}", error);
                    // The compiler's last guard never has to speak: every item left out was
                    // left out with an error of its own.
                    prop_assert!(!error.message.contains("without an error saying why"), "{}\n{:?}", yaml, errors);
                }
            }
        }
    }

    /// One pool whose contact SLA is any duration: it is in the policy, or the error is at
    /// that key — whatever the value, even one too large to represent.
    #[test]
    fn a_duration_is_honoured_or_refused_at_its_path(sla in duration()) {
        let yaml = format!(
            "apiVersion: leadpool.dev/v1\nkind: Policy\npools: [{{ id: west, type: open, contactSla: {} }}]\n",
            serde_json::to_string(&sla).unwrap_or_default()
        );
        match leadpool_policy::load(&yaml) {
            Ok(policy) => prop_assert_eq!(policy.pools.len(), 1),
            Err(errors) => {
                let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
                prop_assert_eq!(paths, ["pools[0].contactSla"], "{:?}", errors);
            }
        }
    }

    #[test]
    fn any_text_is_read_as_a_document_or_refused_without_panicking(text in "\\PC{0,200}") {
        let _ = leadpool_policy::load(&text);
    }
}
