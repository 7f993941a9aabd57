//! The binary's life cycle, as Kubernetes drives it: configuration from the environment,
//! SERVING once up, and on SIGTERM: NOT_SERVING first, keep answering during the drain delay,
//! then exit cleanly. Reflection answers without a token.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::time::Duration;

use leadpool_proto::v1::{ListPoolsRequest, routing_service_client::RoutingServiceClient};
use leadpool_testing::{
    ADMIN, ListenAddrs, TEST_SECRET, TestDatabase, authed, connect_when_listening, token,
};
use tokio_stream::StreamExt;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const SERVICE: &str = "leadpool.v1.RoutingService";

#[tokio::test]
async fn sigterm_reports_not_serving_drains_and_exits_cleanly() {
    let db = TestDatabase::new().await;
    let addrs = ListenAddrs::free();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_leadpool-routing"))
        .envs(addrs.env())
        .env("LEADPOOL_SERVER__DRAIN_DELAY", "2s")
        .env("LEADPOOL_DATABASE__URL", db.url())
        .env("LEADPOOL_AUTH__HS256_SECRET", TEST_SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    // The process binds before it serves; connect once it accepts.
    let channel = connect_when_listening(&mut child, addrs.grpc, Duration::from_secs(60)).await;
    let mut health = HealthClient::new(channel.clone());
    let mut watch = health
        .watch(HealthCheckRequest {
            service: SERVICE.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.next().await.unwrap().unwrap().status(),
        ServingStatus::Serving
    );
    assert!(
        reflected_services(channel.clone())
            .await
            .contains(&SERVICE.to_owned()),
        "reflection describes the API without a token"
    );

    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().unwrap().to_string())
        .status()
        .unwrap();
    assert!(status.success());

    // Readiness drops first ...
    assert_eq!(
        watch.next().await.unwrap().unwrap().status(),
        ServingStatus::NotServing
    );
    // A watcher that saw NOT_SERVING goes away; an open stream would hold the drain open.
    drop(watch);
    // ... while calls are still answered during the drain delay ...
    let mut routing = RoutingServiceClient::new(channel);
    routing
        .list_pools(authed(
            &token("users/ops", ADMIN),
            ListPoolsRequest::default(),
        ))
        .await
        .expect("served during the drain");
    // ... then the process exits on its own, successfully, well within the shutdown timeout.
    let exit = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .expect("exits soon after the drain delay")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

async fn reflected_services(channel: tonic::transport::Channel) -> Vec<String> {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    match responses.next().await.unwrap().unwrap().message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection answer {other:?}"),
    }
}

#[tokio::test]
async fn a_bad_setting_stops_start_up_with_a_message_naming_the_key() {
    let output = Command::new(env!("CARGO_BIN_EXE_leadpool-routing"))
        .env("LEADPOOL_DATABASE__MAX_CONNECTIONS", "lots")
        .env("LEADPOOL_AUTH__HS256_SECRET", TEST_SECRET)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
    assert!(stderr.contains("database.max_connections"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_leadpool-routing"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("auth.hs256_secret"),
        "a missing secret is named: {stderr}"
    );
}
