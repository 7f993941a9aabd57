//! A `redis-server` of a test's own, on a free port, for fault injection: the test stops and
//! restarts it, never the shared server. It keeps nothing on disk, like a Redis that lost its
//! data in a restart.

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_local_addr;

pub struct ThrowawayRedis {
    addr: SocketAddr,
    server: Option<Child>,
}

impl ThrowawayRedis {
    pub fn start() -> Self {
        let mut redis = Self {
            addr: free_local_addr(),
            server: None,
        };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Kills the server (SIGKILL: no goodbye to its clients).
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits until it accepts connections.
    pub fn restart(&mut self) {
        self.stop();
        let server = Command::new("redis-server")
            .args(["--port", &self.addr.port().to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/ensure-deps.sh)");
        self.server = Some(server);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(self.addr).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ThrowawayRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
