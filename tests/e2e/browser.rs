//! Issue 20.1: browsers reach the API itself. Every service speaks gRPC-web (unary and server
//! streaming) over plain HTTP/1.1, as a browser's fetch does, with the same auth, checks and
//! error details as gRPC; cross-origin calls are refused unless the origin is configured.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures::StreamExt;
use leadpool_e2e::{Cluster, admin, apply_policy, submit};
use leadpool_proto::v1;
use prost::Message;

const POLICY: &str = "apiVersion: leadpool.dev/v1\nkind: Policy\nreps: [{ id: ann, role: sdr }]\npools: [{ id: inbound, type: open }]\nrouting: { default: { pool: inbound } }\n";

/// An HTTP/1.1-only client, like a browser's fetch to an HTTP/1.1 origin.
fn http1() -> reqwest::Client {
    reqwest::Client::builder().http1_only().build().unwrap()
}

/// One gRPC-web data frame holding `message`.
fn frame(message: &impl Message) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut out = BytesMut::with_capacity(body.len() + 5);
    out.put_u8(0);
    out.put_u32(u32::try_from(body.len()).unwrap());
    out.put_slice(&body);
    out.to_vec()
}

/// The frames of a gRPC-web body: data messages, then the trailers (`grpc-status: 0` …).
#[derive(Debug, Default)]
struct Frames {
    messages: Vec<Bytes>,
    trailers: String,
}

impl Frames {
    /// Reads whole frames off the front of `buffer`, leaving a partial one.
    fn read(&mut self, buffer: &mut BytesMut) {
        while buffer.len() >= 5 {
            let length = u32::from_be_bytes([buffer[1], buffer[2], buffer[3], buffer[4]]) as usize;
            if buffer.len() < 5 + length {
                return;
            }
            let flags = buffer.get_u8();
            buffer.advance(4);
            let payload = buffer.split_to(length).freeze();
            if flags & 0x80 == 0 {
                self.messages.push(payload);
            } else {
                self.trailers.push_str(&String::from_utf8_lossy(&payload));
            }
        }
    }

    fn status(&self) -> Option<&str> {
        self.trailers
            .lines()
            .find_map(|line| line.trim().strip_prefix("grpc-status:"))
            .map(str::trim)
    }
}

