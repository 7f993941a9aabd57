//! Server reflection on each port lists what that port serves — its own service and health —
//! in both protocol versions, so grpcurl, grpc_cli, Postman and Python's grpcio-reflection (still
//! on v1alpha) can all browse it.

use leadpool_e2e::{Cluster, channel};
use tokio_stream::StreamExt;
use tonic::transport::Channel;

async fn listed_v1(channel: Channel) -> Vec<String> {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    match answers.next().await.unwrap().unwrap().message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
            names.sort();
            names
        }
        other => panic!("unexpected answer {other:?}"),
    }
}

async fn listed_v1alpha(channel: Channel) -> Vec<String> {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    match answers.next().await.unwrap().unwrap().message_response {
        Some(MessageResponse::ListServicesResponse(list)) => {
            let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
            names.sort();
            names
        }
        other => panic!("unexpected answer {other:?}"),
    }
}

#[tokio::test]
async fn each_port_lists_only_its_own_services_in_v1_and_v1alpha() {
    let cluster = Cluster::start().await;
    for (services, running) in [
        (&["leadpool.v1.IntakeService"][..], &cluster.intake),
        (&["leadpool.v1.RoutingService"], &cluster.routing),
        (&["leadpool.v1.ClaimService"], &cluster.claim),
        (
            &["leadpool.v1.EventService", "leadpool.v1.SchedulerService"],
            &cluster.scheduler,
        ),
    ] {
        let port = channel(running.addr).await;
        let v1 = listed_v1(port.clone()).await;
        let v1alpha = listed_v1alpha(port).await;
        for listed in [&v1, &v1alpha] {
            let ours: Vec<&String> = listed
                .iter()
                .filter(|s| s.starts_with("leadpool."))
                .collect();
            assert_eq!(ours, services, "{listed:?}");
            assert!(
                listed.contains(&"grpc.health.v1.Health".to_owned()),
                "{listed:?}"
            );
        }
    }
    cluster.stop().await;
}
