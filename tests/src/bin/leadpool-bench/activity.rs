//! What the database's connections were doing while a measurement ran: `pg_stat_activity`
//! sampled every `EVERY`, each connection inside a transaction counted by its program
//! (`application_name`: `leadpool-claim`, `leadpool-scheduler`, … and `bench` for the bare
//! statements) and by what it was doing — running (on a core, or ready and waiting for one),
//! idle in its transaction while its program works out the next statement, or a wait event:
//! `Lock:*` for a row or advisory lock another transaction holds, `LWLock:*` for a shared
//! structure (`WALWrite`, `BufferContent` at the head of an index), `IO:WALSync` for a commit's
//! flush. How many claim transactions are in the database at once, and whether they wait on
//! each other, is what decides whether claims can use more cores than these two.

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::{Connection, PgConnection};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::report::Report;
use crate::round2;

/// How often the connections are looked at: several times a claim group's cycle, so the
/// averages are over thousands of samples in a 10-second run.
const EVERY: Duration = Duration::from_millis(20);

/// The connections of the sampled database inside a transaction, by program and what each
/// was doing; the sampler's own connection left out.
///
/// Background processes in the database (an autovacuum worker) have no application name and
/// no state: they are named by their type, and what they wait on is what they do.
const IN_TRANSACTION: &str = "\
    SELECT coalesce(nullif(application_name, ''), \
             CASE WHEN backend_type = 'client backend' THEN 'bench' ELSE backend_type END), \
           CASE WHEN state = 'active' OR state IS NULL \
                THEN coalesce(wait_event_type || ':' || wait_event, 'running') \
                ELSE state END \
      FROM pg_stat_activity \
     WHERE datname = current_database() AND pid <> pg_backend_pid() \
       AND xact_start IS NOT NULL";

/// Connections seen in each sample, added up.
#[derive(Default)]
pub struct Activity {
    samples: usize,
    /// (program, what it was doing) → connections, summed over the samples.
    doing: BTreeMap<(String, String), usize>,
    /// program → the most of its connections in a transaction in one sample.
    most: BTreeMap<String, usize>,
}

impl Activity {
    fn add(&mut self, sample: &[(String, String)]) {
        self.samples += 1;
        let mut in_transaction = BTreeMap::<&str, usize>::new();
        for (program, doing) in sample {
            *self
                .doing
                .entry((program.clone(), doing.clone()))
                .or_default() += 1;
            *in_transaction.entry(program).or_default() += 1;
        }
        for (program, n) in in_transaction {
            let most = self.most.entry(program.to_owned()).or_default();
            *most = (*most).max(n);
        }
    }

    /// The mean number of `program`'s connections in a transaction, in total and by what they
    /// were doing (the largest first; what was seen in under one sample in 200 left out).
    fn means(&self, program: &str) -> (f64, Vec<(&str, f64)>) {
        let samples = self.samples.max(1) as f64;
        let mut doing: Vec<(&str, f64)> = self
            .doing
            .iter()
            .filter(|((p, _), _)| p == program)
            .map(|((_, what), &n)| (what.as_str(), n as f64 / samples))
            .collect();
        let total = doing.iter().map(|(_, n)| n).sum();
        doing.retain(|(_, n)| *n >= 0.005);
        doing.sort_by(|a, b| b.1.total_cmp(&a.1));
        (total, doing)
    }

    fn programs(&self) -> impl Iterator<Item = &str> {
        self.most.keys().map(String::as_str)
    }

    /// Into the report: `key` in results.json, a table line headed `line`.
    pub fn report(&self, report: &mut Report, key: &str, line: &str) {
        report.set(key, self.to_json());
        report.line(line, self.summary());
    }

    /// One clause a program that was seen in a transaction: "leadpool-claim 3.62 in a
    /// transaction (at most 4): running 1.20, idle in transaction 1.51, …".
    fn summary(&self) -> String {
        self.programs()
            .map(|program| (program, self.means(program)))
            .filter(|(_, (total, _))| *total >= 0.005)
            .map(|(program, (total, doing))| {
                let doing: Vec<String> = doing
                    .iter()
                    .map(|(what, n)| format!("{what} {n:.2}"))
                    .collect();
                format!(
                    "{program} {total:.2} in a transaction (at most {}): {}",
                    self.most[program],
                    doing.join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// For results.json: `{"samples": n, "leadpool-claim": {"in_transaction": 3.62,
    /// "at_most": 4, "doing": {"running": 1.2, …}}, …}`.
    fn to_json(&self) -> serde_json::Value {
        let mut json = serde_json::Map::new();
        json.insert("samples".into(), self.samples.into());
        for program in self.programs() {
            let (total, doing) = self.means(program);
            let doing: serde_json::Map<_, _> = doing
                .iter()
                .map(|(what, n)| ((*what).to_owned(), round2(*n).into()))
                .collect();
            json.insert(
                program.to_owned(),
                serde_json::json!({
                    "in_transaction": round2(total),
                    "at_most": self.most[program],
                    "doing": doing,
                }),
            );
        }
        json.into()
    }
}

/// Samples the database at `url` until stopped.
pub struct Sampler {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Activity>,
}

pub async fn sample(url: &str) -> Sampler {
    let mut connection = PgConnection::connect(url).await.unwrap();
    let (stop, mut stopped) = oneshot::channel();
    let task = tokio::spawn(async move {
        let mut activity = Activity::default();
        let mut ticks = tokio::time::interval(EVERY);
        loop {
            tokio::select! {
                _ = &mut stopped => return activity,
                _ = ticks.tick() => {}
            }
            let sample: Vec<(String, String)> = sqlx::query_as(IN_TRANSACTION)
                .fetch_all(&mut connection)
                .await
                .unwrap();
            activity.add(&sample);
        }
    });
    Sampler { stop, task }
}

impl Sampler {
    pub async fn stop(self) -> Activity {
        let _ = self.stop.send(());
        self.task.await.unwrap()
    }
}
