//! The fault soak (`make soak`, about three minutes): two replicas of every service as real
//! processes on one database of the soak's own and a throwaway Redis, submitters and claimers
//! under load, and faults one after another — kill -9 and restart a claim replica,
//! SIGSTOP/SIGCONT an intake replica, kill and restart a routing replica, terminate every
//! Postgres connection of the soak's database (twice), kill Redis and restart it empty, kill
//! and restart a scheduler replica. Then it checks, and prints:
//!
//! - every acknowledged lead exists exactly once, and nothing else was created;
//! - no lead was held by two reps at once;
//! - every claim a client was told about is in the history;
//! - no lead is left unrouted;
//! - every event (each history row, each policy apply) reached a webhook receiver at least
//!   once with a valid signature, each lead's in the order of its history — through a killed
//!   scheduler replica mid-delivery;
//! - a WatchEvents reader that reconnects from its last cursor whenever its scheduler goes
//!   away got every event, each once, each lead's in order;
//! - every replica answers SERVING;
//! - no call was answered INTERNAL (or UNKNOWN);
//! - how long each fault made calls fail.
//!
//! It never touches the shared Postgres or Redis beyond creating (and dropping) its database.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)] // a report on stdout

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leadpool_auth::Role;
use leadpool_e2e::process::Replica;
use leadpool_e2e::receiver::WebhookReceiver;
use leadpool_e2e::{admin, apply_policy, lead_request, rep};
use leadpool_proto::v1;
use leadpool_proto::v1::claim_service_client::ClaimServiceClient;
use leadpool_proto::v1::event_service_client::EventServiceClient;
use leadpool_proto::v1::intake_service_client::IntakeServiceClient;
use leadpool_proto::v1::routing_service_client::RoutingServiceClient;
use leadpool_testing::{TEST_SECRET, TestDatabase, ThrowawayRedis, authed, token};
use tokio::net::{TcpListener, TcpStream};
use tonic::Code;
use tonic::transport::Channel;

const SOAK: Duration = Duration::from_secs(150);
const REPS: usize = 6;
const SUBMITTERS: usize = 4;

const POLICY: &str = "apiVersion: leadpool.dev/v1\nkind: Policy\n\
    limits: { perDay: 100000, perHour: 100000 }\n\
    reps: [{ id: r0, role: sdr }, { id: r1, role: sdr }, { id: r2, role: sdr }, { id: r3, role: sdr }, { id: r4, role: sdr }, { id: r5, role: sdr }]\n\
    pools: [{ id: inbound, type: open }]\nrouting: { default: { pool: inbound } }\n";

