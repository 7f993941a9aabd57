//! The policy API: apply (validate whole, dry-run, versions, optimistic concurrency), get, and
//! explain a route.

use leadpool_e2e::{Cluster, admin, apply_policy, assert_invalid, code_of, rep};
use leadpool_proto::v1;
use leadpool_testing::authed;
use tonic::Code;

const SMALL: &str = "apiVersion: leadpool.dev/v1\nkind: Policy\nmetadata: { name: small }\nreps: [{ id: alice, role: ae }]\npools: [{ id: inbound, type: open }]\nrouting: { default: { pool: inbound } }\n";

fn apply_request(
    document: &str,
    validate_only: bool,
    expected_version: i64,
) -> tonic::Request<v1::ApplyPolicyRequest> {
    authed(
        &admin(),
        v1::ApplyPolicyRequest {
            document: document.to_owned(),
            validate_only,
            expected_version,
        },
    )
}

#[tokio::test]
async fn an_invalid_policy_returns_every_error_at_once_and_changes_nothing() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    let version = apply_policy(&mut routing, SMALL).await;

    let broken = "apiVersion: leadpool.dev/v1\nkind: Policy\nreps: [{ id: alice, role: boss, team: nowhere }]\npools:\n  - { id: inbound, type: open }\n  - { id: hot, type: tiered, access: [{ roles: [ae, sdrr] }] }\nrouting:\n  rules: [{ name: r, pool: missing }]\n";
    assert_invalid(
        routing.apply_policy(apply_request(broken, false, 0)).await,
        &[
            "reps[0].team",
            "reps[0].role",
            "pools[1].access[0].roles[1]",
            "routing.rules[0].pool",
        ],
    );

    let current = routing
        .get_policy(authed(&admin(), v1::GetPolicyRequest { version: 0 }))
        .await
        .unwrap()
        .into_inner()
        .policy
        .unwrap();
    assert_eq!(current.version, version, "nothing was applied");
    let pools = routing
        .list_pools(authed(&admin(), v1::ListPoolsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .pools;
    assert_eq!(pools.len(), 1, "no pool was created");
    cluster.stop().await;
}

/// Issue 19.1: a control character escaped into the YAML (the request's own text check sees only
/// `\0`) is refused at its document path, in a dry run and an apply alike, and nothing is
/// applied — for the document's name, a pool's and a rep's.
#[tokio::test]
async fn control_characters_escaped_in_a_policy_are_refused_at_their_path() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    let version = apply_policy(&mut routing, SMALL).await;
    let named = "apiVersion: leadpool.dev/v1\nkind: Policy\nmetadata: { name: NAME }\n\
                 reps: [{ id: alice, name: REP, role: ae }]\n\
                 pools: [{ id: inbound, type: open }, { id: west, type: open }, { id: east, name: POOL, type: open }]\n\
                 routing: { default: { pool: inbound } }\n";
    for (escape, place, path) in [
        ("\"ops\\0\"", "NAME", "metadata.name"),
        ("\"East\\x1b[31m\"", "POOL", "pools[2].name"),
        ("\"Alice\\u0007\"", "REP", "reps[0].name"),
    ] {
        let document = named
            .replace(place, escape)
            .replace("NAME", "plain")
            .replace("POOL", "East")
            .replace("REP", "Alice");
        for validate_only in [true, false] {
            let refused = routing
                .apply_policy(apply_request(&document, validate_only, 0))
                .await;
            assert_invalid(refused, &[path]);
        }
    }
    let current = routing
        .get_policy(authed(&admin(), v1::GetPolicyRequest { version: 0 }))
        .await
        .unwrap()
        .into_inner()
        .policy
        .unwrap();
    assert_eq!(current.version, version, "nothing was applied");
    assert!(
        apply_policy(
            &mut routing,
            &named
                .replace("NAME", "plain")
                .replace("POOL", "East")
                .replace("REP", "Alice")
        )
        .await
            > version,
        "the same document without the escapes applies"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn dry_runs_report_changes_versions_are_kept_and_concurrent_applies_are_refused() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    assert_eq!(apply_policy(&mut routing, SMALL).await, 1);

    let bigger = SMALL.replace(
        "pools: [{ id: inbound, type: open }]",
        "pools: [{ id: inbound, type: open, contactSla: 1h }, { id: events, type: open }]",
    );
    let dry = routing
        .apply_policy(apply_request(&bigger, true, 0))
        .await
        .unwrap()
        .into_inner();
    assert!(!dry.applied);
    assert_eq!(
        dry.policy.as_ref().unwrap().version,
        1,
        "a dry run applies nothing"
    );
    let changes: Vec<(i32, String)> = dry
        .changes
        .iter()
        .map(|c| (c.kind, c.path.clone()))
        .collect();
    assert_eq!(
        changes,
        [
            (
                v1::policy_change::Kind::Added as i32,
                "pools/events".to_owned()
            ),
            (
                v1::policy_change::Kind::Changed as i32,
                "pools/inbound".to_owned()
            ),
        ]
    );

    let stale = routing.apply_policy(apply_request(&bigger, false, 7)).await;
    assert_eq!(
        code_of(&stale),
        Code::FailedPrecondition,
        "expected_version guards against lost updates"
    );
    let applied = routing
        .apply_policy(apply_request(&bigger, false, 1))
        .await
        .unwrap()
        .into_inner();
    assert!(applied.applied);
    assert_eq!(applied.policy.unwrap().version, 2);
    let unchanged = routing
        .apply_policy(apply_request(&bigger, false, 0))
        .await
        .unwrap()
        .into_inner();
    assert!(
        !unchanged.applied,
        "the same document again is no new version"
    );

    let versions = routing
        .list_policy_versions(authed(&admin(), v1::ListPolicyVersionsRequest::default()))
        .await
        .unwrap()
        .into_inner()
        .versions;
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [2, 1]
    );
    assert!(versions.iter().all(|v| v.applied_by == "users/ops"));
    let first = routing
        .get_policy(authed(&admin(), v1::GetPolicyRequest { version: 1 }))
        .await
        .unwrap()
        .into_inner()
        .policy
        .unwrap();
    assert_eq!(
        first.document, SMALL,
        "a version is kept exactly as applied"
    );

    let by_rep = routing
        .apply_policy(authed(
            &rep("alice"),
            v1::ApplyPolicyRequest {
                document: SMALL.into(),
                ..Default::default()
            },
        ))
        .await;
    assert_eq!(code_of(&by_rep), Code::PermissionDenied);
    cluster.stop().await;
}