fn call(addr: std::net::SocketAddr, method: &str, token: Option<&str>) -> reqwest::RequestBuilder {
    let mut request = http1()
        .post(format!("http://{addr}/leadpool.v1.{method}"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_and_streaming_calls_work_over_grpc_web_on_http1() {
    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;

    // Unary: the same answer as over gRPC, its status in the trailer frame.
    let response = call(
        cluster.routing.addr,
        "RoutingService/ListPools",
        Some(&admin()),
    )
    .body(frame(&v1::ListPoolsRequest::default()))
    .send()
    .await
    .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/grpc-web+proto"
    );
    let mut frames = Frames::default();
    frames.read(&mut BytesMut::from(&response.bytes().await.unwrap()[..]));
    assert_eq!(frames.status(), Some("0"), "{}", frames.trailers);
    let pools = v1::ListPoolsResponse::decode(frames.messages[0].clone()).unwrap();
    assert_eq!(pools.pools[0].name, "pools/inbound");

    // No token: UNAUTHENTICATED, as a trailers-only answer in the headers.
    let refused = call(cluster.routing.addr, "RoutingService/ListPools", None)
        .body(frame(&v1::ListPoolsRequest::default()))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.headers()["grpc-status"], "16");

    // Bad input gets its field violations in grpc-status-details-bin, like any client.
    let invalid = call(cluster.claim.addr, "ClaimService/ClaimNext", Some(&admin()))
        .body(frame(&v1::ClaimNextRequest {
            pool: "pools/a\0b".into(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.headers()["grpc-status"], "3");
    assert!(invalid.headers().contains_key("grpc-status-details-bin"));

    // Server streaming: events arrive on the open HTTP/1.1 response as they happen.
    let watching = call(
        cluster.scheduler.addr,
        "EventService/WatchEvents",
        Some(&admin()),
    )
    .body(frame(&v1::WatchEventsRequest {
        from_now: true,
        types: vec!["lead.routed".into()],
        ..Default::default()
    }))
    .send()
    .await
    .unwrap();
    assert_eq!(watching.status(), 200);
    let mut body = watching.bytes_stream();
    let lead = submit(&mut cluster.intake().await, "web-1", 50).await;
    let mut buffer = BytesMut::new();
    let mut frames = Frames::default();
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while frames.messages.is_empty() {
            let chunk = body.next().await.expect("the stream stays open").unwrap();
            buffer.extend_from_slice(&chunk);
            frames.read(&mut buffer);
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "timed out waiting for the event on the stream"
    );
    let event = v1::Event::decode(frames.messages[0].clone()).unwrap();
    assert_eq!(
        (event.r#type.as_str(), event.subject),
        ("lead.routed", lead.name)
    );
    cluster.stop().await;
}

async fn preflight(addr: std::net::SocketAddr, origin: &str) -> reqwest::Response {
    http1()
        .request(
            reqwest::Method::OPTIONS,
            format!("http://{addr}/leadpool.v1.RoutingService/ListPools"),
        )
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type,x-grpc-web",
        )
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn cross_origin_calls_are_allowed_only_from_configured_origins() {
    let cluster = Cluster::start().await;
    // By default no origin is allowed: the console is served from the API's own origin.
    let closed = preflight(cluster.routing.addr, "https://crm.example.com").await;
    assert!(!closed.headers().contains_key("access-control-allow-origin"));

    let mut config = cluster.env.routing_config();
    config.server.cors_allowed_origins = vec!["https://crm.example.com".into()];
    let open = cluster.env.start_routing(config).await;
    let allowed = preflight(open.addr, "https://crm.example.com").await;
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://crm.example.com"
    );
    // The call itself lets the page read the call's status and its details.
    let answered = call(open.addr, "RoutingService/ListPools", Some(&admin()))
        .header("origin", "https://crm.example.com")
        .body(frame(&v1::ListPoolsRequest::default()))
        .send()
        .await
        .unwrap();
    let exposed = answered.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    for header in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        assert!(exposed.contains(header), "{exposed}");
    }
    let other = preflight(open.addr, "https://evil.example.com").await;
    assert!(!other.headers().contains_key("access-control-allow-origin"));
    open.stop().await.unwrap();
    cluster.stop().await;
}

/// Issue 20.2: `make up`'s sign-in — anyone of the policy, no identity provider — exists only
/// where it is switched on with the development secret; its tokens are ordinary tokens.
#[tokio::test]
async fn the_development_sign_in_exists_only_where_it_is_switched_on() {
    use leadpool_proto::dev::v1 as dev;
    use leadpool_proto::dev::v1::dev_sign_in_service_client::DevSignInServiceClient;

    let cluster = Cluster::start().await;
    apply_policy(&mut cluster.routing().await, POLICY).await;
    let mut off = DevSignInServiceClient::new(leadpool_e2e::channel(cluster.routing.addr).await);
    let refused = off
        .list_people(dev::ListPeopleRequest {})
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unimplemented);

    let mut config = cluster.env.routing_config();
    config.auth.dev_sign_in = true;
    let on = cluster.env.start_routing(config).await;
    let mut sign_in = DevSignInServiceClient::new(leadpool_e2e::channel(on.addr).await);
    // No token needed: this is how one gets one.
    let people = sign_in
        .list_people(dev::ListPeopleRequest {})
        .await
        .unwrap()
        .into_inner()
        .people;
    let listed: Vec<(&str, &[String])> = people
        .iter()
        .map(|p| (p.subject.as_str(), p.roles.as_slice()))
        .collect();
    assert_eq!(
        listed,
        [
            ("reps/ann", &["rep".to_owned()][..]),
            ("users/ops", &["admin".to_owned()][..])
        ]
    );
    let signed = sign_in
        .sign_in(dev::SignInRequest {
            subject: "reps/ann".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let status = cluster
        .claim()
        .await
        .get_rep_status(leadpool_testing::authed(
            &signed.token,
            v1::GetRepStatusRequest::default(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        status.rep, "reps/ann",
        "the token is ann's on every service"
    );
    let stranger = sign_in
        .sign_in(dev::SignInRequest {
            subject: "reps/mallory".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), tonic::Code::NotFound);
    on.stop().await.unwrap();
    cluster.stop().await;
}