/// A TCP proxy spreading connections over the routing replicas (what a Service would do),
/// skipping one that refuses.
async fn proxy(backends: Vec<SocketAddr>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut next = 0usize;
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                continue;
            };
            next += 1;
            let order = [backends[next % 2], backends[(next + 1) % 2]];
            tokio::spawn(async move {
                for backend in order {
                    if let Ok(mut outbound) = TcpStream::connect(backend).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// Every answer a client got, with when, to measure faults' impact and find INTERNALs.
#[derive(Default)]
struct Log {
    answers: Vec<(Instant, &'static str, Result<(), Code>)>,
}

type Shared<T> = Arc<Mutex<T>>;

fn record(log: &Shared<Log>, call: &'static str, answer: Result<(), Code>) {
    log.lock()
        .unwrap()
        .answers
        .push((Instant::now(), call, answer));
}

/// The code of a refusal: what the server answered — or, when the call never got an answer
/// (the connection broke under it: a replica killed mid-call), UNAVAILABLE.
fn code_of(status: &tonic::Status) -> Code {
    let internal = matches!(status.code(), Code::Internal | Code::Unknown);
    if internal && std::error::Error::source(status).is_some() {
        return Code::Unavailable;
    }
    if internal {
        println!("server answered {:?}: {}", status.code(), status.message());
    }
    status.code()
}

/// Codes that say the system is not answering right now (a fault), as opposed to an answer.
fn is_failure(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::Internal
            | Code::Unknown
            | Code::DeadlineExceeded
            | Code::Cancelled
    )
}

async fn submitter(
    task: usize,
    intakes: Vec<Channel>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    acked: Shared<HashMap<String, String>>,
    log: Shared<Log>,
) {
    let service = token("services/web-forms", &[Role::Service]);
    let mut n = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let key = format!("soak-{task}-{n}");
        n += 1;
        // The same key until acknowledged: a retry never makes a second lead.
        let started = Instant::now();
        let mut attempt = 0;
        while started.elapsed() < Duration::from_secs(60) {
            let mut client =
                IntakeServiceClient::new(intakes[(n + attempt) % intakes.len()].clone());
            attempt += 1;
            let mut request = authed(&service, lead_request(&key, 60));
            request.set_timeout(Duration::from_secs(3));
            match client.submit_lead(request).await {
                Ok(answer) => {
                    record(&log, "submit", Ok(()));
                    let lead = answer.into_inner().lead.unwrap().name;
                    acked.lock().unwrap().insert(key.clone(), lead);
                    break;
                }
                Err(status) => {
                    record(&log, "submit", Err(code_of(&status)));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

async fn claimer(
    index: usize,
    claims: Vec<Channel>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    seen: Shared<Vec<(String, String)>>,
    log: Shared<Log>,
) {
    let who = format!("r{index}");
    let mut n = index;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        n += 1;
        let mut client = ClaimServiceClient::new(claims[n % claims.len()].clone());
        let mut request = authed(
            &rep(&who),
            v1::ClaimNextRequest {
                pool: "pools/inbound".into(),
            },
        );
        request.set_timeout(Duration::from_secs(3));
        match client.claim_next(request).await {
            Ok(answer) => {
                record(&log, "claim", Ok(()));
                let lead = answer.into_inner().lead.unwrap().name;
                seen.lock().unwrap().push((lead.clone(), who.clone()));
                if n.is_multiple_of(2) {
                    let contact = authed(
                        &rep(&who),
                        v1::RecordContactRequest {
                            name: lead,
                            note: String::new(),
                        },
                    );
                    let answer = client
                        .record_contact(contact)
                        .await
                        .map(drop)
                        .map_err(|s| code_of(&s));
                    record(&log, "contact", answer);
                }
            }
            Err(status) => {
                record(&log, "claim", Err(code_of(&status)));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Follows the stream from the start, reconnecting (to the other scheduler replica, from
/// its last cursor) whenever the stream breaks; runs until aborted.
async fn watcher(schedulers: Vec<Channel>, got: Shared<Vec<v1::Event>>) {
    let mut after = String::new();
    for attempt in 0usize.. {
        let mut events = EventServiceClient::new(schedulers[attempt % schedulers.len()].clone());
        let request = authed(
            &admin(),
            v1::WatchEventsRequest {
                after: after.clone(),
                ..Default::default()
            },
        );
        if let Ok(stream) = events.watch_events(request).await {
            let mut stream = stream.into_inner();
            while let Ok(Some(event)) = stream.message().await {
                after = event.cursor.clone();
                got.lock().unwrap().push(event);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Each lead's events in the order they were seen first, by event id.
fn first_arrivals_per_lead<'a>(
    events: impl Iterator<Item = (&'a str, &'a str)>,
) -> HashMap<String, Vec<i64>> {
    let mut seen = HashSet::new();
    let mut per_lead: HashMap<String, Vec<i64>> = HashMap::new();
    for (id, subject) in events {
        if seen.insert(id.to_owned()) && subject.starts_with("leads/") {
            let number = id.trim_start_matches("evt_").parse().unwrap_or(i64::MAX);
            per_lead.entry(subject.to_owned()).or_default().push(number);
        }
    }
    per_lead
}

#[tokio::main]
async fn main() {
    let db = TestDatabase::new().await;
    let mut redis = ThrowawayRedis::start();
    let base = vec![
        ("LEADPOOL_DATABASE__URL".to_owned(), db.url()),
        (
            "LEADPOOL_DATABASE__MIGRATE_ON_START".to_owned(),
            "false".to_owned(),
        ),
        (
            "LEADPOOL_AUTH__HS256_SECRET".to_owned(),
            TEST_SECRET.to_owned(),
        ),
        ("LEADPOOL_METRICS__ENABLED".to_owned(), "false".to_owned()),
        (
            "LEADPOOL_TELEMETRY__LOG_FILTER".to_owned(),
            "error".to_owned(),
        ),
        ("LEADPOOL_SERVER__DRAIN_DELAY".to_owned(), "0s".to_owned()),
    ];
    let with = |extra: &[(&str, String)]| {
        let mut env = base.clone();
        env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        env
    };
    let policy = ("LEADPOOL_POLICY__REFRESH_INTERVAL", "1s".to_owned());
    let mut routing: Vec<Replica> = (0..2)
        .map(|i| Replica::new("routing", i, with(std::slice::from_ref(&policy))))
        .collect();
    let routing_proxy = proxy(routing.iter().map(|r| r.addr).collect()).await;
    let intake_env = with(&[
        (
            "LEADPOOL_ROUTING__ENDPOINT",
            format!("http://{routing_proxy}"),
        ),
        ("LEADPOOL_ROUTING__RETRY_INTERVAL", "1s".to_owned()),
        ("LEADPOOL_ROUTING__RETRY_GRACE", "1s".to_owned()),
        policy.clone(),
    ]);
    let mut intake: Vec<Replica> = (0..2)
        .map(|i| Replica::new("intake", i, intake_env.clone()))
        .collect();
    let claim_env = with(&[("LEADPOOL_REDIS__URL", redis.url()), policy.clone()]);
    let mut claim: Vec<Replica> = (0..2)
        .map(|i| Replica::new("claim", i, claim_env.clone()))
        .collect();
    // A killed replica's deliveries go out again once their lease ends.
    let lease = ("LEADPOOL_EVENTS__DELIVERY_LEASE", "10s".to_owned());
    let mut scheduler: Vec<Replica> = (0..2)
        .map(|i| Replica::new("scheduler", i, with(std::slice::from_ref(&lease))))
        .collect();
    for replica in routing
        .iter_mut()
        .chain(&mut intake)
        .chain(&mut claim)
        .chain(&mut scheduler)
    {
        replica.start();
    }
    let started = Instant::now();
    for replica in routing
        .iter()
        .chain(&intake)
        .chain(&claim)
        .chain(&scheduler)
    {
        while !replica.serving().await {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{} never came up",
                replica.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Subscribed before anything happens: every event is for the receiver.
    let receiver = WebhookReceiver::start().await;
    let created = EventServiceClient::new(scheduler[0].channel().await)
        .create_webhook_subscription(authed(
            &admin(),
            v1::CreateWebhookSubscriptionRequest {
                url: receiver.url(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    receiver.set_secret(&created.secret);
    let streamed: Shared<Vec<v1::Event>> = Arc::default();
    let schedulers = vec![scheduler[0].channel().await, scheduler[1].channel().await];
    let watching = tokio::spawn(watcher(schedulers, streamed.clone()));
    apply_policy(
        &mut RoutingServiceClient::new(routing[0].channel().await),
        POLICY,
    )
    .await;
    println!(
        "soak: 8 replicas up; load for {}s with faults",
        SOAK.as_secs()
    );

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acked: Shared<HashMap<String, String>> = Arc::default();
    let seen: Shared<Vec<(String, String)>> = Arc::default();
    let log: Shared<Log> = Arc::default();
    let intakes = vec![intake[0].channel().await, intake[1].channel().await];
    let claims = vec![claim[0].channel().await, claim[1].channel().await];
    let mut load = Vec::new();
    for task in 0..SUBMITTERS {
        load.push(tokio::spawn(submitter(
            task,
            intakes.clone(),
            stop.clone(),
            acked.clone(),
            log.clone(),
        )));
    }
    for index in 0..REPS {
        load.push(tokio::spawn(claimer(
            index,
            claims.clone(),
            stop.clone(),
            seen.clone(),
            log.clone(),
        )));
    }

    // The faults, one after another.
    let t0 = Instant::now();
    let at = |secs: u64| tokio::time::sleep_until((t0 + Duration::from_secs(secs)).into());
    let mut faults: Vec<(&str, Instant)> = Vec::new();
    at(10).await;
    faults.push(("kill -9 claim#0, restarted after 3s", Instant::now()));
    claim[0].kill();
    at(13).await;
    claim[0].start();
    at(30).await;
    faults.push(("SIGSTOP intake#1 for 5s", Instant::now()));
    intake[1].signal("-STOP");
    at(35).await;
    intake[1].signal("-CONT");
    at(50).await;
    faults.push(("kill routing#0, restarted after 3s", Instant::now()));
    routing[0].kill();
    at(53).await;
    routing[0].start();
    for (second, label) in [
        (70, "terminate every Postgres connection (1)"),
        (80, "terminate every Postgres connection (2)"),
    ] {
        at(second).await;
        faults.push((label, Instant::now()));
        sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            .execute(db.store().pool())
            .await
            .unwrap();
    }
    at(95).await;
    faults.push(("kill Redis, restarted empty after 3s", Instant::now()));
    redis.stop();
    at(98).await;
    redis.restart();
    at(115).await;
    faults.push(("kill scheduler#0, restarted after 3s", Instant::now()));
    scheduler[0].kill();
    at(118).await;
    scheduler[0].start();
    tokio::time::sleep_until((t0 + SOAK).into()).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in load {
        let _ = task.await;
    }
    faults.push(("(end of load)", Instant::now()));

    // --- checks ------------------------------------------------------------------------------
    let mut failed = Vec::new();
    let pool = db.store().pool().clone();
    // Leads still waiting are routed by intake's retry loop within seconds.
    let settle = Instant::now();
    let unrouted = loop {
        let (waiting,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM leads WHERE state = 'received'")
                .fetch_one(&pool)
                .await
                .unwrap();
        if waiting == 0 || settle.elapsed() > Duration::from_secs(30) {
            break waiting;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    if unrouted > 0 {
        failed.push(format!("{unrouted} leads left unrouted"));
    }
    let acked = acked.lock().unwrap().clone();
    let stored: Vec<(String, uuid::Uuid)> =
        sqlx::query_as("SELECT idempotency_key, id FROM lead_contacts")
            .fetch_all(&pool)
            .await
            .unwrap();
    let mut by_key: HashMap<&str, Vec<String>> = HashMap::new();
    for (key, id) in &stored {
        by_key
            .entry(key.as_str())
            .or_default()
            .push(format!("leads/{id}"));
    }
    let twice = by_key.values().filter(|ids| ids.len() > 1).count();
    let missing = acked
        .iter()
        .filter(|(key, lead)| by_key.get(key.as_str()) != Some(&vec![(*lead).clone()]))
        .count();
    if twice > 0 || missing > 0 {
        failed.push(format!(
            "{missing} acknowledged leads missing or different, {twice} keys stored twice"
        ));
    }
    // Submissions whose answer was lost may have created a lead the retry then acknowledged;
    // one that never got an answer at all (every retry failed for a minute) is the only other.
    let unacked = stored
        .iter()
        .filter(|(key, _)| !acked.contains_key(key))
        .count();
    println!(
        "leads: {} acknowledged, {} stored, {unacked} stored without an acknowledgement",
        acked.len(),
        stored.len()
    );

    let events: Vec<(uuid::Uuid, String, Option<String>, String)> = sqlx::query_as(
        "SELECT lead_id, kind, rep_id, to_state FROM lead_events ORDER BY lead_id, id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut held: HashMap<uuid::Uuid, bool> = HashMap::new();
    let mut double = 0;
    let mut claimed: HashSet<(String, String)> = HashSet::new();
    for (lead, kind, rep, to) in &events {
        let holding = held.entry(*lead).or_default();
        if kind == "lead.claimed" {
            if *holding {
                double += 1;
            }
            *holding = true;
            claimed.insert((format!("leads/{lead}"), rep.clone().unwrap_or_default()));
        } else if matches!(to.as_str(), "available" | "received") {
            *holding = false;
        }
    }
    if double > 0 {
        failed.push(format!("{double} claims of a lead someone already held"));
    }
    let seen = seen.lock().unwrap().clone();
    let unrecorded = seen
        .iter()
        .filter(|claim| !claimed.contains(*claim))
        .count();
    if unrecorded > 0 {
        failed.push(format!(
            "{unrecorded} claims a client saw are not in the history"
        ));
    }
    println!(
        "claims: {} answered, {} in the history",
        seen.len(),
        claimed.len()
    );
    check_events(&pool, &receiver, &streamed, &mut failed).await;
    watching.abort();
    for replica in routing
        .iter()
        .chain(&intake)
        .chain(&claim)
        .chain(&scheduler)
    {
        if !replica.serving().await {
            failed.push(format!("{} is not SERVING", replica.name));
        }
    }
    let log = log.lock().unwrap();
    let internal = log
        .answers
        .iter()
        .filter(|(_, _, a)| matches!(a, Err(Code::Internal | Code::Unknown)))
        .count();
    if internal > 0 {
        failed.push(format!("{internal} calls answered INTERNAL or UNKNOWN"));
    }
    println!("calls: {} answered", log.answers.len());
    println!("{:<44} {:>10} {:>8}", "FAULT", "FAILING", "CALLS");
    for window in faults.windows(2) {
        let ((label, from), (_, to)) = (window[0], window[1]);
        let failing: Vec<Instant> = log
            .answers
            .iter()
            .filter(|(t, _, a)| *t >= from && *t < to && a.is_err_and(is_failure))
            .map(|(t, _, _)| *t)
            .collect();
        let span = match (failing.first(), failing.last()) {
            (Some(first), Some(last)) => format!("{:.1}s", (*last - *first).as_secs_f64()),
            _ => "0s".to_owned(),
        };
        println!("{label:<44} {span:>10} {:>8}", failing.len());
    }
    drop(log);
    for replica in routing
        .iter_mut()
        .chain(&mut intake)
        .chain(&mut claim)
        .chain(&mut scheduler)
    {
        replica.kill();
    }
    if failed.is_empty() {
        println!("soak: all checks passed");
    } else {
        for failure in &failed {
            println!("FAIL: {failure}");
        }
        std::process::exit(1);
    }
}

/// Every event in the database reached the webhook receiver (signed, each lead's in order) and
/// the reconnecting stream reader (each once, each lead's in order), within two minutes.
async fn check_events(
    pool: &sqlx::PgPool,
    receiver: &WebhookReceiver,
    streamed: &Shared<Vec<v1::Event>>,
    failed: &mut Vec<String>,
) {
    let ids: Vec<(i64,)> =
        sqlx::query_as("SELECT id FROM lead_events UNION ALL SELECT id FROM service_events")
            .fetch_all(pool)
            .await
            .unwrap();
    let all: HashSet<String> = ids.iter().map(|(id,)| format!("evt_{id}")).collect();
    let settle = Instant::now();
    let (hooked, watched) = loop {
        let hooked: HashSet<String> = receiver.accepted().into_iter().map(|e| e.id).collect();
        let watched: HashSet<String> = streamed
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.id.clone())
            .collect();
        let done = all.is_subset(&hooked) && all.is_subset(&watched);
        if done || settle.elapsed() > Duration::from_secs(120) {
            break (hooked, watched);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let accepted = receiver.accepted();
    println!(
        "events: {} in the history, {} webhook requests accepted ({} distinct) after {:.1}s, {} streamed",
        all.len(),
        accepted.len(),
        hooked.len(),
        settle.elapsed().as_secs_f64(),
        streamed.lock().unwrap().len()
    );
    let undelivered = all.difference(&hooked).count();
    if undelivered > 0 {
        failed.push(format!(
            "{undelivered} events never reached the webhook receiver"
        ));
    }
    if receiver.bad_signatures() > 0 {
        failed.push(format!(
            "{} webhook requests with a bad signature",
            receiver.bad_signatures()
        ));
    }
    let unstreamed = all.difference(&watched).count();
    if unstreamed > 0 {
        failed.push(format!(
            "{unstreamed} events never reached the stream reader"
        ));
    }
    let streamed = streamed.lock().unwrap().clone();
    if streamed.len() != watched.len() {
        failed.push(format!(
            "the stream reader got {} events twice on one cursor",
            streamed.len() - watched.len()
        ));
    }
    let out_of_order = |per_lead: HashMap<String, Vec<i64>>| {
        per_lead
            .values()
            .filter(|ids| !ids.windows(2).all(|w| w[0] < w[1]))
            .count()
    };
    let hooks = out_of_order(first_arrivals_per_lead(
        accepted.iter().map(|e| (e.id.as_str(), e.subject.as_str())),
    ));
    let stream = out_of_order(first_arrivals_per_lead(
        streamed.iter().map(|e| (e.id.as_str(), e.subject.as_str())),
    ));
    if hooks + stream > 0 {
        failed.push(format!(
            "leads whose events arrived out of order: {hooks} by webhook, {stream} in the stream"
        ));
    }
}
