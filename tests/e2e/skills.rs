//! Issue 21.2: reps' products, industries and languages decide. An access rule may require
//! them; a pool may give a lead only to reps covering the lead's own product (industry,
//! language) until it waited `relaxAfter`; auto- and forced assignment match them; and
//! ExplainAccess and ExplainRoute say which skill decided.

use chrono::Duration;
use leadpool_domain::Clock;
use leadpool_e2e::{Cluster, apply_policy, claim_next, lead_request, rep, submit_request};
use leadpool_proto::v1;
use leadpool_testing::authed;
use tonic::Code;
use tonic_types::StatusExt;

use crate::jobs::{lead, run_job};

const POLICY: &str = r#"
apiVersion: leadpool.dev/v1
kind: Policy
reps:
  - { id: ann, role: ae, products: [crm] }
  - { id: bob, role: ae, products: [erp] }
  - { id: cat, role: ae, products: [crm, erp], languages: [de] }
pools:
  - id: products
    type: segmented
    skills: { match: [product], relaxAfter: 4h }
  - id: german
    type: segmented
    access: [{ name: german-speakers, skills: { languages: [de] } }]
  - id: overdue
    type: segmented
    skills: { match: [language] }
    lifecycle: [{ after: 1h, then: force-assign }]
routing:
  rules:
    - { name: german, match: { languages: [de], sources: [web] }, pool: german }
    - { name: overdue, match: { sources: [old] }, pool: overdue }
    - name: pushed
      match: { sources: [referral] }
      assign: { strategy: round-robin, reps: [ann, bob], skills: { match: [product] } }
  default: { pool: products }
"#;

async fn submit(
    cluster: &Cluster,
    key: &str,
    product: &str,
    language: &str,
    source: &str,
) -> v1::Lead {
    let mut request = lead_request(key, 50);
    request.product = product.to_owned();
    request.language = language.to_owned();
    request.source = source.to_owned();
    submit_request(&mut cluster.intake().await, request)
        .await
        .lead
        .unwrap()
}

fn reason_of(status: &tonic::Status) -> String {
    status
        .get_details_error_info()
        .map(|info| info.reason)
        .unwrap_or_default()
}

#[tokio::test]
async fn a_product_skill_lets_only_the_right_reps_claim_until_the_wait_opens_the_pool() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    let mut claims = cluster.claim().await;
    let crm = submit(&cluster, "crm-1", "CRM", "", "web").await;
    assert_eq!(crm.pool, "pools/products");

    // bob covers erp, not crm: his ClaimLead is refused with why and when it opens, and his
    // ClaimNext finds nothing he may take.
    let refused = claims
        .claim_lead(authed(
            &rep("bob"),
            v1::ClaimLeadRequest {
                name: crm.name.clone(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason_of(&refused).as_str()),
        (Code::FailedPrecondition, "SKILL_MISMATCH")
    );
    assert!(
        refused.message().contains("lacks product crm"),
        "{}",
        refused.message()
    );
    assert!(
        refused.message().contains("may claim it from"),
        "{}",
        refused.message()
    );
    let nothing = claim_next(&mut claims, "bob", "products")
        .await
        .unwrap_err();
    assert_eq!(reason_of(&nothing), "POOL_EMPTY");
    // ann covers crm.
    assert_eq!(
        claim_next(&mut claims, "ann", "products")
            .await
            .unwrap()
            .name,
        crm.name
    );

    // A lead that names no product asks nothing of anyone.
    let plain = submit(&cluster, "plain-1", "", "", "web").await;
    assert_eq!(
        claim_next(&mut claims, "bob", "products")
            .await
            .unwrap()
            .name,
        plain.name
    );

    // After four hours in the pool, any rep may take a crm lead.
    let waiting = submit(&cluster, "crm-2", "crm", "", "web").await;
    cluster
        .env
        .clock
        .advance(Duration::hours(4) - Duration::seconds(1));
    assert_eq!(
        reason_of(
            &claim_next(&mut claims, "bob", "products")
                .await
                .unwrap_err()
        ),
        "POOL_EMPTY",
        "not a second early"
    );
    cluster.env.clock.advance(Duration::seconds(1));
    assert_eq!(
        claim_next(&mut claims, "bob", "products")
            .await
            .unwrap()
            .name,
        waiting.name
    );
    cluster.stop().await;
}

#[tokio::test]
async fn access_rules_require_skills_and_assignments_match_them_and_explanations_say_so() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    let mut claims = cluster.claim().await;
    let explain = async |who: &str| {
        cluster
            .claim()
            .await
            .explain_access(authed(
                &rep(who),
                v1::ExplainAccessRequest {
                    rep: format!("reps/{who}"),
                    pool: "pools/german".into(),
                    at: None,
                },
            ))
            .await
            .unwrap()
            .into_inner()
    };
    // An access rule requiring German: ann may not, cat may — each told which skill decided.
    let ann = explain("ann").await;
    assert!(!ann.allowed);
    assert!(
        ann.reasons
            .iter()
            .any(|r| r.contains("covers none of languages [de]")),
        "{:?}",
        ann.reasons
    );
    let cat = explain("cat").await;
    assert!(cat.allowed);
    assert!(
        cat.reasons
            .iter()
            .any(|r| r.contains("any of languages [de]")),
        "{:?}",
        cat.reasons
    );
    let german = submit(&cluster, "de-1", "", "DE", "web").await;
    assert_eq!(
        (german.pool.as_str(), german.language.as_str()),
        ("pools/german", "de")
    );
    let denied = claim_next(&mut claims, "ann", "german").await.unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_eq!(
        claim_next(&mut claims, "cat", "german").await.unwrap().name,
        german.name
    );

    // Auto-assignment matches the lead's product: the erp lead goes to bob, whatever the turn.
    let erp = submit(&cluster, "ref-1", "erp", "", "referral").await;
    assert_eq!(
        (erp.state(), erp.owner.as_str()),
        (v1::LeadState::Assigned, "reps/bob")
    );
    let route = cluster
        .routing()
        .await
        .explain_route(authed(
            &leadpool_e2e::admin(),
            v1::ExplainRouteRequest {
                lead: Some(v1::explain_route_request::Lead::Sketch(v1::LeadSketch {
                    product: "crm".into(),
                    source: "referral".into(),
                    ..Default::default()
                })),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(route.next_assignee, "reps/ann");
    assert!(
        route
            .skipped_assignees
            .iter()
            .any(|s| s == "reps/bob lacks product crm"),
        "{:?}",
        route.skipped_assignees
    );

    // Forced assignment matches the language: only cat speaks German.
    let overdue = submit(&cluster, "old-1", "", "de", "old").await;
    let at = cluster.env.clock.now() + Duration::hours(1);
    run_job(&cluster, "forced-assignment", at).await;
    let forced = lead(&cluster, &overdue).await;
    assert_eq!(forced.owner.map(|o| o.to_string()), Some("cat".to_owned()));
    cluster.stop().await;
}
