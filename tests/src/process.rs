//! A service as a real process (for the soak and the benchmarks): the binary next to the
//! running one (`target/<profile>/leadpool-<service>`), on a port of its own, restartable on
//! that port, its output in `target/<profile>/soak/<name>.log`.

use std::net::SocketAddr;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use leadpool_testing::ListenAddrs;
use tonic::transport::Channel;

/// One service replica: a child process on its own port.
pub struct Replica {
    pub name: String,
    binary: std::path::PathBuf,
    env: Vec<(String, String)>,
    pub addr: SocketAddr,
    child: Option<Child>,
}

impl Replica {
    pub fn new(service: &str, index: usize, env: Vec<(String, String)>) -> Self {
        // Every listener on a port of its own, so a running `make up` is no obstacle.
        let addrs = ListenAddrs::free();
        let binary = std::env::current_exe()
            .unwrap()
            .with_file_name(format!("leadpool-{service}"));
        let mut env = env;
        env.extend(addrs.env().map(|(key, value)| (key.to_owned(), value)));
        let addr = addrs.grpc;
        Self {
            name: format!("{service}#{index}"),
            binary,
            env,
            addr,
            child: None,
        }
    }

    pub fn start(&mut self) {
        // Each replica's log, for when a check fails.
        let logs = self.binary.with_file_name("soak");
        std::fs::create_dir_all(&logs).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logs.join(format!("{}.log", self.name)))
            .unwrap();
        let child = Command::new(&self.binary)
            .envs(self.env.iter().cloned())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (build the binaries first: make soak / make bench)",
                    self.binary.display()
                )
            });
        self.child = Some(child);
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn signal(&self, signal: &str) {
        let pid = self.pid().unwrap().to_string();
        assert!(
            Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub async fn channel(&self) -> Channel {
        leadpool_server::channel(
            &format!("http://{}", self.addr),
            Duration::from_secs(5),
            None,
        )
        .unwrap()
    }

    pub async fn serving(&self) -> bool {
        let mut health = tonic_health::pb::health_client::HealthClient::new(self.channel().await);
        matches!(
            health.check(tonic_health::pb::HealthCheckRequest::default()).await,
            Ok(answer) if answer.get_ref().status
                == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        )
    }

    /// Waits until it answers SERVING, at most `within`.
    pub async fn wait_serving(&self, within: Duration) {
        let started = Instant::now();
        while !self.serving().await {
            assert!(started.elapsed() < within, "{} never came up", self.name);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Its resident memory now, in MiB.
    pub fn rss_mib(&self) -> Option<f64> {
        rss_of(self.pid()?)
    }
}

/// A process's resident memory now, in MiB (from /proc).
pub fn rss_of(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}
