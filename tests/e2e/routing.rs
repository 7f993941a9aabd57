//! Routing: pool administration, placing leads, and who may do what.

use leadpool_e2e::{Cluster, admin, all_pages, code_of, create_pool, rep, submit};
use leadpool_proto::v1;
use leadpool_testing::authed;
use tonic::Code;

#[tokio::test]
async fn pools_are_created_fetched_and_listed_page_by_page() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    for id in ["east", "emea", "west", "apac", "north"] {
        create_pool(&mut routing, id, 0).await;
    }
    let pool = routing
        .get_pool(authed(
            &rep("alice"),
            v1::GetPoolRequest {
                name: "pools/west".into(),
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .pool
        .unwrap();
    assert_eq!(
        pool.contact_sla.unwrap().seconds,
        7200,
        "the default contact SLA is 2 hours"
    );

    let names = all_pages(|page_token| {
        let mut routing = routing.clone();
        async move {
            let page = routing
                .list_pools(authed(
                    &rep("alice"),
                    v1::ListPoolsRequest {
                        page_size: 2,
                        page_token,
                    },
                ))
                .await
                .unwrap()
                .into_inner();
            assert!(page.pools.len() <= 2);
            let names: Vec<String> = page.pools.into_iter().map(|p| p.name).collect();
            (names, page.next_page_token)
        }
    })
    .await;
    assert_eq!(
        names,
        [
            "pools/apac",
            "pools/east",
            "pools/emea",
            "pools/north",
            "pools/west"
        ]
    );
    cluster.stop().await;
}

#[tokio::test]
async fn creating_a_pool_twice_is_already_exists() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    create_pool(&mut routing, "west", 0).await;
    let again = routing
        .create_pool(authed(
            &admin(),
            v1::CreatePoolRequest {
                pool_id: "west".into(),
                ..Default::default()
            },
        ))
        .await;
    assert_eq!(code_of(&again), Code::AlreadyExists);
    cluster.stop().await;
}

#[tokio::test]
async fn only_admins_manage_pools_and_reps() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    let pool = routing
        .create_pool(authed(
            &rep("alice"),
            v1::CreatePoolRequest {
                pool_id: "west".into(),
                ..Default::default()
            },
        ))
        .await;
    assert_eq!(code_of(&pool), Code::PermissionDenied);
    let promote = routing
        .upsert_rep(authed(
            &rep("alice"),
            v1::UpsertRepRequest {
                rep: Some(v1::Rep {
                    name: "reps/alice".into(),
                    role: v1::RepRole::Manager.into(),
                    active: true,
                    ..Default::default()
                }),
            },
        ))
        .await;
    assert_eq!(code_of(&promote), Code::PermissionDenied);
    let route = routing
        .route_lead(authed(
            &rep("alice"),
            v1::RouteLeadRequest {
                name: format!("leads/{}", uuid::Uuid::now_v7()),
            },
        ))
        .await;
    assert_eq!(
        code_of(&route),
        Code::PermissionDenied,
        "only services route leads"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthenticated_everywhere() {
    let cluster = Cluster::start().await;
    let no_token = cluster
        .routing()
        .await
        .list_pools(v1::ListPoolsRequest::default())
        .await;
    assert_eq!(code_of(&no_token), Code::Unauthenticated);
    let garbage = cluster
        .claim()
        .await
        .claim_next(authed(
            "not-a-token",
            v1::ClaimNextRequest {
                pool: "pools/x".into(),
            },
        ))
        .await;
    assert_eq!(code_of(&garbage), Code::Unauthenticated);
    let intake = cluster
        .intake()
        .await
        .submit_lead(v1::SubmitLeadRequest::default())
        .await;
    assert_eq!(code_of(&intake), Code::Unauthenticated);
    let jobs = cluster
        .scheduler()
        .await
        .list_jobs(v1::ListJobsRequest::default())
        .await;
    assert_eq!(code_of(&jobs), Code::Unauthenticated);
    cluster.stop().await;
}

#[tokio::test]
async fn leads_go_to_the_pool_with_the_highest_minimum_score_they_reach() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    create_pool(&mut routing, "cold", 0).await;
    create_pool(&mut routing, "warm", 50).await;
    create_pool(&mut routing, "hot", 80).await;
    let mut intake = cluster.intake().await;
    assert_eq!(submit(&mut intake, "a", 95).await.pool, "pools/hot");
    assert_eq!(submit(&mut intake, "b", 80).await.pool, "pools/hot");
    assert_eq!(submit(&mut intake, "c", 79).await.pool, "pools/warm");
    assert_eq!(submit(&mut intake, "d", 30).await.pool, "pools/cold");
    cluster.stop().await;
}

#[tokio::test]
async fn routing_a_lead_twice_changes_nothing_the_second_time() {
    let cluster = Cluster::start().await;
    let mut routing = cluster.routing().await;
    create_pool(&mut routing, "inbound", 0).await;
    let lead = submit(&mut cluster.intake().await, "form-1", 60).await;
    let intake_token = leadpool_testing::token("services/intake", &[leadpool_auth::Role::Service]);
    let again = routing
        .route_lead(authed(
            &intake_token,
            v1::RouteLeadRequest {
                name: lead.name.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!again.routed);
    assert_eq!(again.lead.unwrap().pool, "pools/inbound");
    cluster.stop().await;
}
