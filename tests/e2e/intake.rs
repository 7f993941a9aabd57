//! Intake: idempotency, qualification, and surviving a routing outage.

use std::time::Duration;

use futures::future::join_all;
use leadpool_auth::Role;
use leadpool_domain::{LeadId, LeadState};
use leadpool_e2e::{Cluster, TestEnv, code_of, create_pool, eventually, lead_request, submit};
use leadpool_proto::v1;
use leadpool_proto::v1::intake_service_client::IntakeServiceClient;
use leadpool_testing::{authed, free_local_addr, token};
use tonic::Code;

fn web_forms() -> String {
    token("services/web-forms", &[Role::Service])
}

async fn count(env: &TestEnv, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(env.db.store().pool())
        .await
        .unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_submissions_with_one_key_create_one_lead() {
    let cluster = Cluster::start().await;
    create_pool(&mut cluster.routing().await, "inbound", 0).await;
    let intake = cluster.intake().await;

    let submissions = (0..32).map(|_| {
        let mut intake = intake.clone();
        async move {
            intake
                .submit_lead(authed(&web_forms(), lead_request("form-42", 70)))
                .await
                .unwrap()
                .into_inner()
        }
    });
    let responses = join_all(submissions).await;

    let names: std::collections::HashSet<&str> = responses
        .iter()
        .map(|r| r.lead.as_ref().unwrap().name.as_str())
        .collect();
    assert_eq!(names.len(), 1, "every retry answers with the same lead");
    assert_eq!(
        responses.iter().filter(|r| r.created).count(),
        1,
        "exactly one call created it"
    );
    assert_eq!(count(&cluster.env, "SELECT count(*) FROM leads").await, 1);
    // Received once, routed once: no retry created or routed anything twice.
    assert_eq!(
        count(&cluster.env, "SELECT count(*) FROM lead_events").await,
        2
    );
    cluster.stop().await;
}

#[tokio::test]
async fn a_key_reused_for_a_different_lead_is_refused() {
    let cluster = Cluster::start().await;
    create_pool(&mut cluster.routing().await, "inbound", 0).await;
    let mut intake = cluster.intake().await;
    submit(&mut intake, "form-7", 70).await;
    let mut different = lead_request("form-7", 70);
    different.contact.as_mut().unwrap().email = "someone-else@example.com".into();
    let result = intake.submit_lead(authed(&web_forms(), different)).await;
    assert_eq!(code_of(&result), Code::AlreadyExists);
    assert!(result.unwrap_err().message().contains("form-7"));
    assert_eq!(count(&cluster.env, "SELECT count(*) FROM leads").await, 1);
    cluster.stop().await;
}

#[tokio::test]
async fn a_lead_below_the_threshold_is_rejected_and_kept_with_its_reason() {
    let cluster = Cluster::start().await;
    leadpool_e2e::apply_policy(
        &mut cluster.routing().await,
        "apiVersion: leadpool.dev/v1\nkind: Policy\npools: [{ id: inbound, type: open }]\nqualification: { minScore: 20 }\nrouting: { default: { pool: inbound } }\n",
    )
    .await;
    let lead = submit(&mut cluster.intake().await, "form-low", 5).await;
    assert_eq!(lead.state(), v1::LeadState::Rejected);
    assert_eq!(
        lead.rejection_reason,
        "score 5 is below the qualification threshold 20"
    );
    assert_eq!(lead.pool, "");
    let stored = cluster
        .env
        .db
        .store()
        .get_lead(LeadId::from_name(&lead.name, "name").unwrap())
        .await
        .unwrap();
    assert_eq!(stored.state, LeadState::Rejected);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leads_accepted_while_routing_is_down_are_routed_once_it_is_back() {
    let env = TestEnv::new().await;
    // The policy is in place before routing ever runs. Pool-bound leads intake places itself;
    // leads pushed to a rep need routing (its turn order).
    let yaml = "apiVersion: leadpool.dev/v1\nkind: Policy\nreps: [{ id: alice, role: sdr }]\npools: [{ id: inbound, type: open }]\nrouting:\n  rules: [{ name: web, match: { sources: [web] }, pool: inbound }]\n  default: { assign: { strategy: round-robin, reps: [alice] } }\n";
    let policy = leadpool_policy::load(yaml).unwrap();
    env.db
        .store()
        .apply_policy(&policy, yaml, None, false, "users/test", chrono::Utc::now())
        .await
        .unwrap();
    // Routing will listen here, but is not running yet.
    let routing_addr = free_local_addr();
    let intake = env
        .start_intake(env.intake_config(&format!("http://{routing_addr}")))
        .await;
    let mut client = IntakeServiceClient::new(leadpool_e2e::channel(intake.addr).await);

    let accepted = client
        .submit_lead(authed(&web_forms(), lead_request("form-outage", 60)))
        .await
        .expect("the lead is accepted although routing is down")
        .into_inner()
        .lead
        .unwrap();
    assert_eq!(accepted.state(), v1::LeadState::Received);
    let id = LeadId::from_name(&accepted.name, "name").unwrap();
    // A lead for a pool does not wait for routing: it is written in its pool at once.
    let mut web = lead_request("web-outage", 60);
    web.source = "web".into();
    let pooled = client
        .submit_lead(authed(&web_forms(), web))
        .await
        .unwrap()
        .into_inner()
        .lead
        .unwrap();
    assert_eq!(
        (pooled.state(), pooled.pool.as_str()),
        (v1::LeadState::Available, "pools/inbound")
    );

    let mut config = env.routing_config();
    config.server.listen_addr = routing_addr;
    let routing = env.start_routing(config).await;

    let store = env.db.store();
    eventually(
        Duration::from_secs(10),
        "the waiting lead is routed",
        || {
            let store = store.clone();
            async move { store.get_lead(id).await.unwrap().state == LeadState::Assigned }
        },
    )
    .await;
    let (routed_events,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM lead_events WHERE lead_id = $1 AND to_state = 'assigned'",
    )
    .bind(id.0)
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(routed_events, 1, "routed exactly once despite retries");
    intake.stop().await.unwrap();
    routing.stop().await.unwrap();
}

const DUPLICATES: &str = "apiVersion: leadpool.dev/v1\nkind: Policy\npools: [{ id: inbound, type: open }]\nduplicates: { matchOn: [email, company], action: ACTION }\nrouting: { default: { pool: inbound } }\n";

#[tokio::test]
async fn with_the_merge_policy_a_duplicate_folds_into_the_existing_lead_once() {
    let cluster = Cluster::start().await;
    leadpool_e2e::apply_policy(
        &mut cluster.routing().await,
        &DUPLICATES.replace("ACTION", "merge"),
    )
    .await;
    let mut intake = cluster.intake().await;
    let original = submit(&mut intake, "first", 60).await;
    let mut again = lead_request("second", 70);
    again.contact.as_mut().unwrap().email = "first@example.com".into();
    again.contact.as_mut().unwrap().phone = "+49 30 1234".into();
    for _ in 0..2 {
        // The retry of a merged submission answers the same and merges nothing twice.
        let merged = leadpool_e2e::submit_request(&mut intake, again.clone()).await;
        assert!(!merged.created);
        assert_eq!(merged.duplicate_of, original.name);
        let lead = merged.lead.unwrap();
        assert_eq!(lead.name, original.name);
        assert_eq!(
            lead.contact.unwrap().phone,
            "+49 30 1234",
            "the duplicate filled the empty phone"
        );
    }
    assert_eq!(count(&cluster.env, "SELECT count(*) FROM leads").await, 1);
    assert_eq!(
        count(&cluster.env, "SELECT count(*) FROM lead_merges").await,
        1
    );
    assert_eq!(
        count(
            &cluster.env,
            "SELECT count(*) FROM lead_events WHERE reason LIKE 'merged duplicate submission%'"
        )
        .await,
        1
    );
    cluster.stop().await;
}

#[tokio::test]
async fn with_the_reject_policy_a_duplicate_is_kept_as_rejected_naming_the_original() {
    let cluster = Cluster::start().await;
    leadpool_e2e::apply_policy(
        &mut cluster.routing().await,
        &DUPLICATES.replace("ACTION", "reject"),
    )
    .await;
    let mut intake = cluster.intake().await;
    let original = submit(&mut intake, "first", 60).await;
    // Same company (domain and name, case aside), different email.
    let mut same_company = lead_request("other", 60);
    let contact = same_company.contact.as_mut().unwrap();
    contact.email = "someone@example.com".into();
    contact.company = "COMPANY FIRST".into();
    let rejected = leadpool_e2e::submit_request(&mut intake, same_company).await;
    assert!(rejected.created);
    assert_eq!(rejected.duplicate_of, original.name);
    let lead = rejected.lead.unwrap();
    assert_eq!(lead.state(), v1::LeadState::Rejected);
    assert_eq!(
        lead.rejection_reason,
        format!("duplicate of {} (the same company)", original.name)
    );
    cluster.stop().await;
}
