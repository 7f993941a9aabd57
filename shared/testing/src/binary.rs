//! A service binary started by a test, as Kubernetes or `make up` would start it: every
//! address it listens on — gRPC and metrics — is a port picked free for this test, so tests
//! pass beside a running `make up` (which holds the default ports), and waiting for it to come
//! up is bounded and says what it waited for.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::process::Child;
use tonic::transport::Channel;

/// The addresses one service process listens on.
#[derive(Debug, Clone, Copy)]
pub struct ListenAddrs {
    pub grpc: SocketAddr,
    pub metrics: SocketAddr,
}

impl ListenAddrs {
    /// Free ports on localhost, one per listener.
    pub fn free() -> Self {
        Self {
            grpc: crate::free_local_addr(),
            metrics: crate::free_local_addr(),
        }
    }

    /// The environment that points the service's listeners at them.
    pub fn env(&self) -> [(&'static str, String); 2] {
        [
            ("LEADPOOL_SERVER__LISTEN_ADDR", self.grpc.to_string()),
            ("LEADPOOL_METRICS__LISTEN_ADDR", self.metrics.to_string()),
        ]
    }
}

/// A channel to `child`'s gRPC port once it accepts connections. Fails the test, saying why,
/// if the process exits first or does not listen within `within`.
pub async fn connect_when_listening(
    child: &mut Child,
    addr: SocketAddr,
    within: Duration,
) -> Channel {
    let deadline = tokio::time::Instant::now() + within;
    let endpoint = Channel::from_shared(crate::endpoint(addr)).expect("a valid endpoint");
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the service exited ({status}) before it listened on {addr}");
        }
        if let Ok(channel) = endpoint.connect().await {
            return channel;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the service did not listen on {addr} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
