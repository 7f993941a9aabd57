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

/// Issue 20.1: the one routing table (`proto/routes.yaml`) names the binary of every service
/// in the protos, and each binary serves exactly what the table sends it — so the proxy and the
/// Ingress generated from it cannot forget a service or send its calls to the wrong port.
#[tokio::test]
async fn the_routing_table_matches_the_protos_and_what_each_binary_serves() {
    let table_path = format!("{}/../proto/routes.yaml", env!("CARGO_MANIFEST_DIR"));
    let table: Vec<(String, String)> = std::fs::read_to_string(&table_path)
        .unwrap()
        .lines()
        .map(|line| line.split('#').next().unwrap().trim())
        .filter(|line| !line.is_empty())
        .map(|line| {
            let (service, binary) = line.split_once(':').unwrap();
            (service.trim().to_owned(), binary.trim().to_owned())
        })
        .collect();
    let mut in_protos: Vec<String> =
        prost_reflect::DescriptorPool::decode(leadpool_proto::FILE_DESCRIPTOR_SET)
            .unwrap()
            .services()
            .map(|s| s.full_name().to_owned())
            .filter(|name| name.starts_with("leadpool."))
            .collect();
    in_protos.sort();
    let mut routed: Vec<String> = table.iter().map(|(s, _)| s.clone()).collect();
    routed.sort();
    assert_eq!(routed, in_protos, "{table_path} lists every service once");

    let cluster = Cluster::start().await;
    let mut routing = cluster.env.routing_config();
    routing.auth.dev_sign_in = true;
    let routing = cluster.env.start_routing(routing).await;
    for (binary, running) in [
        ("intake", &cluster.intake),
        ("routing", &routing),
        ("claim", &cluster.claim),
        ("scheduler", &cluster.scheduler),
    ] {
        let mut expected: Vec<&String> = table
            .iter()
            .filter(|(_, b)| b == binary)
            .map(|(s, _)| s)
            .collect();
        expected.sort();
        let listed = listed_v1(channel(running.addr).await).await;
        let served: Vec<&String> = listed
            .iter()
            .filter(|s| s.starts_with("leadpool."))
            .collect();
        assert_eq!(
            served, expected,
            "{binary} serves what the table routes to it"
        );
    }
    routing.stop().await.unwrap();
    cluster.stop().await;
}
