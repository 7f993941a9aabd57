//! Bad input to every RPC gets INVALID_ARGUMENT naming the offending fields: never a panic,
//! never INTERNAL.

use leadpool_auth::Role;
use leadpool_e2e::{Cluster, add_rep, admin, assert_invalid, create_pool, rep};
use leadpool_proto::v1;
use leadpool_testing::{authed, token};
use tonic::Code;

#[tokio::test]
async fn every_rpc_refuses_bad_input_with_the_fields_to_fix() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    let mut intake = cluster.intake().await;
    let mut claim = cluster.claim().await;
    let mut scheduler = cluster.scheduler().await;
    create_pool(&mut routing, "west", 0).await;
    add_rep(&mut routing, "alice", 0).await;
    let service = token("services/web-forms", &[Role::Service]);
    let alice = rep("alice");

    // IntakeService
    assert_invalid(
        intake
            .submit_lead(authed(&service, v1::SubmitLeadRequest::default()))
            .await,
        &["idempotency_key", "contact.email"],
    );
    assert_invalid(
        intake
            .submit_lead(authed(
                &service,
                v1::SubmitLeadRequest {
                    idempotency_key: "k".into(),
                    contact: Some(v1::Contact {
                        email: "ada@@example".into(),
                        country: "Germany".into(),
                        ..Default::default()
                    }),
                    score: -3,
                    source: "x".repeat(300),
                    ..Default::default()
                },
            ))
            .await,
        &["contact.email", "score", "contact.country", "source"],
    );

    // RoutingService
    assert_invalid(
        routing
            .route_lead(authed(
                &service,
                v1::RouteLeadRequest {
                    name: String::new(),
                },
            ))
            .await,
        &["name"],
    );
    assert_invalid(
        routing
            .route_lead(authed(
                &service,
                v1::RouteLeadRequest {
                    name: "leads/42".into(),
                },
            ))
            .await,
        &["name"],
    );
    assert_invalid(
        routing
            .create_pool(authed(
                &admin(),
                v1::CreatePoolRequest {
                    pool_id: "West Coast".into(),
                    kind: 99,
                    contact_sla: Some(prost_types::Duration {
                        seconds: -60,
                        nanos: 0,
                    }),
                    min_score: 101,
                    ..Default::default()
                },
            ))
            .await,
        &["pool_id", "kind", "contact_sla", "min_score"],
    );
    assert_invalid(
        routing
            .get_pool(authed(
                &alice,
                v1::GetPoolRequest {
                    name: "west".into(),
                },
            ))
            .await,
        &["name"],
    );
    assert_invalid(
        routing
            .list_pools(authed(
                &alice,
                v1::ListPoolsRequest {
                    page_size: -1,
                    page_token: String::new(),
                },
            ))
            .await,
        &["page_size"],
    );
    assert_invalid(
        routing
            .list_pools(authed(
                &alice,
                v1::ListPoolsRequest {
                    page_size: 0,
                    page_token: "not-a-token".into(),
                },
            ))
            .await,
        &["page_token"],
    );
    assert_invalid(
        routing
            .upsert_rep(authed(&admin(), v1::UpsertRepRequest { rep: None }))
            .await,
        &["rep"],
    );
    assert_invalid(
        routing
            .upsert_rep(authed(
                &admin(),
                v1::UpsertRepRequest {
                    rep: Some(v1::Rep {
                        name: "reps/Alice".into(),
                        daily_claim_limit: -1,
                        ..Default::default()
                    }),
                },
            ))
            .await,
        &["rep.name", "rep.role", "rep.daily_claim_limit"],
    );
    assert_invalid(
        routing
            .list_reps(authed(
                &alice,
                v1::ListRepsRequest {
                    page_size: -5,
                    page_token: String::new(),
                },
            ))
            .await,
        &["page_size"],
    );

    assert_invalid(
        routing
            .apply_policy(authed(
                &admin(),
                v1::ApplyPolicyRequest {
                    document: " ".into(),
                    ..Default::default()
                },
            ))
            .await,
        &["document"],
    );
    assert_invalid(
        routing
            .apply_policy(authed(
                &admin(),
                v1::ApplyPolicyRequest {
                    document: "kind: [".into(),
                    ..Default::default()
                },
            ))
            .await,
        &["kind"],
    );
    assert_invalid(
        routing
            .get_policy(authed(&alice, v1::GetPolicyRequest { version: -1 }))
            .await,
        &["version"],
    );
    assert_invalid(
        routing
            .list_policy_versions(authed(
                &alice,
                v1::ListPolicyVersionsRequest {
                    page_size: -1,
                    page_token: String::new(),
                },
            ))
            .await,
        &["page_size"],
    );
    assert_invalid(
        routing
            .explain_route(authed(&alice, v1::ExplainRouteRequest { lead: None }))
            .await,
        &["lead"],
    );
    assert_invalid(
        routing
            .explain_route(authed(
                &alice,
                v1::ExplainRouteRequest {
                    lead: Some(v1::explain_route_request::Lead::Sketch(v1::LeadSketch {
                        score: 500,
                        ..Default::default()
                    })),
                },
            ))
            .await,
        &["sketch.score"],
    );
    assert_invalid(
        routing
            .route_leads(authed(&service, v1::RouteLeadsRequest { names: vec![] }))
            .await,
        &["names"],
    );
    assert_invalid(
        routing
            .route_leads(authed(
                &service,
                v1::RouteLeadsRequest {
                    names: vec!["leads/nope".into(), "x".into()],
                },
            ))
            .await,
        &["names[0]", "names[1]"],
    );
    assert_invalid(
        intake
            .import_leads(authed(
                &service,
                tokio_stream::iter([v1::ImportLeadsRequest {
                    import_id: String::new(),
                    rows: vec![],
                }]),
            ))
            .await,
        &["import_id"],
    );

    // ClaimService
    assert_invalid(
        claim
            .list_pool_leads(authed(
                &alice,
                v1::ListPoolLeadsRequest {
                    parent: String::new(),
                    ..Default::default()
                },
            ))
            .await,
        &["parent"],
    );
    assert_invalid(
        claim
            .list_pool_leads(authed(
                &alice,
                v1::ListPoolLeadsRequest {
                    parent: "pools/west".into(),
                    order_by: 42,
                    ..Default::default()
                },
            ))
            .await,
        &["order_by"],
    );
    let west_token = leadpool_server::paging::encode("pools/east:Priority", 1);
    assert_invalid(
        claim
            .list_pool_leads(authed(
                &alice,
                v1::ListPoolLeadsRequest {
                    parent: "pools/west".into(),
                    page_token: west_token,
                    ..Default::default()
                },
            ))
            .await,
        &["page_token"],
    );
    assert_invalid(
        claim
            .claim_lead(authed(
                &alice,
                v1::ClaimLeadRequest {
                    name: "leads/not-a-uuid".into(),
                },
            ))
            .await,
        &["name"],
    );
    assert_invalid(
        claim
            .claim_next(authed(
                &alice,
                v1::ClaimNextRequest {
                    pool: String::new(),
                },
            ))
            .await,
        &["pool"],
    );
    assert_invalid(
        claim
            .claim_batch(authed(
                &alice,
                v1::ClaimBatchRequest {
                    pool: "pools/west".into(),
                    count: 0,
                },
            ))
            .await,
        &["count"],
    );
    assert_invalid(
        claim
            .release_lead(authed(
                &alice,
                v1::ReleaseLeadRequest {
                    name: "x".into(),
                    reason: String::new(),
                },
            ))
            .await,
        &["name", "reason"],
    );
    assert_invalid(
        claim
            .record_contact(authed(
                &alice,
                v1::RecordContactRequest {
                    name: String::new(),
                    note: String::new(),
                },
            ))
            .await,
        &["name"],
    );
    assert_invalid(
        claim
            .list_lead_events(authed(
                &alice,
                v1::ListLeadEventsRequest {
                    parent: "pools/west".into(),
                    ..Default::default()
                },
            ))
            .await,
        &["parent"],
    );

    assert_invalid(
        claim
            .explain_access(authed(
                &alice,
                v1::ExplainAccessRequest {
                    rep: "alice@example".into(),
                    pool: String::new(),
                    at: None,
                },
            ))
            .await,
        &["rep"],
    );
    assert_invalid(
        claim
            .explain_access(authed(
                &alice,
                v1::ExplainAccessRequest {
                    rep: String::new(),
                    pool: String::new(),
                    at: None,
                },
            ))
            .await,
        &["pool"],
    );

    // SchedulerService
    assert_invalid(
        scheduler
            .run_job(authed(
                &admin(),
                v1::RunJobRequest {
                    name: "jobs/make-coffee".into(),
                    as_of: None,
                },
            ))
            .await,
        &["name"],
    );
    // A time outside the protobuf range is refused at the boundary, before any field's
    // meaning is looked at.
    assert_invalid(
        scheduler
            .run_job(authed(
                &admin(),
                v1::RunJobRequest {
                    name: "jobs/make-coffee".into(),
                    as_of: Some(prost_types::Timestamp {
                        seconds: 0,
                        nanos: -1,
                    }),
                },
            ))
            .await,
        &["as_of"],
    );
    assert_invalid(
        scheduler
            .list_jobs(authed(
                &alice,
                v1::ListJobsRequest {
                    page_size: -1,
                    page_token: String::new(),
                },
            ))
            .await,
        &["page_size"],
    );
    assert_invalid(
        scheduler
            .get_pool_health(authed(
                &alice,
                v1::GetPoolHealthRequest {
                    depletion_days: 0,
                    name: "west".into(),
                    as_of: None,
                    time_zone: "Mars/Olympus".into(),
                },
            ))
            .await,
        &["name", "time_zone"],
    );
    assert_invalid(
        scheduler
            .get_pool_health(authed(
                &alice,
                v1::GetPoolHealthRequest {
                    depletion_days: 0,
                    name: "west".into(),
                    as_of: Some(prost_types::Timestamp {
                        seconds: i64::MAX,
                        nanos: 0,
                    }),
                    time_zone: "Mars/Olympus".into(),
                },
            ))
            .await,
        &["as_of"],
    );
    assert_invalid(
        scheduler
            .list_pool_health(authed(
                &alice,
                v1::ListPoolHealthRequest {
                    as_of: None,
                    page_size: -5,
                    page_token: "not-a-token".into(),
                },
            ))
            .await,
        &["page_size", "page_token"],
    );
    assert_invalid(
        scheduler
            .watch_alerts(authed(
                &admin(),
                v1::WatchAlertsRequest {
                    pool: "west pool".into(),
                },
            ))
            .await,
        &["pool"],
    );
    let unknown = scheduler
        .get_pool_health(authed(
            &alice,
            v1::GetPoolHealthRequest {
                depletion_days: 0,
                name: "pools/nowhere".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    cluster.stop().await;
}
