//! The services a measurement runs against, each a release process of its own on one database
//! of the benchmark's and a throwaway Redis, configured as a deployment would be (policy
//! checked every second, logs at `warn`).

use std::time::Duration;

use leadpool_e2e::process::Replica;
use leadpool_testing::{TEST_SECRET, TestDatabase, ThrowawayRedis};

pub struct Stack {
    pub replicas: Vec<Replica>,
    _redis: ThrowawayRedis,
}

impl Stack {
    /// Starts `services` (e.g. `["routing", "claim", "claim"]`) on `db`, with `extra` settings
    /// for all, and waits until each is SERVING.
    pub async fn start(db: &TestDatabase, services: &[&str], extra: &[(&str, &str)]) -> Self {
        let redis = ThrowawayRedis::start();
        let mut env: Vec<(String, String)> = [
            ("LEADPOOL_DATABASE__URL", db.url()),
            ("LEADPOOL_DATABASE__MIGRATE_ON_START", "false".into()),
            ("LEADPOOL_AUTH__HS256_SECRET", TEST_SECRET.into()),
            ("LEADPOOL_METRICS__ENABLED", "false".into()),
            ("LEADPOOL_TELEMETRY__LOG_FILTER", "warn".into()),
            ("LEADPOOL_SERVER__DRAIN_DELAY", "0s".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let mut replicas: Vec<Replica> = Vec::new();
        for service in services {
            let mut service_env = env.clone();
            match *service {
                "claim" => {
                    service_env.push(("LEADPOOL_REDIS__URL".into(), redis.url()));
                    // A variation to try, e.g. BENCH_CLAIM_ENV="LEADPOOL_CLAIMS__GROUP_SIZE=32".
                    let variation = std::env::var("BENCH_CLAIM_ENV").unwrap_or_default();
                    service_env.extend(
                        variation
                            .split_whitespace()
                            .filter_map(|kv| kv.split_once('='))
                            .map(|(k, v)| (k.to_owned(), v.to_owned())),
                    );
                }
                "intake" => {
                    let routing = replicas
                        .iter()
                        .find(|r| r.name.starts_with("routing"))
                        .expect("intake needs routing first");
                    service_env.push((
                        "LEADPOOL_ROUTING__ENDPOINT".into(),
                        format!("http://{}", routing.addr),
                    ));
                }
                // Jobs run on demand (RunJob); the event stream's epochs close as deployed.
                "scheduler" => {
                    service_env.push(("LEADPOOL_SCHEDULER__ENABLED".into(), "false".into()));
                }
                _ => {}
            }
            let index = replicas
                .iter()
                .filter(|r| r.name.starts_with(service))
                .count();
            let mut replica = Replica::new(service, index, service_env);
            replica.start();
            replicas.push(replica);
        }
        for replica in &replicas {
            replica.wait_serving(Duration::from_secs(60)).await;
        }
        Self {
            replicas,
            _redis: redis,
        }
    }

    pub fn all(&self, service: &str) -> impl Iterator<Item = &Replica> {
        let prefix = format!("{service}#");
        self.replicas
            .iter()
            .filter(move |r| r.name.starts_with(&prefix))
    }

    pub fn one(&self, service: &str) -> &Replica {
        self.all(service)
            .next()
            .expect("the service is part of the stack")
    }

    /// Each replica's resident memory now, by name.
    pub fn rss(&self) -> Vec<(String, f64)> {
        self.replicas
            .iter()
            .filter_map(|r| Some((r.name.clone(), r.rss_mib()?)))
            .collect()
    }
}