#[tokio::test]
async fn explain_route_names_the_matching_rule_and_why_earlier_ones_did_not_match() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    apply_policy(&mut routing, &leadpool_e2e::example("p2-segmented-pools")).await;

    let sketch = v1::LeadSketch {
        score: 60,
        region: "east".into(),
        source: "webinar".into(),
        ..Default::default()
    };
    let explained = routing
        .explain_route(authed(
            &rep("eric"),
            v1::ExplainRouteRequest {
                lead: Some(v1::explain_route_request::Lead::Sketch(sketch)),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(explained.matched_rule, "east");
    assert_eq!(explained.pool, "pools/east");
    let rules: Vec<&str> = explained.rules.iter().map(|r| r.rule.as_str()).collect();
    assert_eq!(
        rules,
        [
            "demo-requests",
            "mqls",
            "outbound-replies",
            "content-downloads",
            "west",
            "east"
        ]
    );
    assert_eq!(
        explained.rules[0].reasons,
        ["source webinar is not one of [demo-request]"]
    );
    assert_eq!(
        explained.rules[4].reasons,
        ["region east is not one of [west]"]
    );
    assert!(explained.rules[5].matched);

    // A stored lead is explained from what was stored.
    let lead =
        leadpool_e2e::submit_segmented(&mut cluster.intake().await, "stored", 60, "west", "mql")
            .await;
    let stored = routing
        .explain_route(authed(
            &admin(),
            v1::ExplainRouteRequest {
                lead: Some(v1::explain_route_request::Lead::Name(lead.name)),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (stored.matched_rule.as_str(), stored.pool.as_str()),
        ("mqls", "pools/mqls")
    );
    cluster.stop().await;
}
